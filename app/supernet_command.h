#pragma once
// `hpcnas supernet`: the ProxylessNAS search (workers/supernet_trainer.h) on every rank, with
// per-epoch HDF5 checkpoints, exact resume (also on another number of ranks) and a clean stop
// on SIGTERM / SIGUSR1.

#include <string>
#include <vector>

#include "app/command_support.h"
#include "engine/comm/communicator.h"
#include "engine/config/config.h"

namespace hpcnas {

struct SupernetRequest {
  Config config;              // from --config and the command line
  Status config_file_status;  // rank 0: why --config could not be read, if it could not
  std::string resume_dir;     // --resume DIR: continue the run in DIR from its newest valid checkpoint
  // Options given that a resumed run cannot change (it keeps the checkpoint's config).
  std::vector<std::string> fixed_options_given;
};

// Runs on every rank; returns the process exit code.
int RunSupernetCommand(Communicator& comm, const SupernetRequest& request, const std::string& command_line);

}  // namespace hpcnas
