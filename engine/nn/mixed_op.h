#pragma once
// ProxylessNAS's mixed operation with binary gates (DESIGN section 4.4; the official
// search/modules/mix_op.py, MixedEdge): one searchable block of a chain supernet holding every
// candidate block, architecture parameters alpha, and binary gates g (one-hot: the sampled path).
//
// A weight step runs the active candidate alone. An architecture step runs, by mode:
//  - kFullV2 (the official search's default): the active candidate only; the gate gradient
//    dL/dg_k = sum(o_k(x) * dL/dy) comes from a custom autograd function that passes y through
//    and, in backward, re-runs the other candidates without autograd on the saved input (only
//    the active path's activations are kept; no nested autograd::grad).
//  - kTwo: two paths sampled from p = softmax(alpha), one of them active by their renormalised
//    probabilities; y = g_a o_a(x) + g_b o_b(x).detach(); the gradient is restricted to the pair,
//    and after the optimiser step both alphas are shifted so that sum over the pair of e^alpha,
//    and so every other probability, is unchanged.
//  - kFull: every candidate runs, y = sum_k g_k o_k(x) (inactive ones detached): the reference.
// dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i) (over the pair in kTwo). A step whose active
// candidate is the zero / identity operation leaves alpha's gradient undefined, so an optimiser
// leaves alpha and its state untouched (the official set_arch_param_grad).

#include <torch/torch.h>

#include <string_view>
#include <vector>

#include "engine/core/rng.h"
#include "engine/core/status.h"
#include "engine/nn/chain_network.h"

namespace hpcnas {

enum class GateMode { kFullV2, kTwo, kFull };
StatusOr<GateMode> ParseGateMode(std::string_view name);  // "full_v2" | "two" | "full"

class MixedOpImpl : public torch::nn::Module {
 public:
  // `ops[k]` is the operation id of candidate k; `zero_candidate` the index of the zero / identity
  // candidate (-1: none).
  MixedOpImpl(std::vector<ChainBlock> candidates, std::vector<int> ops, int zero_candidate);

  // alpha ~ N(0, 1e-3^2) from `rng` (the official init), so every rank starts from the same alphas.
  void InitializeAlpha(CounterRng& rng);
  // Samples the active path (and in kTwo the second one) from `rng`; resets the gates and their
  // gradient, and leaves every candidate weight's gradient undefined (no weight decay or
  // momentum on a path that did not run). `architecture_step` selects the forward of `mode`;
  // `uniform` draws every candidate equally likely instead of by p (a weight step only).
  void Binarize(GateMode mode, CounterRng& rng, bool architecture_step, bool uniform = false);
  // A fixed path (the evaluation of a derived or inherited subnet).
  void SetActive(int candidate);
  torch::Tensor forward(const torch::Tensor& x);
  // Replaces the gates' gradient (data-parallel training sets the sum over ranks here).
  void SetGateGradient(const torch::Tensor& gradient) { gates_.mutable_grad() = gradient; }
  // From the gates' gradient to alpha's, added to a gradient alpha already has (a hardware
  // term); call after backward of an architecture step.
  void SetArchitectureGradient();
  // kTwo, after the optimiser step: shift the pair's alphas (see above). A no-op otherwise.
  void RescaleAfterStep();

  torch::Tensor Probabilities() const;  // softmax(alpha), float64 on the CPU
  int ArgmaxCandidate() const;
  int active() const { return active_; }
  int inactive() const { return inactive_; }  // kTwo: the other sampled path; -1 otherwise
  int active_op() const { return ops_[active_]; }
  const std::vector<int>& ops() const { return ops_; }
  int size() const { return static_cast<int>(candidates_.size()); }
  torch::Tensor& alpha() { return alpha_; }
  const torch::Tensor& gates() const { return gates_; }
  std::vector<torch::Tensor> WeightParameters();
  ChainBlock& candidate(int k) { return candidates_[k]; }

 private:
  std::vector<ChainBlock> candidates_;
  std::vector<int> ops_;
  int zero_candidate_;
  torch::Tensor alpha_;
  torch::Tensor gates_;  // a leaf that requires grad, not a registered parameter
  GateMode mode_ = GateMode::kFullV2;
  bool architecture_step_ = false;
  int active_ = 0;
  int inactive_ = -1;                    // kTwo: the other sampled path
  std::vector<double> pair_alpha_before_;  // kTwo: the pair's alphas when the gradient was set
};
TORCH_MODULE(MixedOp);

}  // namespace hpcnas
