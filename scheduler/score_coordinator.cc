#include "scheduler/score_coordinator.h"

#include <chrono>
#include <cmath>
#include <algorithm>
#include <limits>
#include <optional>

#include "io/messages.h"
#include "scheduler/chunk_queue.h"

namespace hpcnas {
namespace {

using Clock = std::chrono::steady_clock;

// How long rank 0, with nothing of its own to score, waits for a report before it looks at
// the silence watch again.
constexpr Seconds kIdlePoll{0.05};

}  // namespace

StatusOr<ScoreOutcome> RunScoreCoordinator(Communicator& comm, int64_t total, const ScoreAtPosition& score,
                                           const ScoreProtocolOptions& options) {
  const int size = comm.size();
  const auto start = Clock::now();
  auto now = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

  ChunkQueue queue(total, size, options.min_chunk, options.max_chunk);
  SilenceWatch watch(size);
  ScoreOutcome outcome;
  const int width = options.values_per_item;
  outcome.values.assign(total * width, std::numeric_limits<double>::quiet_NaN());
  outcome.seconds.assign(total, 0.0);
  std::vector<bool> have(total, false);
  int64_t done = 0;
  std::vector<int> opening_reports(size, 0);

  auto record = [&](int64_t position, const double* values, double seconds) {
    if (!have[position]) {
      have[position] = true;
      ++done;
    }
    std::copy(values, values + width, outcome.values.begin() + position * width);
    outcome.seconds[position] = seconds;
  };

  auto answer = [&](int worker) -> Status {
    WorkAssignment assignment;
    if (std::optional<Chunk> chunk = queue.Next()) {
      assignment = {true, chunk->begin, chunk->end};
      watch.Assigned(worker);
    }
    return comm.Send(worker, kTagAssignment, EncodeMessage(assignment), options.timeout)
        .WithContext("sending work to rank " + std::to_string(worker));
  };

  auto handle = [&](const Envelope& envelope) -> Status {
    const std::string from = "report from rank " + std::to_string(envelope.source);
    HPCNAS_ASSIGN_OR_RETURN(WorkerReport report, DecodeMessage<WorkerReport>(envelope.payload));
    if (report.rank != envelope.source || envelope.source <= 0 || envelope.source >= size) {
      return Status::Communication(from + " claims to come from rank " + std::to_string(report.rank));
    }
    watch.Heard(envelope.source, now());
    if (report.has_result) {
      const int64_t n = report.end - report.begin;
      if (report.begin < 0 || report.end > total || n <= 0 || static_cast<int64_t>(report.values.size()) != n * width ||
          static_cast<int64_t>(report.seconds.size()) != n) {
        return Status::Communication(from + " has a malformed chunk [" + std::to_string(report.begin) + ", " +
                                     std::to_string(report.end) + ")");
      }
      for (int64_t i = 0; i < n; ++i) record(report.begin + i, report.values.data() + i * width, report.seconds[i]);
      watch.Returned(envelope.source);
      if (options.on_progress) options.on_progress(done, total);
    } else {
      ++opening_reports[envelope.source];
    }
    return report.wants_more ? answer(envelope.source) : Status::Ok();
  };

  auto finished = [&] {
    if (done < total) return false;
    for (int r = 1; r < size; ++r) {
      if (opening_reports[r] < 2) return false;
    }
    return true;
  };

  // Step 3: every worker's opening reports are answered before rank 0 starts scoring, so no
  // worker waits for rank 0's first architecture.
  const auto opening_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(options.timeout);
  for (int r = 1; r < size; ++r) {
    while (opening_reports[r] < 2) {
      const Seconds left = opening_deadline - Clock::now();
      StatusOr<Envelope> envelope = comm.Receive(Communicator::kAnySource, kTagWorkerReport, std::max(left, Seconds(0)));
      if (!envelope.ok()) {
        return envelope.status().kind() == ErrorKind::kTimeout
                   ? Status::Timeout("rank " + std::to_string(r) + " never asked for work (dead or hung at start-up)")
                   : envelope.status();
      }
      HPCNAS_RETURN_IF_ERROR(handle(*envelope));
    }
  }

  std::optional<Chunk> own;
  int64_t own_next = 0;
  while (!finished()) {
    // Every report that has arrived is answered before rank 0 scores again.
    while (true) {
      HPCNAS_ASSIGN_OR_RETURN(std::optional<Envelope> envelope, comm.TryReceive(Communicator::kAnySource, kTagWorkerReport, options.timeout));
      if (!envelope) break;
      HPCNAS_RETURN_IF_ERROR(handle(*envelope));
    }
    if (finished()) break;

    if (!own || own_next == own->end) {
      own = queue.Next();
      if (own) own_next = own->begin;
    }
    if (own) {
      const auto t0 = Clock::now();
      const std::vector<double> values = score(own_next);
      if (static_cast<int>(values.size()) != width) return Status::Internal("a scorer returned the wrong number of values");
      record(own_next, values.data(), std::chrono::duration<double>(Clock::now() - t0).count());
      ++own_next;
      if (options.on_progress) options.on_progress(done, total);
    } else {
      StatusOr<Envelope> envelope = comm.Receive(Communicator::kAnySource, kTagWorkerReport, kIdlePoll);
      if (envelope.ok()) {
        HPCNAS_RETURN_IF_ERROR(handle(*envelope));
      } else if (envelope.status().kind() != ErrorKind::kTimeout) {
        return envelope.status();
      }
    }

    const std::vector<int> silent = watch.SilentRanks(now(), options.timeout.count());
    if (!silent.empty()) {
      std::string ranks;
      for (int r : silent) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.3g", options.timeout.count());
      return Status::Timeout("rank(s) " + ranks + " held work but sent nothing for " + seconds +
                             " s (hung or dead); increase --timeout if one chunk legitimately takes longer");
    }
  }
  return outcome;
}

}  // namespace hpcnas
