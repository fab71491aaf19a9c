#pragma once
// `hpcnas train-predictor` and `hpcnas predict`: the TNASP predictor trained data-parallel on
// every rank (workers/predictor_worker.h), saved to and loaded from HDF5 (io/predictor_file.h).

#include <string>

#include "engine/comm/communicator.h"
#include "engine/config/config.h"

namespace hpcnas {

// Both run on every rank and return the process exit code (the same on every rank).
int RunTrainPredictorCommand(Communicator& comm, const Config& config, const std::string& command_line);

struct PredictRequest {
  std::string model;      // predictor HDF5 file, search checkpoint or search output directory
  std::string archs;      // genotype list, one per line
  std::string out;        // CSV to write (empty: print to stdout only)
  double timeout_s = 600;
  int threads = 0;          // intra-op threads per rank (0 = this rank's share of the cores)
  double progress_s = 10;   // seconds between progress lines
};
int RunPredictCommand(Communicator& comm, const PredictRequest& request);

}  // namespace hpcnas
