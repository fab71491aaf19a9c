#include "engine/evolution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/epsilon.h"
#include "engine/nb201.h"
#include "engine/rng.h"
#include "engine/stats.h"

namespace hpcnas::evolution {
namespace {

enum StreamPurpose : std::uint64_t { kRandomCellsStream = 0x72616e64, kChildrenStream = 0x6b696473 };

std::uint64_t HashOf(std::int32_t code) { return nb201::Genotype::FromCode(code).CanonicalHash(); }

// Quantiles (0..1) of the finite values among themselves; NaN stays NaN.
std::vector<double> Quantiles(const std::vector<double>& values) {
  std::vector<std::size_t> finite;
  std::vector<double> finite_values;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) {
      finite.push_back(i);
      finite_values.push_back(values[i]);
    }
  }
  std::vector<double> out(values.size(), std::numeric_limits<double>::quiet_NaN());
  const std::vector<double> ranks = AverageRanks(finite_values);
  for (std::size_t k = 0; k < finite.size(); ++k) out[finite[k]] = (ranks[k] - 0.5) / finite.size();
  return out;
}

}  // namespace

std::unordered_set<std::uint64_t> EvaluatedHashes(const SearchState& state) {
  std::unordered_set<std::uint64_t> hashes;
  for (const Query& q : state.queries) hashes.insert(HashOf(q.code));
  return hashes;
}

std::vector<std::int32_t> RandomCells(std::uint64_t seed, std::int32_t generation, int count,
                                      const std::unordered_set<std::uint64_t>& exclude) {
  CounterRng rng(seed, {kRandomCellsStream, static_cast<std::uint64_t>(generation)});
  std::vector<std::int32_t> cells;
  for (std::int64_t code : SampleWithoutReplacement(rng, nb201::kNumCells, nb201::kNumCells)) {
    if (static_cast<int>(cells.size()) == count) break;
    if (!exclude.count(HashOf(static_cast<std::int32_t>(code)))) cells.push_back(static_cast<std::int32_t>(code));
  }
  return cells;
}

std::vector<std::int32_t> ProposeChildren(const SearchState& state, const SearchConfig& config, std::int32_t generation,
                                          int count, const std::unordered_set<std::uint64_t>& exclude) {
  std::unordered_map<std::int32_t, double> accuracy;
  for (const Query& q : state.queries) accuracy[q.code] = q.accuracy;
  CounterRng rng(config.seed, {kChildrenStream, static_cast<std::uint64_t>(generation)});
  const auto population_size = static_cast<std::int64_t>(state.population.size());
  auto tournament = [&] {
    const std::int64_t contestants = std::min<std::int64_t>(config.tournament_size, population_size);
    std::int32_t best = -1;
    for (std::int64_t index : SampleWithoutReplacement(rng, population_size, contestants)) {
      const std::int32_t code = state.population[index];
      if (best < 0 || accuracy.at(code) > accuracy.at(best)) best = code;
    }
    return nb201::Genotype::FromCode(best);
  };

  std::unordered_set<std::uint64_t> taken = exclude;
  std::vector<std::int32_t> children;
  for (std::int64_t attempt = 0; attempt < 100LL * count && static_cast<int>(children.size()) < count; ++attempt) {
    nb201::Genotype child = tournament();
    if (rng.NextUniform() < config.crossover) {
      const nb201::Genotype other = tournament();
      for (int e = 0; e < nb201::kNumEdges; ++e) {
        if (rng.NextBelow(2) == 1) child.ops[e] = other.ops[e];
      }
    }
    const auto edge = rng.NextBelow(nb201::kNumEdges);
    const auto shift = 1 + rng.NextBelow(nb201::kNumOps - 1);  // another operation, uniformly
    child.ops[edge] = static_cast<nb201::Op>((static_cast<std::uint64_t>(child.ops[edge]) + shift) % nb201::kNumOps);
    if (taken.insert(child.CanonicalHash()).second) children.push_back(child.Code());
  }
  return children;
}

std::unordered_map<std::int32_t, double> EpsilonKeys(const SearchState& state, double nan_offset) {
  std::vector<double> float32, exact;
  for (const EpsilonRecord& r : state.epsilon) {
    float32.push_back(r.epsilon);
    exact.push_back(r.epsilon_exact);
  }
  const std::vector<double> key = EpsilonRankKey(float32, exact, nan_offset);
  std::unordered_map<std::int32_t, double> out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    out[state.epsilon[i].code] = std::isnan(exact[i]) && std::isnan(float32[i]) ? std::numeric_limits<double>::quiet_NaN() : key[i];
  }
  return out;
}

std::vector<std::size_t> RankCandidates(const std::vector<std::int32_t>& codes, const std::vector<double>& predicted,
                                        const std::vector<double>& epsilon_key, const std::string& selection) {
  const std::size_t n = codes.size();
  const bool have_predictor = !predicted.empty();
  const std::vector<double> q_eps = Quantiles(epsilon_key);
  const std::vector<double> q_pred = have_predictor ? Quantiles(predicted) : std::vector<double>(n, 0.5);
  auto or_half = [](double q) { return std::isnan(q) ? 0.5 : q; };
  std::vector<double> primary(n), secondary(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double e = or_half(q_eps[i]), p = or_half(q_pred[i]);
    if (!have_predictor || selection == "epsilon") {
      primary[i] = e;
      secondary[i] = p;
    } else if (selection == "predictor") {
      primary[i] = p;
      secondary[i] = std::isnan(q_eps[i]) ? -1.0 : e;
    } else {  // combined
      primary[i] = std::isnan(q_eps[i]) ? p : 0.5 * (p + e);
      secondary[i] = p;
    }
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (primary[a] != primary[b]) return primary[a] > primary[b];
    if (secondary[a] != secondary[b]) return secondary[a] > secondary[b];
    return codes[a] < codes[b];
  });
  return order;
}

void AgePopulation(SearchState& state, const std::vector<std::int32_t>& evaluated, int population_size) {
  state.population.insert(state.population.end(), evaluated.begin(), evaluated.end());
  if (static_cast<int>(state.population.size()) > population_size) {
    state.population.erase(state.population.begin(), state.population.end() - population_size);
  }
}

}  // namespace hpcnas::evolution
