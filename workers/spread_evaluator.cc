#include "workers/spread_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "workers/runtime.h"
#include "workers/score_worker.h"

namespace hpcnas {
namespace {

// Evaluations as bytes: their count (int64), the accuracies (doubles), then each failure
// followed by a '\0'.
Bytes EncodeEvaluations(const std::vector<Evaluation>& evaluations) {
  const auto count = static_cast<std::int64_t>(evaluations.size());
  Bytes bytes(reinterpret_cast<const char*>(&count), reinterpret_cast<const char*>(&count) + sizeof(count));
  std::vector<double> accuracy;
  for (const Evaluation& e : evaluations) accuracy.push_back(e.accuracy);
  const Bytes numbers = ToBytes(accuracy);
  bytes.insert(bytes.end(), numbers.begin(), numbers.end());
  for (const Evaluation& e : evaluations) {
    for (char c : e.failure) bytes.push_back(c == '\0' ? ' ' : c);
    bytes.push_back('\0');
  }
  return bytes;
}

StatusOr<std::vector<Evaluation>> DecodeEvaluations(const Bytes& bytes) {
  std::int64_t count = 0;
  if (bytes.size() < sizeof(count)) return Status::Communication("evaluations message too short");
  std::memcpy(&count, bytes.data(), sizeof(count));
  const std::size_t head = sizeof(count) + static_cast<std::size_t>(count) * sizeof(double);
  if (count < 0 || bytes.size() < head) return Status::Communication("evaluations message too short");
  std::vector<Evaluation> out(static_cast<std::size_t>(count));
  std::size_t at = head;
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::memcpy(&out[i].accuracy, bytes.data() + sizeof(count) + i * sizeof(double), sizeof(double));
    const auto end = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end(), '\0');
    if (end == bytes.end()) return Status::Communication("evaluations message cut short");
    out[i].failure.assign(bytes.begin() + static_cast<std::ptrdiff_t>(at), end);
    at = static_cast<std::size_t>(end - bytes.begin()) + 1;
  }
  return out;
}

}  // namespace

SpreadEvaluator::SpreadEvaluator(const FaultInjection& fault, int rank, Seconds timeout) : timeout_(timeout) {
  score_ = WithFaultInjection(
      [this](int64_t position) {
        const Evaluation e = EvaluateOne(todo_.at(static_cast<std::size_t>(position)));
        if (!e.failure.empty()) failures_[position] = e.failure;
        return std::vector<double>{e.failure.empty() ? e.accuracy : std::numeric_limits<double>::quiet_NaN()};
      },
      fault, rank);
}

StatusOr<std::vector<Evaluation>> SpreadEvaluator::Evaluate(Communicator& comm, const std::vector<Architecture>& archs) {
  // Rank 0 sorts out what is known; every rank learns which positions are still to do.
  std::vector<Evaluation> result(archs.size());
  std::vector<std::int64_t> todo_positions;
  if (comm.rank() == 0) {
    for (std::size_t i = 0; i < archs.size(); ++i) {
      if (std::optional<Evaluation> known = Known(archs[i])) {
        result[i] = *known;
      } else {
        todo_positions.push_back(static_cast<std::int64_t>(i));
      }
    }
  }
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, todo_positions, 0, timeout_).WithContext("broadcasting the evaluations to do"));
  todo_.clear();
  for (std::int64_t p : todo_positions) todo_.push_back(archs.at(static_cast<std::size_t>(p)));
  failures_.clear();

  ScoreProtocolOptions options;
  options.timeout = timeout_;
  options.max_chunk = 1;  // an evaluation takes seconds to hours: balance over ranks matters more than messages
  std::vector<double> accuracy;
  if (!todo_.empty()) {
    if (comm.rank() == 0) {
      HPCNAS_ASSIGN_OR_RETURN(ScoreOutcome outcome, RunScoreCoordinator(comm, static_cast<int64_t>(todo_.size()), score_, options));
      accuracy = std::move(outcome.values);
    } else {
      HPCNAS_RETURN_IF_ERROR(RunScoreWorker(comm, score_, options));
    }
  }
  // Every rank's failures (position in todo_, reason) come to every rank.
  std::vector<Evaluation> mine;
  for (const auto& [position, reason] : failures_) mine.push_back({static_cast<double>(position), reason});
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> parts, comm.AllGather(EncodeEvaluations(mine), timeout_));
  std::map<std::int64_t, std::string> failures;
  for (const Bytes& part : parts) {
    HPCNAS_ASSIGN_OR_RETURN(std::vector<Evaluation> theirs, DecodeEvaluations(part));
    for (const Evaluation& e : theirs) failures[static_cast<std::int64_t>(e.accuracy)] = e.failure;
  }
  if (comm.rank() == 0) {
    for (std::size_t k = 0; k < todo_positions.size(); ++k) {
      Evaluation& e = result[static_cast<std::size_t>(todo_positions[k])];
      e.accuracy = accuracy.at(k);
      if (auto f = failures.find(static_cast<std::int64_t>(k)); f != failures.end()) e.failure = f->second;
    }
  }
  Bytes bytes = comm.rank() == 0 ? EncodeEvaluations(result) : Bytes{};
  HPCNAS_RETURN_IF_ERROR(comm.Broadcast(bytes, 0, timeout_).WithContext("broadcasting the evaluations"));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Evaluation> evaluations, DecodeEvaluations(bytes));
  if (evaluations.size() != archs.size()) return Status::Communication("evaluations broadcast has the wrong length");
  return evaluations;
}

}  // namespace hpcnas
