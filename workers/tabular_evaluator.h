#pragma once
// The evaluator of a tabular search (scheduler/search_loop.h, step 7): a benchmark's table
// gives each architecture's accuracy. Rank 0 holds the table and answers; every rank gets the
// accuracies (or rank 0's error, e.g. an architecture the table lacks).

#include <optional>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/space/search_space.h"
#include "io/space_data.h"
#include "scheduler/search_loop.h"

namespace hpcnas {

class TabularEvaluator : public Evaluator {
 public:
  // `table` on rank 0, nullopt on the others; `space` must outlive the evaluator.
  TabularEvaluator(const SearchSpace& space, std::optional<TruthTable> table, Seconds timeout)
      : space_(space), table_(std::move(table)), timeout_(timeout) {}
  StatusOr<std::vector<Evaluation>> Evaluate(Communicator& comm, const std::vector<Architecture>& archs) override;

 private:
  const SearchSpace& space_;
  std::optional<TruthTable> table_;
  Seconds timeout_;
};

}  // namespace hpcnas
