#pragma once
// The files of `hpcnas supernet` in its output directory (layout in io/README.md):
//   checkpoints/checkpoint_sNNNNNNNNN.h5  the whole run after weight step N (the last K kept)
//   supernet.h5                          results: every epoch's row, p per position per epoch, the config
//   epochs.csv                           the epoch table for pandas
//   alpha_heatmap.png                    p per position and operation, one panel per epoch
// Every file is written to a temporary name and renamed when complete; a checkpoint carries a
// checksum over its content, so a truncated or altered file is refused, never half-read.
// Free of LibTorch: weights are named float arrays.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "io/provenance.h"
#include "io/predictor_file.h"  // NamedArray

namespace hpcnas {

inline constexpr std::int64_t kSupernetCheckpointSchemaVersion = 1;
inline constexpr const char* kSupernetCheckpointKind = "hpcnas.supernet.checkpoint";

// One epoch of the run, as epochs.csv and supernet.h5 /epochs hold it.
struct SupernetEpoch {
  std::int64_t epoch = 0;  // 1-based, warm-up epochs first
  bool warmup = false;
  double train_loss = 0, train_accuracy = 0;  // weight steps: label-smoothed CE, % of the sampled paths
  double arch_loss = 0, arch_accuracy = 0;    // architecture steps on the held-out split (NaN in warm-up)
  double expected_mflops = 0;                 // under p at the epoch's end
  double expected_latency_ms = 0;             // likewise, from the latency table (NaN without one)
  std::string derived;                        // argmax per position, as a genotype string
  double derived_mflops = 0;
  double derived_latency_ms = 0;              // the table's prediction (NaN without one)
  double derived_valid_accuracy = 0;          // % on the held-out split, BatchNorm recalibrated
  double benchmark_accuracy = 0;              // the space's table (NaN where it has none)
  double seconds = 0, images_per_second = 0;
  std::vector<double> probabilities;          // p of every position's candidates, concatenated
  std::vector<double> entropy;                // per position, nats
};

// A replica's whole training state.
struct SupernetTrainingState {
  std::int64_t epochs_done = 0;
  std::int64_t step_in_epoch = 0;  // weight steps of the current epoch already taken
  std::int64_t weight_steps = 0, arch_steps = 0;
  std::vector<NamedArray> weights;        // WeightParameters order
  std::vector<NamedArray> momentum;       // the same names; empty values: not started yet
  std::vector<std::int64_t> candidates;   // per position: its number of candidates
  std::vector<double> alpha, adam_first, adam_second;  // concatenated over positions
  std::vector<std::int64_t> adam_steps;   // per position
  // The current epoch's sums: weight loss, weight correct, weight images, arch loss, arch
  // correct, arch images.
  std::vector<double> epoch_sums = std::vector<double>(6, 0.0);
  std::vector<SupernetEpoch> history;
};

struct SupernetCheckpoint {
  std::string space;
  std::string config_toml;
  std::string run_id;
  SupernetTrainingState state;
  Provenance provenance;  // written, not read back
};

std::string SupernetCheckpointPath(const std::string& out_dir, std::int64_t weight_steps);
Status WriteSupernetCheckpoint(const std::string& path, const SupernetCheckpoint& checkpoint);
// Checks kind, schema version, every array's shape against its name list, and the checksum.
StatusOr<SupernetCheckpoint> ReadSupernetCheckpoint(const std::string& path);
// The newest checkpoint of out_dir that reads back whole; `warnings` names the ones skipped.
StatusOr<std::pair<SupernetCheckpoint, std::string>> LoadNewestSupernetCheckpoint(const std::string& out_dir,
                                                                                   std::vector<std::string>& warnings);
std::vector<std::string> ListSupernetCheckpoints(const std::string& out_dir);  // newest first
Status PruneSupernetCheckpoints(const std::string& out_dir, int keep);

// supernet.h5, epochs.csv and alpha_heatmap.png. `operation_names[p]` names position p's candidates.
Status WriteSupernetResults(const std::string& out_dir, const SupernetCheckpoint& checkpoint,
                            const std::vector<std::vector<std::string>>& operation_names);

}  // namespace hpcnas
