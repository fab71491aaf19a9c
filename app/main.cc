// hpcnas: neural architecture search on HPC clusters. One executable with subcommands; the
// same binary under mpirun, srun or alone (world size 1).

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/inspect_command.h"
#include "app/predictor_commands.h"
#include "app/score_command.h"
#include "app/search_command.h"
#include "app/command_support.h"
#include "io/files.h"
#include "engine/config.h"
#include "engine/epsilon_spaces.h"
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
  score.add_option("--space", c.score.space, "search space: nb201 | macro | proxyless")->capture_default_str();
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
  score.add_option("--w1", c.epsilon.w1, "first constant weight (default: the space's, nb201 1e-7)");
  score.add_option("--w2", c.epsilon.w2, "second constant weight (default: the space's, nb201 1)");
  score.add_option("--resolution", c.epsilon.resolution,
                   "macro/proxyless: input size of the network, the batch resized to it (0 = the space's: 32, 224)")
      ->capture_default_str();
  score.add_option("--width-multiplier", c.epsilon.width_multiplier, "proxyless: channel width multiplier")
      ->capture_default_str();
  score.add_option("--epsilon-path", c.epsilon.path, "scorer: fast (one-channel network) or full (reference network)")->capture_default_str();
  score.add_option("--nan-policy", c.epsilon.nan_policy,
                   "NaN scores: keep (paper) | exact (add exact-arithmetic scores) | rank (add a finite ranking key)")
      ->capture_default_str();
  score.add_option("--nan-offset", c.epsilon.nan_offset, "with --nan-policy rank: where underflowed cells start, 0..1")
      ->capture_default_str();
  score.add_option("--threads", c.runtime.threads, "intra-op threads per rank (0 = cores / ranks)")->capture_default_str();
  score.add_option("--timeout", c.runtime.timeout_s, "seconds a rank may stay silent before the job aborts")->capture_default_str();
  score.add_option("--progress-interval", c.runtime.progress_s, "seconds between progress lines")->capture_default_str();
  score.add_option("--fault", c.runtime.fault, "testing: RANK:KIND[:AFTER], KIND throw|exit|hang|kill")->group("");
}

void AddPredictorOptions(CLI::App& command, hpcnas::PredictorConfig& p) {
  command.add_option("--epochs", p.epochs, "passes over the labelled set")->capture_default_str();
  command.add_option("--batch", p.batch_size, "labelled architectures per step (global, split over ranks)")->capture_default_str();
  command.add_option("--lr", p.learning_rate, "Adam learning rate (cosine-annealed)")->capture_default_str();
  command.add_option("--weight-decay", p.weight_decay, "Adam L2 weight decay")->capture_default_str();
  command.add_option("--position", p.position, "graph position encoding: laplacian | eigen")->capture_default_str();
  command.add_option("--eigen-count", p.eigen_count, "with --position eigen: eigenvectors per node (1..3)")->capture_default_str();
  command.add_option("--d-model", p.d_model, "token width")->capture_default_str();
  command.add_option("--heads", p.heads, "attention heads")->capture_default_str();
  command.add_option("--layers", p.layers, "Transformer encoder layers")->capture_default_str();
  command.add_option("--feedforward", p.feedforward, "feed-forward width per layer")->capture_default_str();
  command.add_option("--head-hidden", p.head_hidden, "readout hidden width")->capture_default_str();
  command.add_option("--dropout", p.dropout, "dropout probability")->capture_default_str();
  command.add_option("--self-evolution", p.self_evolution_rounds,
                     "self-evolution rounds T (0 = off; T >= 2 splits the epochs into T rounds)")->capture_default_str();
  command.add_option("--self-evolution-weight", p.self_evolution_weight, "weight lambda of the self-evolution term")
      ->capture_default_str();
  command.add_option("--unlabelled-size", p.unlabelled_size, "unlabelled architectures for self-evolution")
      ->capture_default_str();
}

