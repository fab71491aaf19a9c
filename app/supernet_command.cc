#include "app/supernet_command.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "engine/core/progress.h"
#include "engine/core/stats.h"
#include "engine/nn/latency_measure.h"
#include "io/latency_file.h"
#include "hpcnas/build_config.h"
#include "io/files.h"
#include "io/search_files.h"  // NewRunId
#include "io/space_data.h"
#include "io/supernet_files.h"
#include "workers/runtime.h"
#include "workers/supernet_trainer.h"

namespace hpcnas {

StatusOr<std::optional<LatencyTable>> LoadMatchingLatencyTable(const SupernetConfig& sc, torch::Device device) {
  if (sc.latency_table.empty()) return std::optional<LatencyTable>();
  HPCNAS_ASSIGN_OR_RETURN(LatencyTable table, ReadLatencyFile(sc.latency_table));
  const std::string run_device = device.is_cuda() ? "cuda" : "cpu";
  if (table.space != sc.space || table.resolution != sc.resolution || table.width_multiplier != sc.width_multiplier ||
      table.device != run_device) {
    return Status::InvalidInput(fmt::format(
        "latency table '{}' was measured for space {} at {} px, width {} on {}; this run is space {} at {} px, width {} on {}",
        sc.latency_table, table.space, table.resolution, table.width_multiplier, table.device, sc.space, sc.resolution,
        sc.width_multiplier, run_device));
  }
  // Every block of the supernet must be priced: a missing key is bad input now, not later.
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(sc.space));
  const auto& chain = dynamic_cast<const ChainSpace&>(*space);
  HPCNAS_ASSIGN_OR_RETURN(const SupernetPlan plan, PlanSupernet(chain, SupernetNetworkOptions(chain, sc)));
  HPCNAS_RETURN_IF_ERROR(PriceSupernet(plan, &table).status().WithContext("latency table '" + sc.latency_table + "'"));
  return std::optional<LatencyTable>(std::move(table));
}

Status CheckDeriveTarget(const SupernetConfig& sc, const std::optional<LatencyTable>& latency) {
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SearchSpace> space, MakeSearchSpace(sc.space));
  const auto* chain = dynamic_cast<const ChainSpace*>(space.get());
  if (chain == nullptr) return Status::InvalidInput("supernet.space '" + sc.space + "' is not a chain space");
  return CheckDeriveTarget(*chain, sc, latency ? &*latency : nullptr);
}

std::string EpochLine(const SupernetEpoch& e, int total_epochs, double elapsed, double eta) {
  std::string line = fmt::format("epoch {}/{} ({}) | train loss {:.3f} acc {:.1f}%", e.epoch, total_epochs,
                                 e.warmup ? "warm-up" : "search", e.train_loss, e.train_accuracy);
  if (!e.warmup) line += fmt::format(" | arch loss {:.3f} acc {:.1f}%", e.arch_loss, e.arch_accuracy);
  line += fmt::format(" | E[FLOPs] {:.1f} M", e.expected_mflops);
  if (!std::isnan(e.expected_latency_ms)) line += fmt::format(" | E[latency] {:.3f} ms", e.expected_latency_ms);
  line += fmt::format(" | derived {} ({:.1f} M, held-out {:.1f}%", e.derived, e.derived_mflops, e.derived_valid_accuracy);
  if (!std::isnan(e.benchmark_accuracy)) line += fmt::format(", benchmark {:.2f}%", e.benchmark_accuracy);
  line += fmt::format(") | {:.1f} img/s | {} elapsed | ETA {}", e.images_per_second, FormatDuration(elapsed), FormatDuration(eta));
  return line;
}

std::vector<std::vector<std::string>> SupernetOperationNames(SupernetTrainer& trainer, const ChainSpace& space) {
  std::vector<std::vector<std::string>> operation_names;
  for (MixedOp& m : trainer.net().mixed_ops()) {
    std::vector<std::string> names;
    for (int op : m->ops()) names.emplace_back(space.OperationName(op));
    operation_names.push_back(std::move(names));
  }
  return operation_names;
}

