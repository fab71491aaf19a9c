#pragma once
// Who made an output file: written as root attributes of every HDF5 file hpcnas writes
// (h5::File::SetProvenance), never read back.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hpcnas {

struct Provenance {
  // command_line, hpcnas_version, git_commit, created_utc, host, slurm_job_id,
  // slurm_array_job_id, slurm_array_task_id (empty outside Slurm): strings, always all of them.
  std::vector<std::pair<std::string, std::string>> text;
  std::int64_t world_size = 1;  // ranks of the job
};

}  // namespace hpcnas