void AddTrainOptions(CLI::App& command, hpcnas::Config& c) {
  command.add_option("--space", c.train.space, "search space with ground truth for every network: nb201 | macro")->capture_default_str();
  command.add_option("--truth", c.train.truth, "ground-truth CSV with an arch column, every network of the space, or 'embedded'")->capture_default_str();
  command.add_option("--truth-column", c.train.truth_column, "accuracy column to learn and to judge by")->capture_default_str();
  command.add_option("--train-size", c.train.train_size, "labelled architectures, drawn with --seed")->capture_default_str();
  command.add_option("--seed", c.train.seed, "seed of the split, the initial weights, batches and dropout")->capture_default_str();
  command.add_option("--out", c.train.out, "HDF5 file for the trained predictor")->capture_default_str();
  command.add_option("--threads", c.runtime.threads, "intra-op threads per rank (0 = cores / ranks)")->capture_default_str();
  command.add_option("--timeout", c.runtime.timeout_s, "seconds a rank may wait for its peers")->capture_default_str();
  command.add_option("--progress-interval", c.runtime.progress_s, "seconds between progress lines")->capture_default_str();
  AddPredictorOptions(command, c.predictor);
}

void AddSearchOptions(CLI::App& search, hpcnas::SearchRequest& r) {
  hpcnas::Config& c = r.config;
  search.add_option("--resume", r.resume_dir, "continue the search in DIR from its newest valid checkpoint");
  search.add_option("--out", c.search.out_dir, "output directory: results, CSVs, checkpoints/")->capture_default_str();
  search.add_option("--space", c.search.space, "search space with a benchmark table: nb201 | macro")->capture_default_str();
  search.add_option("--method", c.search.method, "tnasp (epsilon + predictor) | evolution | random")->capture_default_str();
  search.add_option("--seed", c.search.seed, "seed of every random draw")->capture_default_str();
  search.add_option("--generations", c.search.generations, "generations, generation 0 included")->capture_default_str();
  search.add_option("--truth", c.search.truth, "ground-truth CSV of the space (an arch column, every network) or 'embedded'")->capture_default_str();
  search.add_option("--truth-column", c.search.truth_column, "accuracy column the evaluator returns (default: the space's)");
  search.add_option("--initial-pool", c.search.initial_pool, "tnasp: random architectures scored by epsilon in generation 0")->capture_default_str();
  search.add_option("--initial-queries", c.search.initial_queries, "architectures evaluated in generation 0")->capture_default_str();
  search.add_option("--candidates", c.search.candidates, "tnasp: children proposed per generation")->capture_default_str();
  search.add_option("--queries-per-generation", c.search.queries_per_generation, "architectures evaluated per later generation")
      ->capture_default_str();
  search.add_option("--population", c.search.population_size, "aging population size")->capture_default_str();
  search.add_option("--tournament", c.search.tournament_size, "tournament size for parent selection")->capture_default_str();
  search.add_option("--crossover", c.search.crossover, "share of children made by crossover (0..1)")->capture_default_str();
  search.add_option("--predictor-epochs", c.search.predictor_epochs, "tnasp: predictor epochs per generation (warm-started)")
      ->capture_default_str();
  search.add_option("--selection", c.search.selection, "tnasp: rank candidates by predictor | epsilon | combined")->capture_default_str();
  search.add_option("--explore", c.search.explore, "tnasp: share of later queries given to children as proposed (0..1)")
      ->capture_default_str();
  search.add_option("--keep-checkpoints", c.search.keep_checkpoints, "newest checkpoints kept")->capture_default_str();
  search.add_option("--images", c.epsilon.images, "CIFAR-10 binary file for the epsilon batch, or 'embedded'")->capture_default_str();
  search.add_option("--epsilon-path", c.epsilon.path, "epsilon scorer: fast | full")->capture_default_str();
  search.add_option("--self-evolution", c.predictor.self_evolution_rounds, "predictor self-evolution rounds per generation (0 = off)")
      ->capture_default_str();
  search.add_option("--gradient-shards", c.predictor.gradient_shards, "predictor micro-batches per step (ranks that share it)")
      ->capture_default_str();
  search.add_option("--threads", c.runtime.threads, "intra-op threads per rank (0 = cores / ranks)")->capture_default_str();
  search.add_option("--timeout", c.runtime.timeout_s, "seconds a rank may wait for its peers before the job aborts")->capture_default_str();
  search.add_option("--progress-interval", c.runtime.progress_s, "seconds between progress lines")->capture_default_str();
  search.add_option("--fault", c.runtime.fault, "testing: RANK:KIND[:AFTER], KIND throw|exit|hang|kill")->group("");
}

// Every subcommand that runs a job takes `--config FILE`: a TOML file with the sections of
// engine/config.h. It is read before the command line is parsed, so the options given override it.
void AddConfigOption(CLI::App& command, std::string& config_file) {
  command.add_option("--config", config_file, "TOML config (sections of engine/config.h); the options below override it");
}