namespace {

struct Prepared {
  std::string config_toml, run_id;
  std::optional<SupernetCheckpoint> checkpoint;
  std::optional<DirectoryLock> lock;  // rank 0 holds the output directory for the whole run
  std::optional<SupernetData> data;   // loaded once to check it, then trained on (decoding JPEGs is slow)
};

// Rank 0: everything that can fail because of the user's input fails here, before any work.
StatusOr<Prepared> Prepare(const SupernetRequest& request) {
  HPCNAS_RETURN_IF_ERROR(request.config_file_status);
  Prepared prepared;
  Config config = request.config;
  if (!request.resume_dir.empty()) {
    HPCNAS_RETURN_IF_ERROR(RefuseFixedOptionsOnResume(request.fixed_options_given, "--supernet.data and the runtime options"));
    std::vector<std::string> warnings;
    HPCNAS_ASSIGN_OR_RETURN(auto found, LoadNewestSupernetCheckpoint(request.resume_dir, warnings));
    for (const std::string& warning : warnings) spdlog::warn("hpcnas: warning: skipping {}", warning);
    HPCNAS_ASSIGN_OR_RETURN(config, ConfigFromToml(found.first.config_toml, found.second + " /config"));
    if (config.supernet.space != found.first.space) {
      return Status::InvalidInput("checkpoint '" + found.second + "' holds space '" + found.first.space +
                                  "' but its config says supernet.space = '" + config.supernet.space + "'");
    }
    config.runtime = request.config.runtime;  // where it runs now, not what it computes
    config.supernet.out_dir = request.resume_dir;
    if (request.data_given) config.supernet.data = request.config.supernet.data;  // checked against its fingerprint below
    spdlog::info("resuming from {} ({} epochs and {} weight steps done)", found.second, found.first.state.epochs_done,
                 found.first.state.weight_steps);
    prepared.run_id = found.first.run_id;
    prepared.checkpoint = std::move(found.first);
  }
  config.command = "supernet";
  HPCNAS_RETURN_IF_ERROR(Validate(config));
  const SupernetConfig& sc = config.supernet;
  if (request.resume_dir.empty() && !ListSupernetCheckpoints(sc.out_dir).empty()) {
    return Status::InvalidInput("output directory '" + sc.out_dir + "' already holds a supernet run's checkpoints; continue it with --resume " +
                                sc.out_dir + " or choose another --out");
  }
  HPCNAS_ASSIGN_OR_RETURN(SupernetData data, LoadSupernetData(sc));
  config.supernet.data_fingerprint = data.fingerprint;  // recorded at the first start, checked by the load after
  prepared.data.emplace(std::move(data));
  HPCNAS_ASSIGN_OR_RETURN(const std::optional<LatencyTable> latency, LoadMatchingLatencyTable(sc, SelectDevice()));
  HPCNAS_RETURN_IF_ERROR(CheckDeriveTarget(sc, latency));
  // Last, so that bad input leaves no directory behind.
  HPCNAS_ASSIGN_OR_RETURN(DirectoryLock lock, DirectoryLock::Acquire(sc.out_dir));
  if (!lock.held()) spdlog::warn("the file system of '{}' has no locks: nothing stops a second job writing there", sc.out_dir);
  prepared.lock.emplace(std::move(lock));
  HPCNAS_RETURN_IF_ERROR(CheckWritable((std::filesystem::path(sc.out_dir) / "supernet.h5").string()));
  prepared.config_toml = ToToml(config);
  if (prepared.run_id.empty()) prepared.run_id = NewRunId(sc.seed);
  return prepared;
}

}  // namespace

