#include "engine/policy/evolution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/core/rng.h"
#include "engine/core/stats.h"

namespace hpcnas::evolution {
namespace {

enum StreamPurpose : std::uint64_t { kRandomArchitecturesStream = 0x72616e64, kChildrenStream = 0x6b696473 };

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

std::unordered_set<std::uint64_t> EvaluatedHashes(const SearchSpace& space, const SearchState& state) {
  std::unordered_set<std::uint64_t> hashes;
  for (const Query& q : state.queries) hashes.insert(space.CanonicalHash(q.arch));
  return hashes;
}

std::vector<Architecture> RandomArchitectures(const SearchSpace& space, std::uint64_t seed, std::int32_t generation,
                                              int count, const std::unordered_set<std::uint64_t>& exclude,
                                              const Admissible& admissible) {
  CounterRng rng(seed, {kRandomArchitecturesStream, static_cast<std::uint64_t>(generation)});
  std::unordered_set<std::uint64_t> taken = exclude;
  std::vector<Architecture> out;
  auto offer = [&](const Architecture& arch) {
    Architecture canonical = space.Canonical(arch);
    if (taken.insert(space.CanonicalHash(canonical)).second && (!admissible || admissible(canonical))) {
      out.push_back(std::move(canonical));
    }
  };
  if (space.Enumerable()) {
    const std::int64_t size = *space.Size();
    for (std::int64_t index : SampleWithoutReplacement(rng, size, size)) {
      if (static_cast<int>(out.size()) == count) break;
      offer(space.AtIndex(index));
    }
  } else {
    for (std::int64_t attempt = 0; attempt < 100LL * count && static_cast<int>(out.size()) < count; ++attempt) {
      offer(space.Sample(rng));
    }
  }
  return out;
}

std::vector<Architecture> ProposeChildren(const SearchSpace& space, const SearchState& state, const SearchConfig& config,
                                          std::int32_t generation, int count, const std::unordered_set<std::uint64_t>& exclude,
                                          const Admissible& admissible) {
  std::unordered_map<std::string, double> accuracy;
  for (const Query& q : state.queries) accuracy[q.arch.Bytes()] = q.accuracy;
  CounterRng rng(config.seed, {kChildrenStream, static_cast<std::uint64_t>(generation)});
  const auto population_size = static_cast<std::int64_t>(state.population.size());
  auto tournament = [&]() -> const Architecture& {
    const std::int64_t contestants = std::min<std::int64_t>(config.tournament_size, population_size);
    const Architecture* best = nullptr;
    double best_accuracy = 0;
    for (std::int64_t index : SampleWithoutReplacement(rng, population_size, contestants)) {
      const Architecture& member = state.population[index];
      const double member_accuracy = accuracy.at(member.Bytes());
      if (best == nullptr || member_accuracy > best_accuracy) {
        best = &member;
        best_accuracy = member_accuracy;
      }
    }
    return *best;
  };

  std::unordered_set<std::uint64_t> taken = exclude;
  std::vector<Architecture> children;
  for (std::int64_t attempt = 0; attempt < 100LL * count && static_cast<int>(children.size()) < count; ++attempt) {
    Architecture child = tournament();
    if (rng.NextUniform() < config.crossover) child = space.Crossover(child, tournament(), rng);
    child = space.Canonical(space.Mutate(child, rng));
    if (taken.insert(space.CanonicalHash(child)).second && (!admissible || admissible(child))) children.push_back(std::move(child));
  }
  return children;
}

std::unordered_map<std::string, double> EpsilonKeys(const SearchState& state, double nan_offset) {
  std::vector<double> float32, exact;
  for (const EpsilonRecord& r : state.epsilon) {
    float32.push_back(r.epsilon);
    exact.push_back(r.epsilon_exact);
  }
  const std::vector<double> key = EpsilonRankKey(float32, exact, nan_offset);
  std::unordered_map<std::string, double> out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    out[state.epsilon[i].arch.Bytes()] = std::isnan(exact[i]) && std::isnan(float32[i]) ? std::numeric_limits<double>::quiet_NaN() : key[i];
  }
  return out;
}

std::vector<std::size_t> RankCandidates(const std::vector<Architecture>& candidates, const std::vector<double>& predicted,
                                        const std::vector<double>& epsilon_key, const std::string& selection) {
  const std::size_t n = candidates.size();
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
    return candidates[a] < candidates[b];
  });
  return order;
}

void AgePopulation(SearchState& state, const std::vector<Architecture>& evaluated, int population_size) {
  state.population.insert(state.population.end(), evaluated.begin(), evaluated.end());
  if (static_cast<int>(state.population.size()) > population_size) {
    state.population.erase(state.population.begin(), state.population.end() - population_size);
  }
}

}  // namespace hpcnas::evolution
