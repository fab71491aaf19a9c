#include "engine/policy/search_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/policy/evolution.h"

namespace hpcnas {
namespace {

// Evaluates as many as it may of what it proposes, in the order proposed.
std::vector<Architecture> FirstOnes(const std::vector<Architecture>& candidates, int wanted) {
  return {candidates.begin(), candidates.begin() + std::min<std::size_t>(wanted, candidates.size())};
}

class RandomSearchPolicy : public SearchPolicy {
 public:
  RandomSearchPolicy(const SearchSpace& space, const SearchConfig& config, evolution::Admissible admissible)
      : space_(space), config_(config), admissible_(std::move(admissible)) {}
  std::string_view name() const override { return "random"; }

  std::vector<Architecture> Propose(const SearchState& state, std::int32_t generation) const override {
    const int count = generation == 0 ? config_.initial_queries : config_.queries_per_generation;
    return evolution::RandomArchitectures(space_, config_.seed, generation, count, evolution::EvaluatedHashes(space_, state),
                                          admissible_);
  }
  std::vector<Architecture> Select(const SearchState&, std::int32_t, const std::vector<Architecture>& candidates,
                                   const std::vector<double>&) const override {
    return candidates;
  }

 private:
  const SearchSpace& space_;
  SearchConfig config_;
  evolution::Admissible admissible_;
};

// Regularised evolution: random architectures first, then the children of tournament winners
// (`children_per_generation` of them), evaluated as proposed.
class EvolutionPolicy : public SearchPolicy {
 public:
  EvolutionPolicy(const SearchSpace& space, const SearchConfig& config, evolution::Admissible admissible, int initial_count,
                  int children_per_generation)
      : space_(space), config_(config), admissible_(std::move(admissible)), initial_count_(initial_count),
        children_per_generation_(children_per_generation) {}
  std::string_view name() const override { return "evolution"; }

  std::vector<Architecture> Propose(const SearchState& state, std::int32_t generation) const override {
    const auto evaluated = evolution::EvaluatedHashes(space_, state);
    // Without a population (every evaluation so far failed) there are no parents: random ones again.
    if (generation == 0 || state.population.empty()) {
      return evolution::RandomArchitectures(space_, config_.seed, generation, generation == 0 ? initial_count_ : children_per_generation_,
                                            evaluated, admissible_);
    }
    return evolution::ProposeChildren(space_, state, config_, generation, children_per_generation_, evaluated, admissible_);
  }
  std::vector<Architecture> Select(const SearchState&, std::int32_t generation, const std::vector<Architecture>& candidates,
                                   const std::vector<double>&) const override {
    return FirstOnes(candidates, Wanted(generation));
  }

 protected:
  int Wanted(std::int32_t generation) const {
    return generation == 0 ? config_.initial_queries : config_.queries_per_generation;
  }
  const SearchSpace& space_;
  SearchConfig config_;
  evolution::Admissible admissible_;

 private:
  int initial_count_, children_per_generation_;
};

// Ours: evolution proposes many more candidates than it may evaluate (initial_pool random ones,
// then `candidates` children); epsilon scores all of them, the predictor (from generation 1)
// ranks them, and the best are evaluated, after a share `explore` taken as proposed.
class TnaspPolicy : public EvolutionPolicy {
 public:
  TnaspPolicy(const SearchSpace& space, const SearchConfig& config, evolution::Admissible admissible, double nan_offset)
      : EvolutionPolicy(space, config, std::move(admissible), config.initial_pool, config.candidates), nan_offset_(nan_offset) {}
  std::string_view name() const override { return "tnasp"; }
  bool UsesEpsilon() const override { return config_.prefilter == "epsilon"; }
  bool UsesPredictor(std::int32_t generation) const override { return generation >= 1; }

  std::vector<Architecture> Select(const SearchState& state, std::int32_t generation, const std::vector<Architecture>& candidates,
                                   const std::vector<double>& predicted) const override {
    const int wanted = Wanted(generation);
    // Without epsilon and before the predictor there is nothing to rank by: random ones.
    if (!UsesEpsilon() && predicted.empty()) return FirstOnes(candidates, wanted);
    // The exploration share first: children as proposed (plain regularised evolution).
    const int explored = generation == 0 ? 0 : static_cast<int>(std::lround(config_.explore * wanted));
    std::vector<Architecture> selected = FirstOnes(candidates, explored);
    const auto keys = evolution::EpsilonKeys(state, nan_offset_);
    std::vector<double> epsilon_key;  // NaN (unknown) for every candidate without the prefilter
    for (const Architecture& arch : candidates) {
      epsilon_key.push_back(UsesEpsilon() ? keys.at(arch.Bytes()) : std::numeric_limits<double>::quiet_NaN());
    }
    for (std::size_t index : evolution::RankCandidates(candidates, predicted, epsilon_key, config_.selection)) {
      if (static_cast<int>(selected.size()) == wanted) break;
      if (static_cast<int>(index) >= explored) selected.push_back(candidates[index]);  // not taken above
    }
    return selected;
  }

 private:
  double nan_offset_;
};

}  // namespace

StatusOr<std::unique_ptr<SearchPolicy>> MakeSearchPolicy(const SearchSpace& space, const SearchConfig& config,
                                                         double epsilon_nan_offset, evolution::Admissible admissible) {
  if (config.method == "random") return std::unique_ptr<SearchPolicy>(new RandomSearchPolicy(space, config, std::move(admissible)));
  if (config.method == "evolution") {
    return std::unique_ptr<SearchPolicy>(
        new EvolutionPolicy(space, config, std::move(admissible), config.initial_queries, config.queries_per_generation));
  }
  if (config.method == "tnasp") {
    return std::unique_ptr<SearchPolicy>(new TnaspPolicy(space, config, std::move(admissible), epsilon_nan_offset));
  }
  return Status::InvalidInput("search.method is '" + config.method + "'; allowed: tnasp, evolution, random");
}

}  // namespace hpcnas
