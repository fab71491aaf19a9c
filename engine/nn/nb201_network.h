#pragma once
// The NAS-Bench-201 network as LibTorch modules (DESIGN section 4.1): stem conv3x3 3->C + BN;
// N cells; residual reduction block C->2C; N cells; reduction 2C->4C; N cells; BN-ReLU;
// global average pool; Linear. The op order inside every block follows the original
// NAS-Bench-201 code, so float rounding and underflow happen where they happen there.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/space/nb201.h"

namespace hpcnas {

enum class BatchNormMode {
  kBatchStatistics,    // always normalise with the statistics of the current batch (epsilon)
  kRunningStatistics,  // track running statistics; use them in eval mode (training)
};

struct Nb201NetworkOptions {
  explicit Nb201NetworkOptions(nb201::Genotype genotype) : genotype_(genotype) {}
  TORCH_ARG(nb201::Genotype, genotype);
  TORCH_ARG(int64_t, channels) = 16;
  TORCH_ARG(int64_t, cells_per_stage) = 5;
  TORCH_ARG(int64_t, num_outputs) = 10;
  TORCH_ARG(BatchNormMode, batch_norm) = BatchNormMode::kBatchStatistics;
};

// ReLU -> conv (no bias) -> BatchNorm, the "nor_conv" op and the reduction block's convs.
class ReluConvBnImpl : public torch::nn::Module {
 public:
  ReluConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, BatchNormMode mode);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ReluConvBn);

// One NB201 cell: node j = sum over incoming edges, in string order, of op(node i).
class Nb201CellImpl : public torch::nn::Module {
 public:
  Nb201CellImpl(const nb201::Genotype& genotype, int64_t channels, BatchNormMode mode);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<torch::nn::AnyModule> edge_ops_;
};
TORCH_MODULE(Nb201Cell);

// Residual reduction: (ReLU-conv3x3 s2-BN, ReLU-conv3x3-BN) + (avgpool 2x2 s2, conv1x1).
class ReductionBlockImpl : public torch::nn::Module {
 public:
  ReductionBlockImpl(int64_t in, int64_t out, BatchNormMode mode);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ReluConvBn conv_a_{nullptr};
  ReluConvBn conv_b_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(ReductionBlock);

class Nb201NetworkImpl : public torch::nn::Module {
 public:
  explicit Nb201NetworkImpl(const Nb201NetworkOptions& options);
  // [B, 3, H, W] -> [B, num_outputs]
  torch::Tensor forward(const torch::Tensor& x);
  const Nb201NetworkOptions& options() const { return options_; }

 private:
  Nb201NetworkOptions options_;
  torch::nn::Sequential stem_{nullptr};
  torch::nn::Sequential body_{nullptr};
  torch::nn::BatchNorm2d last_bn_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Nb201Network);

// Sets every weight (conv, linear, BatchNorm gamma) to `weight` and every bias and
// BatchNorm beta to 0, as the epsilon metric prescribes.
void FillConstantParameters(torch::nn::Module& module, double weight);

}  // namespace hpcnas
