#include "io/predictor_file.h"

#include <cmath>

#include "io/files.h"
#include "io/hdf5_file.h"

namespace hpcnas {
namespace {

Status WriteHdf5(const std::string& path, const PredictorFile& p) {
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(path));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string(kPredictorFileKind)));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kPredictorFileSchemaVersion));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", p.space));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "config", p.config_toml));
  HPCNAS_RETURN_IF_ERROR(file.SetProvenance(p.provenance));

  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/model"));
  HPCNAS_RETURN_IF_ERROR(WriteNamedArrays(file, "/model", p.parameters));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/model", "target_mean", p.target_mean));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/model", "target_std", p.target_std));

  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/optimizer"));
  HPCNAS_RETURN_IF_ERROR(file.Write("/optimizer/first_moment", p.adam_first_moment));
  HPCNAS_RETURN_IF_ERROR(file.Write("/optimizer/second_moment", p.adam_second_moment));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/optimizer", "step", p.adam_step));

  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/training"));
  HPCNAS_RETURN_IF_ERROR(file.Write("/training/code", p.train_codes));
  if (!p.train_archs.empty()) HPCNAS_RETURN_IF_ERROR(file.Write("/training/arch", p.train_archs));
  HPCNAS_RETURN_IF_ERROR(file.Write("/training/accuracy", p.train_accuracy));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/training", "kendall_tau", p.kendall_tau));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/training", "num_evaluated", p.num_evaluated));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/training", "train_wall_seconds", p.train_wall_seconds));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/training", "evaluate_wall_seconds", p.evaluate_wall_seconds));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/training", "world_size", p.world_size));
  return file.Close();
}

}  // namespace

Status WriteNamedArrays(h5::File& file, const std::string& group, const std::vector<NamedArray>& arrays) {
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup(group + "/parameters"));
  std::vector<std::string> names;
  for (const NamedArray& a : arrays) {
    names.push_back(a.name);
    HPCNAS_RETURN_IF_ERROR(file.Write(group + "/parameters/" + a.name, a.values, std::vector<hsize_t>(a.shape.begin(), a.shape.end())));
  }
  return file.Write(group + "/parameter_names", names);
}

StatusOr<std::vector<NamedArray>> ReadNamedArrays(const h5::File& file, const std::string& group) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> names, file.ReadStrings(group + "/parameter_names"));
  std::vector<NamedArray> arrays;
  for (const std::string& name : names) {
    const std::string dataset = group + "/parameters/" + name;
    NamedArray a{name, {}, {}};
    HPCNAS_ASSIGN_OR_RETURN(std::vector<hsize_t> shape, file.Shape(dataset));
    a.shape.assign(shape.begin(), shape.end());
    HPCNAS_ASSIGN_OR_RETURN(a.values, file.ReadFloats(dataset));
    arrays.push_back(std::move(a));
  }
  return arrays;
}

Status WritePredictorFile(const std::string& path, const PredictorFile& predictor) {
  return WriteFileAtomically(path, [&](const std::string& temp) { return WriteHdf5(temp, predictor); });
}

StatusOr<PredictorFile> ReadPredictorFile(const std::string& path, const std::string& expected_space) {
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::OpenReadOnly(path));
  auto bad = [&](const std::string& why) { return Status::InvalidInput("predictor file '" + path + "': " + why); };
  auto kind = file.ReadStringAttribute("/", "kind");
  if (!kind.ok() || *kind != kPredictorFileKind) return bad("not an hpcnas predictor file (no kind '" + std::string(kPredictorFileKind) + "')");
  HPCNAS_ASSIGN_OR_RETURN(int64_t version, file.ReadInt64Attribute("/", "schema_version"));
  if (version != kPredictorFileSchemaVersion) {
    return bad("schema version " + std::to_string(version) + ", this hpcnas reads version " +
               std::to_string(kPredictorFileSchemaVersion));
  }
  PredictorFile p;
  HPCNAS_ASSIGN_OR_RETURN(p.space, file.ReadStringAttribute("/", "space"));
  if (!expected_space.empty() && p.space != expected_space) {
    return bad("trained for space '" + p.space + "', not '" + expected_space + "'");
  }
  HPCNAS_ASSIGN_OR_RETURN(p.config_toml, file.ReadStringAttribute("/", "config"));

  HPCNAS_ASSIGN_OR_RETURN(p.parameters, ReadNamedArrays(file, "/model"));
  HPCNAS_ASSIGN_OR_RETURN(p.target_mean, file.ReadDoubleAttribute("/model", "target_mean"));
  HPCNAS_ASSIGN_OR_RETURN(p.target_std, file.ReadDoubleAttribute("/model", "target_std"));
  if (!std::isfinite(p.target_mean) || !(p.target_std > 0)) return bad("target standardisation is not finite and positive");

  HPCNAS_ASSIGN_OR_RETURN(p.adam_first_moment, file.ReadFloats("/optimizer/first_moment"));
  HPCNAS_ASSIGN_OR_RETURN(p.adam_second_moment, file.ReadFloats("/optimizer/second_moment"));
  HPCNAS_ASSIGN_OR_RETURN(p.adam_step, file.ReadInt64Attribute("/optimizer", "step"));
  std::size_t parameter_count = 0;
  for (const NamedArray& a : p.parameters) parameter_count += a.values.size();
  if (p.adam_first_moment.size() != parameter_count || p.adam_second_moment.size() != parameter_count) {
    return bad("optimizer state has " + std::to_string(p.adam_first_moment.size()) + " values for " +
               std::to_string(parameter_count) + " parameters");
  }

  HPCNAS_ASSIGN_OR_RETURN(p.train_codes, file.ReadInt64s("/training/code"));
  HPCNAS_ASSIGN_OR_RETURN(p.train_accuracy, file.ReadDoubles("/training/accuracy"));
  if (p.train_codes.size() != p.train_accuracy.size()) return bad("/training/code and /training/accuracy differ in length");
  HPCNAS_ASSIGN_OR_RETURN(p.kendall_tau, file.ReadDoubleAttribute("/training", "kendall_tau"));
  HPCNAS_ASSIGN_OR_RETURN(p.num_evaluated, file.ReadInt64Attribute("/training", "num_evaluated"));
  HPCNAS_ASSIGN_OR_RETURN(p.train_wall_seconds, file.ReadDoubleAttribute("/training", "train_wall_seconds"));
  HPCNAS_ASSIGN_OR_RETURN(p.evaluate_wall_seconds, file.ReadDoubleAttribute("/training", "evaluate_wall_seconds"));
  HPCNAS_ASSIGN_OR_RETURN(p.world_size, file.ReadInt64Attribute("/training", "world_size"));
  return p;
}

}  // namespace hpcnas
