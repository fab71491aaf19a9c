// Experiment: giving every NAS-Bench-201 cell a place in the epsilon ranking.
//
// In float32 at w1 = 1e-7 about 41 % of the cells' w1 outputs underflow to zero and their
// epsilon is NaN, and those are the better cells. This program computes, for every distinct
// cell function (engine/metric/cell_expression.h), epsilon in several arithmetics and with other
// first weights, expands them to all 15,625 cells, and reports Spearman rho / Kendall tau
// against CIFAR-10 test accuracy over ALL cells for each policy that ranks NaN cells somehow.
//
//   build/experiments/epsilon_nan_policies [--csv experiments/results/epsilon_nan_policies.csv]
//                                          [--cells-csv FILE]   (per-cell values, optional)
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>

#include <CLI/CLI.hpp>

#include "engine/metric/cell_expression.h"
#include "engine/metric/epsilon_fast.h"
#include "engine/core/stats.h"
#include "io/cifar.h"
#include "io/nb201_data.h"

using namespace hpcnas;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct CellValues {
  double float32 = kNaN;          // the paper's score (w1 = 1e-7, float32)
  double float64 = kNaN;          // same network in float64
  double scaled = kNaN;           // exact: no underflow at all
  double log2_shrink_w1 = kNaN;   // log2 max |output| at w1, exact arithmetic
  std::map<double, double> other_w1;  // float32 epsilon with another first weight
  std::map<double, double> scaled_w1;  // exact epsilon with another first weight
};

// Ranks NaN entries of `primary` above every finite one, ordered among themselves by
// `tie_break` (higher = better; NaN tie-breaks last within the group).
std::vector<double> NanFirst(const std::vector<double>& primary, const std::vector<double>& tie_break) {
  double top = -std::numeric_limits<double>::infinity();
  for (double v : primary) {
    if (!std::isnan(v)) top = std::max(top, v);
  }
  std::vector<double> finite_tb;
  for (std::size_t i = 0; i < primary.size(); ++i) {
    if (std::isnan(primary[i]) && !std::isnan(tie_break[i])) finite_tb.push_back(tie_break[i]);
  }
  const std::vector<double> ranks = AverageRanks(finite_tb);
  std::vector<double> key(primary.size());
  for (std::size_t i = 0, k = 0; i < primary.size(); ++i) {
    if (!std::isnan(primary[i])) {
      key[i] = primary[i];
    } else if (!std::isnan(tie_break[i])) {
      key[i] = top + 1.0 + ranks[k++];
    } else {
      key[i] = top + 0.5;
    }
  }
  return key;
}

