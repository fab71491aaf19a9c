#pragma once
// The building blocks of the search policies (search_policy.h): pure functions of the search
// state, the config and the seed, for any search space. Every rank computes the same result,
// and every random draw comes from a counter-based stream keyed by (seed, generation, purpose).
// Architectures come out canonical and are deduplicated by the space's canonical hash.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/config/config.h"
#include "engine/policy/search_state.h"
#include "engine/space/search_space.h"

namespace hpcnas::evolution {

// Whether an architecture may be proposed at all (a hardware budget); empty = every one.
using Admissible = std::function<bool(const Architecture&)>;

// Canonical hashes of every architecture already evaluated.
std::unordered_set<std::uint64_t> EvaluatedHashes(const SearchSpace& space, const SearchState& state);

// `count` distinct random admissible architectures whose hash is not in `exclude` (fewer only if
// the space runs out). Enumerable spaces draw indices without replacement (uniform over the space's
// architectures, so a network with many equivalent forms is drawn more often, as a benchmark's
// random sampler does); the others draw positions independently.
std::vector<Architecture> RandomArchitectures(const SearchSpace& space, std::uint64_t seed, std::int32_t generation,
                                              int count, const std::unordered_set<std::uint64_t>& exclude,
                                              const Admissible& admissible = {});

// Regularised evolution's children: each from a parent that won a tournament (the best
// accuracy among tournament_size random population members), one random position changed to
// another of its choices (SearchSpace::Mutate); with probability `crossover` the child first
// takes each position from one of two tournament winners. Children are distinct, admissible and
// not in `exclude`; fewer than `count` only when 100 x count draws found no more. Needs a
// population.
std::vector<Architecture> ProposeChildren(const SearchSpace& space, const SearchState& state, const SearchConfig& config,
                                          std::int32_t generation, int count, const std::unordered_set<std::uint64_t>& exclude,
                                          const Admissible& admissible = {});

// Every scored architecture's epsilon ranking key (EpsilonRankKey over all of state.epsilon, so
// a key uses every score known so far), keyed by Architecture::Bytes(); NaN where it is
// unknown: an architecture whose exact epsilon is NaN too. NaN is "unknown", never "bad".
std::unordered_map<std::string, double> EpsilonKeys(const SearchState& state, double nan_offset);

// The order in which candidates are evaluated, best first (indices into `candidates`).
// `predicted` may be empty (no predictor yet): then epsilon decides. `epsilon_key` may hold
// NaN: such a candidate is ranked by the predictor alone ("combined"), keeps the middle
// quantile ("epsilon"), or only loses ties ("predictor"). Ties end with the smaller bytes first.
std::vector<std::size_t> RankCandidates(const std::vector<Architecture>& candidates, const std::vector<double>& predicted,
                                        const std::vector<double>& epsilon_key, const std::string& selection);

// Aging: the evaluated architectures join the population's young end and the oldest leave
// until at most population_size remain.
void AgePopulation(SearchState& state, const std::vector<Architecture>& evaluated, int population_size);

}  // namespace hpcnas::evolution
