#pragma once
// The evolution policy of the search (DESIGN section 2, steps 1, 6 and 8), as pure functions of
// the search state, the config and the seed: every rank computes the same result, and every
// random draw comes from a counter-based stream keyed by (seed, generation, purpose).

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/config.h"
#include "engine/search_state.h"

namespace hpcnas::evolution {

// Canonical hashes (nb201::Genotype::CanonicalHash) of every cell already evaluated.
std::unordered_set<std::uint64_t> EvaluatedHashes(const SearchState& state);

// `count` distinct random cells whose hash is not in `exclude` (fewer if the space runs out).
std::vector<std::int32_t> RandomCells(std::uint64_t seed, std::int32_t generation, int count,
                                      const std::unordered_set<std::uint64_t>& exclude);

// Regularised evolution's children: each from a parent that won a tournament (the best
// accuracy among tournament_size random population members), one random edge changed to
// another operation; with probability `crossover` the child first takes each edge from one of
// two tournament winners. Children are distinct and not in `exclude` (deduplicated by canonical
// hash); fewer than `count` only when 100 x count draws found no more. Needs a population.
std::vector<std::int32_t> ProposeChildren(const SearchState& state, const SearchConfig& config, std::int32_t generation,
                                          int count, const std::unordered_set<std::uint64_t>& exclude);

// Every scored cell's epsilon ranking key (EpsilonRankKey over all of state.epsilon, so a
// cell's key uses every score known so far), NaN where it is unknown: a cell whose exact
// epsilon is NaN too. NaN is "unknown", never "bad".
std::unordered_map<std::int32_t, double> EpsilonKeys(const SearchState& state, double nan_offset);

// The order in which candidates are evaluated, best first (indices into `codes`).
// `predicted` may be empty (no predictor yet): then epsilon decides. `epsilon_key` may hold
// NaN: such a cell is ranked by the predictor alone ("combined"), keeps the middle quantile
// ("epsilon"), or only loses ties ("predictor"). Ties end with the smaller code first.
std::vector<std::size_t> RankCandidates(const std::vector<std::int32_t>& codes, const std::vector<double>& predicted,
                                        const std::vector<double>& epsilon_key, const std::string& selection);

// Aging: the evaluated cells join the population's young end and the oldest leave until at
// most population_size remain.
void AgePopulation(SearchState& state, const std::vector<std::int32_t>& evaluated, int population_size);

}  // namespace hpcnas::evolution
