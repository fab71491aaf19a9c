#pragma once
// `hpcnas pack`: a folder of JPEGs (a folder per class) into WebDataset tar shards with an index.

#include <cstdint>
#include <string>

namespace hpcnas {

struct PackRequest {
  std::string from;
  std::string out;
  std::string shard_size = "1G";  // bytes, or with a K, M or G suffix (powers of 1024)
  std::uint64_t seed = 0;
  double holdout = 0.0;
  bool skip_corrupt = false;
};

// Runs on the calling rank (rank 0); returns the exit code.
int RunPackCommand(const PackRequest& request, const std::string& command_line);

}  // namespace hpcnas
