#include "io/supernet_files.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>

#include "io/files.h"
#include "io/hdf5_file.h"
#include "io/png.h"

namespace hpcnas {
namespace {

namespace fs = std::filesystem;

// The epoch table's numeric columns, in file order.
struct EpochColumn {
  const char* name;
  double SupernetEpoch::*field;
};
constexpr EpochColumn kEpochColumns[] = {
    {"train_loss", &SupernetEpoch::train_loss},
    {"train_accuracy", &SupernetEpoch::train_accuracy},
    {"arch_loss", &SupernetEpoch::arch_loss},
    {"arch_accuracy", &SupernetEpoch::arch_accuracy},
    {"expected_mflops", &SupernetEpoch::expected_mflops},
    {"expected_latency_ms", &SupernetEpoch::expected_latency_ms},
    {"derived_mflops", &SupernetEpoch::derived_mflops},
    {"derived_latency_ms", &SupernetEpoch::derived_latency_ms},
    {"derived_valid_accuracy", &SupernetEpoch::derived_valid_accuracy},
    {"benchmark_accuracy", &SupernetEpoch::benchmark_accuracy},
    {"seconds", &SupernetEpoch::seconds},
    {"images_per_second", &SupernetEpoch::images_per_second},
};

std::uint64_t StateChecksum(const SupernetCheckpoint& cp) {
  Checksum sum;
  const SupernetTrainingState& s = cp.state;
  sum.Add(cp.space);
  sum.Add(cp.config_toml);
  sum.Add(cp.run_id);
  for (std::int64_t v : {s.epochs_done, s.step_in_epoch, s.weight_steps, s.arch_steps}) sum.Add(v);
  for (const auto* arrays : {&s.weights, &s.momentum}) {
    for (const NamedArray& a : *arrays) {
      sum.Add(a.name);
      sum.Add(a.shape);
      sum.Add(a.values);
    }
  }
  for (const auto* values : {&s.alpha, &s.adam_first, &s.adam_second, &s.epoch_sums}) sum.Add(*values);
  sum.Add(s.candidates);
  sum.Add(s.adam_steps);
  for (const SupernetEpoch& e : s.history) {
    sum.Add(e.epoch);
    sum.Add(e.derived);
    for (const EpochColumn& c : kEpochColumns) sum.Add(e.*c.field);
    sum.Add(e.probabilities);
    sum.Add(e.entropy);
  }
  return sum.value();
}

// The epoch table under `group`: one dataset per column, epoch, warmup, derived, and
// probabilities / entropy as [epochs, n] arrays.
Status WriteEpochs(h5::File& file, const std::string& group, const std::vector<SupernetEpoch>& history) {
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup(group));
  std::vector<std::int64_t> epoch, warmup;
  std::vector<std::string> derived;
  std::vector<double> probabilities, entropy;
  for (const SupernetEpoch& e : history) {
    epoch.push_back(e.epoch);
    warmup.push_back(e.warmup);
    derived.push_back(e.derived);
    probabilities.insert(probabilities.end(), e.probabilities.begin(), e.probabilities.end());
    entropy.insert(entropy.end(), e.entropy.begin(), e.entropy.end());
  }
  HPCNAS_RETURN_IF_ERROR(file.Write(group + "/epoch", epoch));
  HPCNAS_RETURN_IF_ERROR(file.Write(group + "/warmup", warmup));
  HPCNAS_RETURN_IF_ERROR(file.Write(group + "/derived", derived));
  for (const EpochColumn& c : kEpochColumns) {
    std::vector<double> column;
    for (const SupernetEpoch& e : history) column.push_back(e.*c.field);
    HPCNAS_RETURN_IF_ERROR(file.Write(group + "/" + c.name, column));
  }
  const auto rows = static_cast<hsize_t>(history.size());
  const hsize_t p_width = history.empty() ? 0 : history.front().probabilities.size();
  const hsize_t e_width = history.empty() ? 0 : history.front().entropy.size();
  HPCNAS_RETURN_IF_ERROR(file.Write(group + "/probabilities", probabilities, {rows, p_width}));
  return file.Write(group + "/entropy", entropy, {rows, e_width});
}

StatusOr<std::vector<SupernetEpoch>> ReadEpochs(const h5::File& file, const std::string& group) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<std::int64_t> epoch, file.ReadInt64s(group + "/epoch"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<std::int64_t> warmup, file.ReadInt64s(group + "/warmup"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> derived, file.ReadStrings(group + "/derived"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<double> probabilities, file.ReadDoubles(group + "/probabilities"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<double> entropy, file.ReadDoubles(group + "/entropy"));
  const std::size_t rows = epoch.size();
  if (warmup.size() != rows || derived.size() != rows || (rows > 0 && (probabilities.size() % rows || entropy.size() % rows))) {
    return Status::InvalidInput("the epoch table's columns differ in length");
  }
  std::vector<SupernetEpoch> history(rows);
  const std::size_t p_width = rows ? probabilities.size() / rows : 0, e_width = rows ? entropy.size() / rows : 0;
  for (std::size_t i = 0; i < rows; ++i) {
    history[i].epoch = epoch[i];
    history[i].warmup = warmup[i] != 0;
    history[i].derived = derived[i];
    history[i].probabilities.assign(probabilities.begin() + i * p_width, probabilities.begin() + (i + 1) * p_width);
    history[i].entropy.assign(entropy.begin() + i * e_width, entropy.begin() + (i + 1) * e_width);
  }
  for (const EpochColumn& c : kEpochColumns) {
    HPCNAS_ASSIGN_OR_RETURN(std::vector<double> column, file.ReadDoubles(group + "/" + c.name));
    if (column.size() != rows) return Status::InvalidInput(std::string("epoch column '") + c.name + "' has the wrong length");
    for (std::size_t i = 0; i < rows; ++i) history[i].*c.field = column[i];
  }
  return history;
}

Status WriteCheckpointHdf5(const std::string& path, const SupernetCheckpoint& cp) {
  const SupernetTrainingState& s = cp.state;
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(path));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string(kSupernetCheckpointKind)));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kSupernetCheckpointSchemaVersion));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", cp.space));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "config", cp.config_toml));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "run_id", cp.run_id));
  HPCNAS_RETURN_IF_ERROR(file.SetProvenance(cp.provenance));
  HPCNAS_RETURN_IF_ERROR(file.Write("/counters", std::vector<std::int64_t>{s.epochs_done, s.step_in_epoch, s.weight_steps, s.arch_steps}));
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/weights"));
  HPCNAS_RETURN_IF_ERROR(WriteNamedArrays(file, "/weights", s.weights));
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/momentum"));
  HPCNAS_RETURN_IF_ERROR(WriteNamedArrays(file, "/momentum", s.momentum));
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/architecture"));
  HPCNAS_RETURN_IF_ERROR(file.Write("/architecture/candidates", s.candidates));
  HPCNAS_RETURN_IF_ERROR(file.Write("/architecture/alpha", s.alpha));
  HPCNAS_RETURN_IF_ERROR(file.Write("/architecture/adam_first", s.adam_first));
  HPCNAS_RETURN_IF_ERROR(file.Write("/architecture/adam_second", s.adam_second));
  HPCNAS_RETURN_IF_ERROR(file.Write("/architecture/adam_steps", s.adam_steps));
  HPCNAS_RETURN_IF_ERROR(file.Write("/epoch_sums", s.epoch_sums));
  HPCNAS_RETURN_IF_ERROR(WriteEpochs(file, "/epochs", s.history));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "checksum", Hex64(StateChecksum(cp))));
  return file.Close();
}

}  // namespace

