#include "app/predictor_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <spdlog/spdlog.h>

#include "app/command_support.h"
#include "engine/core/progress.h"
#include "engine/core/rng.h"
#include "engine/core/stats.h"
#include "hpcnas/build_config.h"
#include "io/files.h"
#include "io/hdf5_file.h"
#include "io/nb201_data.h"
#include "io/predictor_file.h"
#include "io/search_files.h"
#include "io/space_data.h"
#include "workers/predictor_worker.h"
#include "workers/runtime.h"

namespace hpcnas {
namespace {

constexpr std::uint64_t kSplitStream = 0x73706c6974ULL;  // "split"

// Rank 0: the config and the ground truth, checked. Training needs an accuracy for every network
// of the space: the split is drawn from all of them and tau is measured on all the rest. Returns
// the accuracy of each of space.DistinctArchitectures() (NB201: all 15,625 cells, position =
// code; NAS-Bench-Macro: its 3,969 networks), a list every rank computes alike.
StatusOr<std::vector<double>> PrepareTraining(const Config& config) {
  HPCNAS_RETURN_IF_ERROR(Validate(config));
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(config.train.space));
  std::vector<double> accuracy;
  if (space->name() == "nb201") {
    HPCNAS_ASSIGN_OR_RETURN(Nb201Truth truth, LoadNb201Truth(config.train.truth, config.train.truth_column));
    HPCNAS_RETURN_IF_ERROR(truth.RequireEveryCell());
    accuracy = truth.accuracy_by_code;
  } else {
    HPCNAS_ASSIGN_OR_RETURN(TruthTable truth, LoadTruthTable(*space, config.train.truth, config.train.truth_column));
    HPCNAS_ASSIGN_OR_RETURN(accuracy, truth.Lookup(*space, space->DistinctArchitectures()));
    for (double a : accuracy) {
      if (!std::isfinite(a)) {
        return Status::InvalidInput("truth table '" + truth.source + "' has an empty '" + truth.column + "' value");
      }
    }
    if (config.train.train_size >= static_cast<int64_t>(accuracy.size())) {
      return Status::InvalidInput("config key 'train.train_size' is " + std::to_string(config.train.train_size) +
                                  "; space '" + config.train.space + "' has " + std::to_string(accuracy.size()) +
                                  " networks and some must stay out of training");
    }
  }
  HPCNAS_RETURN_IF_ERROR(CheckWritable(config.train.out));
  return accuracy;
}

struct Split {
  std::vector<int64_t> train_codes, unlabelled_codes, held_out_codes;  // positions in DistinctArchitectures()
};

// The labelled set, then self-evolution's unlabelled pool from the rest; everything not
// labelled is held out for tau. A pure function of the seed.
Split DrawSplit(const Config& config, int64_t population) {
  CounterRng rng(config.train.seed, {kSplitStream});
  const int64_t n_train = config.train.train_size;
  const int64_t n_pool = std::min<int64_t>(config.predictor.unlabelled_size, population - n_train);
  const std::vector<int64_t> drawn = SampleWithoutReplacement(rng, population, n_train + n_pool);
  Split split;
  split.train_codes.assign(drawn.begin(), drawn.begin() + n_train);
  split.unlabelled_codes.assign(drawn.begin() + n_train, drawn.end());
  std::vector<bool> in_train(population, false);
  for (int64_t code : split.train_codes) in_train[code] = true;
  for (int64_t code = 0; code < population; ++code) {
    if (!in_train[code]) split.held_out_codes.push_back(code);
  }
  return split;
}

std::vector<Architecture> Members(const std::vector<Architecture>& population, const std::vector<int64_t>& positions) {
  std::vector<Architecture> out;
  for (int64_t position : positions) out.push_back(population[position]);
  return out;
}

}  // namespace

