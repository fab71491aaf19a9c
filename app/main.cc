// hpcnas: neural architecture search on HPC clusters. One executable with subcommands; the
// same binary under mpirun, srun or alone (world size 1).

#include <malloc.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/score_command.h"
#include "engine/config.h"
#include "engine/mpi_communicator.h"
#include "hpcnas/build_config.h"

namespace {

void ConfigureLogging(int rank) {
  spdlog::set_pattern(rank == 0 ? "[hpcnas %H:%M:%S] %v" : "[hpcnas %H:%M:%S rank " + std::to_string(rank) + "] %v");
  spdlog::set_level(rank == 0 ? spdlog::level::info : spdlog::level::warn);
}

std::string JoinArguments(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

void AddScoreOptions(CLI::App& score, hpcnas::Config& c, bool& all, std::string& archs) {
  score.add_option("--space", c.score.space, "search space (nb201)")->capture_default_str();
  auto* all_flag = score.add_flag("--all", all, "score every cell of the space");
  auto* sample = score.add_option("--sample", c.score.sample, "score N distinct random cells (with --seed)");
  auto* file = score.add_option("--archs", archs, "score the genotypes listed in FILE, one per line");
  all_flag->excludes(sample)->excludes(file);
  sample->excludes(file);
  score.add_option("--seed", c.score.seed, "seed of --sample")->capture_default_str();
  score.add_option("--truth", c.score.truth,
                   "ground-truth CSV (NB201 format) or 'embedded'; prints Spearman/Kendall against it");
  score.add_option("--truth-column", c.score.truth_column, "accuracy column of the truth table")->capture_default_str();
  score.add_option("--out", c.score.out, "HDF5 output file; the CSV is written beside it")->capture_default_str();
  score.add_option("--images", c.epsilon.images, "CIFAR-10 binary file for the batch, or 'embedded'")->capture_default_str();
  score.add_option("--batch-size", c.epsilon.batch_size, "images in the batch (the first of the file)")->capture_default_str();
  score.add_option("--w1", c.epsilon.w1, "first constant weight")->capture_default_str();
  score.add_option("--w2", c.epsilon.w2, "second constant weight")->capture_default_str();
  score.add_option("--epsilon-path", c.epsilon.path, "scorer: full (reference network)")->capture_default_str();
  score.add_option("--threads", c.runtime.threads, "intra-op threads per rank (0 = cores / ranks)")->capture_default_str();
  score.add_option("--timeout", c.runtime.timeout_s, "seconds a rank may stay silent before the job aborts")->capture_default_str();
  score.add_option("--progress-interval", c.runtime.progress_s, "seconds between progress lines")->capture_default_str();
  score.add_option("--fault", c.runtime.fault, "testing: RANK:KIND[:AFTER], KIND throw|exit|hang|kill")->group("");
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed activations in the process: glibc otherwise returns multi-MB blocks to the OS
  // after every op and a forward pass gets several times slower (TOOLCHAIN.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);

  hpcnas::MpiCommunicator comm(&argc, &argv);
  ConfigureLogging(comm.rank());

  CLI::App app{"hpcnas " HPCNAS_VERSION ": neural architecture search on HPC clusters"};
  app.require_subcommand(1);
  hpcnas::Config config;
  bool all = false;
  std::string archs;
  CLI::App* score = app.add_subcommand("score", "score architectures with the epsilon zero-cost metric");
  AddScoreOptions(*score, config, all, archs);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments and fails the same way; only rank 0 speaks.
    if (comm.rank() == 0) app.exit(e);
    return e.get_exit_code() == 0 ? 0 : 2;
  }

  try {
    if (score->parsed()) {
      config.command = "score";
      if (all) {
        config.score.select = "all";
      } else if (score->count("--sample") > 0) {
        config.score.select = "sample";
      } else if (!archs.empty()) {
        config.score.select = "file";
        config.score.archs_file = archs;
      } else {
        if (comm.rank() == 0) std::fprintf(stderr, "hpcnas score: choose what to score: --all, --sample N or --archs FILE\n");
        return 2;
      }
      return hpcnas::RunScoreCommand(comm, config, JoinArguments(argc, argv));
    }
  } catch (const std::exception& e) {
    comm.Abort(std::string("unexpected error: ") + e.what(), 3);
  }
  return 0;
}
