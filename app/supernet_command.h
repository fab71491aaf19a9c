#pragma once
// `hpcnas supernet`: the ProxylessNAS search (workers/supernet_trainer.h) on every rank, with
// per-epoch HDF5 checkpoints, exact resume (also on another number of ranks) and a clean stop
// on SIGTERM / SIGUSR1.

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "app/command_support.h"
#include "engine/comm/communicator.h"
#include "engine/config/config.h"
#include "engine/space/latency_table.h"
#include "io/supernet_files.h"
#include "workers/supernet_trainer.h"

namespace hpcnas {

struct SupernetRequest {
  Config config;              // from --config and the command line
  Status config_file_status;  // rank 0: why --config could not be read, if it could not
  std::string resume_dir;     // --resume DIR: continue the run in DIR from its newest valid checkpoint
  bool data_given = false;    // with --resume: --supernet.data says where the run's data are now
  // Options given that a resumed run cannot change (it keeps the checkpoint's config).
  std::vector<std::string> fixed_options_given;
};

// Runs on every rank; returns the process exit code.
int RunSupernetCommand(Communicator& comm, const SupernetRequest& request, const std::string& command_line);

// Shared with `hpcnas search --supernet train`, which trains a supernet inside the search:
// The table of supernet.latency_table (none when the key is empty), refused unless it was
// measured for this space, resolution, width and kind of device and prices every block.
StatusOr<std::optional<LatencyTable>> LoadMatchingLatencyTable(const SupernetConfig& sc, torch::Device device);
// supernet.derive = "target" with a target that no network of the space meets (within 10 %) is
// bad input before anything is written; `latency`: the table of LoadMatchingLatencyTable.
Status CheckDeriveTarget(const SupernetConfig& sc, const std::optional<LatencyTable>& latency);
// An epoch's progress line: "epoch 3/8 (search) | train loss … | derived … | 310.2 img/s | … ETA 2m".
std::string EpochLine(const SupernetEpoch& e, int total_epochs, double elapsed, double eta);
// The names of every position's candidate operations, for the results' heat map.
std::vector<std::vector<std::string>> SupernetOperationNames(SupernetTrainer& trainer, const ChainSpace& space);

// `hpcnas latency`: measures the latency lookup table of a chain space on this device, checks it
// against `networks` random whole networks measured end to end (Spearman rho, relative error),
// fits the calibration and writes the table (HDF5) and the check (CSV beside it).
struct LatencyRequest {
  std::string space = "macro";
  std::int64_t resolution = 0;  // 0 = the space's
  double width_multiplier = 1.0;
  std::int64_t num_classes = 0;  // 0 = the space's
  std::string out = "latency.h5";
  int networks = 200;
  int repeats = 20;
  std::int64_t batch = 1;
  std::uint64_t seed = 0;
  int threads = 0;
};
int RunLatencyCommand(const LatencyRequest& request, const std::string& command_line);

}  // namespace hpcnas
