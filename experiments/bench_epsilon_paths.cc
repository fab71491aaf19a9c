// Benchmark: the reference epsilon path (full NB201 network in LibTorch) against the one-channel
// fast path, side by side on the same sample of NB201 cells, in one process.
//
//   build/experiments/bench_epsilon_paths [--sample 24] [--seed 1] [--threads 1] [--csv FILE]
//
// Prints architectures per second for each path, the ratio, and how far the scores differ;
// writes one CSV row per path. The fast path is repeated over the sample until it has run for
// at least two seconds, so its rate is measured, not rounded to zero.
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>

#include "engine/metric/epsilon.h"
#include "engine/metric/epsilon_fast.h"
#include "engine/core/rng.h"
#include "io/cifar.h"

using namespace hpcnas;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"epsilon: full network vs one-channel fast path"};
  int64_t sample = 24;
  uint64_t seed = 1;
  int threads = 1;
  std::string csv = "experiments/results/epsilon_paths.csv";
  app.add_option("--sample", sample, "cells in the sample")->capture_default_str();
  app.add_option("--seed", seed, "which cells")->capture_default_str();
  app.add_option("--threads", threads, "LibTorch intra-op threads for the full path")->capture_default_str();
  app.add_option("--csv", csv, "output CSV")->capture_default_str();
  bool fast_only = false;
  app.add_flag("--fast-only", fast_only, "time the fast path alone (for profiling)");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  auto images = LoadCifarImages("embedded", 256);
  if (!images.ok()) {
    std::fprintf(stderr, "%s\n", images.status().message().c_str());
    return 2;
  }
  const torch::Tensor x = CifarImagesToTensor(images->pixels.data(), 256);
  CounterRng rng(seed, {0x62656e6368ULL});
  std::vector<nb201::Genotype> cells;
  for (int64_t code : SampleWithoutReplacement(rng, nb201::kNumCells, sample)) {
    cells.push_back(nb201::Genotype::FromCode(static_cast<int>(code)));
  }

  auto full = MakeFullNetworkEpsilonScorer(x, {});
  auto fast = MakeOneChannelEpsilonScorer(x, {});
  std::vector<double> full_scores, fast_scores;
  auto t0 = Clock::now();
  if (!fast_only) {
    full->Score(cells[0]);  // warm-up: oneDNN primitive creation
    t0 = Clock::now();
    for (const auto& g : cells) full_scores.push_back(full->Score(g));
  }
  const double full_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  int repeats = 0;
  t0 = Clock::now();
  double fast_seconds = 0;
  do {
    fast_scores.clear();
    for (const auto& g : cells) fast_scores.push_back(fast->Score(g));
    ++repeats;
    fast_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (fast_seconds < 2.0);

  if (fast_only) {
    std::printf("one-channel float32: %.2f arch/s over %zu cells\n", cells.size() * repeats / fast_seconds, cells.size());
    return 0;
  }
  double max_relative = 0;
  int nan_disagreements = 0, nan_both = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (std::isnan(full_scores[i]) != std::isnan(fast_scores[i])) {
      ++nan_disagreements;
    } else if (std::isnan(full_scores[i])) {
      ++nan_both;
    } else {
      max_relative = std::max(max_relative, std::fabs(fast_scores[i] - full_scores[i]) / std::fabs(full_scores[i]));
    }
  }
  const double full_rate = cells.size() / full_seconds;
  const double fast_rate = cells.size() * repeats / fast_seconds;
  std::printf("%-22s %8s %12s %14s\n", "path", "cells", "seconds", "arch/s");
  std::printf("%-22s %8zu %12.3f %14.2f\n", "full (LibTorch)", cells.size(), full_seconds, full_rate);
  std::printf("%-22s %8zu %12.3f %14.2f\n", "one-channel float32", cells.size() * repeats, fast_seconds, fast_rate);
  std::printf("speed-up: %.0fx   max relative score difference: %.2e   NaN in both: %d   NaN disagreements: %d\n",
              fast_rate / full_rate, max_relative, nan_both, nan_disagreements);
  std::ofstream out(csv);
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", csv.c_str());
    return 3;
  }
  out << "path,cells,threads,seconds,archs_per_second,speedup,max_relative_difference,nan_disagreements\n";
  out << "full," << cells.size() << "," << threads << "," << full_seconds << "," << full_rate << ",1,0,0\n";
  out << "one-channel-float32," << cells.size() * repeats << ",1," << fast_seconds << "," << fast_rate << ","
      << fast_rate / full_rate << "," << max_relative << "," << nan_disagreements << "\n";
  std::printf("wrote %s\n", csv.c_str());
  return 0;
}
