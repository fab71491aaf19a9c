#include "engine/space/latency_table.h"

#include <algorithm>

namespace hpcnas {

std::string BlockLatencyKey(const BlockPlan& block) {
  std::int64_t stride = 1;
  for (const ConvPlan& c : block.convs) stride = std::max(stride, c.stride);
  return block.op + " " + std::to_string(block.in_channels) + "x" + std::to_string(block.in_size) + "x" +
         std::to_string(block.in_size) + " -> " + std::to_string(block.out_channels) + " s" + std::to_string(stride) +
         (block.residual ? " shortcut" : "");
}

std::string ClassifierLatencyKey(std::int64_t in, std::int64_t out) {
  return "pool+linear " + std::to_string(in) + " -> " + std::to_string(out);
}

StatusOr<double> LatencyTable::Lookup(const std::string& key) const {
  if (index_.size() != entries.size()) {
    index_.clear();
    for (std::size_t i = 0; i < entries.size(); ++i) index_[entries[i].key] = i;
  }
  const auto it = index_.find(key);
  if (it == index_.end()) {
    return Status::InvalidInput("the latency table (" + space + ", " + device + ") has no entry '" + key +
                                "': measure it for this space, resolution and width (hpcnas latency)");
  }
  return entries[it->second].mean_ms;
}

StatusOr<double> LatencyTable::SumOfBlocks(const NetworkPlan& plan) const {
  double total = 0;
  for (const BlockPlan& block : plan.blocks) {
    HPCNAS_ASSIGN_OR_RETURN(const double ms, Lookup(BlockLatencyKey(block)));
    total += ms;
  }
  HPCNAS_ASSIGN_OR_RETURN(const double classifier, Lookup(ClassifierLatencyKey(plan.classifier_in, plan.classifier_out)));
  return total + classifier;
}

StatusOr<double> LatencyTable::Predict(const NetworkPlan& plan) const {
  HPCNAS_ASSIGN_OR_RETURN(const double sum, SumOfBlocks(plan));
  return calibration_scale * sum + calibration_offset_ms;
}

}  // namespace hpcnas
