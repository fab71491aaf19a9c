#include "io/latency_file.h"

#include "io/files.h"
#include "io/hdf5_file.h"

namespace hpcnas {

Status WriteLatencyFile(const std::string& path, const LatencyTable& t, const LatencyValidation& v,
                        const Provenance& provenance) {
  return WriteFileAtomically(path, [&](const std::string& temp) -> Status {
    HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(temp));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string(kLatencyFileKind)));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kLatencyFileSchemaVersion));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", t.space));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "resolution", t.resolution));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "width_multiplier", t.width_multiplier));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "device", t.device));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "device_name", t.device_name));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "threads", t.threads));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "batch", t.batch));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "calibration_scale", t.calibration_scale));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "calibration_offset_ms", t.calibration_offset_ms));
    HPCNAS_RETURN_IF_ERROR(file.SetProvenance(provenance));
    std::vector<std::string> keys;
    std::vector<std::int64_t> counts;
    std::vector<double> means, variances;
    for (const LatencyEntry& e : t.entries) {
      keys.push_back(e.key);
      counts.push_back(e.count);
      means.push_back(e.mean_ms);
      variances.push_back(e.variance_ms2);
    }
    HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/entries"));
    HPCNAS_RETURN_IF_ERROR(file.Write("/entries/key", keys));
    HPCNAS_RETURN_IF_ERROR(file.Write("/entries/count", counts));
    HPCNAS_RETURN_IF_ERROR(file.Write("/entries/mean_ms", means));
    HPCNAS_RETURN_IF_ERROR(file.Write("/entries/variance_ms2", variances));
    HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/validation"));
    HPCNAS_RETURN_IF_ERROR(file.Write("/validation/arch", v.archs));
    HPCNAS_RETURN_IF_ERROR(file.Write("/validation/sum_of_blocks_ms", v.sum_of_blocks_ms));
    HPCNAS_RETURN_IF_ERROR(file.Write("/validation/predicted_ms", v.predicted_ms));
    HPCNAS_RETURN_IF_ERROR(file.Write("/validation/measured_ms", v.measured_ms));
    return file.Close();
  });
}

StatusOr<LatencyTable> ReadLatencyFile(const std::string& path) {
  auto bad = [&](const std::string& why) { return Status::InvalidInput("latency table '" + path + "': " + why); };
  HPCNAS_RETURN_IF_ERROR(RegularFileSize(path, "latency table").status());
  StatusOr<h5::File> opened = h5::File::OpenReadOnly(path);
  if (!opened.ok()) return bad("not a readable HDF5 file");
  const h5::File& file = *opened;
  auto kind = file.ReadStringAttribute("/", "kind");
  if (!kind.ok() || *kind != kLatencyFileKind) return bad("not an hpcnas latency table");
  auto read = [&]() -> StatusOr<LatencyTable> {
    LatencyTable t;
    HPCNAS_ASSIGN_OR_RETURN(const std::int64_t version, file.ReadInt64Attribute("/", "schema_version"));
    if (version != kLatencyFileSchemaVersion) return Status::InvalidInput("schema version " + std::to_string(version));
    HPCNAS_ASSIGN_OR_RETURN(t.space, file.ReadStringAttribute("/", "space"));
    HPCNAS_ASSIGN_OR_RETURN(t.resolution, file.ReadInt64Attribute("/", "resolution"));
    HPCNAS_ASSIGN_OR_RETURN(t.width_multiplier, file.ReadDoubleAttribute("/", "width_multiplier"));
    HPCNAS_ASSIGN_OR_RETURN(t.device, file.ReadStringAttribute("/", "device"));
    HPCNAS_ASSIGN_OR_RETURN(t.device_name, file.ReadStringAttribute("/", "device_name"));
    HPCNAS_ASSIGN_OR_RETURN(t.threads, file.ReadInt64Attribute("/", "threads"));
    HPCNAS_ASSIGN_OR_RETURN(t.batch, file.ReadInt64Attribute("/", "batch"));
    HPCNAS_ASSIGN_OR_RETURN(t.calibration_scale, file.ReadDoubleAttribute("/", "calibration_scale"));
    HPCNAS_ASSIGN_OR_RETURN(t.calibration_offset_ms, file.ReadDoubleAttribute("/", "calibration_offset_ms"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> keys, file.ReadStrings("/entries/key"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<std::int64_t> counts, file.ReadInt64s("/entries/count"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<double> means, file.ReadDoubles("/entries/mean_ms"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<double> variances, file.ReadDoubles("/entries/variance_ms2"));
    if (counts.size() != keys.size() || means.size() != keys.size() || variances.size() != keys.size()) {
      return Status::InvalidInput("the /entries columns differ in length");
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!(means[i] >= 0) || counts[i] < 1) return Status::InvalidInput("entry '" + keys[i] + "' has no valid measurement");
      t.entries.push_back({keys[i], counts[i], means[i], variances[i]});
    }
    return t;
  };
  StatusOr<LatencyTable> table = read();
  if (!table.ok()) return bad(table.status().message());
  return table;
}

}  // namespace hpcnas