int RunTrainPredictorCommand(Communicator& comm, const Config& cli_config, const std::string& command_line) {
  const Seconds timeout(cli_config.runtime.timeout_s);
  StatusOr<std::vector<double>> accuracy = Status::Internal("not prepared on this rank");
  if (comm.rank() == 0) accuracy = PrepareTraining(cli_config);
  Status status = AgreeOnStatus(comm, comm.rank() == 0 ? accuracy.status() : Status::Ok(), timeout);
  if (!status.ok()) {
    if (comm.rank() == 0) LogError(status.message());
    return status.ExitCode();
  }
  // Rank 0's config and table reach every rank, so all replicas train on the same data.
  std::vector<char> config_text;
  if (comm.rank() == 0) {
    const std::string text = ToToml(cli_config);
    config_text.assign(text.begin(), text.end());
  } else {
    accuracy = std::vector<double>();
  }
  if (Status s = BroadcastVector(comm, config_text, 0, timeout); !s.ok()) comm.Abort("broadcasting the config: " + s.message(), 3);
  if (Status s = BroadcastVector(comm, *accuracy, 0, timeout); !s.ok()) comm.Abort("broadcasting the truth: " + s.message(), 3);
  StatusOr<Config> config = ConfigFromToml(std::string(config_text.begin(), config_text.end()), "config from rank 0");
  if (!config.ok()) comm.Abort(config.status().message(), 3);
  StatusOr<tnasp::ModelOptions> options = ModelOptionsFromConfig(config->predictor);
  if (!options.ok()) comm.Abort(options.status().message(), 3);
  const std::unique_ptr<SearchSpace> space = std::move(MakeSearchSpace(config->train.space).value());  // validated
  *options = options->ForSpace(*space);

  const int threads = ChooseThreadCount(config->runtime.threads);
  torch::set_num_threads(threads);
  const std::vector<Architecture> population = space->DistinctArchitectures();
  const Split split = DrawSplit(*config, static_cast<int64_t>(population.size()));
  TrainingData data;
  data.labelled = tnasp::EncodeAll(*space, Members(population, split.train_codes), *options);
  for (int64_t code : split.train_codes) data.accuracy.push_back((*accuracy)[code]);
  data.unlabelled = tnasp::EncodeAll(*space, Members(population, split.unlabelled_codes), *options);
  const PredictorConfig& pc = config->predictor;
  if (comm.rank() == 0) {
    spdlog::info("training the TNASP predictor on {} of {} {} networks ({}), {} epochs, batch {}, {} rank(s) x {} "
                 "thread(s), self-evolution {}",
                 split.train_codes.size(), population.size(), config->train.space, config->train.truth_column, pc.epochs, pc.batch_size,
                 comm.size(), threads,
                 pc.self_evolution_rounds >= 2 ? std::to_string(pc.self_evolution_rounds) + " rounds, lambda " +
                                                     std::to_string(pc.self_evolution_weight) + ", " +
                                                     std::to_string(data.unlabelled.size()) + " unlabelled"
                                               : std::string("off"));
  }

  Predictor predictor(*options, config->train.seed);
  const auto started = std::chrono::steady_clock::now();
  auto last_line = started;
  double trained_seconds = 0;
  auto on_epoch = [&](const EpochReport& r) {
    trained_seconds += r.seconds;
    const auto now = std::chrono::steady_clock::now();
    if (comm.rank() != 0) return;
    if (r.epoch != r.epochs && r.epoch != 1 &&
        std::chrono::duration<double>(now - last_line).count() < config->runtime.progress_s) {
      return;
    }
    last_line = now;
    const double elapsed = std::chrono::duration<double>(now - started).count();
    spdlog::info("epoch {}/{} (round {}) | loss {:.4f} | constraint {:.4f} | {:.0f} arch/s | {} elapsed | ETA {}",
                 r.epoch, r.epochs, r.round, r.labelled_loss, r.constraint_loss,
                 r.epoch * static_cast<double>(data.labelled.size()) / elapsed, FormatDuration(elapsed),
                 FormatDuration(elapsed / r.epoch * (r.epochs - r.epoch)));
  };
  status = Status::Ok();
  try {
    status = TrainPredictor(comm, predictor, data, pc, config->train.seed, timeout, on_epoch);
  } catch (const std::exception& e) {
    comm.Abort(std::string("predictor training failed: ") + e.what(), 3);
  }
  if (!status.ok()) comm.Abort(status.message(), 3);
  const double train_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const std::vector<tnasp::Encoding> held_out = tnasp::EncodeAll(*space, Members(population, split.held_out_codes), *options);
  const auto predict_start = std::chrono::steady_clock::now();
  StatusOr<std::vector<double>> predicted = PredictSharded(comm, predictor, held_out, timeout);
  if (!predicted.ok()) comm.Abort(predicted.status().message(), 3);
  const double predict_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - predict_start).count();

  Status write_status;
  if (comm.rank() == 0) {
    std::vector<double> truth;
    for (int64_t code : split.held_out_codes) truth.push_back((*accuracy)[code]);
    const double tau = KendallTau(*predicted, truth);
    const double rho = SpearmanRho(*predicted, truth);
    spdlog::info("trained in {} ({:.0f} arch/s); predicted {} held-out cells in {:.2f} s", FormatDuration(train_wall),
                 pc.epochs * static_cast<double>(data.labelled.size()) / train_wall, held_out.size(), predict_wall);
    PrintResult("Kendall tau = {:.4f}, Spearman rho = {:.4f} over the {} cells not used for training ({})", tau, rho,
                held_out.size(), config->train.truth_column);
    PredictorFile file = ToPredictorFile(predictor);
    file.space = config->train.space;
    file.config_toml = ToToml(*config);
    file.train_codes = split.train_codes;
    for (int64_t code : split.train_codes) file.train_archs.push_back(space->Format(population.at(code)));
    file.train_accuracy = data.accuracy;
    file.kendall_tau = tau;
    file.num_evaluated = static_cast<int64_t>(held_out.size());
    file.train_wall_seconds = train_wall;
    file.evaluate_wall_seconds = predict_wall;
    file.world_size = comm.size();
    file.provenance = RunProvenance(command_line, comm.size());
    write_status = WritePredictorFile(config->train.out, file);
    if (write_status.ok()) {
      spdlog::info("wrote {}", config->train.out);
    } else {
      LogError(write_status.message());
    }
  }
  status = AgreeOnStatus(comm, write_status, timeout);
  if (!status.ok() && status.kind() == ErrorKind::kTimeout) comm.Abort(status.message(), 3);
  return status.ExitCode();
}