std::string SupernetCheckpointPath(const std::string& out_dir, std::int64_t weight_steps) {
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint_s%09lld.h5", static_cast<long long>(weight_steps));
  return (fs::path(out_dir) / "checkpoints" / name).string();
}

Status WriteSupernetCheckpoint(const std::string& path, const SupernetCheckpoint& checkpoint) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) return Status::Io("cannot create directory '" + fs::path(path).parent_path().string() + "': " + error.message());
  return WriteFileAtomically(path, [&](const std::string& temp) { return WriteCheckpointHdf5(temp, checkpoint); });
}

StatusOr<SupernetCheckpoint> ReadSupernetCheckpoint(const std::string& path) {
  auto bad = [&](const std::string& why) { return Status::InvalidInput("supernet checkpoint '" + path + "': " + why); };
  if (!fs::is_regular_file(path)) return bad("no such file");
  StatusOr<h5::File> opened = h5::File::OpenReadOnly(path);
  if (!opened.ok()) return bad("not a readable HDF5 file (" + opened.status().message() + ")");
  const h5::File& file = *opened;
  auto kind = file.ReadStringAttribute("/", "kind");
  if (!kind.ok() || *kind != kSupernetCheckpointKind) return bad("not an hpcnas supernet checkpoint");
  auto version = file.ReadInt64Attribute("/", "schema_version");
  if (!version.ok() || *version != kSupernetCheckpointSchemaVersion) {
    return bad("schema version " + (version.ok() ? std::to_string(*version) : std::string("missing")) + ", this hpcnas reads " +
               std::to_string(kSupernetCheckpointSchemaVersion));
  }
  auto read = [&]() -> StatusOr<SupernetCheckpoint> {
    SupernetCheckpoint cp;
    SupernetTrainingState& s = cp.state;
    HPCNAS_ASSIGN_OR_RETURN(cp.space, file.ReadStringAttribute("/", "space"));
    HPCNAS_ASSIGN_OR_RETURN(cp.config_toml, file.ReadStringAttribute("/", "config"));
    HPCNAS_ASSIGN_OR_RETURN(cp.run_id, file.ReadStringAttribute("/", "run_id"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<std::int64_t> counters, file.ReadInt64s("/counters"));
    if (counters.size() != 4) return Status::InvalidInput("/counters must hold 4 values");
    s.epochs_done = counters[0];
    s.step_in_epoch = counters[1];
    s.weight_steps = counters[2];
    s.arch_steps = counters[3];
    HPCNAS_ASSIGN_OR_RETURN(s.weights, ReadNamedArrays(file, "/weights"));
    HPCNAS_ASSIGN_OR_RETURN(s.momentum, ReadNamedArrays(file, "/momentum"));
    HPCNAS_ASSIGN_OR_RETURN(s.candidates, file.ReadInt64s("/architecture/candidates"));
    HPCNAS_ASSIGN_OR_RETURN(s.alpha, file.ReadDoubles("/architecture/alpha"));
    HPCNAS_ASSIGN_OR_RETURN(s.adam_first, file.ReadDoubles("/architecture/adam_first"));
    HPCNAS_ASSIGN_OR_RETURN(s.adam_second, file.ReadDoubles("/architecture/adam_second"));
    HPCNAS_ASSIGN_OR_RETURN(s.adam_steps, file.ReadInt64s("/architecture/adam_steps"));
    HPCNAS_ASSIGN_OR_RETURN(s.epoch_sums, file.ReadDoubles("/epoch_sums"));
    HPCNAS_ASSIGN_OR_RETURN(s.history, ReadEpochs(file, "/epochs"));
    std::int64_t total = 0;
    for (std::int64_t n : s.candidates) total += n;
    if (s.alpha.size() != static_cast<std::size_t>(total) || s.adam_first.size() != s.alpha.size() ||
        s.adam_second.size() != s.alpha.size() || s.adam_steps.size() != s.candidates.size() || s.epoch_sums.size() != 6) {
      return Status::InvalidInput("the architecture arrays do not match /architecture/candidates");
    }
    HPCNAS_ASSIGN_OR_RETURN(const std::string checksum, file.ReadStringAttribute("/", "checksum"));
    if (checksum != Hex64(StateChecksum(cp))) return Status::InvalidInput("checksum mismatch: the file was altered or damaged");
    return cp;
  };
  StatusOr<SupernetCheckpoint> cp = read();
  if (!cp.ok()) return bad(cp.status().message());
  return cp;
}

std::vector<std::string> ListSupernetCheckpoints(const std::string& out_dir) {
  std::vector<std::string> paths;
  const fs::path dir = fs::path(out_dir) / "checkpoints";
  std::error_code error;
  if (!fs::is_directory(dir, error)) return paths;
  static const std::regex pattern("checkpoint_s[0-9]{9}\\.h5");
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (std::regex_match(entry.path().filename().string(), pattern)) paths.push_back(entry.path().string());
  }
  std::sort(paths.rbegin(), paths.rend());  // zero-padded: newest first
  return paths;
}

