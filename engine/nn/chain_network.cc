#include "engine/nn/chain_network.h"

#include <string>

namespace hpcnas {
namespace {

namespace nn = torch::nn;

torch::Tensor Activate(const torch::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::kRelu:
      return torch::relu(x);
    case Activation::kRelu6:
      return torch::hardtanh(x, 0.0, 6.0);
    case Activation::kNone:
      break;
  }
  return x;
}

}  // namespace

ChainNetworkImpl::ChainNetworkImpl(NetworkPlan plan, BatchNormMode batch_norm, bool one_channel)
    : plan_(std::move(plan)), one_channel_(one_channel) {
  const bool running = batch_norm == BatchNormMode::kRunningStatistics;
  for (std::size_t b = 0; b < plan_.blocks.size(); ++b) {
    const BlockPlan& block = plan_.blocks[b];
    for (std::size_t i = 0; i < block.convs.size(); ++i) {
      const ConvPlan& c = block.convs[i];
      // One-channel mode: the stem (the only conv that reads the image) keeps its 3 inputs.
      const bool collapsed = one_channel && !(b == 0 && i == 0);
      const std::int64_t in = collapsed ? 1 : c.in;
      fan_in_.push_back(collapsed ? static_cast<double>(c.in / c.groups) : 1.0);
      const std::int64_t out = one_channel ? 1 : c.out;
      const std::int64_t groups = one_channel ? 1 : c.groups;
      const std::string name = "block" + std::to_string(b) + "_" + std::to_string(i);
      convs_.push_back(register_module(
          name + "_conv",
          nn::Conv2d(nn::Conv2dOptions(in, out, c.kernel).stride(c.stride).padding(c.kernel / 2).groups(groups).bias(false))));
      norms_.push_back(register_module(
          name + "_bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(plan_.bn_eps).track_running_stats(running))));
    }
  }
  classifier_ = register_module(
      "classifier", nn::Linear(one_channel ? 1 : plan_.classifier_in, one_channel ? 1 : plan_.classifier_out));
}

torch::Tensor ChainNetworkImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  std::size_t k = 0;
  for (const BlockPlan& block : plan_.blocks) {
    torch::Tensor y = x;
    for (const ConvPlan& c : block.convs) {
      torch::Tensor z = convs_[k]->forward(y);
      if (fan_in_[k] != 1.0) z = z * fan_in_[k];
      y = Activate(norms_[k]->forward(z), c.activation);
      ++k;
    }
    x = block.residual ? y + x : y;
  }
  torch::Tensor pooled = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  torch::Tensor out = classifier_->forward(pooled);
  return one_channel_ ? out * static_cast<double>(plan_.classifier_in) : out;
}

void ChainNetworkImpl::FillEpsilonWeights(double w) {
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < convs_.size(); ++k) {
    convs_[k]->weight.fill_(w);
    norms_[k]->weight.fill_(w);
    norms_[k]->bias.fill_(0.0);
  }
  classifier_->weight.fill_(w);
  classifier_->bias.fill_(0.0);
}

}  // namespace hpcnas
