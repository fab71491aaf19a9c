#include "io/search_files.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>

#include <unistd.h>

#include "engine/space/search_space.h"
#include "io/files.h"
#include "io/hdf5_file.h"

namespace hpcnas {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Formatted(const SearchSpace& space, const std::vector<Architecture>& archs) {
  std::vector<std::string> out;
  for (const Architecture& arch : archs) out.push_back(space.Format(arch));
  return out;
}

// Architectures as an [n, positions] int64 array of their choices (`name`, read back) and,
// beside it for a person, their genotype strings (`arch_name`).
Status WriteArchitectures(h5::File& file, const std::string& name, const std::string& arch_name, const SearchSpace& space,
                          const std::vector<Architecture>& archs) {
  std::vector<int64_t> values;
  for (const Architecture& arch : archs) values.insert(values.end(), arch.choices.begin(), arch.choices.end());
  HPCNAS_RETURN_IF_ERROR(file.Write(name, values, {archs.size(), static_cast<hsize_t>(space.num_positions())}));
  return file.Write(arch_name, Formatted(space, archs));
}

StatusOr<std::vector<Architecture>> ReadArchitectures(const h5::File& file, const std::string& name, const SearchSpace& space) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<hsize_t> shape, file.Shape(name));
  const auto positions = static_cast<hsize_t>(space.num_positions());
  if (shape.size() != 2 || shape[1] != positions) {
    return Status::InvalidInput(name + " is not an [n, " + std::to_string(positions) + "] array of " + std::string(space.name()) +
                                " architectures");
  }
  HPCNAS_ASSIGN_OR_RETURN(std::vector<int64_t> values, file.ReadInt64s(name));
  std::vector<Architecture> archs(shape[0]);
  for (std::size_t i = 0; i < archs.size(); ++i) {
    for (std::size_t p = 0; p < positions; ++p) {
      const int64_t v = values[i * positions + p];
      if (v < 0 || v > 255) return Status::InvalidInput(name + " row " + std::to_string(i) + " holds " + std::to_string(v));
      archs[i].choices.push_back(static_cast<std::uint8_t>(v));
    }
    HPCNAS_RETURN_IF_ERROR(space.Validate(archs[i]).WithContext(name + " row " + std::to_string(i)));
    if (space.Canonical(archs[i]) != archs[i]) {
      return Status::InvalidInput(name + " row " + std::to_string(i) + " is not in canonical form: " + space.Format(archs[i]));
    }
  }
  return archs;
}

Status WriteGenerationColumns(h5::File& file, const std::string& group, const std::vector<GenerationRecord>& rows) {
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup(group));
  for (const GenerationColumn& column : kGenerationColumns) {
    std::vector<double> values;
    for (const GenerationRecord& r : rows) values.push_back(r.*column.field);
    HPCNAS_RETURN_IF_ERROR(file.Write(group + "/" + column.name, values));
  }
  return Status::Ok();
}

Status WriteQueries(h5::File& file, const SearchSpace& space, const std::vector<Query>& queries) {
  std::vector<Architecture> archs;
  std::vector<int64_t> generation;
  std::vector<double> accuracy;
  std::vector<std::string> failure;
  for (const Query& q : queries) {
    archs.push_back(q.arch);
    generation.push_back(q.generation);
    accuracy.push_back(q.accuracy);
    failure.push_back(q.failure);
  }
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/queries"));
  HPCNAS_RETURN_IF_ERROR(WriteArchitectures(file, "/queries/choices", "/queries/arch", space, archs));
  HPCNAS_RETURN_IF_ERROR(file.Write("/queries/accuracy", accuracy));
  HPCNAS_RETURN_IF_ERROR(file.Write("/queries/failure", failure));
  return file.Write("/queries/generation", generation);
}

