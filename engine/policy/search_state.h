#pragma once
// The state of an architecture search (DESIGN section 2) as plain data: what every rank keeps a
// replica of and what a checkpoint holds (io/search_files.h).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/space/search_space.h"

namespace hpcnas {

// Every Architecture here is in its space's canonical form (SearchSpace::Canonical), so equal
// networks have equal bytes.

// One evaluation ("query"): the architecture, its accuracy and the generation that asked. An
// evaluation that failed (a user's command that crashed or timed out) has a NaN accuracy and
// says why; it stays a query (never asked again) but joins neither the population nor the
// predictor's labels.
struct Query {
  Architecture arch;
  double accuracy = 0;
  std::int32_t generation = 0;
  std::string failure;  // empty when the evaluation gave an accuracy
};

// The query with the best accuracy (failed ones never), or nullptr when none has one.
inline const Query* BestQuery(const std::vector<Query>& queries) {
  const Query* best = nullptr;
  for (const Query& q : queries) {
    if (!std::isnan(q.accuracy) && (best == nullptr || q.accuracy > best->accuracy)) best = &q;
  }
  return best;
}

// An architecture's epsilon in float32 (NaN where it underflowed, as in the paper) and in exact
// arithmetic (NaN only where the output does not depend on the input; NaN throughout on spaces
// without an exact scorer).
struct EpsilonRecord {
  Architecture arch;
  double epsilon = 0;
  double epsilon_exact = 0;
};

// One row of the per-generation CSV. Every field is a number so that one column table
// (kGenerationColumns) writes the CSV, the results file and the checkpoint alike.
struct GenerationRecord {
  double generation = 0;
  double queries = 0;         // queries used so far
  double best_accuracy = 0;   // best accuracy found so far
  double best_query = 0;      // which query found it (1-based, the row of queries.csv)
  double candidates = 0;      // architectures proposed this generation
  double newly_scored = 0;    // of them, architectures scored by epsilon for the first time
  double population_epsilon_mean = 0;    // over the population's members with a finite float32 epsilon
  double population_epsilon_median = 0;
  double population_epsilon_nan_share = 0;  // share of the population whose float32 epsilon is NaN
  double predictor_tau_population = 0;   // Kendall tau, predictions vs accuracy over the population
  double predictor_tau_evaluated = 0;    // the same over this generation's evaluated architectures (before their labels)
  double failed_evaluations = 0;         // this generation's evaluations that gave no accuracy
  double population_mflops_mean = 0;     // the hardware cost of the population (NaN where the space has no cost model)
  double population_mflops_max = 0;
  double population_latency_ms_mean = 0;  // from search.latency_table (NaN without one)
  double population_latency_ms_max = 0;
  // Before the proposals: the evaluator readying itself (search.supernet = "train": the
  // supernet's warm-up before generation 0, its next epochs before each later one).
  double seconds_evaluator_training = 0;
  double seconds_propose = 0, seconds_score = 0, seconds_predictor = 0, seconds_evaluate = 0;
  double seconds_checkpoint = 0;  // of the previous generation (this one's is not over when the row is written)
  double seconds_total = 0;
};

struct GenerationColumn {
  const char* name;
  double GenerationRecord::*field;
};
inline constexpr GenerationColumn kGenerationColumns[] = {
    {"generation", &GenerationRecord::generation},
    {"queries", &GenerationRecord::queries},
    {"best_accuracy", &GenerationRecord::best_accuracy},
    {"best_query", &GenerationRecord::best_query},
    {"candidates", &GenerationRecord::candidates},
    {"newly_scored", &GenerationRecord::newly_scored},
    {"population_epsilon_mean", &GenerationRecord::population_epsilon_mean},
    {"population_epsilon_median", &GenerationRecord::population_epsilon_median},
    {"population_epsilon_nan_share", &GenerationRecord::population_epsilon_nan_share},
    {"predictor_tau_population", &GenerationRecord::predictor_tau_population},
    {"predictor_tau_evaluated", &GenerationRecord::predictor_tau_evaluated},
    {"failed_evaluations", &GenerationRecord::failed_evaluations},
    {"population_mflops_mean", &GenerationRecord::population_mflops_mean},
    {"population_mflops_max", &GenerationRecord::population_mflops_max},
    {"population_latency_ms_mean", &GenerationRecord::population_latency_ms_mean},
    {"population_latency_ms_max", &GenerationRecord::population_latency_ms_max},
    {"seconds_evaluator_training", &GenerationRecord::seconds_evaluator_training},
    {"seconds_propose", &GenerationRecord::seconds_propose},
    {"seconds_score", &GenerationRecord::seconds_score},
    {"seconds_predictor", &GenerationRecord::seconds_predictor},
    {"seconds_evaluate", &GenerationRecord::seconds_evaluate},
    {"seconds_checkpoint", &GenerationRecord::seconds_checkpoint},
    {"seconds_total", &GenerationRecord::seconds_total},
};

struct SearchState {
  std::int32_t next_generation = 0;  // generations completed
  std::vector<Query> queries;        // every evaluation, in query order
  std::vector<Architecture> population;  // aging population, oldest first
  std::vector<EpsilonRecord> epsilon;    // every scored architecture, in scoring order
  std::vector<GenerationRecord> generations;
};

}  // namespace hpcnas