namespace {

struct LoadedPredictor {
  Predictor predictor;
  std::vector<std::string> archs;  // as the space writes them
  std::vector<tnasp::Encoding> encodings;
};

// The predictor of --model and the space it predicts for: a predictor file (train-predictor), a
// search checkpoint, or a search's output directory (its newest checkpoint of that search).
struct PredictorSource {
  PredictorFile file;
  Config config;
  std::string space;
  std::string what;  // for messages: "predictor file 'P'", "search checkpoint 'P'"
};

// The root 'kind' attribute of an hpcnas HDF5 file; empty for anything else.
std::string FileKind(const std::string& path) {
  StatusOr<h5::File> file = h5::File::OpenReadOnly(path);
  if (!file.ok()) return "";
  StatusOr<std::string> kind = file->ReadStringAttribute("/", "kind");
  return kind.ok() ? *kind : "";
}

StatusOr<PredictorSource> ReadPredictorSource(const std::string& model) {
  std::error_code error;
  std::optional<SearchCheckpoint> checkpoint;
  std::string path = model;
  if (std::filesystem::is_directory(model, error)) {
    HPCNAS_ASSIGN_OR_RETURN(FoundCheckpoint found, LoadNewestCheckpoint(model));
    for (const std::string& warning : found.warnings) std::fprintf(stderr, "hpcnas: warning: skipping %s\n", warning.c_str());
    checkpoint = std::move(found.checkpoint);
    path = found.path;
  } else if (FileKind(model) == kSearchCheckpointKind) {
    HPCNAS_ASSIGN_OR_RETURN(SearchCheckpoint read, ReadSearchCheckpoint(model));
    checkpoint = std::move(read);
  }
  PredictorSource source;
  if (checkpoint) {
    source.what = "search checkpoint '" + path + "'";
    HPCNAS_ASSIGN_OR_RETURN(source.config, ConfigFromToml(checkpoint->config_toml, path + " /config"));
    source.space = checkpoint->space;
    if (checkpoint->predictor.parameters.empty()) {
      return Status::InvalidInput(source.what + " holds no trained predictor (search.method '" + source.config.search.method +
                                  "'; a tnasp search has one from its first generation on)");
    }
    source.file = std::move(checkpoint->predictor);
    return source;
  }
  source.what = "predictor file '" + model + "'";
  HPCNAS_ASSIGN_OR_RETURN(source.file, ReadPredictorFile(model, ""));
  HPCNAS_ASSIGN_OR_RETURN(source.config, ConfigFromToml(source.file.config_toml, model + " /config"));
  HPCNAS_RETURN_IF_ERROR(Validate(source.config).WithContext(source.what));
  if (source.file.space != source.config.train.space) {
    return Status::InvalidInput(source.what + ": trained for space '" + source.file.space + "', not '" +
                                source.config.train.space + "' (the space of its config)");
  }
  source.space = source.file.space;
  return source;
}

StatusOr<LoadedPredictor> LoadForPrediction(const PredictRequest& request) {
  HPCNAS_ASSIGN_OR_RETURN(PredictorSource source, ReadPredictorSource(request.model));
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(source.space));
  HPCNAS_ASSIGN_OR_RETURN(tnasp::ModelOptions options, ModelOptionsFromConfig(source.config.predictor));
  options = options.ForSpace(*space);
  StatusOr<Predictor> predictor = FromPredictorFile(source.file, options);
  if (!predictor.ok()) return predictor.status().WithContext(source.what);
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Architecture> archs, LoadArchitectureList(*space, request.archs));
  if (!request.out.empty()) HPCNAS_RETURN_IF_ERROR(CheckWritable(request.out));
  LoadedPredictor loaded{std::move(*predictor), {}, tnasp::EncodeAll(*space, archs, options)};
  for (const Architecture& arch : archs) loaded.archs.push_back(space->Format(arch));
  return loaded;
}

}  // namespace