// One flag per config key of `sections`, named as the TOML key: --search.population_size 30.
// They are applied in the order given, after --config, so they override the file.
void AddConfigKeyOptions(CLI::App& command, hpcnas::Config& config, std::initializer_list<const char*> sections) {
  for (const hpcnas::ConfigKey& key : hpcnas::ConfigKeys()) {
    if (std::find(sections.begin(), sections.end(), key.section) == sections.end()) continue;
    const std::string flag = "--" + key.Key();
    command
        .add_option(
            flag,
            [&config, key, flag](const CLI::results_t& values) {
              const hpcnas::Status status = hpcnas::SetConfigValue(config, key.Key(), values.back(), flag);
              if (!status.ok()) throw CLI::ValidationError(status.message());
              return true;
            },
            key.doc + " (" + key.allowed + "; default " + key.default_value + ")")
        ->type_name(key.type == "string" ? "TEXT" : key.type == "float" ? "FLOAT" : "INT")
        ->group("Config keys (also in a --config file)");
  }
}

// The value of `--config FILE` / `--config=FILE`, if any.
std::string FindConfigFile(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  return "";
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
  app.set_version_flag("--version", "hpcnas " HPCNAS_VERSION " (git " HPCNAS_GIT_COMMIT ")");
  app.require_subcommand(1);
  app.footer("Exit codes: 0 done; 2 bad input (a file, option, genotype or config the user gave); 3 runtime failure "
             "(a rank died or timed out, a write failed); 75 stopped by SIGTERM/SIGUSR1 after a checkpoint (resume with "
             "--resume).");
  hpcnas::Config config;
  bool all = false;
  bool calibrate = false;
  std::string archs;
  CLI::App* score = app.add_subcommand("score", "score architectures with the epsilon zero-cost metric");
  AddScoreOptions(*score, config, all, archs);
  AddConfigKeyOptions(*score, config, {"epsilon", "score", "runtime"});
  score->add_flag("--calibrate-weights", calibrate,
                  "choose the space's weight pair as epsinas does (the widest window of powers of ten with < 10% NaN "
                  "over 100 sampled architectures) and print it");
  std::string config_file;
  AddConfigOption(*score, config_file);
  CLI::App* train = app.add_subcommand("train-predictor", "train the TNASP accuracy predictor data-parallel on all ranks");
  AddConfigOption(*train, config_file);
  AddTrainOptions(*train, config);
  AddConfigKeyOptions(*train, config, {"predictor", "train", "runtime"});
  hpcnas::PredictRequest predict_request;
  CLI::App* predict = app.add_subcommand("predict", "predict accuracies with a trained predictor");
  AddConfigOption(*predict, config_file);  // [runtime] timeout_s
  predict->add_option("--model", predict_request.model, "predictor HDF5 file (from train-predictor)")->required();
  predict->add_option("--archs", predict_request.archs, "genotypes to predict, one per line")->required();
  predict->add_option("--out", predict_request.out, "also write the predictions to this CSV file");
  predict->add_option("--timeout", predict_request.timeout_s, "seconds a rank may wait for its peers")->capture_default_str();

  hpcnas::InspectRequest inspect_request;
  CLI::App* inspect = app.add_subcommand("inspect", "describe an architecture, or summarise an hpcnas file or search directory");
  auto* inspect_path = inspect->add_option("path", inspect_request.path, "an hpcnas HDF5 file or a search directory");
  auto* inspect_arch = inspect->add_option("--arch", inspect_request.arch, "a genotype string of --space");
  inspect_path->excludes(inspect_arch);
  inspect->add_option("--space", inspect_request.space, "search space of --arch: nb201 | macro | proxyless")
      ->capture_default_str()
      ->default_val("nb201");
  inspect->add_option("--resolution", inspect_request.resolution, "input size of the network (0 = the space's)")
      ->capture_default_str();
  inspect->add_option("--width-multiplier", inspect_request.width_multiplier, "proxyless: channel width multiplier")
      ->capture_default_str();
  inspect->add_option("--num-classes", inspect_request.num_classes, "classifier outputs (0 = the space's)")->capture_default_str();

  CLI::App* config_command = app.add_subcommand("config", "print the configuration: every key (Markdown) or the defaults (TOML)");
  bool reference = false;
  config_command->add_flag("--reference", reference, "the reference table of every key (docs/config.md)");
  AddConfigOption(*config_command, config_file);

  hpcnas::SearchRequest search_request;
  CLI::App* search = app.add_subcommand("search", "architecture search: epsilon, the TNASP predictor and evolution on all ranks");
  AddConfigOption(*search, config_file);
  AddSearchOptions(*search, search_request);
  AddConfigKeyOptions(*search, search_request.config, {"search", "epsilon", "predictor", "runtime"});
  // Every rank reads --config first (the options given on the command line then override it);
  // a bad file is reported like any other bad input, by rank 0, and every rank exits with 2.
  hpcnas::Status config_file_status;
  if (const std::string path = FindConfigFile(argc, argv); !path.empty()) {
    auto text = hpcnas::ReadWholeFile(path, "config file");
    // A config file that cannot be read is bad input (exit 2), like a malformed one.
    auto parsed = text.ok() ? hpcnas::ConfigFromToml(*text, path)
                            : hpcnas::StatusOr<hpcnas::Config>(hpcnas::Status::InvalidInput(text.status().message()));
    if (parsed.ok()) {
      config = *parsed;
      search_request.config = *parsed;
      predict_request.timeout_s = parsed->runtime.timeout_s;
    } else {
      config_file_status = parsed.status();
    }
  }
  auto bad_config_file = [&] {
    if (comm.rank() == 0) hpcnas::LogError(config_file_status.message());
    return 2;
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments and fails the same way; only rank 0 speaks. --help
    // and --version print as CLI11 does; a bad option is one error line naming it, exit 2.
    if (e.get_exit_code() == 0) {
      if (comm.rank() == 0) app.exit(e);
      return 0;
    }
    if (comm.rank() == 0) hpcnas::LogError(std::string(e.what()) + " (hpcnas " + (argc > 1 ? argv[1] : "") + " --help lists the options)");
    return 2;
  }

  try {
    if (!config_file_status.ok() && !search->parsed()) return bad_config_file();
    if (score->parsed()) {
      config.command = "score";
      if (all) {
        config.score.select = "all";
      } else if (score->count("--sample") > 0) {
        config.score.select = "sample";
      } else if (!archs.empty()) {
        config.score.select = "file";
        config.score.archs_file = archs;
      } else if (!calibrate) {
        if (comm.rank() == 0) std::fprintf(stderr, "hpcnas score: choose what to score: --all, --sample N or --archs FILE\n");
        return 2;
      }
      hpcnas::ResolveEpsilonWeights(config.epsilon, config.score.space);
      if (calibrate) return hpcnas::RunCalibrateWeightsCommand(comm, config);
      return hpcnas::RunScoreCommand(comm, config, JoinArguments(argc, argv));
    }
    if (train->parsed()) {
      config.command = "train-predictor";
      return hpcnas::RunTrainPredictorCommand(comm, config, JoinArguments(argc, argv));
    }
    if (predict->parsed()) return hpcnas::RunPredictCommand(comm, predict_request);
    if (config_command->parsed()) {
      // The defaults, or what --config FILE sets, as a complete file to start from.
      if (comm.rank() == 0) std::printf("%s", reference ? hpcnas::ConfigReference().c_str() : hpcnas::ToToml(config).c_str());
      return 0;
    }
    if (inspect->parsed()) {
      if (inspect_request.path.empty() && inspect_request.arch.empty()) {
        if (comm.rank() == 0) std::fprintf(stderr, "hpcnas inspect: give a FILE or directory, or --space S --arch STRING\n");
        return 2;
      }
      // Inspection is cheap and local: rank 0 speaks, the others wait for its exit code.
      return comm.rank() == 0 ? hpcnas::RunInspectCommand(inspect_request) : 0;
    }
    if (search->parsed()) {
      search_request.config.command = "search";
      search_request.config_file_status = config_file_status;
      for (const CLI::Option* option : search->get_options()) {
        static const std::set<std::string> kChangeableOnResume = {"--resume", "--generations", "--search.generations",
                                                                  "--threads", "--timeout", "--progress-interval", "--fault",
                                                                  "--help"};
        const bool runtime_key = option->get_name().rfind("--runtime.", 0) == 0;
        if (option->count() > 0 && !kChangeableOnResume.count(option->get_name()) && !runtime_key) {
          search_request.fixed_options_given.push_back(option->get_name());
        }
      }
      search_request.generations_given = search->count("--generations") + search->count("--search.generations") > 0;
      hpcnas::InstallStopSignalHandlers();
      return hpcnas::RunSearchCommand(comm, search_request, JoinArguments(argc, argv));
    }
  } catch (const std::exception& e) {
    comm.Abort(std::string("unexpected error: ") + e.what(), 3);
  }
  return 0;
}
