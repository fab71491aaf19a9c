#pragma once
// `hpcnas inspect`: what an architecture is (canonical form, hash, parameters, FLOPs, layer by
// layer), and what an hpcnas file or search directory holds. Runs on rank 0 alone.

#include <string>

#include "engine/config/config.h"

namespace hpcnas {

struct InspectRequest {
  std::string path;   // a file or a search directory; empty with --arch
  std::string space;  // with arch
  std::string arch;
  std::int64_t resolution = 0;  // the network's input size, 0 = the space's default
  double width_multiplier = 1.0;
  std::int64_t num_classes = 0;  // 0 = the space's default
};

// Prints the report on standard output; returns the exit code.
int RunInspectCommand(const InspectRequest& request);

}  // namespace hpcnas
