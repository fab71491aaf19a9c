#include "engine/nn/nb201_network.h"

#include <string>

namespace hpcnas {
namespace {

namespace nn = torch::nn;

nn::BatchNorm2d MakeBatchNorm(int64_t channels, BatchNormMode mode) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(channels).eps(1e-5).affine(true).track_running_stats(
      mode == BatchNormMode::kRunningStatistics));
}

// The 'none' op. Multiplying by zero (rather than dropping the edge) keeps the original's
// behaviour for non-finite inputs, which become NaN.
class ZeroOpImpl : public nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return x.mul(0.0); }
};
TORCH_MODULE(ZeroOp);

nn::AnyModule MakeEdgeOp(nb201::Op op, int64_t channels, BatchNormMode mode) {
  switch (op) {
    case nb201::Op::kNone:
      return nn::AnyModule(ZeroOp());
    case nb201::Op::kSkipConnect:
      return nn::AnyModule(nn::Identity());
    case nb201::Op::kConv1x1:
      return nn::AnyModule(ReluConvBn(channels, channels, 1, 1, mode));
    case nb201::Op::kConv3x3:
      return nn::AnyModule(ReluConvBn(channels, channels, 3, 1, mode));
    case nb201::Op::kAvgPool3x3:
      return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)));
  }
  throw std::logic_error("unknown NB201 op");
}

}  // namespace

ReluConvBnImpl::ReluConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, BatchNormMode mode) {
  conv_ = register_module(
      "conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  bn_ = register_module("bn", MakeBatchNorm(out, mode));
}

torch::Tensor ReluConvBnImpl::forward(const torch::Tensor& x) { return bn_->forward(conv_->forward(torch::relu(x))); }

Nb201CellImpl::Nb201CellImpl(const nb201::Genotype& genotype, int64_t channels, BatchNormMode mode) {
  for (int e = 0; e < nb201::kNumEdges; ++e) {
    edge_ops_.push_back(MakeEdgeOp(genotype.ops[e], channels, mode));
    register_module("edge" + std::to_string(e), edge_ops_.back().ptr());
  }
}

torch::Tensor Nb201CellImpl::forward(const torch::Tensor& x) {
  torch::Tensor nodes[nb201::kNumNodes] = {x};
  for (int e = 0; e < nb201::kNumEdges; ++e) {
    const nb201::Edge edge = nb201::kEdges[e];
    torch::Tensor out = edge_ops_[e].forward(nodes[edge.from]);
    nodes[edge.to] = nodes[edge.to].defined() ? nodes[edge.to] + out : out;
  }
  return nodes[nb201::kNumNodes - 1];
}

ReductionBlockImpl::ReductionBlockImpl(int64_t in, int64_t out, BatchNormMode mode) {
  conv_a_ = register_module("conv_a", ReluConvBn(in, out, 3, 2, mode));
  conv_b_ = register_module("conv_b", ReluConvBn(out, out, 3, 1, mode));
  shortcut_ = register_module(
      "shortcut", nn::Sequential(nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)),
                                 nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false))));
}

torch::Tensor ReductionBlockImpl::forward(const torch::Tensor& x) {
  return shortcut_->forward(x) + conv_b_->forward(conv_a_->forward(x));
}

Nb201NetworkImpl::Nb201NetworkImpl(const Nb201NetworkOptions& options) : options_(options) {
  const int64_t c = options.channels();
  const BatchNormMode mode = options.batch_norm();
  stem_ = register_module("stem", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, c, 3).padding(1).bias(false)),
                                                 MakeBatchNorm(c, mode)));
  body_ = register_module("cells", nn::Sequential());
  int64_t width = c;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      body_->push_back(ReductionBlock(width, 2 * width, mode));
      width *= 2;
    }
    for (int64_t i = 0; i < options.cells_per_stage(); ++i) body_->push_back(Nb201Cell(options.genotype(), width, mode));
  }
  last_bn_ = register_module("last_bn", MakeBatchNorm(width, mode));
  classifier_ = register_module("classifier", nn::Linear(width, options.num_outputs()));
}

torch::Tensor Nb201NetworkImpl::forward(const torch::Tensor& x) {
  torch::Tensor features = torch::relu(last_bn_->forward(body_->forward(stem_->forward(x))));
  torch::Tensor pooled = torch::adaptive_avg_pool2d(features, {1, 1}).flatten(1);
  return classifier_->forward(pooled);
}

void FillConstantParameters(torch::nn::Module& module, double weight) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    item.value().fill_(is_bias ? 0.0 : weight);
  }
}

}  // namespace hpcnas
