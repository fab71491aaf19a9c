// hpcnas: neural architecture search on HPC clusters. One executable with subcommands; the
// same binary under mpirun, srun or alone (world size 1).

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/inspect_command.h"
#include "app/predictor_commands.h"
#include "app/score_command.h"
#include "app/search_command.h"
#include "app/supernet_command.h"
#include "app/command_support.h"
#include "io/files.h"
#include "engine/config/config.h"
#include "engine/metric/epsilon_spaces.h"
#include "engine/comm/mpi_communicator.h"
#include "hpcnas/build_config.h"

namespace {

void ConfigureLogging(int rank) {
  // Log lines on standard error, results on standard output (PrintResult).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("hpcnas"));
  // ISO 8601 local time with its offset: logs of a multi-day job on several nodes sort and compare.
  spdlog::set_pattern(rank == 0 ? "[hpcnas %Y-%m-%dT%H:%M:%S%z] %v" : "[hpcnas %Y-%m-%dT%H:%M:%S%z rank " + std::to_string(rank) + "] %v");
  spdlog::set_level(rank == 0 ? spdlog::level::info : spdlog::level::warn);
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=warn|info|..., as every spdlog program reads it
  // Every line reaches the log at once: Slurm writes stdout to a file (fully buffered), and
  // mpirun kills the other ranks at the first non-zero exit, before buffers are flushed.
  spdlog::flush_on(spdlog::level::info);
}

std::string JoinArguments(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

// Short flags kept from before the key table: each is another name of its key's --SECTION.NAME
// option (same doc, same parsing, same checks); several names are separated by commas. A
// subcommand reads sections whose short names do not collide.
const std::map<std::string, std::string>& ShortFlags() {
  static const std::map<std::string, std::string> flags = {
      {"epsilon.w1", "--w1"}, {"epsilon.w2", "--w2"}, {"epsilon.batch_size", "--batch-size"},
      {"epsilon.images", "--images,--data"}, {"epsilon.path", "--epsilon-path"}, {"epsilon.nan_policy", "--nan-policy"},
      {"epsilon.nan_offset", "--nan-offset"}, {"epsilon.resolution", "--resolution"},
      {"epsilon.width_multiplier", "--width-multiplier"},
      {"score.space", "--space"}, {"score.sample", "--sample"}, {"score.seed", "--seed"}, {"score.truth", "--truth"},
      {"score.truth_column", "--truth-column"}, {"score.out", "--out"},
      {"predictor.epochs", "--epochs"}, {"predictor.batch_size", "--batch"}, {"predictor.learning_rate", "--lr"},
      {"predictor.weight_decay", "--weight-decay"}, {"predictor.position", "--position"},
      {"predictor.eigen_count", "--eigen-count"}, {"predictor.d_model", "--d-model"}, {"predictor.heads", "--heads"},
      {"predictor.layers", "--layers"}, {"predictor.feedforward", "--feedforward"}, {"predictor.head_hidden", "--head-hidden"},
      {"predictor.dropout", "--dropout"}, {"predictor.self_evolution_rounds", "--self-evolution"},
      {"predictor.self_evolution_weight", "--self-evolution-weight"}, {"predictor.unlabelled_size", "--unlabelled-size"},
      {"predictor.gradient_shards", "--gradient-shards"},
      {"train.space", "--space"}, {"train.truth", "--truth"}, {"train.truth_column", "--truth-column"},
      {"train.train_size", "--train-size"}, {"train.seed", "--seed"}, {"train.out", "--out"},
      {"search.space", "--space"}, {"search.method", "--method"}, {"search.truth", "--truth"},
      {"search.truth_column", "--truth-column"}, {"search.seed", "--seed"}, {"search.generations", "--generations"},
      {"search.initial_pool", "--initial-pool"}, {"search.initial_queries", "--initial-queries"},
      {"search.candidates", "--candidates"}, {"search.queries_per_generation", "--queries-per-generation"},
      {"search.population_size", "--population"}, {"search.tournament_size", "--tournament"},
      {"search.crossover", "--crossover"}, {"search.predictor_epochs", "--predictor-epochs"},
      {"search.selection", "--selection"}, {"search.prefilter", "--prefilter"}, {"search.explore", "--explore"}, {"search.out_dir", "--out"},
      {"search.keep_checkpoints", "--keep-checkpoints"}, {"search.evaluator", "--evaluator"},
      {"search.supernet", "--supernet"}, {"search.finetune_steps", "--finetune-steps"},
      {"search.supernet_score", "--supernet-score"},
      {"search.supernet_epochs_per_generation", "--supernet-epochs-per-generation"},
      {"search.evaluate_command", "--evaluate-command"}, {"search.evaluate_timeout_s", "--evaluate-timeout"},
      {"search.max_mflops", "--max-mflops"}, {"search.max_latency_ms", "--max-latency-ms"},
      {"search.latency_table", "--latency-table"},
      {"supernet.space", "--space"}, {"supernet.data", "--data"}, {"supernet.num_classes", "--num-classes"}, {"supernet.train_images", "--train-images"},
      {"supernet.valid_images", "--valid-images"}, {"supernet.seed", "--seed"}, {"supernet.epochs", "--epochs"},
      {"supernet.warmup_epochs", "--warmup-epochs"}, {"supernet.batch_size", "--batch-size"},
      {"supernet.micro_batches", "--micro-batches"}, {"supernet.learning_rate", "--lr"},
      {"supernet.gate_mode", "--gate-mode,--mode"}, {"supernet.target_mflops", "--target-mflops"},
      {"supernet.target_latency_ms", "--target-latency-ms"}, {"supernet.latency_table", "--latency-table"},
      {"supernet.cost_loss", "--cost-loss"}, {"supernet.derive", "--derive"}, {"supernet.resolution", "--resolution"},
      {"supernet.width_multiplier", "--width-multiplier"}, {"supernet.out_dir", "--out"},
      {"runtime.threads", "--threads"}, {"runtime.timeout_s", "--timeout"}, {"runtime.progress_s", "--progress-interval"},
      {"runtime.fault", "--fault"},
  };
  return flags;
}

// Which of `flags` (one option's names) the user typed last, for messages; the first if none.
std::string TypedFlag(const std::vector<std::string>& flags, int argc, char** argv) {
  std::string typed = flags.front();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    for (const std::string& flag : flags) {
      if (arg == flag || arg.rfind(flag + "=", 0) == 0) typed = flag;
    }
  }
  return typed;
}

std::vector<std::string> LongFlags(const CLI::Option& option) {
  std::vector<std::string> flags;
  for (const std::string& name : option.get_lnames()) flags.push_back("--" + name);
  return flags;
}

// One option per config key of `sections`, named as the TOML key (--search.population_size 30)
// and by its short flag (--population 30), with the key's doc, type, default and checks. The
// options apply after --config, so they override the file; a bad value is an error naming the
// flag as the user typed it.
// Sections in `long_only` get their --SECTION.NAME options only (their short flags belong to
// another subcommand).
void AddConfigKeyOptions(CLI::App& command, hpcnas::Config& config, std::initializer_list<const char*> sections, int argc,
                         char** argv, std::initializer_list<const char*> long_only = {}) {
  auto in = [](std::initializer_list<const char*> list, const std::string& section) {
    return std::find(list.begin(), list.end(), section) != list.end();
  };
  for (const hpcnas::ConfigKey& key : hpcnas::ConfigKeys()) {
    if (!in(sections, key.section) && !in(long_only, key.section)) continue;
    std::vector<std::string> flags = {"--" + key.Key()};
    std::string names = flags[0];
    if (auto short_flags = ShortFlags().find(key.Key()); short_flags != ShortFlags().end() && !in(long_only, key.section)) {
      names += "," + short_flags->second;
      for (size_t begin = 0, comma = 0; comma != std::string::npos; begin = comma + 1) {
        comma = short_flags->second.find(',', begin);
        flags.push_back(short_flags->second.substr(begin, comma - begin));
      }
    }
    CLI::Option* option = command.add_option(
        names,
        [&config, key, flags, argc, argv](const CLI::results_t& values) {
          const hpcnas::Status status = hpcnas::SetConfigValue(config, key.Key(), values.back(), TypedFlag(flags, argc, argv));
          if (!status.ok()) throw CLI::ValidationError(status.message());
          return true;
        },
        key.doc + " (" + key.allowed + "; default " + key.default_value + ")");
    option->type_name(key.type == "string" ? "TEXT" : key.type == "float" ? "FLOAT" : "INT");
    if (key.Key() == "runtime.fault") option->group("");  // testing only
  }
}

// Every subcommand that runs a job takes `--config FILE`: a TOML file with the sections of
// engine/config/config.h. It is read before the command line is parsed, so the options given override it.
void AddConfigOption(CLI::App& command, std::string& config_file) {
  command.add_option("--config", config_file, "TOML config (sections of engine/config/config.h); the options below override it");
}

// What a subcommand takes besides its config keys.
void AddScoreOptions(CLI::App& score, bool& all, std::string& archs) {
  auto* all_flag = score.add_flag("--all", all, "score every architecture of the space");
  auto* file = score.add_option("--archs", archs, "score the genotypes listed in FILE, one per line");
  CLI::Option* sample = score.get_option("--sample");  // score.sample: N distinct random architectures (with --seed)
  all_flag->excludes(sample)->excludes(file);
  sample->excludes(file);
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
  bool quiet = false;
  bool verbose = false;
  CLI::Option* quiet_flag =
      app.add_flag("--quiet", quiet, "log warnings and errors only (or SPDLOG_LEVEL=warn; SPDLOG_LEVEL=info also logs ranks > 0)");
  app.add_flag("--verbose", verbose, "also log debug lines, and the info lines of every rank (or SPDLOG_LEVEL=debug)")
      ->excludes(quiet_flag);
  app.fallthrough();  // also after the subcommand's name
  app.footer("Exit codes: 0 done; 2 bad input (a file, option, genotype or config the user gave); 3 runtime failure "
             "(a rank died or timed out, a write failed); 75 stopped by SIGTERM/SIGUSR1 after a checkpoint (resume with "
             "--resume).");
  hpcnas::Config config;
  bool all = false;
  bool calibrate = false;
  std::string archs;
  CLI::App* score = app.add_subcommand("score", "score architectures with the epsilon zero-cost metric");
  AddConfigKeyOptions(*score, config, {"epsilon", "score", "runtime"}, argc, argv);
  AddScoreOptions(*score, all, archs);
  score->add_flag("--calibrate-weights", calibrate,
                  "choose the space's weight pair as epsinas does (the widest window of powers of ten with < 10% NaN "
                  "over 100 sampled architectures) and print it");
  std::string config_file;
  AddConfigOption(*score, config_file);
  CLI::App* train = app.add_subcommand("train-predictor", "train the TNASP accuracy predictor data-parallel on all ranks");
  AddConfigOption(*train, config_file);
  AddConfigKeyOptions(*train, config, {"predictor", "train", "runtime"}, argc, argv);
  hpcnas::PredictRequest predict_request;
  CLI::App* predict = app.add_subcommand("predict", "predict accuracies with a trained predictor");
  AddConfigOption(*predict, config_file);  // [runtime] timeout_s
  predict->add_option("--model", predict_request.model,
                      "predictor HDF5 file (from train-predictor), a search checkpoint, or a search's output directory (its newest checkpoint)")
      ->required();
  predict->add_option("--archs", predict_request.archs, "genotypes to predict, one per line")->required();
  predict->add_option("--out", predict_request.out, "also write the predictions to this CSV file");
  predict->add_option("--timeout", predict_request.timeout_s, "seconds a rank may wait for its peers")->capture_default_str();
  predict->add_option("--threads", predict_request.threads, "intra-op threads per rank (0 = this rank's share of the cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  predict->add_option("--progress-interval", predict_request.progress_s, "seconds between progress lines (on standard error)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  hpcnas::InspectRequest inspect_request;
  CLI::App* inspect = app.add_subcommand("inspect", "describe an architecture, or summarise an hpcnas file or search directory");
  auto* inspect_path = inspect->add_option("path", inspect_request.path, "an hpcnas HDF5 file or a search directory");
  auto* inspect_arch = inspect->add_option("--arch", inspect_request.arch, "a genotype string of --space");
  inspect_path->excludes(inspect_arch);
  inspect_request.space = "nb201";
  AddConfigOption(*inspect, config_file);  // [score] space, [epsilon] resolution and width_multiplier
  inspect->add_option("--space", inspect_request.space, "search space of --arch: nb201 | macro | proxyless")
      ->capture_default_str();
  inspect->add_option("--resolution", inspect_request.resolution, "input size of the network (0 = the space's)")
      ->capture_default_str();
  inspect->add_option("--width-multiplier", inspect_request.width_multiplier, "proxyless: channel width multiplier")
      ->capture_default_str();
  inspect->add_option("--num-classes", inspect_request.num_classes, "classifier outputs (0 = the space's)")->capture_default_str();

  CLI::App* config_command = app.add_subcommand("config", "print the configuration: every key (Markdown) or the defaults (TOML)");
  bool reference = false;
  config_command->add_flag("--reference", reference, "the reference table of every key (docs/config.md)");
  AddConfigOption(*config_command, config_file);

  hpcnas::PackRequest pack_request;
  CLI::App* pack = app.add_subcommand("pack", "pack a folder of JPEGs (ROOT/train/<class>/*.JPEG, ROOT/val/...) into WebDataset tar shards");
  pack->add_option("--from", pack_request.from, "ROOT of the folder-per-class layout")->required();
  pack->add_option("--out", pack_request.out, "directory for the shards and their index.h5")->required();
  pack->add_option("--shard-size", pack_request.shard_size, "bytes per shard (K, M, G suffixes)")->capture_default_str();
  pack->add_option("--seed", pack_request.seed, "the shuffle that mixes classes within shards")->capture_default_str();
  pack->add_option("--holdout", pack_request.holdout, "without ROOT/val: share of each class packed as the val split")
      ->capture_default_str();
  pack->add_flag("--skip-corrupt", pack_request.skip_corrupt, "leave out (and count) files that are not readable JPEGs");

  hpcnas::SearchRequest search_request;
  CLI::App* search = app.add_subcommand("search", "architecture search: epsilon, the TNASP predictor and evolution on all ranks");
  AddConfigOption(*search, config_file);
  search->add_option("--resume", search_request.resume_dir, "continue the search in DIR from its newest valid checkpoint");
  // [supernet]: the supernet a search trains itself (--supernet train), as --supernet.KEY.
  AddConfigKeyOptions(*search, search_request.config, {"search", "epsilon", "predictor", "runtime"}, argc, argv, {"supernet"});
  hpcnas::LatencyRequest latency_request;
  CLI::App* latency = app.add_subcommand("latency", "measure a chain space's latency lookup table on this device and check it against whole networks");
  latency->add_option("--space", latency_request.space, "chain space: macro | proxyless")->capture_default_str();
  latency->add_option("--resolution", latency_request.resolution, "input size (0 = the space's)")->capture_default_str();
  latency->add_option("--width-multiplier", latency_request.width_multiplier, "proxyless: channel width multiplier")->capture_default_str();
  latency->add_option("--num-classes", latency_request.num_classes, "classifier outputs, as supernet.num_classes (0 = the space's)")->capture_default_str();
  latency->add_option("--out", latency_request.out, "the table (HDF5); the check goes beside it as CSV")->capture_default_str();
  latency->add_option("--networks", latency_request.networks, "random whole networks measured to check and calibrate the table")->capture_default_str();
  latency->add_option("--repeats", latency_request.repeats, "timed runs per entry and per network")->capture_default_str();
  latency->add_option("--batch", latency_request.batch, "images per forward pass")->capture_default_str();
  latency->add_option("--seed", latency_request.seed, "which random networks")->capture_default_str();
  latency->add_option("--threads", latency_request.threads, "intra-op threads (0 = this rank's share of the cores)")->capture_default_str();

  hpcnas::SupernetRequest supernet_request;
  CLI::App* supernet = app.add_subcommand("supernet", "ProxylessNAS: train a path-binarised supernet data-parallel on all ranks and derive an architecture");
  AddConfigOption(*supernet, config_file);
  supernet->add_option("--resume", supernet_request.resume_dir, "continue the run in DIR from its newest valid checkpoint");
  AddConfigKeyOptions(*supernet, supernet_request.config, {"supernet", "runtime"}, argc, argv);
  // Every rank reads --config first (the options given on the command line then override it);
  // a bad file is reported like any other bad input, by rank 0, and every rank exits with 2.
  hpcnas::Status config_file_status;
  const std::string config_path = FindConfigFile(argc, argv);
  if (const std::string& path = config_path; !path.empty()) {
    auto text = hpcnas::ReadWholeFile(path, "config file");
    // A config file that cannot be read is bad input (exit 2), like a malformed one.
    auto parsed = text.ok() ? hpcnas::ConfigFromToml(*text, path)
                            : hpcnas::StatusOr<hpcnas::Config>(hpcnas::Status::InvalidInput(text.status().message()));
    if (parsed.ok()) {
      config = *parsed;
      search_request.config = *parsed;
      supernet_request.config = *parsed;
      predict_request.timeout_s = parsed->runtime.timeout_s;
      inspect_request.space = parsed->score.space;
      inspect_request.resolution = parsed->epsilon.resolution;
      inspect_request.width_multiplier = parsed->epsilon.width_multiplier;
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
  if (quiet) spdlog::set_level(spdlog::level::warn);
  if (verbose) {
    spdlog::set_level(spdlog::level::debug);
    spdlog::debug("rank {} of {}: host {}, pid {}: {}", comm.rank(), comm.size(), hpcnas::HostName(), getpid(),
                  JoinArguments(argc, argv));
  }

  // A config the flags made invalid is one error line that names the key and, when a flag set
  // it, the flag as the user typed it. (The commands validate again: a file or a checkpoint can
  // also bring values.)
  auto invalid_flags = [&](const CLI::App& command, hpcnas::Config candidate, const char* name) {
    candidate.command = name;
    const hpcnas::Status status = hpcnas::Validate(candidate);
    if (status.ok()) return false;
    std::string message = status.message();
    bool named = false;
    for (const CLI::Option* option : command.get_options()) {
      const std::vector<std::string> flags = LongFlags(*option);
      if (option->count() > 0 && !flags.empty() && message.find("'" + flags.front().substr(2) + "'") != std::string::npos) {
        message += " (given as " + TypedFlag(flags, argc, argv) + ")";
        named = true;
        break;
      }
    }
    if (!named && !config_path.empty()) message += " (in config file '" + config_path + "')";
    if (comm.rank() == 0) hpcnas::LogError(message);
    return true;
  };

  try {
    if (!config_file_status.ok() && !search->parsed() && !supernet->parsed() && !latency->parsed()) return bad_config_file();
    if (score->parsed()) {
      config.command = "score";
      if (all) {
        config.score.select = "all";
      } else if (score->count("--score.sample") > 0) {
        config.score.select = "sample";
      } else if (!archs.empty()) {
        config.score.select = "file";
        config.score.archs_file = archs;
      } else if (!calibrate) {
        if (comm.rank() == 0) std::fprintf(stderr, "hpcnas score: choose what to score: --all, --sample N or --archs FILE\n");
        return 2;
      }
      hpcnas::ResolveEpsilonWeights(config.epsilon, config.score.space);
      if (invalid_flags(*score, config, "score")) return 2;
      if (calibrate) return hpcnas::RunCalibrateWeightsCommand(comm, config);
      return hpcnas::RunScoreCommand(comm, config, JoinArguments(argc, argv));
    }
    if (train->parsed()) {
      config.command = "train-predictor";
      if (invalid_flags(*train, config, "train-predictor")) return 2;
      return hpcnas::RunTrainPredictorCommand(comm, config, JoinArguments(argc, argv));
    }
    if (predict->parsed()) return hpcnas::RunPredictCommand(comm, predict_request);
    if (pack->parsed()) return comm.rank() == 0 ? hpcnas::RunPackCommand(pack_request, JoinArguments(argc, argv)) : 0;
    // Latency is measured by one process, alone on its device.
    if (latency->parsed()) return comm.rank() == 0 ? hpcnas::RunLatencyCommand(latency_request, JoinArguments(argc, argv)) : 0;
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
        // Where it runs and how long may change; what it computes may not.
        const std::string name = option->get_name();
        const bool changeable = name == "--resume" || name == "--search.generations" || name == "--epsilon.images" ||
                                name == "--supernet.data" || name == "--help" || name.rfind("--runtime.", 0) == 0;
        if (option->count() > 0 && !changeable) search_request.fixed_options_given.push_back(TypedFlag(LongFlags(*option), argc, argv));
      }
      search_request.generations_given = search->count("--search.generations") > 0;
      search_request.epsilon_images_given = search->count("--epsilon.images") > 0;
      search_request.supernet_data_given = search->count("--supernet.data") > 0;
      if (config_file_status.ok() && invalid_flags(*search, search_request.config, "search")) return 2;
      hpcnas::InstallStopSignalHandlers();
      return hpcnas::RunSearchCommand(comm, search_request, JoinArguments(argc, argv));
    }
    if (supernet->parsed()) {
      supernet_request.config.command = "supernet";
      supernet_request.config_file_status = config_file_status;
      for (const CLI::Option* option : supernet->get_options()) {
        const std::string name = option->get_name();
        const bool changeable =
            name == "--resume" || name == "--supernet.data" || name == "--help" || name.rfind("--runtime.", 0) == 0;
        if (option->count() > 0 && !changeable) supernet_request.fixed_options_given.push_back(TypedFlag(LongFlags(*option), argc, argv));
      }
      supernet_request.data_given = supernet->count("--supernet.data") > 0;
      if (config_file_status.ok() && invalid_flags(*supernet, supernet_request.config, "supernet")) return 2;
      hpcnas::InstallStopSignalHandlers();
      return hpcnas::RunSupernetCommand(comm, supernet_request, JoinArguments(argc, argv));
    }
  } catch (const std::exception& e) {
    comm.Abort(std::string("unexpected error: ") + e.what(), 3);
  }
  return 0;
}
