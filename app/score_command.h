#pragma once
// `hpcnas score`: epsilon scores for a set of architectures, distributed over all ranks by the
// protocol of scheduler/score_coordinator.h, written to HDF5 and CSV on rank 0.

#include <string>

#include "engine/communicator.h"
#include "engine/config.h"

namespace hpcnas {

// Runs the job on every rank; returns the process exit code (the same on every rank).
int RunScoreCommand(Communicator& comm, const Config& config, const std::string& command_line);

}  // namespace hpcnas