Status WriteCheckpointHdf5(const std::string& path, const SearchCheckpoint& cp) {
  const SearchState& s = cp.state;
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(cp.space));
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(path));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string(kSearchCheckpointKind)));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kSearchCheckpointSchemaVersion));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", cp.space));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "config", cp.config_toml));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "run_id", cp.run_id));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "supernet_checkpoint", cp.supernet_checkpoint));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "next_generation", static_cast<int64_t>(s.next_generation)));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "checksum", Hex64(CheckpointChecksum(cp))));
  HPCNAS_RETURN_IF_ERROR(file.SetProvenance(cp.provenance));

  HPCNAS_RETURN_IF_ERROR(WriteQueries(file, *space, s.queries));
  HPCNAS_RETURN_IF_ERROR(WriteArchitectures(file, "/population", "/population_arch", *space, s.population));
  std::vector<Architecture> scored;
  std::vector<double> epsilon, exact;
  for (const EpsilonRecord& r : s.epsilon) {
    scored.push_back(r.arch);
    epsilon.push_back(r.epsilon);
    exact.push_back(r.epsilon_exact);
  }
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/epsilon"));
  HPCNAS_RETURN_IF_ERROR(WriteArchitectures(file, "/epsilon/choices", "/epsilon/arch", *space, scored));
  HPCNAS_RETURN_IF_ERROR(file.Write("/epsilon/epsilon", epsilon));
  HPCNAS_RETURN_IF_ERROR(file.Write("/epsilon/epsilon_exact", exact));
  HPCNAS_RETURN_IF_ERROR(WriteGenerationColumns(file, "/generations", s.generations));

  const PredictorFile& p = cp.predictor;
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/predictor"));
  HPCNAS_RETURN_IF_ERROR(WriteNamedArrays(file, "/predictor", p.parameters));
  HPCNAS_RETURN_IF_ERROR(file.Write("/predictor/adam_first_moment", p.adam_first_moment));
  HPCNAS_RETURN_IF_ERROR(file.Write("/predictor/adam_second_moment", p.adam_second_moment));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/predictor", "adam_step", p.adam_step));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/predictor", "target_mean", p.target_mean));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/predictor", "target_std", p.target_std));

  // Every random draw comes from a counter-based stream keyed by (seed, generation, purpose)
  // that starts at position 0 in its generation, so the next generation number is the
  // position of all of them.
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup("/rng"));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/rng", "next_generation", static_cast<int64_t>(s.next_generation)));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/rng", "streams", std::string("Philox4x32-10 keyed by (search.seed, generation, purpose); position 0 at the start of each generation")));
  return file.Close();
}