StatusOr<std::pair<SupernetCheckpoint, std::string>> LoadNewestSupernetCheckpoint(const std::string& out_dir,
                                                                                   std::vector<std::string>& warnings) {
  for (const std::string& path : ListSupernetCheckpoints(out_dir)) {
    StatusOr<SupernetCheckpoint> checkpoint = ReadSupernetCheckpoint(path);
    if (checkpoint.ok()) return std::make_pair(std::move(*checkpoint), path);
    warnings.push_back(checkpoint.status().message());
  }
  std::string why = "no supernet checkpoint in '" + (fs::path(out_dir) / "checkpoints").string() + "'";
  if (!warnings.empty()) why = "no readable supernet checkpoint in '" + out_dir + "': " + warnings.front();
  return Status::InvalidInput(why);
}

Status PruneSupernetCheckpoints(const std::string& out_dir, int keep) {
  const std::vector<std::string> paths = ListSupernetCheckpoints(out_dir);
  for (std::size_t i = static_cast<std::size_t>(keep); i < paths.size(); ++i) {
    std::error_code error;
    fs::remove(paths[i], error);
    if (error) return Status::Io("cannot remove old checkpoint '" + paths[i] + "': " + error.message());
  }
  return Status::Ok();
}

Status WriteSupernetResults(const std::string& out_dir, const SupernetCheckpoint& cp,
                            const std::vector<std::vector<std::string>>& operation_names) {
  const fs::path dir(out_dir);
  const std::vector<SupernetEpoch>& history = cp.state.history;
  HPCNAS_RETURN_IF_ERROR(WriteFileAtomically((dir / "supernet.h5").string(), [&](const std::string& temp) -> Status {
    HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(temp));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string("hpcnas.supernet.results")));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kSupernetCheckpointSchemaVersion));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", cp.space));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "config", cp.config_toml));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "run_id", cp.run_id));
    HPCNAS_RETURN_IF_ERROR(file.SetProvenance(cp.provenance));
    if (!history.empty()) HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "derived_arch", history.back().derived));
    std::vector<std::string> names;
    for (std::size_t p = 0; p < operation_names.size(); ++p) {
      for (const std::string& op : operation_names[p]) names.push_back(std::to_string(p) + ":" + op);
    }
    HPCNAS_RETURN_IF_ERROR(file.Write("/candidate_names", names));
    HPCNAS_RETURN_IF_ERROR(WriteEpochs(file, "/epochs", history));
    return file.Close();
  }));

  std::string csv = "epoch,phase";
  for (const EpochColumn& c : kEpochColumns) csv += std::string(",") + c.name;
  csv += ",derived";
  for (std::size_t p = 0; p < operation_names.size(); ++p) csv += ",entropy_" + std::to_string(p);
  csv += "\n";
  for (const SupernetEpoch& e : history) {
    csv += std::to_string(e.epoch) + (e.warmup ? ",warmup" : ",search");
    for (const EpochColumn& c : kEpochColumns) csv += "," + CsvNumber(e.*c.field);
    csv += "," + e.derived;
    for (double h : e.entropy) csv += "," + CsvNumber(h);
    csv += "\n";
  }
  HPCNAS_RETURN_IF_ERROR(WriteTextAtomically((dir / "epochs.csv").string(), csv));

  // The heat-map: one panel per epoch, left to right; in a panel a row per position and a
  // column per candidate (the position's own order), coloured by p (0 dark, 1 yellow).
  if (history.empty()) return Status::Ok();
  constexpr int kCell = 10, kGap = 4;
  std::size_t widest = 1;
  for (const auto& ops : operation_names) widest = std::max(widest, ops.size());
  const int panel = static_cast<int>(widest) * kCell;
  const int width = static_cast<int>(history.size()) * (panel + kGap) + kGap;
  const int height = static_cast<int>(operation_names.size()) * kCell + 2 * kGap;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width) * height * 3, 255);
  for (std::size_t e = 0; e < history.size(); ++e) {
    std::size_t at = 0;
    for (std::size_t p = 0; p < operation_names.size(); ++p) {
      for (std::size_t k = 0; k < widest; ++k) {
        std::uint8_t colour[3] = {255, 255, 255};
        if (k < operation_names[p].size() && at + k < history[e].probabilities.size()) HeatColour(history[e].probabilities[at + k], colour);
        for (int y = 0; y < kCell - 1; ++y) {
          for (int x = 0; x < kCell - 1; ++x) {
            const int px = kGap + static_cast<int>(e) * (panel + kGap) + static_cast<int>(k) * kCell + x;
            const int py = kGap + static_cast<int>(p) * kCell + y;
            std::copy(colour, colour + 3, rgb.begin() + (static_cast<std::ptrdiff_t>(py) * width + px) * 3);
          }
        }
      }
      at += operation_names[p].size();
    }
  }
  return WritePng((dir / "alpha_heatmap.png").string(), width, height, rgb);
}

}  // namespace hpcnas
