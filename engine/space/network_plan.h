#pragma once
// The network of a chain-space architecture as plain numbers: every convolution with its shape
// and the size of the feature map it reads. One plan gives the parameter and FLOP counts, the
// per-layer table of `hpcnas inspect`, and the LibTorch modules (engine/nn/chain_network.h), so
// the three cannot disagree. No LibTorch.

#include <cstdint>
#include <string>
#include <vector>

namespace hpcnas {

enum class Activation { kNone, kRelu, kRelu6 };

// A convolution without bias, followed by BatchNorm over its outputs and the activation.
struct ConvPlan {
  std::int64_t in = 0, out = 0, kernel = 1, stride = 1, groups = 1;
  Activation activation = Activation::kNone;
  std::int64_t in_size = 0;  // height = width of the input feature map

  std::int64_t OutSize() const { return (in_size + 2 * (kernel / 2) - kernel) / stride + 1; }
  std::int64_t Params() const { return in / groups * out * kernel * kernel + 2 * out; }  // BN: gamma, beta
  // Multiply-accumulates at this input size.
  std::int64_t Flops() const { return OutSize() * OutSize() * (in / groups) * out * kernel * kernel; }
};

// One layer of the chain: a sequence of convolutions (none: the identity), with the input added
// to the output when `residual`.
struct BlockPlan {
  std::string label;  // "stem", "layer 3", "head"
  std::string op;     // the operation's name, "conv3x3", "MB6_K5", "identity"
  std::vector<ConvPlan> convs;
  bool residual = false;
  std::int64_t in_channels = 0, out_channels = 0, in_size = 0, out_size = 0;
  int position = -1;  // the searchable position this block realises; -1: a fixed block (stem, head)

  std::int64_t Params() const;
  std::int64_t Flops() const;
};

// Blocks in order, then global average pooling and a Linear classifier (with bias).
struct NetworkPlan {
  std::int64_t resolution = 32;
  double bn_eps = 1e-5;
  std::vector<BlockPlan> blocks;
  std::int64_t classifier_in = 0, classifier_out = 0;

  std::int64_t ClassifierParams() const { return classifier_in * classifier_out + classifier_out; }
  std::int64_t ClassifierFlops() const { return classifier_in * classifier_out; }
  std::int64_t Params() const;
  std::int64_t Flops() const;
};

// Builds blocks in order, tracking channels and feature-map size.
class PlanBuilder {
 public:
  PlanBuilder(std::int64_t resolution, double bn_eps);
  // conv k x k (stride, padding k/2) + BN + activation.
  void AddConv(std::string label, std::string op, std::int64_t out, std::int64_t kernel, std::int64_t stride,
               Activation activation);
  // MobileNetV2 inverted residual: 1x1 to round(in * expand) + BN + act (left out when expand is 1),
  // k x k depthwise (stride) + BN + act, 1x1 to out + BN; residual when asked.
  void AddInvertedResidual(std::string label, std::string op, std::int64_t out, int expand, std::int64_t kernel,
                           std::int64_t stride, Activation activation, bool residual);
  // The identity: a layer without operations.
  void AddIdentity(std::string label, std::string op);
  // The last block added realises searchable position `position`.
  void MarkPosition(int position) { plan_.blocks.back().position = position; }
  NetworkPlan Finish(std::int64_t num_classes);
  std::int64_t channels() const { return channels_; }

 private:
  ConvPlan MakeConv(std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t groups, Activation act);
  NetworkPlan plan_;
  std::int64_t channels_ = 3;
  std::int64_t size_;
};

}  // namespace hpcnas
