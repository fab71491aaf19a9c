#pragma once
// What an architecture of a chain space costs on the hardware, for a search's budget
// (search.max_mflops, search.max_latency_ms): the FLOPs of the network it becomes (its
// NetworkPlan at the given resolution and width) and, with a latency lookup table measured on
// the target device, its predicted latency. Pure: no LibTorch, no MPI.

#include <optional>

#include "engine/space/chain_spaces.h"
#include "engine/space/latency_table.h"

namespace hpcnas {

class HardwareCost {
 public:
  // Errors: a table measured for another space, resolution or width, or one that lacks a block
  // some architecture of the space can hold (checked here, so that no lookup fails later).
  // `space` must outlive the cost model.
  static StatusOr<HardwareCost> Make(const ChainSpace& space, const ChainNetworkOptions& options,
                                     std::optional<LatencyTable> latency);

  double Mflops(const Architecture& arch) const;
  double LatencyMs(const Architecture& arch) const;  // NaN without a latency table
  bool has_latency() const { return latency_.has_value(); }

 private:
  HardwareCost(const ChainSpace& space, const ChainNetworkOptions& options, std::optional<LatencyTable> latency)
      : space_(&space), options_(options), latency_(std::move(latency)) {}
  const ChainSpace* space_;
  ChainNetworkOptions options_;
  std::optional<LatencyTable> latency_;
};

// A budget on both costs; 0 = no limit on that one.
struct HardwareBudget {
  double max_mflops = 0, max_latency_ms = 0;
  bool Limits() const { return max_mflops > 0 || max_latency_ms > 0; }
  bool Allows(const HardwareCost& cost, const Architecture& arch) const {
    return (max_mflops <= 0 || cost.Mflops(arch) <= max_mflops) && (max_latency_ms <= 0 || cost.LatencyMs(arch) <= max_latency_ms);
  }
};

}  // namespace hpcnas
