#pragma once
// How a search chooses what to evaluate (DESIGN section 2, steps 1 and 6): a policy proposes
// candidates from the search state and selects, from the candidates and what the services
// learned about them, the ones to evaluate. Policies are pure (no LibTorch, no MPI): every rank
// holds one and computes the same proposals and selections from its replica of the state.
//
//   random     random architectures, evaluated as drawn
//   evolution  regularised evolution (Real et al. 2019): mutated tournament winners, as drawn
//   tnasp      ours: epsilon on every candidate, the TNASP predictor, the best-ranked evaluated

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/config/config.h"
#include "engine/policy/evolution.h"
#include "engine/policy/search_state.h"
#include "engine/space/search_space.h"
#include "engine/core/status.h"

namespace hpcnas {

class SearchPolicy {
 public:
  virtual ~SearchPolicy() = default;
  virtual std::string_view name() const = 0;

  // The services the search loop must provide (scheduler/search_loop.h).
  virtual bool UsesEpsilon() const { return false; }  // every candidate scored by epsilon
  virtual bool UsesPredictor(std::int32_t /*generation*/) const { return false; }  // trained, then asked

  // Step 1: the candidates of `generation`, canonical, distinct and never evaluated before.
  virtual std::vector<Architecture> Propose(const SearchState& state, std::int32_t generation) const = 0;
  // Step 6: the candidates to evaluate. `predicted` holds the predictor's value per candidate,
  // or is empty when the policy did not ask for it this generation; the candidates' epsilon
  // (when UsesEpsilon) is in state.epsilon.
  virtual std::vector<Architecture> Select(const SearchState& state, std::int32_t generation,
                                           const std::vector<Architecture>& candidates,
                                           const std::vector<double>& predicted) const = 0;
};

// config.method chooses the policy; `space` must outlive it. `epsilon_nan_offset` is
// epsilon.nan_offset (how underflowed epsilon scores rank, EpsilonRankKey). Only `admissible`
// architectures are ever proposed (a hardware budget: one over it is never scored or evaluated).
StatusOr<std::unique_ptr<SearchPolicy>> MakeSearchPolicy(const SearchSpace& space, const SearchConfig& config,
                                                         double epsilon_nan_offset, evolution::Admissible admissible = {});

}  // namespace hpcnas