int RunSupernetCommand(Communicator& comm, const SupernetRequest& request, const std::string& command_line) {
  const Seconds setup_timeout(request.config.runtime.timeout_s);
  StatusOr<Prepared> prepared = Status::Internal("not prepared on this rank");
  if (comm.rank() == 0) prepared = Prepare(request);
  Status status = AgreeOnStatus(comm, comm.rank() == 0 ? prepared.status() : Status::Ok(), setup_timeout);
  if (!status.ok()) {
    if (comm.rank() == 0) LogError(status.message());
    return status.ExitCode();
  }
  // The config and run id travel as "CONFIG\0RUN_ID\0RESUMED".
  Bytes start;
  if (comm.rank() == 0) {
    const std::string text = prepared->config_toml + '\0' + prepared->run_id + '\0' + (prepared->checkpoint ? "1" : "0");
    start.assign(text.begin(), text.end());
  }
  if (Status s = comm.Broadcast(start, 0, setup_timeout); !s.ok()) comm.Abort("broadcasting the run: " + s.message(), 3);
  const std::string text(start.begin(), start.end());
  const std::size_t first_zero = text.find('\0'), second_zero = text.find('\0', first_zero + 1);
  if (second_zero == std::string::npos) comm.Abort("decoding the run: malformed start message", 3);
  const std::string config_toml = text.substr(0, first_zero);
  const std::string run_id = text.substr(first_zero + 1, second_zero - first_zero - 1);
  const bool resumed = text.substr(second_zero + 1) == "1";
  StatusOr<Config> config = ConfigFromToml(config_toml, "supernet config from rank 0");
  if (!config.ok()) comm.Abort(config.status().message(), 3);
  const SupernetConfig& sc = config->supernet;
  const Seconds timeout(config->runtime.timeout_s);

  const int threads = ChooseThreadCount(config->runtime.threads);
  torch::set_num_threads(threads);
  const torch::Device device = SelectDevice();
  StatusOr<std::unique_ptr<SearchSpace>> made_space = MakeSearchSpace(sc.space);
  if (!made_space.ok()) comm.Abort("config from rank 0 is invalid: " + made_space.status().message(), 3);
  const auto* space = dynamic_cast<const ChainSpace*>(made_space->get());
  if (space == nullptr) comm.Abort("config from rank 0 is invalid: supernet.space is not a chain space", 3);
  StatusOr<SupernetData> data = comm.rank() == 0 ? std::move(*prepared->data) : LoadSupernetData(sc);
  if (!data.ok()) comm.Abort("rank " + std::to_string(comm.rank()) + ": loading the data: " + data.status().message(), 3);
  StatusOr<std::optional<LatencyTable>> latency = LoadMatchingLatencyTable(sc, device);
  if (!latency.ok()) comm.Abort("loading the latency table: " + latency.status().message(), 3);
  StatusOr<std::unique_ptr<SupernetTrainer>> made = SupernetTrainer::Make(*space, sc, device, *latency ? &**latency : nullptr);
  if (!made.ok()) comm.Abort("building the supernet: " + made.status().message(), 3);
  SupernetTrainer& trainer = **made;
  if (comm.rank() == 0 && prepared->checkpoint) {
    if (Status s = trainer.Import(prepared->checkpoint->state); !s.ok()) {
      comm.Abort("restoring checkpoint: " + s.message(), 3);
    }
  }
  if (resumed) {
    if (Status s = trainer.BroadcastReplica(comm, 0, timeout); !s.ok()) comm.Abort("sharing the checkpoint: " + s.message(), 3);
  }

  // Ground truth for the derived architecture, where the space has a table.
  std::optional<TruthTable> truth;
  if (comm.rank() == 0 && !DefaultTruthColumn(*space).empty()) {
    if (auto table = LoadTruthTable(*space, "embedded", DefaultTruthColumn(*space)); table.ok()) truth = std::move(*table);
  }
  auto benchmark = [&](const Architecture& arch) {
    if (!truth) return std::nan("");
    auto values = truth->Lookup(*space, {arch});
    return values.ok() ? values->front() : std::nan("");
  };
  const std::vector<std::vector<std::string>> operation_names = SupernetOperationNames(trainer, *space);
  const std::int64_t steps_per_epoch = sc.train_images / sc.batch_size;
  if (comm.rank() == 0) {
    spdlog::info("supernet on {} ({}, gates {}), {} + {} epochs of {} steps, batch {} in {} micro-batches; target {}; "
                 "{} rank(s) x {} thread(s), device {}; output {}",
                 sc.space, sc.data, sc.gate_mode, sc.warmup_epochs, sc.epochs, steps_per_epoch, sc.batch_size,
                 sc.micro_batches,
                 sc.target_mflops > 0       ? fmt::format("{} M FLOPs ({})", sc.target_mflops, sc.cost_loss)
                 : sc.target_latency_ms > 0 ? fmt::format("{} ms ({}, {})", sc.target_latency_ms, sc.cost_loss, sc.latency_table)
                                            : "none",
                 comm.size(), threads, device.str(), sc.out_dir);
    if (comm.size() > sc.micro_batches) {
      spdlog::warn("hpcnas: warning: {} ranks but {} micro-batches per step: {} rank(s) will wait", comm.size(),
                   sc.micro_batches, comm.size() - sc.micro_batches);
    }
  }

  auto checkpoint = [&]() -> Status {
    SupernetCheckpoint cp;
    cp.space = sc.space;
    cp.config_toml = config_toml;
    cp.run_id = run_id;
    cp.state = trainer.Export();
    cp.provenance = RunProvenance(command_line, comm.size());
    HPCNAS_RETURN_IF_ERROR(WriteSupernetCheckpoint(SupernetCheckpointPath(sc.out_dir, cp.state.weight_steps), cp));
    HPCNAS_RETURN_IF_ERROR(PruneSupernetCheckpoints(sc.out_dir, sc.keep_checkpoints));
    return WriteSupernetResults(sc.out_dir, cp, operation_names);
  };

  const auto run_start = std::chrono::steady_clock::now();
  const std::int64_t total_steps = static_cast<std::int64_t>(trainer.total_epochs()) * steps_per_epoch;
  const std::int64_t first_step = trainer.state().epochs_done * steps_per_epoch + trainer.state().step_in_epoch;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count(); };
  auto eta = [&](std::int64_t step) {
    const double done = static_cast<double>(step - first_step);
    return done > 0 ? elapsed() / done * static_cast<double>(total_steps - step) : 0.0;
  };
  auto last_line = std::chrono::steady_clock::now();
  auto epoch_start = last_line;
  const auto on_step = [&](const StepReport& r) {
    if (comm.rank() != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_line).count() < config->runtime.progress_s) return;
    last_line = now;
    const std::int64_t step = trainer.state().epochs_done * steps_per_epoch + r.step_in_epoch;
    const double seconds = std::chrono::duration<double>(now - epoch_start).count();
    spdlog::info("epoch {}/{} step {}/{} | {:.1f} img/s | E[FLOPs] {:.1f} M | {} elapsed | ETA {}", trainer.state().epochs_done + 1,
                 trainer.total_epochs(), r.step_in_epoch, r.steps_per_epoch, static_cast<double>(r.images) / std::max(seconds, 1e-9),
                 trainer.ExpectedMflops(), FormatDuration(elapsed()), FormatDuration(eta(step)));
  };

  // --fault RANK:KIND:AFTER acts after AFTER weight steps (testing the stop, resume and abort paths).
  const StatusOr<FaultInjection> fault = ParseFaultInjection(config->runtime.fault);
  if (!fault.ok()) comm.Abort("config from rank 0 is invalid: " + fault.status().message(), 3);
  bool fault_injected = false;
  const auto stop_requested = [&] {
    if (fault->rank == comm.rank() && !fault_injected && trainer.state().weight_steps >= fault->after) {
      fault_injected = true;
      InjectFault(*fault);
    }
    return StopSignalReceived();
  };
  bool ran = false;
  while (trainer.state().epochs_done < trainer.total_epochs()) {
    ran = true;
    epoch_start = std::chrono::steady_clock::now();
    const StatusOr<bool> ended = trainer.RunEpoch(comm, *data, timeout, stop_requested, on_step);
    if (!ended.ok()) {
      const ErrorKind kind = ended.status().kind();
      if (kind != ErrorKind::kTimeout && kind != ErrorKind::kCommunication) {
        // Every rank sees the same non-finite loss: a clean stop, the last checkpoint kept.
        if (comm.rank() == 0) LogError(ended.status().message() + "; the last checkpoint in " + sc.out_dir + " is intact");
        (void)comm.Barrier(timeout);  // no rank's exit may cut rank 0's message short (mpirun kills the rest)
        return 3;
      }
      comm.Abort(ended.status().message(), 3);
    }
    if (!*ended) {
      Status written;
      if (comm.rank() == 0) {
        written = checkpoint();
        if (written.ok()) {
          spdlog::warn("hpcnas: stopped by a signal at weight step {}; checkpoint written; continue with: hpcnas supernet --resume {}",
                       trainer.state().weight_steps, sc.out_dir);
        }
      }
      // Every rank waits for the checkpoint: mpirun ends the job at the first non-zero exit.
      if (Status s = AgreeOnStatus(comm, written, timeout); !s.ok()) comm.Abort("writing the checkpoint: " + s.message(), 3);
      return kExitStoppedBySignal;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const SupernetEpoch& row = trainer.FinishEpoch(*data, seconds, benchmark);
    if (comm.rank() == 0) {
      if (Status s = checkpoint(); !s.ok()) {
        prepared->lock.reset();  // before the abort: a failed start leaves no empty folders
        comm.Abort("writing the checkpoint: " + s.message(), 3);
      }
      spdlog::info("{}", EpochLine(row, trainer.total_epochs(), elapsed(), eta(trainer.state().epochs_done * steps_per_epoch)));
    }
  }
  if (comm.rank() == 0) {
    if (!ran) {
      spdlog::warn("hpcnas: warning: the run in {} has already finished its {} epochs: nothing to do", sc.out_dir,
                   trainer.total_epochs());
      return 0;
    }
    const SupernetEpoch& last = trainer.state().history.back();
    std::printf("derived architecture: %s\n", last.derived.c_str());
    std::printf("derived FLOPs: %.2f M; held-out accuracy (BatchNorm recalibrated): %.2f%%\n", last.derived_mflops,
                last.derived_valid_accuracy);
    if (!std::isnan(last.derived_latency_ms)) std::printf("derived latency (table): %.3f ms\n", last.derived_latency_ms);
    if (!std::isnan(last.benchmark_accuracy)) {
      std::printf("benchmark accuracy: %.2f%% (%s, %s)\n", last.benchmark_accuracy, DefaultTruthColumn(*space).c_str(),
                  sc.space.c_str());
    }
    std::printf("results in %s/supernet.h5, epochs.csv, alpha_heatmap.png\n", sc.out_dir.c_str());
    std::fflush(stdout);
  }
  return 0;
}