int RunPredictCommand(Communicator& comm, const PredictRequest& request) {
  const Seconds timeout(request.timeout_s);
  torch::set_num_threads(ChooseThreadCount(request.threads));
  // Every rank reads the (small) inputs itself; they agree before predicting together.
  StatusOr<LoadedPredictor> loaded = LoadForPrediction(request);
  Status status = AgreeOnStatus(comm, loaded.status(), timeout);
  if (!status.ok()) {
    if (comm.rank() == 0) LogError(status.message());
    return status.ExitCode();
  }
  // In chunks, for a progress line on standard error (standard output carries only the CSV).
  constexpr std::size_t kChunk = 4096;
  const std::size_t total = loaded->encodings.size();
  ProgressMeter progress("architectures", static_cast<std::int64_t>(total), "arch", request.progress_s);
  const auto started = std::chrono::steady_clock::now();
  std::vector<double> predicted;
  for (std::size_t begin = 0; begin < total; begin += kChunk) {
    const std::vector<tnasp::Encoding> chunk(loaded->encodings.begin() + static_cast<std::ptrdiff_t>(begin),
                                             loaded->encodings.begin() + static_cast<std::ptrdiff_t>(std::min(total, begin + kChunk)));
    StatusOr<std::vector<double>> part = PredictSharded(comm, loaded->predictor, chunk, timeout);
    if (!part.ok()) comm.Abort(part.status().message(), 3);
    predicted.insert(predicted.end(), part->begin(), part->end());
    const std::string line = progress.Update(static_cast<std::int64_t>(predicted.size()));
    if (comm.rank() == 0 && !line.empty() && spdlog::should_log(spdlog::level::info)) std::fprintf(stderr, "hpcnas: %s\n", line.c_str());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Status write_status;
  if (comm.rank() == 0) {
    // Standard output carries only the CSV, so it can be piped; the timing goes to stderr.
    std::fprintf(stderr, "hpcnas: predicted %zu architectures in %.3f s on %d rank(s) (%.0f arch/s)\n",
                 predicted.size(), seconds, comm.size(), static_cast<double>(predicted.size()) / seconds);
    std::string csv = "arch,predicted_accuracy\n";
    for (std::size_t i = 0; i < predicted.size(); ++i) {
      csv += loaded->archs[i] + "," + std::to_string(predicted[i]) + "\n";
    }
    std::fputs(csv.c_str(), stdout);
    std::fflush(stdout);
    if (!request.out.empty()) {
      write_status = WriteFileAtomically(request.out, [&](const std::string& temp) -> Status {
        std::ofstream out(temp, std::ios::binary);
        out << csv;
        out.close();
        return out ? Status::Ok() : Status::Io("cannot write '" + temp + "'");
      });
      if (!write_status.ok()) LogError(write_status.message());
    }
  }
  status = AgreeOnStatus(comm, write_status, timeout);
  return status.ExitCode();
}

}  // namespace hpcnas
