#include "engine/space/network_plan.h"

#include <cmath>

namespace hpcnas {

std::int64_t BlockPlan::Params() const {
  std::int64_t total = 0;
  for (const ConvPlan& c : convs) total += c.Params();
  return total;
}

std::int64_t BlockPlan::Flops() const {
  std::int64_t total = 0;
  for (const ConvPlan& c : convs) total += c.Flops();
  return total;
}

std::int64_t NetworkPlan::Params() const {
  std::int64_t total = ClassifierParams();
  for (const BlockPlan& b : blocks) total += b.Params();
  return total;
}

std::int64_t NetworkPlan::Flops() const {
  std::int64_t total = ClassifierFlops();
  for (const BlockPlan& b : blocks) total += b.Flops();
  return total;
}

PlanBuilder::PlanBuilder(std::int64_t resolution, double bn_eps) : size_(resolution) {
  plan_.resolution = resolution;
  plan_.bn_eps = bn_eps;
}

ConvPlan PlanBuilder::MakeConv(std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t groups,
                               Activation act) {
  ConvPlan conv{channels_, out, kernel, stride, groups, act, size_};
  channels_ = out;
  size_ = conv.OutSize();
  return conv;
}

void PlanBuilder::AddConv(std::string label, std::string op, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                          Activation activation) {
  BlockPlan block{std::move(label), std::move(op), {}, false, channels_, 0, size_, 0};
  block.convs.push_back(MakeConv(out, kernel, stride, 1, activation));
  block.out_channels = channels_;
  block.out_size = size_;
  plan_.blocks.push_back(std::move(block));
}

void PlanBuilder::AddInvertedResidual(std::string label, std::string op, std::int64_t out, int expand,
                                      std::int64_t kernel, std::int64_t stride, Activation activation, bool residual) {
  BlockPlan block{std::move(label), std::move(op), {}, residual, channels_, 0, size_, 0};
  // round(), as both reference implementations write it: Python rounds halves to even, and
  // channels * expand is an integer here, so the two agree.
  const auto hidden = static_cast<std::int64_t>(std::llround(static_cast<double>(channels_) * expand));
  if (expand != 1) block.convs.push_back(MakeConv(hidden, 1, 1, 1, activation));
  block.convs.push_back(MakeConv(hidden, kernel, stride, hidden, activation));
  block.convs.push_back(MakeConv(out, 1, 1, 1, Activation::kNone));
  block.out_channels = channels_;
  block.out_size = size_;
  plan_.blocks.push_back(std::move(block));
}

void PlanBuilder::AddIdentity(std::string label, std::string op) {
  plan_.blocks.push_back({std::move(label), std::move(op), {}, false, channels_, channels_, size_, size_});
}

NetworkPlan PlanBuilder::Finish(std::int64_t num_classes) {
  plan_.classifier_in = channels_;
  plan_.classifier_out = num_classes;
  return plan_;
}

}  // namespace hpcnas
