#include "app/score_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "app/command_support.h"
#include "engine/metric/cell_expression.h"
#include "engine/metric/epsilon.h"
#include "engine/metric/epsilon_spaces.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/nb201_space.h"
#include "engine/core/progress.h"
#include "engine/core/rng.h"
#include "engine/core/stats.h"
#include "hpcnas/build_config.h"
#include "io/images/epsilon_images.h"
#include "io/files.h"
#include "io/messages.h"
#include "io/score_results.h"
#include "io/space_data.h"
#include "scheduler/score_coordinator.h"
#include "workers/runtime.h"
#include "workers/score_worker.h"

namespace hpcnas {
namespace {

struct PreparedJob {
  ScoreJobSpec spec;                // what the ranks score: spec.archs
  std::vector<Architecture> archs;  // what the user asked for, in output order
  // For each output row, the position in spec.archs that holds its score, or -1 when the cell's
  // output is identically zero (NaN without any work).
  std::vector<int64_t> source_position;
  std::vector<double> accuracy;  // empty without a truth table
};

// Each distinct function is scored once. NB201's fast path knows which cells compute the same
// function (engine/metric/cell_expression.h); its reference path scores every cell literally. In chain
// spaces the canonical form is the network (identities moved within a stage change nothing).
void PlanWork(const SearchSpace& space, const Config& config, PreparedJob& job) {
  std::map<std::string, int64_t> position_of_key;
  for (const Architecture& arch : job.archs) {
    const std::string bytes = space.Canonical(arch).Bytes();  // NB201's canonical form is the cell itself
    std::optional<std::string> key = bytes;
    if (space.name() == "nb201" && config.epsilon.path == "fast") key = CellFunctionKey(ToNb201(arch));
    if (!key) {
      job.source_position.push_back(-1);
      continue;
    }
    auto [it, inserted] = position_of_key.emplace(*key, static_cast<int64_t>(job.spec.archs.size()));
    if (inserted) job.spec.archs.push_back(bytes);
    job.source_position.push_back(it->second);
  }
}

// --all: every architecture (NB201 in the official index order); --sample: distinct networks.
StatusOr<std::vector<Architecture>> SelectArchitectures(const SearchSpace& space, const ScoreConfig& c) {
  std::vector<Architecture> archs;
  if (space.name() == "nb201") {
    std::vector<int64_t> indices;
    if (c.select == "all") {
      for (int64_t i = 0; i < nb201::kNumCells; ++i) indices.push_back(i);
    } else {
      CounterRng rng(c.seed, {0x73616d706c65ULL});  // "sample"
      indices = SampleWithoutReplacement(rng, nb201::kNumCells, c.sample);
      std::sort(indices.begin(), indices.end());
    }
    for (int64_t index : indices) archs.push_back(FromNb201(*nb201::FromOfficialIndex(index)));
    return archs;
  }
  if (c.select == "all") {
    if (!space.Enumerable()) {
      return Status::InvalidInput("space '" + std::string(space.name()) +
                                  "' is too large to score whole; use --sample N or --archs FILE");
    }
    for (int64_t i = 0; i < *space.Size(); ++i) archs.push_back(space.AtIndex(i));
    return archs;
  }
  HPCNAS_RETURN_IF_ERROR(space.CheckDistinctCount(c.sample, "score.sample"));
  CounterRng rng(c.seed, {0x73616d706c65ULL});  // "sample"
  std::set<std::string> seen;
  while (static_cast<int64_t>(archs.size()) < c.sample) {
    const Architecture arch = space.Canonical(space.Sample(rng));
    if (seen.insert(arch.Bytes()).second) archs.push_back(arch);
  }
  return archs;
}

// Rank 0: everything that can fail because of the user's input fails here, before any work.
StatusOr<PreparedJob> PrepareJob(const Config& config) {
  HPCNAS_RETURN_IF_ERROR(Validate(config));
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(config.score.space));
  PreparedJob job;
  if (config.score.select == "file") {
    HPCNAS_ASSIGN_OR_RETURN(job.archs, LoadArchitectureList(*space, config.score.archs_file));
  } else {
    HPCNAS_ASSIGN_OR_RETURN(job.archs, SelectArchitectures(*space, config.score));
  }
  if (!config.score.truth.empty()) {
    HPCNAS_ASSIGN_OR_RETURN(TruthTable truth, LoadTruthTable(*space, config.score.truth, config.score.truth_column));
    HPCNAS_ASSIGN_OR_RETURN(job.accuracy, truth.Lookup(*space, job.archs));
  }
  // An option the space's network cannot take (a width multiplier on macro) fails here too.
  const StatusOr<int64_t> input_size = EpsilonInputSize(*space, EpsilonScorerOptionsFromConfig(config.epsilon));
  if (!input_size.ok()) return input_size.status().WithContext("epsilon network");
  HPCNAS_ASSIGN_OR_RETURN(job.spec.images, LoadEpsilonImages(config.epsilon.images, config.epsilon.batch_size, *input_size,
                                                             config.score.seed, ChooseThreadCount(config.runtime.threads)));
  HPCNAS_RETURN_IF_ERROR(CheckWritable(config.score.out));
  HPCNAS_RETURN_IF_ERROR(CheckWritable(ReplaceExtension(config.score.out, ".csv")));
  job.spec.config_toml = ToToml(config);
  PlanWork(*space, config, job);
  return job;
}

void PrintSummary(const std::string& name, const RankingSummary& s, const std::string& column) {
  PrintResult("{} vs {} over {} of {} architectures ({} NaN left out): Spearman rho = {:.4f}, Kendall tau = {:.4f}",
              name, column, s.num_ranked, s.num_total, s.num_nan, s.spearman, s.kendall);
  PrintResult("  top 10% by accuracy: Spearman rho = {:.4f}, Kendall tau = {:.4f}; share of the top 10% by {} in "
              "the top 10% by accuracy: {:.1f}%",
              s.spearman_top10, s.kendall_top10, name, 100.0 * s.top10_overlap);
}

void PrintSummaries(const ScoreResults& results) {
  const int64_t nan_count =
      std::count_if(results.epsilon.begin(), results.epsilon.end(), [](double v) { return std::isnan(v); });
  spdlog::info("NaN scores: {} of {} ({:.1f}%)", nan_count, results.epsilon.size(),
               results.epsilon.empty() ? 0.0 : 100.0 * nan_count / results.epsilon.size());
  if (results.summary) PrintSummary("epsilon", *results.summary, results.accuracy_column);
  for (const auto& [name, summary] : results.extra_summaries) PrintSummary(name, summary, results.accuracy_column);
}

// The output rows: each row's values from the computation that scored it, the NaN-policy
// columns, and the correlations with the ground truth.
ScoreResults AssembleResults(const SearchSpace& space, const PreparedJob& job, const ScoreOutcome& outcome,
                             const Config& config) {
  const int width = config.epsilon.nan_policy == "keep" ? 1 : 2;
  ScoreResults results;
  for (const Architecture& arch : job.archs) {
    results.archs.push_back(space.Format(arch));
    if (space.name() == "nb201") {
      results.index.push_back(nb201::OfficialIndex(ToNb201(arch)));
      results.cell_functions.push_back(CellFunctionKey(ToNb201(arch)).value_or("0"));
    } else {
      results.canonical_archs.push_back(space.Format(space.Canonical(arch)));
    }
  }
  std::vector<double> exact;
  for (int64_t position : job.source_position) {
    const bool computed = position >= 0;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    results.epsilon.push_back(computed ? outcome.value(position, 0, width) : nan);
    if (width == 2) exact.push_back(computed ? outcome.value(position, 1, width) : nan);
    results.seconds.push_back(computed ? outcome.seconds[position] : 0.0);
  }
  if (config.epsilon.nan_policy != "keep") results.extra_columns["epsilon_exact"] = exact;
  if (config.epsilon.nan_policy == "rank") {
    results.extra_columns["epsilon_rank_key"] = EpsilonRankKey(results.epsilon, exact, config.epsilon.nan_offset);
  }
  results.accuracy = job.accuracy;
  results.accuracy_column = config.score.truth_column;
  if (!job.accuracy.empty()) {
    results.summary = SummariseRanking(results.epsilon, results.accuracy);
    for (const auto& [name, column] : results.extra_columns) {
      results.extra_summaries[name] = SummariseRanking(column, results.accuracy);
    }
  }
  return results;
}

// Steps 2-8 of the protocol on this rank; rank 0 returns the scores.
StatusOr<ScoreOutcome> ScoreOnAllRanks(Communicator& comm, const Config& config, const ScoreJobSpec& spec) {
  const int threads = ChooseThreadCount(config.runtime.threads);
  torch::set_num_threads(threads);
  const torch::Device device = SelectDevice();
  if (comm.rank() == 0) {
    spdlog::info("scoring {} distinct computations on {} rank(s), {} thread(s) per rank, device {}, epsilon path '{}'",
                 spec.archs.size(), comm.size(), threads, device.str(), config.epsilon.path);
  }
  torch::Tensor images = ImageBytesToTensor(spec.images).to(device);
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(config.score.space));
  EpsilonScorerOptions scorer_options = EpsilonScorerOptionsFromConfig(config.epsilon);
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<ArchitectureScorer> scorer, MakeEpsilonScorer(*space, images, scorer_options));
  // With a NaN policy, every cell is also scored in the arithmetic that never underflows.
  std::unique_ptr<ArchitectureScorer> exact;
  if (config.epsilon.nan_policy != "keep") {
    scorer_options.exact = true;
    HPCNAS_ASSIGN_OR_RETURN(exact, MakeEpsilonScorer(*space, images, scorer_options));
  }
  HPCNAS_ASSIGN_OR_RETURN(FaultInjection fault, ParseFaultInjection(config.runtime.fault));
  const ScoreAtPosition score = WithFaultInjection(
      [&](int64_t position) {
        const Architecture arch = Architecture::FromBytes(spec.archs[position]);
        std::vector<double> values = {scorer->Score(arch)};
        if (exact) values.push_back(exact->Score(arch));
        return values;
      },
      fault, comm.rank());

  ScoreProtocolOptions options;
  options.values_per_item = exact ? 2 : 1;
  options.timeout = Seconds(config.runtime.timeout_s);
  // A fast-path NB201 cell takes milliseconds; full networks and chain spaces take longer.
  options.max_chunk = config.epsilon.path == "fast" && config.score.space == "nb201" ? 64 : 16;
  const auto total = static_cast<int64_t>(spec.archs.size());
  ProgressMeter progress("scored", total, "comp", config.runtime.progress_s);  // distinct computations
  options.on_progress = [&](int64_t done, int64_t) {
    const std::string line = progress.Update(done);
    if (!line.empty()) spdlog::info("{}", line);
  };
  if (comm.rank() == 0) return RunScoreCoordinator(comm, total, score, options);
  HPCNAS_RETURN_IF_ERROR(RunScoreWorker(comm, score, options));
  return ScoreOutcome{};
}

}  // namespace

