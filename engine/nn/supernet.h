#pragma once
// The ProxylessNAS supernet of a chain space (macro, proxyless): the space's fixed blocks (stem,
// head) and, at every searchable position, a MixedOp over the operations allowed there, each
// candidate the block that operation builds (engine/space/network_plan.h), so a derived
// network's blocks are exactly the stand-alone network's.
//
// Weights (the official initialisation) and alphas (N(0, 1e-3^2)) are drawn from streams keyed
// by the seed, so every rank builds the same supernet. Gates are sampled from a counter-based stream keyed by (seed, step, position): every rank
// that holds a replica picks the same paths at a step, whatever the rank count.
// Expected FLOPs = fixed blocks + sum over positions of sum_j p_j FLOPs_j: differentiable in alpha.
//
// BatchNorm normalises with the statistics of the batch at hand and keeps none (a supernet's
// running statistics mix every path and are no subnet's): a subnet is evaluated as the
// stand-alone network ExtractNetwork gives, after RecalibrateBatchNorm.

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "engine/core/status.h"
#include "engine/nn/mixed_op.h"
#include "engine/space/chain_spaces.h"

namespace hpcnas {

// A supernet's blocks from the space's plans alone, without weights (pricing a supernet needs no
// network): the plan of the base architecture, every position set to operation 1 (an inverted
// residual, allowed everywhere in both chain spaces), for the fixed blocks and the classifier;
// and at every position the block of each operation allowed there (the base with that position
// changed).
struct SupernetPlan {
  NetworkPlan base;
  std::vector<std::vector<BlockPlan>> candidates;  // [position][k]
  std::vector<std::vector<int>> ops;               // [position][k]: the space's operation
  std::int64_t FixedFlops() const;                 // the fixed blocks and the classifier
};
StatusOr<SupernetPlan> PlanSupernet(const ChainSpace& space, const ChainNetworkOptions& options);

class SupernetImpl : public torch::nn::Module {
 public:
  // `space` must outlive the supernet; `plan` is PlanSupernet(space, options).
  static std::shared_ptr<SupernetImpl> Make(const ChainSpace& space, const SupernetPlan& plan,
                                            const ChainNetworkOptions& options, std::uint64_t seed);
  torch::Tensor forward(const torch::Tensor& x);

  // The continuous relaxation (DARTS): every position outputs sum_k p_k o_k(x) with every
  // path's activations kept for autograd. Not used by the search; the memory reference that the
  // binary gates are measured against (experiments/bench_supernet).
  torch::Tensor ForwardAllPaths(const torch::Tensor& x);
  // Every position's gates for `step`; `architecture_step` picks the mode's forward; `uniform`
  // draws every path equally likely instead of by p.
  void Binarize(GateMode mode, std::uint64_t step, bool architecture_step, bool uniform = false);
  // Every position runs `arch`'s operation (evaluation of a derived or inherited subnet).
  Status SetArchitecture(const Architecture& arch);
  void SetArchitectureGradients();
  void RescaleAfterStep();
  // The argmax operation of every position.
  Architecture Derive() const;
  // `choice`: a candidate index per position, as an architecture (each position's operation).
  Architecture FromCandidates(const std::vector<int>& choice) const;
  // The sampled path as an architecture.
  Architecture Active() const;
  // sum over positions of sum_j p_j cost[position][j] under p = softmax(alpha), a differentiable
  // float64 scalar on the CPU.
  torch::Tensor ExpectedCost(const std::vector<std::vector<double>>& candidate_cost);
  // Expected FLOPs (multiply-accumulates), the fixed layers included.
  torch::Tensor ExpectedFlops() { return ExpectedCost(candidate_flops_) + static_cast<double>(fixed_flops_); }
  std::int64_t FixedFlops() const { return fixed_flops_; }
  const ChainNetworkOptions& options() const { return options_; }

  // `arch` as a stand-alone network (running BatchNorm statistics, not yet calibrated) holding
  // a copy of the supernet's weights of that path.
  StatusOr<ChainNetwork> ExtractNetwork(const Architecture& arch);

  std::vector<torch::Tensor> WeightParameters();
  // The weights the current path uses: fixed blocks, each position's active candidate, classifier.
  std::vector<torch::Tensor> ActiveWeightParameters();
  std::vector<torch::Tensor> ArchitectureParameters();
  std::vector<MixedOp>& mixed_ops() { return mixed_; }

 private:
  SupernetImpl(const ChainSpace& space, const ChainNetworkOptions& options, std::uint64_t seed)
      : space_(space), options_(options), seed_(seed) {}
  const ChainSpace& space_;
  ChainNetworkOptions options_;
  std::uint64_t seed_;
  std::vector<ChainBlock> prefix_, suffix_;
  std::vector<MixedOp> mixed_;
  std::vector<std::vector<double>> candidate_flops_;  // [position][candidate]
  std::int64_t fixed_flops_ = 0;
  torch::nn::Linear classifier_{nullptr};
};

// A candidate index per position with the largest sum of log_p[position][index] among the
// choices whose sum of cost[position][index] (each >= 0) lies in [low, high], low < high; nullopt
// when none does. Dynamic programming over the positions with partial costs in bins of (high - low) / 1000:
// of two partial choices in one bin only the more probable is kept, so the answer is the most
// probable but for choices that differ from it in cost by less than a bin at the band's edges.
std::optional<std::vector<int>> MostProbableWithinCost(const std::vector<std::vector<double>>& log_p,
                                                       const std::vector<std::vector<double>>& cost, double low, double high);

}  // namespace hpcnas
