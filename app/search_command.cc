#include "app/search_command.h"

#include <chrono>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "app/command_support.h"
#include "app/supernet_command.h"
#include "engine/metric/epsilon_spaces.h"
#include "engine/space/hardware_cost.h"
#include "engine/core/progress.h"
#include "hpcnas/build_config.h"
#include "io/images/epsilon_images.h"
#include "io/files.h"
#include "io/image_bytes.h"
#include "io/messages.h"
#include "io/search_files.h"
#include "io/latency_file.h"
#include "io/space_data.h"
#include "io/supernet_files.h"
#include "workers/runtime.h"
#include "workers/search_workers.h"
#include "workers/command_evaluator.h"
#include "workers/supernet_evaluator.h"
#include "workers/tabular_evaluator.h"

namespace hpcnas {
namespace {

struct Prepared {
  SearchStart start;
  TruthTable truth;                   // rank 0's evaluator
  std::optional<DirectoryLock> lock;  // rank 0 holds the output directory for the whole run
  std::optional<SupernetTrainingState> supernet;  // a resumed search's supernet, when it trains one
  std::optional<SupernetData> supernet_data;      // the supernet evaluator's images, checked here, used by rank 0
};

// search.supernet = "train": the supernet the search trains lives in OUT/supernet/.
constexpr const char* kTrainSupernet = "train";
std::string SupernetDirectory(const SearchConfig& sc) { return (std::filesystem::path(sc.out_dir) / "supernet").string(); }

// A search that trains its supernet: the [supernet] section must give one of the search's space
// whose latency table loads; a resumed search's supernet state is the checkpoint's.
Status PrepareSupernetTraining(const Config& config, const SearchCheckpoint* resumed, Prepared& prepared) {
  HPCNAS_ASSIGN_OR_RETURN(const std::optional<LatencyTable> latency, LoadMatchingLatencyTable(config.supernet, SelectDevice()));
  HPCNAS_RETURN_IF_ERROR(CheckDeriveTarget(config.supernet, latency));
  if (resumed == nullptr) return Status::Ok();
  if (resumed->supernet_checkpoint.empty()) {
    return Status::InvalidInput("the newest checkpoint in '" + config.search.out_dir +
                                "' holds no supernet state, but its search trains one");
  }
  const std::string path = (std::filesystem::path(config.search.out_dir) / resumed->supernet_checkpoint).string();
  HPCNAS_ASSIGN_OR_RETURN(SupernetCheckpoint supernet, ReadSupernetCheckpoint(path));
  if (supernet.run_id != resumed->run_id) {
    return Status::InvalidInput("supernet checkpoint '" + path + "' belongs to another run (" + supernet.run_id + ") than the search (" +
                                resumed->run_id + ")");
  }
  spdlog::info("the search's supernet: {} ({} epochs, {} weight steps done)", path, supernet.state.epochs_done,
               supernet.state.weight_steps);
  prepared.supernet = std::move(supernet.state);
  return Status::Ok();
}

// search.supernet as the checkpoint file it names (a directory: its newest checkpoint), and the
// [supernet] section as that checkpoint's, so that the search's networks are the supernet's. A
// resumed search keeps the section it took at its first start (its data may have moved since).
Status ResolveSupernet(Config& config, bool resumed) {
  SearchConfig& sc = config.search;
  SupernetCheckpoint checkpoint;
  if (std::filesystem::is_directory(sc.supernet)) {
    std::vector<std::string> warnings;
    HPCNAS_ASSIGN_OR_RETURN(auto found, LoadNewestSupernetCheckpoint(sc.supernet, warnings));
    for (const std::string& warning : warnings) spdlog::warn("hpcnas: warning: skipping {}", warning);
    checkpoint = std::move(found.first);
    sc.supernet = found.second;
  } else {
    HPCNAS_ASSIGN_OR_RETURN(checkpoint, ReadSupernetCheckpoint(sc.supernet));
  }
  if (checkpoint.space != sc.space) {
    return Status::InvalidInput("search.supernet '" + sc.supernet + "' is a supernet of space " + checkpoint.space +
                                "; the search's space is " + sc.space);
  }
  HPCNAS_ASSIGN_OR_RETURN(const Config trained, ConfigFromToml(checkpoint.config_toml, sc.supernet + " /config"));
  if (!resumed) config.supernet = trained.supernet;
  spdlog::info("supernet {}: {} epochs, {} weight steps, derived {}", sc.supernet, checkpoint.state.epochs_done,
               checkpoint.state.weight_steps, checkpoint.state.history.empty() ? "-" : checkpoint.state.history.back().derived);
  return Status::Ok();
}

// The cost of the search's networks: built as [supernet] says (resolution, width, 10 classes),
// latency from search.latency_table when given.
StatusOr<HardwareCost> MakeHardwareCost(const ChainSpace& space, const Config& config) {
  std::optional<LatencyTable> latency;
  if (!config.search.latency_table.empty()) {
    HPCNAS_ASSIGN_OR_RETURN(LatencyTable table, ReadLatencyFile(config.search.latency_table));
    latency = std::move(table);
  }
  return HardwareCost::Make(space, SupernetNetworkOptions(space, config.supernet), std::move(latency));
}

// search.supernet_score = "log_likelihood": the label is not a percentage.
constexpr const char* kLogLikelihood = "log_likelihood";
bool LabelIsPercent(const SearchConfig& sc) { return !(sc.evaluator == "supernet" && sc.supernet_score == kLogLikelihood); }
const char* LabelUnit(const SearchConfig& sc) { return LabelIsPercent(sc) ? "%" : ""; }
const char* LabelName(const SearchConfig& sc) { return LabelIsPercent(sc) ? "accuracy" : "log-likelihood"; }

// The name of the accuracy the evaluator gives, for the results' column.
std::string AccuracyColumn(const SearchConfig& sc) {
  if (sc.evaluator == "supernet") return LabelIsPercent(sc) ? "supernet_valid_accuracy" : "supernet_valid_log_likelihood";
  if (sc.evaluator == "command") return "command_accuracy";
  return sc.truth_column;
}

// Rank 0: everything that can fail because of the user's input fails here, before any work.
StatusOr<Prepared> Prepare(const SearchRequest& request) {
  HPCNAS_RETURN_IF_ERROR(request.config_file_status);
  Prepared prepared;
  Config config = request.config;
  if (!request.resume_dir.empty()) {
    HPCNAS_RETURN_IF_ERROR(RefuseFixedOptionsOnResume(request.fixed_options_given,
                                                      "--generations, --epsilon.images, --supernet.data and the runtime options"));
    HPCNAS_ASSIGN_OR_RETURN(FoundCheckpoint found, LoadNewestCheckpoint(request.resume_dir));
    for (const std::string& warning : found.warnings) {
      spdlog::warn("hpcnas: warning: skipping {}", warning);
    }
    HPCNAS_ASSIGN_OR_RETURN(config, ConfigFromToml(found.checkpoint.config_toml, found.path + " /config"));
    if (config.search.space != found.checkpoint.space) {
      return Status::InvalidInput("checkpoint '" + found.path + "' holds space '" + found.checkpoint.space +
                                  "' but its config says search.space = '" + config.search.space + "'");
    }
    if (request.generations_given) config.search.generations = request.config.search.generations;
    if (request.epsilon_images_given) config.epsilon.images = request.config.epsilon.images;
    config.runtime = request.config.runtime;  // where it runs now, not what it computes
    config.search.out_dir = request.resume_dir;
    const std::int32_t done = found.checkpoint.state.next_generation - 1;
    spdlog::info("resuming from {} ({})", found.path, done < 0 ? "in the supernet's warm-up" : fmt::format("generation {} done", done));
    prepared.start.has_checkpoint = true;
    prepared.start.run_id = found.checkpoint.run_id;
    prepared.start.checkpoint = std::move(found.checkpoint);
  }
  config.command = "search";
  if (request.resume_dir.empty() && config.search.evaluator == "supernet" && config.search.supernet == kTrainSupernet) {
    config.supernet.space = config.search.space;  // the search's networks are the supernet's
    config.supernet.out_dir = SupernetDirectory(config.search);
  }
  HPCNAS_RETURN_IF_ERROR(Validate(config));
  const SearchConfig& sc = config.search;
  if (request.resume_dir.empty() && !ListCheckpoints(sc.out_dir).empty()) {
    return Status::InvalidInput("output directory '" + sc.out_dir + "' already holds a search's checkpoints; continue it with --resume " +
                                sc.out_dir + " or choose another --out");
  }
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(sc.space));
  // A new search records the weights, the column and the supernet it uses; a resumed one has
  // them in its config.
  ResolveEpsilonWeights(config.epsilon, sc.space);
  if (sc.evaluator == "tabular") {
    if (config.search.truth_column.empty()) config.search.truth_column = DefaultTruthColumn(*space);
    HPCNAS_ASSIGN_OR_RETURN(prepared.truth, LoadTruthTable(*space, sc.truth, sc.truth_column));
    HPCNAS_RETURN_IF_ERROR(prepared.truth.RequireEveryArchitecture(*space));
  }
  if (sc.evaluator == "supernet" && sc.supernet == kTrainSupernet) {
    HPCNAS_RETURN_IF_ERROR(
        PrepareSupernetTraining(config, prepared.start.has_checkpoint ? &prepared.start.checkpoint : nullptr, prepared));
  } else if (sc.evaluator == "supernet") {
    HPCNAS_RETURN_IF_ERROR(ResolveSupernet(config, prepared.start.has_checkpoint));
  }
  if (sc.evaluator == "supernet") {
    if (request.supernet_data_given) config.supernet.data = request.config.supernet.data;
    StatusOr<SupernetData> data = LoadSupernetData(config.supernet);
    if (!data.ok()) return data.status().WithContext(sc.supernet == kTrainSupernet ? "the search's [supernet]" : "the supernet's data");
    config.supernet.data_fingerprint = data->fingerprint;  // recorded at the first start, checked by the load after
    prepared.supernet_data = std::move(*data);
  }
  if (const auto* chain = dynamic_cast<const ChainSpace*>(space.get())) {
    HPCNAS_RETURN_IF_ERROR(MakeHardwareCost(*chain, config).status().WithContext("the search's budget"));
  }
  if (sc.method == "tnasp" && sc.prefilter == "epsilon") {
    // An epsilon option the space cannot honour (a width multiplier on macro) is bad input here,
    // not a failure of every rank later.
    HPCNAS_RETURN_IF_ERROR(MakeEpsilonScorer(*space, torch::zeros({2, 3, 32, 32}), EpsilonScorerOptionsFromConfig(config.epsilon))
                               .status()
                               .WithContext("config [epsilon] for space '" + sc.space + "'"));
    HPCNAS_ASSIGN_OR_RETURN(const int64_t input_size, EpsilonInputSize(*space, EpsilonScorerOptionsFromConfig(config.epsilon)));
    HPCNAS_ASSIGN_OR_RETURN(prepared.start.images, LoadEpsilonImages(config.epsilon.images, config.epsilon.batch_size, input_size,
                                                                     sc.seed, ChooseThreadCount(config.runtime.threads)));
    const std::string fingerprint = Fingerprint(prepared.start.images);
    HPCNAS_RETURN_IF_ERROR(CheckFingerprint(config.epsilon.images_fingerprint, fingerprint, "epsilon.images_fingerprint", config.epsilon.images));
    config.epsilon.images_fingerprint = fingerprint;
  }
  // Last, so that bad input leaves no directory behind.
  HPCNAS_ASSIGN_OR_RETURN(DirectoryLock lock, DirectoryLock::Acquire(sc.out_dir));
  if (!lock.held()) spdlog::warn("the file system of '{}' has no locks: nothing stops a second job writing there", sc.out_dir);
  prepared.lock.emplace(std::move(lock));
  HPCNAS_RETURN_IF_ERROR(CheckWritable((std::filesystem::path(sc.out_dir) / "search.h5").string()));
  prepared.start.config_toml = ToToml(config);
  if (prepared.start.run_id.empty()) prepared.start.run_id = NewRunId(config.search.seed);
  return prepared;
}

// The best architecture so far as a genotype string, with its cost where the space has one:
// "02121212, 76.2 MFLOPs, 1.31 ms".
std::string BestArchitecture(const SearchSpace& space, const SearchState& state, const HardwareCost* cost) {
  const Query* best = BestQuery(state.queries);
  if (best == nullptr) return "none (every evaluation failed)";
  std::string text = space.Format(best->arch);
  if (cost != nullptr) text += fmt::format(", {:.1f} MFLOPs", cost->Mflops(best->arch));
  if (cost != nullptr && cost->has_latency()) text += fmt::format(", {:.2f} ms", cost->LatencyMs(best->arch));
  return text;
}

// "generation 3/10 | 40 queries | best 94.37% | 2.10 s: epsilon 0.50 (30 archs), predictor 1.20,
// checkpoint 0.05 | tau 0.712 | 19.0 queries/s | ETA 12s" (queries/min or /h when slower): under
// 160 characters; the best architecture goes on a line of its own when it changes. Generations
// count from 1 here (the files keep their 0-based index).
std::string GenerationLine(const SearchState& state, const Config& config, double elapsed, int generations_this_run,
                           double queries_this_run, double checkpoint_seconds) {
  const GenerationRecord& r = state.generations.back();
  const SearchConfig& sc = config.search;
  std::string line = fmt::format("generation {}/{} | {} queries | best {:.2f}{} | {:.2f} s: ", r.generation + 1, sc.generations,
                                 r.queries, r.best_accuracy, LabelUnit(sc), r.seconds_total + checkpoint_seconds);
  if (sc.evaluator == "supernet" && sc.supernet == kTrainSupernet) line += fmt::format("supernet {:.2f}, ", r.seconds_evaluator_training);
  line += fmt::format("epsilon {:.2f} ({} archs), predictor {:.2f}, ", r.seconds_score, r.newly_scored, r.seconds_predictor);
  // A table lookup takes no time worth a column; a real evaluation does.
  if (sc.evaluator != "tabular") line += fmt::format("evaluation {:.2f}, ", r.seconds_evaluate);
  line += fmt::format("checkpoint {:.2f}", checkpoint_seconds);
  if (r.failed_evaluations > 0) line += fmt::format(" | {} failed", r.failed_evaluations);
  if (sc.max_mflops > 0) line += fmt::format(" | population {:.1f} MFLOPs", r.population_mflops_mean);
  if (sc.max_latency_ms > 0) line += fmt::format(" | population {:.2f} ms", r.population_latency_ms_mean);
  if (!std::isnan(r.predictor_tau_population)) line += fmt::format(" | tau {:.3f}", r.predictor_tau_population);
  line += fmt::format(" | {} | ETA {}", FormatRate(queries_this_run / std::max(elapsed, 1e-9), "queries"),
                      FormatDuration(SecondsLeft(state, sc.generations, generations_this_run, checkpoint_seconds)));
  return line;
}

// Step 7's evaluator, on every rank (`truth`: rank 0's table, for the tabular one;
// `supernet_data`: rank 0's images of the supernet evaluator, the other ranks load theirs;
// `supernet_latency`: the table of the [supernet] a search trains, may be null). Errors abort the
// job: rank 0 checked what the user gave in Prepare.
std::unique_ptr<Evaluator> MakeEvaluator(Communicator& comm, const Config& config, const SearchSpace& space, torch::Device device,
                                         const FaultInjection& fault, TruthTable* truth, std::optional<SupernetData> supernet_data,
                                         const LatencyTable* supernet_latency) {
  const SearchConfig& sc = config.search;
  const Seconds timeout(config.runtime.timeout_s);
  if (sc.evaluator == "command") {
    // One run may take search.evaluate_timeout_s: the ranks wait for each other that much longer.
    return std::make_unique<CommandEvaluator>(space, sc.evaluate_command, Seconds(sc.evaluate_timeout_s),
                                              (std::filesystem::path(sc.out_dir) / "evaluations").string(), fault, comm.rank(),
                                              timeout + Seconds(sc.evaluate_timeout_s));
  }
  const std::string rank = "rank " + std::to_string(comm.rank()) + ": ";
  if (sc.evaluator == "supernet" && !supernet_data) {
    StatusOr<SupernetData> loaded = LoadSupernetData(config.supernet);
    if (!loaded.ok()) comm.Abort(rank + "loading the supernet's data: " + loaded.status().message(), 3);
    supernet_data = std::move(*loaded);
  }
  if (sc.evaluator == "supernet" && sc.supernet == kTrainSupernet) {
    auto made = SupernetEvaluator::MakeTrained(dynamic_cast<const ChainSpace&>(space), config.supernet, std::move(*supernet_data),
                                               sc.supernet_epochs_per_generation, supernet_latency, sc.finetune_steps, device,
                                               fault, comm.rank(), timeout);
    if (!made.ok()) comm.Abort(rank + "building the search's supernet: " + made.status().message(), 3);
    (*made)->score_by_log_likelihood = sc.supernet_score == kLogLikelihood;
    return std::move(*made);
  }
  if (sc.evaluator == "supernet") {
    StatusOr<SupernetCheckpoint> checkpoint = ReadSupernetCheckpoint(sc.supernet);
    if (!checkpoint.ok()) comm.Abort(rank + checkpoint.status().message(), 3);
    auto made = SupernetEvaluator::Make(dynamic_cast<const ChainSpace&>(space), *checkpoint, std::move(*supernet_data),
                                        sc.finetune_steps, device, fault, comm.rank(), timeout);
    if (!made.ok()) comm.Abort(rank + "setting up the supernet evaluator: " + made.status().message(), 3);
    (*made)->score_by_log_likelihood = sc.supernet_score == kLogLikelihood;
    return std::move(*made);
  }
  return std::make_unique<TabularEvaluator>(space, truth ? std::optional<TruthTable>(std::move(*truth)) : std::nullopt, timeout);
}

}  // namespace

