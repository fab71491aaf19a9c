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

ChainBlockImpl::ChainBlockImpl(BlockPlan plan, const Options& options) : plan_(std::move(plan)) {
  const bool running = options.batch_norm == BatchNormMode::kRunningStatistics;
  for (std::size_t i = 0; i < plan_.convs.size(); ++i) {
    const ConvPlan& c = plan_.convs[i];
    const bool collapsed = options.one_channel && !(options.reads_image && i == 0);
    const std::int64_t in = collapsed ? 1 : c.in;
    fan_in_.push_back(collapsed ? static_cast<double>(c.in / c.groups) : 1.0);
    const std::int64_t out = options.one_channel ? 1 : c.out;
    const std::int64_t groups = options.one_channel ? 1 : c.groups;
    const std::string name = std::to_string(i);
    convs_.push_back(register_module(
        "conv" + name,
        nn::Conv2d(nn::Conv2dOptions(in, out, c.kernel).stride(c.stride).padding(c.kernel / 2).groups(groups).bias(false))));
    norms_.push_back(register_module(
        "bn" + name, nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(options.bn_eps).track_running_stats(running))));
  }
}

torch::Tensor ChainBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (std::size_t k = 0; k < convs_.size(); ++k) {
    torch::Tensor z = convs_[k]->forward(y);
    if (fan_in_[k] != 1.0) z = z * fan_in_[k];
    y = Activate(norms_[k]->forward(z), plan_.convs[k].activation);
  }
  return plan_.residual ? y + x : y;
}

void ChainBlockImpl::FillEpsilonWeights(double w) {
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < convs_.size(); ++k) {
    convs_[k]->weight.fill_(w);
    norms_[k]->weight.fill_(w);
    norms_[k]->bias.fill_(0.0);
  }
}

ChainNetworkImpl::ChainNetworkImpl(NetworkPlan plan, BatchNormMode batch_norm, bool one_channel)
    : plan_(std::move(plan)), one_channel_(one_channel) {
  for (std::size_t b = 0; b < plan_.blocks.size(); ++b) {
    ChainBlockImpl::Options options{plan_.bn_eps, batch_norm, one_channel, /*reads_image=*/b == 0};
    blocks_.push_back(register_module("block" + std::to_string(b), ChainBlock(plan_.blocks[b], options)));
  }
  classifier_ = register_module(
      "classifier", nn::Linear(one_channel ? 1 : plan_.classifier_in, one_channel ? 1 : plan_.classifier_out));
}

void RecalibrateBatchNorm(ChainNetworkImpl& network, const torch::Tensor& images, std::int64_t chunk) {
  std::vector<nn::BatchNorm2dImpl*> norms;
  for (const auto& module : network.modules(/*include_self=*/false)) {
    if (auto* bn = module->as<nn::BatchNorm2dImpl>(); bn != nullptr && bn->options.track_running_stats()) norms.push_back(bn);
  }
  for (auto* bn : norms) {
    bn->reset_running_stats();
    bn->options.momentum(c10::nullopt);  // a cumulative average over the chunks
  }
  torch::NoGradGuard no_grad;
  network.train();
  for (std::int64_t begin = 0; begin < images.size(0); begin += chunk) {
    const torch::Tensor x = images.slice(0, begin, std::min(begin + chunk, images.size(0)));
    network.forward(x);
  }
  for (auto* bn : norms) bn->options.momentum(0.1);
  network.eval();
}

torch::Tensor PoolAndClassify(const torch::Tensor& features, torch::nn::Linear& classifier) {
  return classifier->forward(torch::adaptive_avg_pool2d(features, {1, 1}).flatten(1));
}

torch::Tensor ChainNetworkImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (ChainBlock& block : blocks_) x = block->forward(x);
  torch::Tensor out = PoolAndClassify(x, classifier_);
  return one_channel_ ? out * static_cast<double>(plan_.classifier_in) : out;
}

void ChainNetworkImpl::FillEpsilonWeights(double w) {
  torch::NoGradGuard no_grad;
  for (ChainBlock& block : blocks_) block->FillEpsilonWeights(w);
  classifier_->weight.fill_(w);
  classifier_->bias.fill_(0.0);
}

}  // namespace hpcnas
