#pragma once
// The files of `hpcnas search` in its output directory (layout in io/README.md):
//   checkpoints/checkpoint_gNNNNNN.h5  the whole search after generation NNNNNN (the last K kept);
//                                      checkpoint_g-00001.h5: stopped in the supernet's warm-up
//   search.h5                          results: every query, every generation's row, the config
//   generations.csv, queries.csv       the same tables for pandas
// Every file is written to a temporary name and renamed when complete. A checkpoint carries a
// checksum over its content, so a truncated or altered file is refused, never half-read.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/policy/search_state.h"
#include "engine/core/status.h"
#include "io/provenance.h"
#include "io/predictor_file.h"

namespace hpcnas {

// Version 4: the supernet trained inside the search (/@supernet_checkpoint) and the evaluator's
// training time per generation. Version 3: the run id (/@run_id). Version 2: architectures as the space's canonical choices
// ([n, positions] int64 arrays) and the space's name; version 1 held NB201 cell codes.
inline constexpr std::int64_t kSearchCheckpointSchemaVersion = 4;
inline constexpr const char* kSearchCheckpointKind = "hpcnas.search.checkpoint";

struct SearchCheckpoint {
  std::string space;        // search space name (engine/space/search_space.h), = config search.space
  std::string config_toml;  // the whole Config the search runs with
  // The search this checkpoint belongs to: made when the search starts, kept by every resume,
  // also in search.h5, so a checkpoint copied in from another search is found out.
  std::string run_id;
  SearchState state;
  // The predictor replica (parameters, Adam state, target standardisation); empty parameters
  // when the search has none (baselines) or has not trained it yet.
  PredictorFile predictor;
  // search.supernet = "train": the supernet's state after this generation, a checkpoint of
  // io/supernet_files.h written before this file, relative to the output directory
  // ("supernet/checkpoints/checkpoint_sNNNNNNNNN.h5"); empty otherwise.
  std::string supernet_checkpoint;
  Provenance provenance;  // written, not read back
};

// The checksum written into a checkpoint: FNV-1a over every stored value in a fixed order.
std::uint64_t CheckpointChecksum(const SearchCheckpoint& checkpoint);

// generation -1: before generation 0 (a search stopped in its supernet's warm-up); the name
// sorts before every other, as the oldest.
std::string CheckpointPath(const std::string& out_dir, std::int32_t generation);
Status WriteSearchCheckpoint(const std::string& path, const SearchCheckpoint& checkpoint);
// Checks kind, schema version, the space, every array's shape, every architecture (valid and
// canonical in its space) and the checksum.
StatusOr<SearchCheckpoint> ReadSearchCheckpoint(const std::string& path);

struct FoundCheckpoint {
  SearchCheckpoint checkpoint;
  std::string path;
  std::vector<std::string> warnings;  // newer checkpoints that could not be read, and why
};
// The newest checkpoint in out_dir/checkpoints that reads back whole and belongs to the search of
// out_dir (the run id in out_dir/search.h5; when that file is gone, the newest checkpoint's).
// Checkpoints of another search are skipped with a warning that names them.
StatusOr<FoundCheckpoint> LoadNewestCheckpoint(const std::string& out_dir);
// A new run id: host, process, time and seed hashed.
std::string NewRunId(std::uint64_t seed);
// Paths of out_dir's checkpoints, newest first.
std::vector<std::string> ListCheckpoints(const std::string& out_dir);
// Removes all but the newest `keep` checkpoints.
Status PruneCheckpoints(const std::string& out_dir, int keep);

// search.h5, generations.csv and queries.csv; `truth_column` names what the accuracies are.
// Architectures are written as genotype strings of checkpoint.space (and as choices in search.h5).
Status WriteSearchResults(const std::string& out_dir, const SearchCheckpoint& checkpoint, const std::string& truth_column);

}  // namespace hpcnas