int RunSearchCommand(Communicator& comm, const SearchRequest& request, const std::string& command_line) {
  const Seconds setup_timeout(request.config.runtime.timeout_s);
  StatusOr<Prepared> prepared = Status::Internal("not prepared on this rank");
  if (comm.rank() == 0) prepared = Prepare(request);
  Status status = AgreeOnStatus(comm, comm.rank() == 0 ? prepared.status() : Status::Ok(), setup_timeout);
  if (!status.ok()) {
    if (comm.rank() == 0) LogError(status.message());
    return status.ExitCode();
  }
  Bytes start_bytes = comm.rank() == 0 ? EncodeMessage(prepared->start) : Bytes{};
  if (Status s = comm.Broadcast(start_bytes, 0, setup_timeout); !s.ok()) comm.Abort("broadcasting the search: " + s.message(), 3);
  StatusOr<SearchStart> start = DecodeMessage<SearchStart>(start_bytes);
  if (!start.ok()) comm.Abort("decoding the search: " + start.status().message(), 3);
  StatusOr<Config> config = ConfigFromToml(start->config_toml, "search config from rank 0");
  if (!config.ok()) comm.Abort(config.status().message(), 3);
  const SearchConfig& sc = config->search;

  const int threads = ChooseThreadCount(config->runtime.threads);
  torch::set_num_threads(threads);
  const torch::Device device = SelectDevice();
  StatusOr<std::unique_ptr<SearchSpace>> made_space = MakeSearchSpace(sc.space);
  if (!made_space.ok()) comm.Abort("config from rank 0 is invalid: " + made_space.status().message(), 3);
  const SearchSpace& space = **made_space;
  const auto* chain = dynamic_cast<const ChainSpace*>(&space);
  std::optional<HardwareCost> cost;
  if (chain != nullptr) {
    StatusOr<HardwareCost> made = MakeHardwareCost(*chain, *config);
    if (!made.ok()) comm.Abort("the search's budget: " + made.status().message(), 3);
    cost.emplace(std::move(*made));
  }
  const HardwareBudget budget{sc.max_mflops, sc.max_latency_ms};
  evolution::Admissible within_budget;
  if (budget.Limits()) within_budget = [&](const Architecture& arch) { return budget.Allows(*cost, arch); };
  StatusOr<std::unique_ptr<SearchPolicy>> policy = MakeSearchPolicy(space, sc, config->epsilon.nan_offset, within_budget);
  if (!policy.ok()) comm.Abort("config from rank 0 is invalid: " + policy.status().message(), 3);
  StatusOr<FaultInjection> fault = ParseFaultInjection(config->runtime.fault);
  if (!fault.ok()) comm.Abort("config from rank 0 is invalid", 3);
  // The testing-only fault counts evaluations where they do real work, else epsilon scores.
  const FaultInjection no_fault;
  const FaultInjection& scorer_fault = sc.evaluator == "tabular" ? *fault : no_fault;
  std::unique_ptr<EpsilonCandidateScorer> scorer;
  std::unique_ptr<TnaspSearchPredictor> predictor;
  std::unique_ptr<Evaluator> evaluator;
  SupernetEvaluator* supernet_evaluator = nullptr;
  SupernetTrainer* supernet = nullptr;  // the supernet the search trains, if it does
  std::optional<LatencyTable> supernet_latency;
  if (sc.evaluator == "supernet" && sc.supernet == kTrainSupernet) {
    StatusOr<std::optional<LatencyTable>> loaded = LoadMatchingLatencyTable(config->supernet, device);
    if (!loaded.ok()) comm.Abort("rank " + std::to_string(comm.rank()) + ": " + loaded.status().message(), 3);
    supernet_latency = std::move(*loaded);
  }
  SearchState state;
  try {
    if ((*policy)->UsesEpsilon()) {
      const torch::Tensor images = ImageBytesToTensor(start->images).to(device);
      auto made = EpsilonCandidateScorer::Make(space, *config, images, scorer_fault, comm.rank());
      if (!made.ok()) comm.Abort("setting up epsilon: " + made.status().message(), 3);
      scorer = std::move(*made);
    }
    evaluator = MakeEvaluator(comm, *config, space, device, *fault, comm.rank() == 0 ? &prepared->truth : nullptr,
                              comm.rank() == 0 ? std::move(prepared->supernet_data) : std::nullopt,
                              supernet_latency ? &*supernet_latency : nullptr);
    supernet_evaluator = dynamic_cast<SupernetEvaluator*>(evaluator.get());
    supernet = supernet_evaluator != nullptr ? supernet_evaluator->training() : nullptr;
    if ((*policy)->UsesPredictor(0) || (*policy)->UsesPredictor(1)) {
      StatusOr<tnasp::ModelOptions> options = ModelOptionsFromConfig(config->predictor);
      if (!options.ok()) comm.Abort("config from rank 0 is invalid", 3);
      predictor = std::make_unique<TnaspSearchPredictor>(space, *config, options->ForSpace(space));
    }
    if (start->has_checkpoint) {
      state = start->checkpoint.state;
      if (predictor) {
        if (Status s = predictor->Import(start->checkpoint.predictor); !s.ok()) comm.Abort("restoring the predictor: " + s.message(), 3);
      }
      if (supernet) {
        if (comm.rank() == 0) {
          if (Status s = supernet->Import(*prepared->supernet); !s.ok()) comm.Abort("restoring the supernet: " + s.message(), 3);
        }
        if (Status s = supernet->BroadcastReplica(comm, 0, Seconds(config->runtime.timeout_s)); !s.ok()) {
          comm.Abort("sharing the supernet: " + s.message(), 3);
        }
      }
    }
  } catch (const std::exception& e) {
    comm.Abort(std::string("setting up the search: ") + e.what(), 3);
  }
  if (comm.rank() == 0) {
    const int queries = sc.initial_queries + (sc.generations - 1) * sc.queries_per_generation;
    spdlog::info("search '{}' on {} ({} evaluator: {}), seed {}, {} generations, up to {} queries; {} rank(s) x {} thread(s), "
                 "device {}; output {}",
                 sc.method, sc.space, sc.evaluator, AccuracyColumn(sc), sc.seed, sc.generations, queries, comm.size(), threads,
                 device.str(), sc.out_dir);
    if (supernet) {
      const SupernetConfig& c = config->supernet;
      spdlog::info("the search trains its supernet ({}, gates {}, {} train / {} held-out images, batch {}): {} warm-up epoch(s) "
                   "before generation 1, then {} epoch(s) before each generation until its {} search epochs are done; into {}",
                   c.data, c.gate_mode, c.train_images, c.valid_images, c.batch_size, c.warmup_epochs,
                   sc.supernet_epochs_per_generation, c.epochs, SupernetDirectory(sc));
    }
    if (budget.Limits()) {
      spdlog::info("budget: {}{}{}; architectures above it are never proposed", sc.max_mflops > 0 ? fmt::format("{} MFLOPs", sc.max_mflops) : "",
                   sc.max_mflops > 0 && sc.max_latency_ms > 0 ? " and " : "",
                   sc.max_latency_ms > 0 ? fmt::format("{} ms ({})", sc.max_latency_ms, sc.latency_table) : "");
    }
  }

  // Step 9's hooks: rank 0 writes the checkpoint and the result files, then prints the line.
  const auto run_start = std::chrono::steady_clock::now();
  const int first_generation = state.next_generation;
  const auto first_queries = static_cast<double>(state.queries.size());
  double checkpoint_seconds = 0;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count(); };
  std::vector<std::vector<std::string>> operation_names;
  std::int64_t supernet_steps_written = -1;
  if (supernet) {
    operation_names = SupernetOperationNames(*supernet, dynamic_cast<const ChainSpace&>(space));
    supernet_evaluator->on_epoch = [&](const SupernetEpoch& e) {
      if (comm.rank() != 0) return;
      const double eta = e.seconds * (supernet->total_epochs() - supernet->state().epochs_done);
      spdlog::info("supernet {}", EpochLine(e, supernet->total_epochs(), elapsed(), eta));
    };
  }
  // search.supernet = "train": the supernet's checkpoint (when it has trained since the last
  // one) and results, written before the search's checkpoint that names it.
  auto write_supernet = [&]() -> StatusOr<std::string> {
    const std::string path = SupernetCheckpointPath(SupernetDirectory(sc), supernet->state().weight_steps);
    if (supernet->state().weight_steps != supernet_steps_written) {
      SupernetCheckpoint cp;
      cp.space = sc.space;
      cp.config_toml = start->config_toml;
      cp.run_id = start->run_id;
      cp.state = supernet->Export();
      cp.provenance = RunProvenance(command_line, comm.size());
      HPCNAS_RETURN_IF_ERROR(WriteSupernetCheckpoint(path, cp));
      if (!cp.state.history.empty()) HPCNAS_RETURN_IF_ERROR(WriteSupernetResults(SupernetDirectory(sc), cp, operation_names));
      supernet_steps_written = cp.state.weight_steps;
    }
    return std::filesystem::relative(path, sc.out_dir).string();
  };
  SearchHooks hooks;
  hooks.checkpoint = [&](const SearchState& s) -> Status {
    const auto begin = std::chrono::steady_clock::now();
    SearchCheckpoint checkpoint;
    checkpoint.space = sc.space;
    checkpoint.config_toml = start->config_toml;
    checkpoint.run_id = start->run_id;
    checkpoint.state = s;
    if (predictor) checkpoint.predictor = predictor->Export();
    if (supernet) {
      HPCNAS_ASSIGN_OR_RETURN(checkpoint.supernet_checkpoint, write_supernet());
    }
    checkpoint.provenance = RunProvenance(command_line, comm.size());
    HPCNAS_RETURN_IF_ERROR(WriteSearchCheckpoint(CheckpointPath(sc.out_dir, s.next_generation - 1), checkpoint));
    HPCNAS_RETURN_IF_ERROR(PruneCheckpoints(sc.out_dir, sc.keep_checkpoints));
    if (supernet) HPCNAS_RETURN_IF_ERROR(PruneSupernetCheckpoints(SupernetDirectory(sc), sc.keep_checkpoints));
    HPCNAS_RETURN_IF_ERROR(WriteSearchResults(sc.out_dir, checkpoint, AccuracyColumn(sc)));
    checkpoint_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return Status::Ok();
  };
  double shown_best_query = -1;
  hooks.on_generation = [&](const SearchState& s) {
    spdlog::info("{}", GenerationLine(s, *config, elapsed(), s.next_generation - first_generation,
                                      static_cast<double>(s.queries.size()) - first_queries, checkpoint_seconds));
    const GenerationRecord& r = s.generations.back();
    if (r.best_query != shown_best_query) {
      spdlog::info("best so far: {} ({:.2f}{}, query {:.0f})", BestArchitecture(space, s, cost ? &*cost : nullptr), r.best_accuracy, LabelUnit(sc),
                   r.best_query);
      shown_best_query = r.best_query;
    }
  };
  hooks.stop_requested = [] { return StopSignalReceived(); };

  if (comm.rank() == 0 && state.next_generation >= sc.generations) {
    spdlog::warn("hpcnas: warning: the search in {} has already run {} generations (asked for {}): nothing to do; "
                 "continue it with --generations greater than {}",
                 sc.out_dir, state.next_generation, sc.generations, state.next_generation);
  }
  const StatusOr<SearchEnd> end =
      RunSearch(comm, *config, state, {policy->get(), evaluator.get(), scorer.get(), predictor.get(), cost ? &*cost : nullptr}, hooks);
  if (!end.ok()) {
    if (prepared.ok()) prepared->lock.reset();  // before the abort: a failed start leaves no empty folders
    comm.Abort(end.status().message(), 3);
  }

  if (*end == SearchEnd::kStopped) {
    if (comm.rank() == 0) {
      spdlog::warn("hpcnas: stopped by a signal {}; checkpoint {} written; continue with: hpcnas search --resume {}",
                   state.next_generation == 0 ? "during the supernet's warm-up" : fmt::format("after generation {}", state.next_generation - 1),
                   CheckpointPath(sc.out_dir, state.next_generation - 1), sc.out_dir);
    }
    return kExitStoppedBySignal;
  }
  if (comm.rank() == 0 && !state.queries.empty()) {
    const GenerationRecord& r = state.generations.back();
    PrintResult("best architecture{}: {}", budget.Limits() ? " within the budget" : "", BestArchitecture(space, state, cost ? &*cost : nullptr));
    PrintResult("best {}: {:.2f}{} ({}) after {} queries; results in {}/search.h5, generations.csv, queries.csv",
                LabelName(sc), r.best_accuracy, LabelUnit(sc), AccuracyColumn(sc), static_cast<int64_t>(r.queries), sc.out_dir);
  }
  return 0;
}

}  // namespace hpcnas