int RunScoreCommand(Communicator& comm, const Config& cli_config, const std::string& command_line) {
  const Seconds setup_timeout(cli_config.runtime.timeout_s);

  // Step 1: rank 0 prepares; every rank learns whether it may go on.
  StatusOr<PreparedJob> prepared = Status::Internal("not prepared on this rank");
  if (comm.rank() == 0) prepared = PrepareJob(cli_config);
  Status status = AgreeOnStatus(comm, comm.rank() == 0 ? prepared.status() : Status::Ok(), setup_timeout);
  if (!status.ok()) {
    if (comm.rank() == 0) LogError(status.message());
    return status.ExitCode();
  }
  Bytes spec_bytes = comm.rank() == 0 ? EncodeMessage(prepared->spec) : Bytes{};
  if (Status s = comm.Broadcast(spec_bytes, 0, setup_timeout); !s.ok()) comm.Abort("broadcasting the job: " + s.message(), 3);
  StatusOr<ScoreJobSpec> spec = DecodeMessage<ScoreJobSpec>(spec_bytes);
  if (!spec.ok()) comm.Abort("decoding the job: " + spec.status().message(), 3);
  StatusOr<Config> config = ConfigFromToml(spec->config_toml, "job spec from rank 0");
  if (!config.ok()) comm.Abort(config.status().message(), 3);

  // Steps 2-8. Any failure here is fatal for the whole job: a peer may be waiting on us.
  StatusOr<ScoreOutcome> outcome = Status::Internal("not scored");
  const auto scoring_start = std::chrono::steady_clock::now();
  try {
    outcome = ScoreOnAllRanks(comm, *config, *spec);
  } catch (const std::exception& e) {
    comm.Abort(std::string("scoring failed: ") + e.what(), 3);
  }
  if (!outcome.ok()) comm.Abort(outcome.status().message(), 3);

  const double scoring_wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scoring_start).count();

  // Step 9: rank 0 writes; all ranks agree on the exit status.
  Status write_status;
  if (comm.rank() == 0) {
    spdlog::info("scored {} architectures ({} distinct computations) in {} on {} rank(s): {:.1f} arch/s",
                 prepared->archs.size(), spec->archs.size(), FormatDuration(scoring_wall_seconds), comm.size(),
                 prepared->archs.size() / scoring_wall_seconds);
    ScoreResults results = AssembleResults(**MakeSearchSpace(config->score.space), *prepared, *outcome, *config);
    double total_seconds = 0;
    for (double s : outcome->seconds) total_seconds += s;
    results.text_attributes = {{"config", spec->config_toml},
                               {"space", config->score.space},
                               {"epsilon_path", config->epsilon.path},
                               {"nan_policy", config->epsilon.nan_policy},
                               {"images", config->epsilon.images},
                               {"images_fnv1a64", Hex64(Fnv1a64(spec->images.pixels.data(), spec->images.pixels.size()))}};
    results.provenance = RunProvenance(command_line, comm.size());
    results.integer_attributes = {{"batch_size", spec->images.count}, {"num_computations", static_cast<int64_t>(spec->archs.size())}};
    results.number_attributes = {{"w1", config->epsilon.w1},
                                 {"w2", config->epsilon.w2},
                                 {"scoring_seconds_total", total_seconds},
                                 {"scoring_wall_seconds", scoring_wall_seconds}};
    PrintSummaries(results);
    const std::string csv = ReplaceExtension(config->score.out, ".csv");
    write_status = WriteScoreResults(config->score.out, csv, results);
    if (write_status.ok()) {
      spdlog::info("wrote {} and {}", config->score.out, csv);
    } else {
      LogError(write_status.message());
    }
  }
  status = AgreeOnStatus(comm, write_status, setup_timeout);
  if (!status.ok() && status.kind() == ErrorKind::kTimeout) comm.Abort(status.message(), 3);
  return status.ExitCode();
}

}  // namespace hpcnas

