#include "engine/space/hardware_cost.h"

#include <cmath>
#include <string>

namespace hpcnas {

StatusOr<HardwareCost> HardwareCost::Make(const ChainSpace& space, const ChainNetworkOptions& options,
                                          std::optional<LatencyTable> latency) {
  HardwareCost cost(space, options, std::move(latency));
  HPCNAS_RETURN_IF_ERROR(space.Plan(space.AtIndex(0), options).status());
  if (!cost.latency_) return cost;
  const LatencyTable& table = *cost.latency_;
  if (table.space != std::string(space.name()) || table.resolution != options.resolution ||
      table.width_multiplier != options.width_multiplier) {
    return Status::InvalidInput("the latency table was measured for space " + table.space + " at " + std::to_string(table.resolution) +
                                " px, width " + std::to_string(table.width_multiplier) + "; the search's networks are space " +
                                std::string(space.name()) + " at " + std::to_string(options.resolution) + " px, width " +
                                std::to_string(options.width_multiplier));
  }
  // Every block a position can hold: each choice at each position, the first choice elsewhere
  // (a block's shape depends on its stage, not on its neighbours' operations).
  for (int p = 0; p < space.num_positions(); ++p) {
    for (int k = 0; k < space.num_choices(p); ++k) {
      Architecture arch = space.AtIndex(0);
      arch.choices[p] = space.choice(p, k);
      HPCNAS_ASSIGN_OR_RETURN(const NetworkPlan plan, space.Plan(arch, options));
      HPCNAS_RETURN_IF_ERROR(table.Predict(plan).status().WithContext("the latency table"));
    }
  }
  return cost;
}

double HardwareCost::Mflops(const Architecture& arch) const {
  StatusOr<NetworkPlan> plan = space_->Plan(arch, options_);
  return plan.ok() ? static_cast<double>(plan->Flops()) / 1e6 : std::nan("");
}

double HardwareCost::LatencyMs(const Architecture& arch) const {
  if (!latency_) return std::nan("");
  StatusOr<NetworkPlan> plan = space_->Plan(arch, options_);
  if (!plan.ok()) return std::nan("");
  StatusOr<double> ms = latency_->Predict(*plan);
  return ms.ok() ? *ms : std::nan("");
}

}  // namespace hpcnas
