#include "workers/tabular_evaluator.h"

namespace hpcnas {

StatusOr<std::vector<Evaluation>> TabularEvaluator::Evaluate(Communicator& comm, const std::vector<Architecture>& archs) {
  StatusOr<std::vector<double>> accuracy = std::vector<double>();
  if (comm.rank() == 0) {
    accuracy = table_ ? table_->Lookup(space_, archs) : Status::Internal("rank 0 has no ground-truth table");
  }
  HPCNAS_RETURN_IF_ERROR(AgreeOnStatus(comm, accuracy.status(), timeout_));
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, *accuracy, 0, timeout_).WithContext("broadcasting the accuracies"));
  std::vector<Evaluation> out;
  for (double a : *accuracy) out.push_back({a, ""});
  return out;
}

}  // namespace hpcnas