StatusOr<SearchCheckpoint> ReadCheckpointHdf5(const std::string& path) {
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::OpenReadOnly(path));
  auto bad = [&](const std::string& why) { return Status::InvalidInput("checkpoint '" + path + "': " + why); };
  auto kind = file.ReadStringAttribute("/", "kind");
  if (!kind.ok() || *kind != kSearchCheckpointKind) return bad("not an hpcnas search checkpoint");
  HPCNAS_ASSIGN_OR_RETURN(int64_t version, file.ReadInt64Attribute("/", "schema_version"));
  if (version != kSearchCheckpointSchemaVersion) {
    return bad("schema version " + std::to_string(version) + ", this hpcnas reads version " +
               std::to_string(kSearchCheckpointSchemaVersion) +
               (version < kSearchCheckpointSchemaVersion ? " (written by an older hpcnas: finish that search with it, or start again)"
                                                         : " (written by a newer hpcnas)"));
  }
  SearchCheckpoint cp;
  SearchState& s = cp.state;
  HPCNAS_ASSIGN_OR_RETURN(cp.space, file.ReadStringAttribute("/", "space"));
  StatusOr<std::unique_ptr<SearchSpace>> made = MakeSearchSpace(cp.space);
  if (!made.ok()) return bad(made.status().message());
  const SearchSpace& space = **made;
  auto archs = [&](const std::string& name) -> StatusOr<std::vector<Architecture>> {
    StatusOr<std::vector<Architecture>> read = ReadArchitectures(file, name, space);
    if (!read.ok()) return bad(read.status().message());
    return read;
  };
  HPCNAS_ASSIGN_OR_RETURN(cp.config_toml, file.ReadStringAttribute("/", "config"));
  HPCNAS_ASSIGN_OR_RETURN(cp.run_id, file.ReadStringAttribute("/", "run_id"));
  HPCNAS_ASSIGN_OR_RETURN(cp.supernet_checkpoint, file.ReadStringAttribute("/", "supernet_checkpoint"));
  HPCNAS_ASSIGN_OR_RETURN(int64_t next_generation, file.ReadInt64Attribute("/", "next_generation"));
  s.next_generation = static_cast<std::int32_t>(next_generation);
  HPCNAS_ASSIGN_OR_RETURN(std::string checksum, file.ReadStringAttribute("/", "checksum"));

  HPCNAS_ASSIGN_OR_RETURN(std::vector<Architecture> queried, archs("/queries/choices"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<double> query_accuracy, file.ReadDoubles("/queries/accuracy"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<int64_t> query_generation, file.ReadInt64s("/queries/generation"));
  if (query_accuracy.size() != queried.size() || query_generation.size() != queried.size()) {
    return bad("the /queries columns differ in length");
  }
  // Checkpoints from before failed evaluations existed have no /queries/failure: none failed.
  std::vector<std::string> query_failure(queried.size());
  if (file.Exists("/queries/failure")) {
    HPCNAS_ASSIGN_OR_RETURN(query_failure, file.ReadStrings("/queries/failure"));
  }
  if (query_failure.size() != queried.size()) return bad("the /queries columns differ in length");
  for (std::size_t i = 0; i < queried.size(); ++i) {
    s.queries.push_back({queried[i], query_accuracy[i], static_cast<std::int32_t>(query_generation[i]), query_failure[i]});
  }
  HPCNAS_ASSIGN_OR_RETURN(s.population, archs("/population"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Architecture> scored, archs("/epsilon/choices"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<double> epsilon, file.ReadDoubles("/epsilon/epsilon"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<double> exact, file.ReadDoubles("/epsilon/epsilon_exact"));
  if (epsilon.size() != scored.size() || exact.size() != scored.size()) return bad("the /epsilon columns differ in length");
  for (std::size_t i = 0; i < scored.size(); ++i) s.epsilon.push_back({scored[i], epsilon[i], exact[i]});
  for (const GenerationColumn& column : kGenerationColumns) {
    const std::string name = std::string("/generations/") + column.name;
    // A column added after the checkpoint was written: unknown for its generations.
    if (!file.Exists(name)) {
      for (GenerationRecord& r : s.generations) r.*column.field = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    HPCNAS_ASSIGN_OR_RETURN(std::vector<double> values, file.ReadDoubles(name));
    if (s.generations.empty()) s.generations.resize(values.size());
    if (values.size() != s.generations.size()) return bad("the /generations columns differ in length");
    for (std::size_t i = 0; i < values.size(); ++i) s.generations[i].*column.field = values[i];
  }

  PredictorFile& p = cp.predictor;
  HPCNAS_ASSIGN_OR_RETURN(p.parameters, ReadNamedArrays(file, "/predictor"));
  HPCNAS_ASSIGN_OR_RETURN(p.adam_first_moment, file.ReadFloats("/predictor/adam_first_moment"));
  HPCNAS_ASSIGN_OR_RETURN(p.adam_second_moment, file.ReadFloats("/predictor/adam_second_moment"));
  HPCNAS_ASSIGN_OR_RETURN(p.adam_step, file.ReadInt64Attribute("/predictor", "adam_step"));
  HPCNAS_ASSIGN_OR_RETURN(p.target_mean, file.ReadDoubleAttribute("/predictor", "target_mean"));
  HPCNAS_ASSIGN_OR_RETURN(p.target_std, file.ReadDoubleAttribute("/predictor", "target_std"));

  if (checksum != Hex64(CheckpointChecksum(cp))) {
    return bad("checksum mismatch (stored " + checksum + ", content gives " + Hex64(CheckpointChecksum(cp)) +
               "): the file was altered or damaged");
  }
  return cp;
}

}  // namespace

std::uint64_t CheckpointChecksum(const SearchCheckpoint& cp) {
  Checksum sum;
  const SearchState& s = cp.state;
  sum.Add(cp.space);
  sum.Add(cp.config_toml);
  sum.Add(cp.run_id);
  sum.Add(cp.supernet_checkpoint);
  sum.Add(s.next_generation);
  for (const Query& q : s.queries) {
    sum.Add(q.arch.choices);
    sum.Add(q.accuracy);
    sum.Add(q.generation);
    if (!q.failure.empty()) sum.Add(q.failure);  // so that older checkpoints keep their checksum
  }
  sum.Add(static_cast<std::uint64_t>(s.population.size()));
  for (const Architecture& arch : s.population) sum.Add(arch.choices);
  for (const EpsilonRecord& r : s.epsilon) {
    sum.Add(r.arch.choices);
    sum.Add(r.epsilon);
    sum.Add(r.epsilon_exact);
  }
  for (const GenerationRecord& r : s.generations) {
    for (const GenerationColumn& column : kGenerationColumns) sum.Add(r.*column.field);
  }
  for (const NamedArray& a : cp.predictor.parameters) {
    sum.Add(a.name);
    sum.Add(a.shape);
    sum.Add(a.values);
  }
  sum.Add(cp.predictor.adam_first_moment);
  sum.Add(cp.predictor.adam_second_moment);
  sum.Add(cp.predictor.adam_step);
  sum.Add(cp.predictor.target_mean);
  sum.Add(cp.predictor.target_std);
  return sum.value();
}

std::string CheckpointPath(const std::string& out_dir, std::int32_t generation) {
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint_g%06d.h5", generation);
  return (fs::path(out_dir) / "checkpoints" / name).string();
}

Status WriteSearchCheckpoint(const std::string& path, const SearchCheckpoint& checkpoint) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) return Status::Io("cannot create directory '" + fs::path(path).parent_path().string() + "': " + error.message());
  return WriteFileAtomically(path, [&](const std::string& temp) { return WriteCheckpointHdf5(temp, checkpoint); });
}

StatusOr<SearchCheckpoint> ReadSearchCheckpoint(const std::string& path) {
  if (!fs::exists(path)) return Status::InvalidInput("checkpoint '" + path + "' does not exist");
  return ReadCheckpointHdf5(path);
}

std::vector<std::string> ListCheckpoints(const std::string& out_dir) {
  std::vector<std::string> paths;
  const fs::path dir = fs::path(out_dir) / "checkpoints";
  std::error_code error;
  if (!fs::is_directory(dir, error)) return paths;
  static const std::regex pattern("checkpoint_g([0-9]{6}|-00001)\\.h5");
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (std::regex_match(entry.path().filename().string(), pattern)) paths.push_back(entry.path().string());
  }
  std::sort(paths.rbegin(), paths.rend());  // zero-padded: newest first
  return paths;
}

std::string NewRunId(std::uint64_t seed) {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string text = std::string(host) + "/" + std::to_string(::getpid()) + "/" +
                           std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "/" +
                           std::to_string(seed);
  return Hex64(Fnv1a64(text.data(), text.size()));
}

StatusOr<FoundCheckpoint> LoadNewestCheckpoint(const std::string& out_dir) {
  FoundCheckpoint found;
  // The directory's own search, as its results file records it.
  std::string run_id;
  if (fs::exists(fs::path(out_dir) / "search.h5")) {
    if (auto results = h5::File::OpenReadOnly((fs::path(out_dir) / "search.h5").string()); results.ok()) {
      if (auto id = results->ReadStringAttribute("/", "run_id"); id.ok()) run_id = *id;
    }
  }
  for (const std::string& path : ListCheckpoints(out_dir)) {
    StatusOr<SearchCheckpoint> checkpoint = ReadSearchCheckpoint(path);
    if (checkpoint.ok() && !run_id.empty() && checkpoint->run_id != run_id) {
      found.warnings.push_back("checkpoint '" + path + "': it belongs to another search (run " + checkpoint->run_id +
                               ") than the one in '" + out_dir + "' (run " + run_id + "): copied in from elsewhere?");
      continue;
    }
    if (checkpoint.ok()) {
      found.checkpoint = std::move(*checkpoint);
      found.path = path;
      return found;
    }
    found.warnings.push_back("a damaged checkpoint: " + checkpoint.status().message());
  }
  std::string why = "no checkpoint in '" + (fs::path(out_dir) / "checkpoints").string() + "'";
  if (!found.warnings.empty()) why = "no readable checkpoint in '" + out_dir + "': " + found.warnings.front();
  return Status::InvalidInput(why);
}

Status PruneCheckpoints(const std::string& out_dir, int keep) {
  const std::vector<std::string> paths = ListCheckpoints(out_dir);
  for (std::size_t i = static_cast<std::size_t>(keep); i < paths.size(); ++i) {
    std::error_code error;
    fs::remove(paths[i], error);
    if (error) return Status::Io("cannot remove old checkpoint '" + paths[i] + "': " + error.message());
  }
  return Status::Ok();
}

Status WriteSearchResults(const std::string& out_dir, const SearchCheckpoint& cp, const std::string& truth_column) {
  const SearchState& s = cp.state;
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(cp.space));
  const fs::path dir(out_dir);
  HPCNAS_RETURN_IF_ERROR(WriteFileAtomically((dir / "search.h5").string(), [&](const std::string& temp) -> Status {
    HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(temp));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string("hpcnas.search.results")));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kSearchCheckpointSchemaVersion));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "space", cp.space));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "config", cp.config_toml));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "run_id", cp.run_id));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "accuracy_column", truth_column));
    HPCNAS_RETURN_IF_ERROR(file.SetProvenance(cp.provenance));
    HPCNAS_RETURN_IF_ERROR(WriteQueries(file, *space, s.queries));
    HPCNAS_RETURN_IF_ERROR(WriteGenerationColumns(file, "/generations", s.generations));
    if (const Query* best = BestQuery(s.queries); best != nullptr) {
      HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "best_arch", space->Format(best->arch)));
      HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "best_accuracy", best->accuracy));
    }
    return file.Close();
  }));

  std::string generations;
  for (const GenerationColumn& column : kGenerationColumns) generations += std::string(generations.empty() ? "" : ",") + column.name;
  generations += "\n";
  for (const GenerationRecord& r : s.generations) {
    bool first = true;
    for (const GenerationColumn& column : kGenerationColumns) {
      generations += (first ? "" : ",") + CsvNumber(r.*column.field);
      first = false;
    }
    generations += "\n";
  }
  HPCNAS_RETURN_IF_ERROR(WriteTextAtomically((dir / "generations.csv").string(), generations));

  std::string queries = "query,generation,arch," + truth_column + ",best_so_far,failure\n";
  double best = std::numeric_limits<double>::quiet_NaN();  // until an evaluation gives an accuracy
  for (std::size_t i = 0; i < s.queries.size(); ++i) {
    const Query& q = s.queries[i];
    if (!std::isnan(q.accuracy) && (std::isnan(best) || q.accuracy > best)) best = q.accuracy;
    queries += std::to_string(i + 1) + "," + std::to_string(q.generation) + "," +
               space->Format(q.arch) + "," + CsvNumber(q.accuracy) + "," + CsvNumber(best) + "," + CsvText(q.failure) + "\n";
  }
  return WriteTextAtomically((dir / "queries.csv").string(), queries);
}

}  // namespace hpcnas