namespace hpcnas {

int RunCalibrateWeightsCommand(Communicator& comm, const Config& config) {
  // Rank 0 alone: 100 architectures through a few dozen weight windows is seconds of work on
  // the fast path; the other ranks have nothing to wait for.
  if (comm.rank() != 0) return 0;
  try {
    Status valid = Validate(config);
    auto space = MakeSearchSpace(config.score.space);
    StatusOr<ImageBytes> images = Status::InvalidInput("no space");
    if (space.ok()) {
      auto input_size = EpsilonInputSize(**space, EpsilonScorerOptionsFromConfig(config.epsilon));
      images = input_size.ok() ? LoadEpsilonImages(config.epsilon.images, config.epsilon.batch_size, *input_size,
                                                   config.score.seed, ChooseThreadCount(config.runtime.threads))
                               : StatusOr<ImageBytes>(input_size.status());
    }
    for (const Status& s : {valid, space.status(), images.status()}) {
      if (!s.ok()) {
        LogError(s.message());
        return s.ExitCode();
      }
    }
    torch::set_num_threads(ChooseThreadCount(config.runtime.threads));
    const torch::Tensor batch = ImageBytesToTensor(*images).to(SelectDevice());
    // As epsinas: 100 architectures drawn with replacement, the same for every window.
    CounterRng rng(config.score.seed, {0x63616c6962ULL});  // "calib"
    std::vector<Architecture> archs;
    for (int i = 0; i < 100; ++i) archs.push_back((*space)->Sample(rng));
    const EpsilonScorerOptions options = EpsilonScorerOptionsFromConfig(config.epsilon);  // the weights are searched
    spdlog::info("calibrating the epsilon weights of space '{}' on 100 architectures (seed {}), epsilon path '{}'",
                 config.score.space, config.score.seed, config.epsilon.path);
    const WeightCalibration calibration = CalibrateEpsilonWeights(**space, batch, options, archs);
    std::printf("w1,w2,nan_share\n");
    for (const WeightTrial& t : calibration.trials) std::printf("%g,%g,%.2f\n", t.weights.w1, t.weights.w2, t.nan_share);
    if (!calibration.found) {
      LogError("no window of weights 1e-7..1 gave fewer than 10% NaN scores");
      return 3;
    }
    std::printf("chosen: w1 = %g, w2 = %g\n", calibration.chosen.w1, calibration.chosen.w2);
    return 0;
  } catch (const std::exception& e) {
    LogError(std::string("calibration failed: ") + e.what());
    return 3;
  }
}

}  // namespace hpcnas
