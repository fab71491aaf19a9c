#pragma once
// A latency lookup table (DESIGN section 4.4, ProxylessNAS's hardware model): the measured
// latency of every block a chain network can hold, keyed by what decides its cost (operation,
// input shape, output channels, stride, identity shortcut), with count / mean / variance per
// entry. A network's latency is predicted as the sum over its blocks (plus the classifier),
// then mapped through a linear calibration fitted against whole networks measured end to end.
// Plain numbers (engine/nn/latency_measure.h measures, io/latency_file.h stores).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"
#include "engine/space/network_plan.h"

namespace hpcnas {

struct LatencyEntry {
  std::string key;
  std::int64_t count = 0;
  double mean_ms = 0, variance_ms2 = 0;
};

struct LatencyTable {
  std::string space;           // the chain space it was measured for
  std::int64_t resolution = 0;
  double width_multiplier = 1.0;
  std::string device;          // "cpu" or "cuda"; where it was measured
  std::string device_name;     // the CPU model or GPU name, for people
  std::int64_t threads = 1, batch = 1;
  std::vector<LatencyEntry> entries;
  // predicted = scale * (sum of the blocks' means) + offset, fitted over whole networks.
  double calibration_scale = 1.0, calibration_offset_ms = 0.0;

  // The mean of `key`, or an error naming it: a missing key is never a silent default.
  StatusOr<double> Lookup(const std::string& key) const;
  // The sum of the means of `plan`'s blocks and classifier (uncalibrated), in ms.
  StatusOr<double> SumOfBlocks(const NetworkPlan& plan) const;
  // SumOfBlocks, calibrated.
  StatusOr<double> Predict(const NetworkPlan& plan) const;

 private:
  mutable std::unordered_map<std::string, std::size_t> index_;  // built on first lookup
};

// "MB6_K5 32x16x16 -> 64 s2 shortcut" and the like.
std::string BlockLatencyKey(const BlockPlan& block);
std::string ClassifierLatencyKey(std::int64_t in, std::int64_t out);

}  // namespace hpcnas
