#pragma once
// `hpcnas search`: the generation loop of scheduler/search_loop.h on every rank, with HDF5
// checkpoints, exact resume and a clean stop on SIGTERM / SIGUSR1.

#include <string>
#include <vector>

#include "app/command_support.h"
#include "engine/comm/communicator.h"
#include "engine/config/config.h"

namespace hpcnas {

struct SearchRequest {
  Config config;           // from --config and the command line
  Status config_file_status;  // rank 0: why --config could not be read, if it could not
  std::string resume_dir;  // --resume DIR: continue the search in DIR from its newest valid checkpoint
  bool generations_given = false;  // with --resume: --generations extends (or shortens) the run
  // With --resume: --epsilon.images and --supernet.data say where the run's data are now (with a
  // supernet checkpoint, also on a first start). Their fingerprints check that they are the same.
  bool epsilon_images_given = false, supernet_data_given = false;
  // Options given that a resumed search cannot change (it keeps the checkpoint's config).
  std::vector<std::string> fixed_options_given;
};

// Runs on every rank; returns the process exit code.
int RunSearchCommand(Communicator& comm, const SearchRequest& request, const std::string& command_line);

}  // namespace hpcnas
