#include "app/score_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>

#include "hpcnas/build_config.h"
#include "engine/epsilon.h"
#include "engine/progress.h"
#include "engine/rng.h"
#include "engine/stats.h"
#include "io/cifar.h"
#include "io/files.h"
#include "io/messages.h"
#include "io/nb201_data.h"
#include "io/score_results.h"
#include "scheduler/score_coordinator.h"
#include "workers/runtime.h"
#include "workers/score_worker.h"

namespace hpcnas {
namespace {

void LogError(const std::string& message) {
  std::fprintf(stderr, "hpcnas: error: %s\n", message.c_str());
  std::fflush(stderr);
}

struct PreparedJob {
  ScoreJobSpec spec;
  std::vector<nb201::Genotype> genotypes;
  std::vector<double> accuracy;  // empty without a truth table
};

std::vector<nb201::Genotype> SelectGenotypes(const ScoreConfig& c) {
  std::vector<int64_t> indices;
  if (c.select == "all") {
    for (int64_t i = 0; i < nb201::kNumCells; ++i) indices.push_back(i);
  } else {
    CounterRng rng(c.seed, {0x73616d706c65ULL});  // "sample"
    indices = SampleWithoutReplacement(rng, nb201::kNumCells, c.sample);
    std::sort(indices.begin(), indices.end());
  }
  std::vector<nb201::Genotype> genotypes;
  for (int64_t index : indices) genotypes.push_back(*nb201::FromOfficialIndex(index));
  return genotypes;
}

// Rank 0: everything that can fail because of the user's input fails here, before any work.
StatusOr<PreparedJob> PrepareJob(const Config& config) {
  HPCNAS_RETURN_IF_ERROR(Validate(config));
  PreparedJob job;
  if (config.score.select == "file") {
    HPCNAS_ASSIGN_OR_RETURN(job.genotypes, LoadArchList(config.score.archs_file));
  } else {
    job.genotypes = SelectGenotypes(config.score);
  }
  HPCNAS_ASSIGN_OR_RETURN(CifarImages images, LoadCifarImages(config.epsilon.images, config.epsilon.batch_size));
  if (!config.score.truth.empty()) {
    HPCNAS_ASSIGN_OR_RETURN(Nb201Truth truth, LoadNb201Truth(config.score.truth, config.score.truth_column));
    HPCNAS_ASSIGN_OR_RETURN(job.accuracy, truth.Lookup(job.genotypes));
  }
  HPCNAS_RETURN_IF_ERROR(CheckWritable(config.score.out));
  HPCNAS_RETURN_IF_ERROR(CheckWritable(ReplaceExtension(config.score.out, ".csv")));
  job.spec.config_toml = ToToml(config);
  for (const auto& g : job.genotypes) job.spec.codes.push_back(g.Code());
  job.spec.num_images = images.count;
  job.spec.pixels = std::move(images.pixels);
  return job;
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

void PrintSummary(const RankingSummary& s, const std::string& column) {
  spdlog::info("NaN scores: {} of {} ({:.1f}%), excluded from the correlations", s.num_nan, s.num_total,
               s.num_total ? 100.0 * s.num_nan / s.num_total : 0.0);
  spdlog::info("epsilon vs {} over {} architectures: Spearman rho = {:.4f}, Kendall tau = {:.4f}", column,
               s.num_ranked, s.spearman, s.kendall);
  spdlog::info("top 10% by accuracy: Spearman rho = {:.4f}, Kendall tau = {:.4f}", s.spearman_top10, s.kendall_top10);
  spdlog::info("share of the top 10% by epsilon that is in the top 10% by accuracy: {:.1f}%", 100.0 * s.top10_overlap);
}

// Steps 2-8 of the protocol on this rank; rank 0 returns the scores.
StatusOr<ScoreOutcome> ScoreOnAllRanks(Communicator& comm, const Config& config, const ScoreJobSpec& spec) {
  const int threads = ChooseThreadCount(config.runtime.threads);
  torch::set_num_threads(threads);
  const torch::Device device = SelectDevice();
  if (comm.rank() == 0) {
    spdlog::info("scoring {} architectures on {} rank(s), {} thread(s) per rank, device {}, epsilon path '{}'",
                 spec.codes.size(), comm.size(), threads, device.str(), config.epsilon.path);
  }
  torch::Tensor images = CifarImagesToTensor(spec.pixels.data(), spec.num_images).to(device);
  std::unique_ptr<EpsilonScorer> scorer =
      MakeFullNetworkEpsilonScorer(images, EpsilonWeights{config.epsilon.w1, config.epsilon.w2});
  HPCNAS_ASSIGN_OR_RETURN(FaultInjection fault, ParseFaultInjection(config.runtime.fault));
  const ScoreAtPosition score = WithFaultInjection(
      [&](int64_t position) { return scorer->Score(nb201::Genotype::FromCode(spec.codes[position])); }, fault,
      comm.rank());

  ScoreProtocolOptions options;
  options.timeout = Seconds(config.runtime.timeout_s);
  const auto total = static_cast<int64_t>(spec.codes.size());
  ProgressMeter progress("scored", total, "arch", config.runtime.progress_s);
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
    spdlog::info("scored {} architectures in {} on {} rank(s): {:.2f} arch/s", spec->codes.size(),
                 FormatDuration(scoring_wall_seconds), comm.size(), spec->codes.size() / scoring_wall_seconds);
    PreparedJob& job = *prepared;
    ScoreResults results;
    results.genotypes = job.genotypes;
    results.epsilon = outcome->scores;
    results.seconds = outcome->seconds;
    results.accuracy = job.accuracy;
    results.accuracy_column = config->score.truth_column;
    if (!job.accuracy.empty()) results.summary = SummariseRanking(results.epsilon, results.accuracy);
    double total_seconds = 0;
    for (double s : results.seconds) total_seconds += s;
    results.text_attributes = {{"config", spec->config_toml},
                               {"command_line", command_line},
                               {"hpcnas_version", HPCNAS_VERSION},
                               {"created_utc", UtcNow()},
                               {"space", config->score.space},
                               {"epsilon_path", config->epsilon.path},
                               {"images", config->epsilon.images},
                               {"images_fnv1a64", Hex64(Fnv1a64(spec->pixels.data(), spec->pixels.size()))}};
    results.number_attributes = {{"world_size", static_cast<double>(comm.size())},
                                 {"batch_size", static_cast<double>(spec->num_images)},
                                 {"w1", config->epsilon.w1},
                                 {"w2", config->epsilon.w2},
                                 {"scoring_seconds_total", total_seconds},
                                 {"scoring_wall_seconds", scoring_wall_seconds}};
    const int64_t nan_count = std::count_if(results.epsilon.begin(), results.epsilon.end(), [](double v) { return std::isnan(v); });
    if (results.summary) {
      PrintSummary(*results.summary, config->score.truth_column);
    } else {
      spdlog::info("NaN scores: {} of {}", nan_count, results.epsilon.size());
    }
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
