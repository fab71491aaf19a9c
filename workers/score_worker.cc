#include "workers/score_worker.h"

#include <chrono>
#include <deque>

#include "io/messages.h"
#include "scheduler/chunk_queue.h"

namespace hpcnas {

Status RunScoreWorker(Communicator& comm, const ScoreAtPosition& score, const ScoreProtocolOptions& options) {
  using Clock = std::chrono::steady_clock;
  auto send_report = [&](WorkerReport report) {
    report.rank = comm.rank();
    return comm.Send(0, kTagWorkerReport, EncodeMessage(report), options.timeout).WithContext("reporting to rank 0");
  };

  int pending_requests = 0;
  std::deque<Chunk> todo;
  bool no_more_work = false;
  for (int i = 0; i < 2; ++i) {
    HPCNAS_RETURN_IF_ERROR(send_report(WorkerReport{}));
    ++pending_requests;
  }
  while (true) {
    // Collect answers: wait for one only when there is nothing to score.
    while (pending_requests > 0) {
      std::optional<Envelope> envelope;
      if (todo.empty()) {
        StatusOr<Envelope> received = comm.Receive(0, kTagAssignment, options.timeout);
        if (!received.ok()) return received.status().WithContext("rank " + std::to_string(comm.rank()) + " waiting for work from rank 0");
        envelope = std::move(received).value();
      } else {
        HPCNAS_ASSIGN_OR_RETURN(envelope, comm.TryReceive(0, kTagAssignment, options.timeout));
        if (!envelope) break;
      }
      HPCNAS_ASSIGN_OR_RETURN(WorkAssignment assignment, DecodeMessage<WorkAssignment>(envelope->payload));
      --pending_requests;
      if (assignment.has_work) {
        todo.push_back({assignment.begin, assignment.end});
      } else {
        no_more_work = true;
      }
    }
    if (todo.empty()) {
      if (pending_requests == 0) return Status::Ok();
      continue;
    }
    const Chunk chunk = todo.front();
    todo.pop_front();
    WorkerReport report;
    report.has_result = true;
    report.begin = chunk.begin;
    report.end = chunk.end;
    for (int64_t position = chunk.begin; position < chunk.end; ++position) {
      const auto t0 = Clock::now();
      const std::vector<double> values = score(position);
      if (static_cast<int>(values.size()) != options.values_per_item) {
        return Status::Internal("a scorer returned the wrong number of values");
      }
      report.values.insert(report.values.end(), values.begin(), values.end());
      report.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    report.wants_more = !no_more_work;
    HPCNAS_RETURN_IF_ERROR(send_report(std::move(report)));
    if (!no_more_work) ++pending_requests;
  }
}

}  // namespace hpcnas
