#pragma once
// A latency lookup table on disk (HDF5, layout in io/README.md): one row per key (count, mean,
// variance), where and how it was measured, its calibration, and the whole networks it was
// checked against. Written atomically; read back with every column checked.

#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/space/latency_table.h"
#include "io/provenance.h"

namespace hpcnas {

inline constexpr std::int64_t kLatencyFileSchemaVersion = 1;
inline constexpr const char* kLatencyFileKind = "hpcnas.latency_table";

// Whole networks measured end to end beside the table's prediction (may be empty).
struct LatencyValidation {
  std::vector<std::string> archs;
  std::vector<double> sum_of_blocks_ms, predicted_ms, measured_ms;
};

Status WriteLatencyFile(const std::string& path, const LatencyTable& table, const LatencyValidation& validation,
                        const Provenance& provenance);
StatusOr<LatencyTable> ReadLatencyFile(const std::string& path);

}  // namespace hpcnas
