#pragma once
// Measures ProxylessNAS's latency lookup table (engine/space/latency_table.h) on this rank's own
// device: every block a network of a chain space can hold, alone, on its input shape, in eval
// mode without gradients (inference latency), plus whole networks end to end to calibrate it.
// Device-agnostic: the same code times the CPU (with this process's intra-op threads) or a GPU
// (synchronising around each run).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/nn/chain_network.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/latency_table.h"

namespace hpcnas {

struct LatencyMeasureOptions {
  int warmup = 3;      // untimed runs first
  int repeats = 20;    // timed runs per entry (or per network), in rounds over all of them
  std::int64_t batch = 1;
};

// Every distinct block key of `space` at `options` (each position with each operation it
// allows, the fixed blocks) and the classifier, measured.
StatusOr<LatencyTable> MeasureLatencyTable(const ChainSpace& space, const ChainNetworkOptions& options,
                                           torch::Device device, const LatencyMeasureOptions& measure);
// Mean milliseconds of each network's forward pass over measure.repeats runs, timed in rounds
// over the networks as the table's entries are.
std::vector<double> MeasureNetworkLatencies(std::vector<ChainNetwork>& networks, torch::Device device,
                                            const LatencyMeasureOptions& measure);

// Least-squares scale and offset mapping `sum_of_blocks` onto `measured`, stored in `table`
// (the scale alone when that fit gives a negative offset or scale).
void FitLatencyCalibration(LatencyTable& table, const std::vector<double>& sum_of_blocks, const std::vector<double>& measured);

}  // namespace hpcnas