std::vector<double> NanLast(const std::vector<double>& v) {
  double bottom = std::numeric_limits<double>::infinity();
  for (double x : v) {
    if (!std::isnan(x)) bottom = std::min(bottom, x);
  }
  std::vector<double> key = v;
  for (double& x : key) {
    if (std::isnan(x)) x = bottom - 1.0;
  }
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"epsilon NaN policies over the whole NAS-Bench-201 space"};
  std::string csv = "experiments/results/epsilon_nan_policies.csv";
  std::string cells_csv;
  app.add_option("--csv", csv, "policy table")->capture_default_str();
  app.add_option("--cells-csv", cells_csv, "per-cell values (optional)");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);

  auto images = LoadCifarImages("embedded", 256);
  auto truth = LoadNb201Truth("embedded", "cifar10_test");
  if (!images.ok() || !truth.ok()) {
    std::fprintf(stderr, "cannot load the embedded data\n");
    return 2;
  }
  const torch::Tensor x = CifarImagesToTensor(images->pixels.data(), 256);
  const std::vector<double> other_w1 = {1e-6, 1e-5, 1e-4, 1e-3};
  auto f32 = MakeOneChannelEpsilonScorer(x, {}, EpsilonArithmetic::kFloat32);
  auto f64 = MakeOneChannelEpsilonScorer(x, {}, EpsilonArithmetic::kFloat64);
  auto scaled = MakeOneChannelEpsilonScorer(x, {}, EpsilonArithmetic::kScaledFloat64);
  std::vector<std::unique_ptr<OneChannelEpsilonScorer>> others, scaled_others;
  for (double w : other_w1) others.push_back(MakeOneChannelEpsilonScorer(x, {w, 1.0}, EpsilonArithmetic::kFloat32));
  const std::vector<double> scaled_w1 = {1e-1, 1e-2, 1e-3, 1e-5};
  for (double w : scaled_w1) {
    scaled_others.push_back(MakeOneChannelEpsilonScorer(x, {w, 1.0}, EpsilonArithmetic::kScaledFloat64));
  }

  // One computation per distinct cell function.
  std::map<std::string, CellValues> by_key;
  std::vector<std::optional<std::string>> key_of(nb201::kNumCells);
  const auto start = std::chrono::steady_clock::now();
  for (int code = 0; code < nb201::kNumCells; ++code) {
    const nb201::Genotype g = nb201::Genotype::FromCode(code);
    key_of[code] = CellFunctionKey(g);
    if (!key_of[code] || by_key.count(*key_of[code])) continue;
    CellValues v;
    v.float32 = f32->Score(g);
    v.float64 = f64->Score(g);
    const EpsilonDetails details = scaled->ScoreWithDetails(g);
    v.scaled = details.epsilon;
    v.log2_shrink_w1 = details.log2_max_output_w1;
    for (std::size_t k = 0; k < other_w1.size(); ++k) v.other_w1[other_w1[k]] = others[k]->Score(g);
    for (std::size_t k = 0; k < scaled_w1.size(); ++k) v.scaled_w1[scaled_w1[k]] = scaled_others[k]->Score(g);
    by_key.emplace(*key_of[code], v);
  }
  std::fprintf(stderr, "computed %zu distinct cell functions in %.1f s\n", by_key.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  // Expand to all cells, in official index order.
  std::vector<double> accuracy, e32, e64, esc, shrink;
  std::map<double, std::vector<double>> eo, es;
  for (int index = 0; index < nb201::kNumCells; ++index) {
    const nb201::Genotype g = *nb201::FromOfficialIndex(index);
    accuracy.push_back(truth->accuracy_by_code[g.Code()]);
    const auto& key = key_of[g.Code()];
    const CellValues v = key ? by_key.at(*key) : CellValues{};
    e32.push_back(v.float32);
    e64.push_back(v.float64);
    esc.push_back(v.scaled);
    // Less output means more shrinking layers on every path: negate so higher = more.
    shrink.push_back(std::isfinite(v.log2_shrink_w1) ? -v.log2_shrink_w1 : kNaN);
    for (double w : other_w1) eo[w].push_back(key ? v.other_w1.at(w) : kNaN);
    for (double w : scaled_w1) es[w].push_back(key ? v.scaled_w1.at(w) : kNaN);
  }
  const std::vector<double> none(accuracy.size(), kNaN);

  struct Policy {
    std::string name;
    std::string description;
    std::vector<double> key;
    bool over_all;  // false: NaN excluded (the paper's evaluation)
  };
  std::vector<Policy> policies = {
      {"paper-exclude", "float32 epsilon, NaN cells left out (the paper's evaluation)", e32, false},
      {"nan-last", "float32 epsilon, NaN cells ranked below every finite one", NanLast(e32), true},
      {"nan-first", "float32 epsilon, NaN cells ranked above every finite one (ties among them)", NanFirst(e32, none), true},
      {"float64", "epsilon in float64, remaining NaN last", NanLast(e64), true},
      {"scaled-exact", "exact epsilon (power-of-two scale tracked apart: no underflow), NaN last", NanLast(esc), true},
      {"nan-first+scaled", "NaN cells first, ordered among themselves by exact epsilon", NanFirst(e32, esc), true},
      {"nan-first+shrink", "NaN cells first, ordered by how far the exact w1 output shrank", NanFirst(e32, shrink), true},
  };
  for (double w : other_w1) {
    char name[64], description[160];
    std::snprintf(name, sizeof(name), "w1=%g", w);
    std::snprintf(description, sizeof(description), "float32 epsilon with w1 = %g instead of 1e-7, NaN last", w);
    policies.push_back({name, description, NanLast(eo[w]), true});
    std::snprintf(name, sizeof(name), "nan-first+w1=%g", w);
    std::snprintf(description, sizeof(description), "NaN cells first, ordered by float32 epsilon at w1 = %g", w);
    policies.push_back({name, description, NanFirst(e32, eo[w]), true});
  }

  // The shipped policy (hpcnas score --nan-policy rank --nan-offset X), over a sweep of X.
  for (double offset : {0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0}) {
    char name[64], description[200];
    std::snprintf(name, sizeof(name), "rank offset=%g", offset);
    std::snprintf(description, sizeof(description),
                  "--nan-policy rank: quantiles, float32 cells by float32 epsilon, underflowed cells by exact "
                  "epsilon + %g, zero-output cells last", offset);
    policies.push_back({name, description, EpsilonRankKey(e32, esc, offset), true});
  }
  for (double w : scaled_w1) {
    char name[64], description[160];
    std::snprintf(name, sizeof(name), "scaled-exact w1=%g", w);
    std::snprintf(description, sizeof(description), "exact epsilon with w1 = %g, NaN last", w);
    policies.push_back({name, description, NanLast(es[w]), true});
  }

  std::ofstream out(csv);
  out << "policy,cells_ranked,nan_left,spearman,kendall,description\n";
  std::printf("%-22s %7s %6s %9s %9s  %s\n", "policy", "ranked", "NaN", "spearman", "kendall", "description");
  for (const Policy& p : policies) {
    std::vector<double> k, a;
    int64_t nan_left = 0;
    for (std::size_t i = 0; i < p.key.size(); ++i) {
      if (std::isnan(p.key[i])) {
        ++nan_left;
        continue;
      }
      k.push_back(p.key[i]);
      a.push_back(accuracy[i]);
    }
    const double rho = SpearmanRho(k, a), tau = KendallTau(k, a);
    std::printf("%-22s %7zu %6lld %9.4f %9.4f  %s\n", p.name.c_str(), k.size(), static_cast<long long>(nan_left), rho,
                tau, p.description.c_str());
    out << p.name << "," << k.size() << "," << nan_left << "," << rho << "," << tau << ",\"" << p.description << "\"\n";
  }
  std::printf("wrote %s\n", csv.c_str());

  if (!cells_csv.empty()) {
    std::ofstream cells(cells_csv);
    cells << "index,accuracy,float32,float64,scaled,shrink";
    for (double w : other_w1) cells << ",w1_" << w;
    for (double w : scaled_w1) cells << ",scaled_w1_" << w;
    cells << "\n";
    for (int i = 0; i < nb201::kNumCells; ++i) {
      cells << i << "," << accuracy[i] << "," << e32[i] << "," << e64[i] << "," << esc[i] << "," << shrink[i];
      for (double w : other_w1) cells << "," << eo[w][i];
      for (double w : scaled_w1) cells << "," << es[w][i];
      cells << "\n";
    }
  }
  return 0;
}
