#pragma once
// The common part of the evaluators that do real work (step 7 of scheduler/search_loop.h): the
// architectures still to evaluate are handed out by the scoring protocol of
// scheduler/score_coordinator.h (guided self-scheduling, one architecture per chunk at the end,
// so a rank that finishes early gets more; a silent rank is named after the timeout), every
// rank rank 0 included evaluates, the accuracies come back by position and each failure's
// reason is gathered, so every rank ends with the same evaluations whichever rank ran which.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "scheduler/score_coordinator.h"
#include "scheduler/search_loop.h"

namespace hpcnas {

class SpreadEvaluator : public Evaluator {
 public:
  StatusOr<std::vector<Evaluation>> Evaluate(Communicator& comm, const std::vector<Architecture>& archs) final;

 protected:
  // The testing-only fault of runtime.fault counts this rank's evaluations over the whole run.
  SpreadEvaluator(const FaultInjection& fault, int rank, Seconds timeout);
  // One architecture, on this rank. A failure of the architecture (a crashed command) is an
  // Evaluation with a reason; a throw is a failure of the job.
  virtual Evaluation EvaluateOne(const Architecture& arch) = 0;
  // Rank 0, before any work is handed out: an evaluation that is already known (a finished run
  // of a resumed search), or nullopt.
  virtual std::optional<Evaluation> Known(const Architecture& /*arch*/) { return std::nullopt; }

 private:
  Seconds timeout_;
  ScoreAtPosition score_;                  // EvaluateOne of todo_[position], with the fault
  std::vector<Architecture> todo_;         // of the Evaluate call in progress
  std::map<std::int64_t, std::string> failures_;  // this rank's failed positions in todo_
};

}  // namespace hpcnas
