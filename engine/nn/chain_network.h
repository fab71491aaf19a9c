#pragma once
// A chain-space network (engine/space/chain_spaces.h) as LibTorch modules, built from its
// NetworkPlan, so its parameters are the plan's (a test checks the count on every
// NAS-Bench-Macro network).
//
// One-channel mode is the epsilon fast path (DESIGN section 4.2): with every weight equal to w
// and BatchNorm per channel, every channel of a layer carries the same values, so a network in
// which every layer has one channel gives the same outputs when each convolution's result is
// multiplied by its input channels per group, and the classifier's by its input features. A
// depthwise convolution is already one channel per group; a pointwise one becomes a scaling.
// Only the stem reads the image's 3 distinct channels, so it keeps them. The product w x x is
// formed first and the fan-in applied after it, as the full convolution sums fan-in copies of
// that product: a product that underflows float32 there underflows here too, so the two paths
// agree on which architectures get a NaN score.

#include <torch/torch.h>

#include <vector>

#include "engine/nn/nb201_network.h"  // BatchNormMode
#include "engine/space/network_plan.h"

namespace hpcnas {

// One block of a plan: its convolutions (each + BatchNorm + activation), plus the input when
// the block is residual. No convolutions: the identity.
class ChainBlockImpl : public torch::nn::Module {
 public:
  struct Options {
    double bn_eps = 1e-5;
    BatchNormMode batch_norm = BatchNormMode::kRunningStatistics;
    bool one_channel = false;
    bool reads_image = false;  // one-channel mode: the first conv keeps its 3 input channels
  };
  ChainBlockImpl(BlockPlan plan, const Options& options);
  torch::Tensor forward(const torch::Tensor& x);
  void FillEpsilonWeights(double w);
  const BlockPlan& plan() const { return plan_; }

 private:
  BlockPlan plan_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  std::vector<double> fan_in_;  // one-channel mode: what each conv's result is multiplied by
};
TORCH_MODULE(ChainBlock);

class ChainNetworkImpl : public torch::nn::Module {
 public:
  ChainNetworkImpl(NetworkPlan plan, BatchNormMode batch_norm, bool one_channel = false);
  // [B, 3, H, W] -> [B, plan.classifier_out]
  torch::Tensor forward(const torch::Tensor& x);
  // Epsilon's constant initialisation: every conv, BatchNorm and linear weight w, every bias and
  // BatchNorm beta 0.
  void FillEpsilonWeights(double w);
  const NetworkPlan& plan() const { return plan_; }
  bool one_channel() const { return one_channel_; }
  std::vector<ChainBlock>& blocks() { return blocks_; }
  torch::nn::Linear& classifier() { return classifier_; }

 private:
  NetworkPlan plan_;
  bool one_channel_;
  std::vector<ChainBlock> blocks_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(ChainNetwork);

// Sets every BatchNorm's running statistics to the average over `images` (in chunks of
// `chunk`), the network in training mode without gradients, then leaves it in eval mode: what a
// subnet cut from a supernet needs before it is evaluated (once-for-all's lesson).
void RecalibrateBatchNorm(ChainNetworkImpl& network, const torch::Tensor& images, std::int64_t chunk);

// Global average pooling and the classifier, as every chain network ends.
torch::Tensor PoolAndClassify(const torch::Tensor& features, torch::nn::Linear& classifier);

}  // namespace hpcnas
