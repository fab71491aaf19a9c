#pragma once
// `hpcnas score`: epsilon scores for a set of architectures, distributed over all ranks by the
// protocol of scheduler/score_coordinator.h, written to HDF5 and CSV on rank 0.

#include <string>

#include "engine/comm/communicator.h"
#include "engine/config/config.h"

namespace hpcnas {

// Runs the job on every rank; returns the process exit code (the same on every rank).
int RunScoreCommand(Communicator& comm, const Config& config, const std::string& command_line);

// `hpcnas score --calibrate-weights`: the epsinas weight search for config.score.space on 100
// architectures sampled with config.score.seed; prints every window tried and the chosen pair.
int RunCalibrateWeightsCommand(Communicator& comm, const Config& config);

}  // namespace hpcnas