int RunLatencyCommand(const LatencyRequest& request, const std::string& command_line) {
  auto fail = [](const Status& status) {
    LogError(status.message());
    return status.ExitCode();
  };
  StatusOr<std::unique_ptr<SearchSpace>> made = MakeSearchSpace(request.space);
  const auto* space = made.ok() ? dynamic_cast<const ChainSpace*>(made->get()) : nullptr;
  if (space == nullptr) return fail(Status::InvalidInput("--space '" + request.space + "': a latency table needs a chain space (macro, proxyless)"));
  if (request.networks < 0 || request.repeats < 1 || request.batch < 1 || request.num_classes < 0) {
    return fail(Status::InvalidInput("--networks and --num-classes must be >= 0, --repeats and --batch >= 1"));
  }
  ChainNetworkOptions options;
  options.resolution = request.resolution;
  options.width_multiplier = request.width_multiplier;
  options.num_classes = request.num_classes;
  if (Status s = space->Plan(Architecture{std::vector<std::uint8_t>(space->num_positions(), 1)}, options).status(); !s.ok()) return fail(s);
  if (Status s = CheckWritable(request.out); !s.ok()) return fail(s);
  torch::set_num_threads(ChooseThreadCount(request.threads));
  const torch::Device device = SelectDevice();
  const LatencyMeasureOptions measure{3, request.repeats, request.batch};
  StatusOr<LatencyTable> table = MeasureLatencyTable(*space, options, device, measure);
  if (!table.ok()) return fail(table.status());
  spdlog::info("latency table: {} entries of {} at {} px on {} ({}, {} thread(s), batch {})", table->entries.size(), request.space,
               table->resolution, table->device, table->device_name, table->threads, table->batch);

  LatencyValidation check;
  CounterRng rng(request.seed, {0x6c6174656e6379ULL});  // "latency"
  ProgressMeter progress("networks", request.networks, "net", 10);
  // Timed in rounds over a group of networks at a time (see TimeInterleaved); a group bounds the
  // memory that networks at full resolution hold.
  constexpr int kNetworksPerGroup = 10;
  std::vector<ChainNetwork> group;
  for (int i = 0; i < request.networks; ++i) {
    const Architecture arch = space->Sample(rng);
    StatusOr<NetworkPlan> plan = space->Plan(arch, options);
    if (!plan.ok()) return fail(plan.status());
    StatusOr<double> sum = table->SumOfBlocks(*plan);
    if (!sum.ok()) return fail(sum.status());
    check.archs.push_back(space->Format(arch));
    check.sum_of_blocks_ms.push_back(*sum);
    group.emplace_back(*plan, BatchNormMode::kRunningStatistics);
    if (static_cast<int>(group.size()) == kNetworksPerGroup || i + 1 == request.networks) {
      for (double ms : MeasureNetworkLatencies(group, device, measure)) check.measured_ms.push_back(ms);
      group.clear();
      if (const std::string line = progress.Update(i + 1); !line.empty()) spdlog::info("{}", line);
    }
  }
  FitLatencyCalibration(*table, check.sum_of_blocks_ms, check.measured_ms);
  std::string csv = "arch,sum_of_blocks_ms,predicted_ms,measured_ms\n";
  double raw_error = 0, calibrated_error = 0;
  for (std::size_t i = 0; i < check.archs.size(); ++i) {
    check.predicted_ms.push_back(table->calibration_scale * check.sum_of_blocks_ms[i] + table->calibration_offset_ms);
    raw_error += std::abs(check.sum_of_blocks_ms[i] - check.measured_ms[i]) / check.measured_ms[i];
    calibrated_error += std::abs(check.predicted_ms[i] - check.measured_ms[i]) / check.measured_ms[i];
    csv += check.archs[i] + "," + CsvNumber(check.sum_of_blocks_ms[i]) + "," + CsvNumber(check.predicted_ms[i]) + "," +
           CsvNumber(check.measured_ms[i]) + "\n";
  }
  if (Status s = WriteLatencyFile(request.out, *table, check, RunProvenance(command_line, 1)); !s.ok()) return fail(s);
  const std::string csv_path = std::filesystem::path(request.out).replace_extension(".csv").string();
  if (Status s = WriteTextAtomically(csv_path, csv); !s.ok()) return fail(s);
  if (!check.archs.empty()) {
    const double n = static_cast<double>(check.archs.size());
    std::printf("%zu networks: Spearman rho %.4f (table vs measured); mean relative error %.2f%% as the sum of blocks, %.2f%% "
                "calibrated (measured = %.4f x sum + %.4f ms)\n",
                check.archs.size(), SpearmanRho(check.sum_of_blocks_ms, check.measured_ms), 100 * raw_error / n,
                100 * calibrated_error / n, table->calibration_scale, table->calibration_offset_ms);
  }
  std::printf("latency table written to %s (check: %s)\n", request.out.c_str(), csv_path.c_str());
  return 0;
}

}  // namespace hpcnas
