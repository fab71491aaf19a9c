#include "workers/spread_evaluator.h"

#include <limits>

#include "io/messages.h"
#include "workers/runtime.h"
#include "workers/score_worker.h"

namespace hpcnas {

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
  EvaluationsMessage mine;
  for (const auto& [position, reason] : failures_) {
    mine.position.push_back(position);
    mine.failure.push_back(reason);
  }
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> parts, comm.AllGather(EncodeMessage(mine), timeout_));
  std::map<std::int64_t, std::string> failures;
  for (const Bytes& part : parts) {
    HPCNAS_ASSIGN_OR_RETURN(EvaluationsMessage theirs, DecodeMessage<EvaluationsMessage>(part));
    for (std::size_t i = 0; i < theirs.position.size() && i < theirs.failure.size(); ++i) failures[theirs.position[i]] = theirs.failure[i];
  }
  EvaluationsMessage all;
  if (comm.rank() == 0) {
    for (std::size_t k = 0; k < todo_positions.size(); ++k) {
      Evaluation& e = result[static_cast<std::size_t>(todo_positions[k])];
      e.accuracy = accuracy.at(k);
      if (auto f = failures.find(static_cast<std::int64_t>(k)); f != failures.end()) e.failure = f->second;
    }
    for (const Evaluation& e : result) {
      all.accuracy.push_back(e.accuracy);
      all.failure.push_back(e.failure);
    }
  }
  Bytes bytes = comm.rank() == 0 ? EncodeMessage(all) : Bytes{};
  HPCNAS_RETURN_IF_ERROR(comm.Broadcast(bytes, 0, timeout_).WithContext("broadcasting the evaluations"));
  HPCNAS_ASSIGN_OR_RETURN(all, DecodeMessage<EvaluationsMessage>(bytes));
  if (all.accuracy.size() != archs.size() || all.failure.size() != archs.size()) {
    return Status::Communication("evaluations broadcast has the wrong length");
  }
  std::vector<Evaluation> evaluations;
  for (std::size_t i = 0; i < archs.size(); ++i) evaluations.push_back({all.accuracy[i], all.failure[i]});
  return evaluations;
}

}  // namespace hpcnas
