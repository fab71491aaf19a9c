#pragma once
// The search ("hpcnas search"): the generation loop of DESIGN section 2. Every rank runs this
// loop on its own replica of the SearchState; the replicas stay equal because every step is
// either a pure function of the state and the seed (the SearchPolicy, engine/policy/) or ends
// with the same values on every rank (collectives, or rank 0's broadcast). The loop knows no
// search space and no method: architectures are bytes, the policy decides. Generation g:
//
//  1. Propose (the policy, pure, every rank). Generation 0: "tnasp" draws initial_pool random
//     architectures, "evolution" and "random" draw initial_queries. Later: "tnasp" and
//     "evolution" propose children of tournament winners by mutation (crossover optional),
//     "random" draws random ones; all deduplicated by canonical hash against every evaluated
//     architecture and each other.
//  2. (policies that use epsilon) The candidates without an epsilon are partitioned over all ranks...
//  3. ...and scored on each rank's device (epsilon in float32 and in exact arithmetic);
//  4. ...the results come back to rank 0 by position and are broadcast, so every replica adds
//     the same scores whichever rank computed them and whenever they arrived.
//  5. (policies that use the predictor: "tnasp", g >= 1) Predictor round on all ranks: the predictor, warm-started from the last
//     generation, trains predictor_epochs on every label so far (all-gathered gradient
//     micro-batches; self-evolution constraints on the candidates all-gathered when enabled),
//     then predicts the candidates, each rank a shard, all-gathered.
//  6. Select (the policy, pure): "tnasp" gives the share search.explore of the queries to children in the
//     order they were proposed (regularised evolution's own choice), then ranks the rest of the
//     candidates by predictor and epsilon (search.selection; a NaN epsilon is unknown, never
//     last) and takes the best; the baselines take their candidates as drawn.
//  7. Evaluate (the Evaluator, collective: a tabular lookup, inherited supernet weights or a
//     user's command); every rank gets the accuracies. A failed evaluation is a NaN with its
//     reason: it stays a query, never asked again, but is no label and no population member.
//  8. The labels join the training set; the evaluated architectures join the aging population
//     and the oldest leave (regularised evolution).
//  9. Rank 0 records the generation and calls the checkpoint hook (atomic HDF5); every rank
//     learns whether that worked and whether any rank was asked to stop (a signal): then the
//     loop ends at this safe point with SearchEnd::kStopped.
// Before step 1 the evaluator may train (Evaluator::Prepare); a stop asked for during that
// training ends the loop there, without a checkpoint of the unfinished generation.
// Every collective has the runtime timeout; a peer that dies or hangs becomes an error naming
// it, which the caller turns into an abort of the whole job. Exceptions never leave RunSearch:
// one thrown by a service becomes an error status.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/config/config.h"
#include "engine/policy/search_policy.h"
#include "engine/policy/search_state.h"
#include "engine/space/hardware_cost.h"
#include "engine/core/status.h"

namespace hpcnas {

// Step 3: the zero-cost score (collective: every rank passes the same architectures and gets
// every record back).
class CandidateScorer {
 public:
  virtual ~CandidateScorer() = default;
  virtual StatusOr<std::vector<EpsilonRecord>> Score(Communicator& comm, const std::vector<Architecture>& archs) = 0;
};

// Step 5: an accuracy predictor held as a replica on every rank (collective calls).
class SearchPredictor {
 public:
  virtual ~SearchPredictor() = default;
  // Continues training on `labelled`; `unlabelled` are the architectures it is about to rank.
  virtual Status Train(Communicator& comm, const std::vector<Query>& labelled, const std::vector<Architecture>& unlabelled,
                       std::int32_t generation) = 0;
  virtual StatusOr<std::vector<double>> Predict(Communicator& comm, const std::vector<Architecture>& archs) = 0;
};

// What step 7 learned about one architecture: its accuracy (%), or NaN and why.
struct Evaluation {
  double accuracy = 0;
  std::string failure;  // empty when the accuracy is a number
};

// Step 7: the accuracy of each architecture (collective: every rank passes the same
// architectures and gets every evaluation back). A tabular lookup (workers/tabular_evaluator.h)
// asks rank 0's table; the supernet and command evaluators (workers/supernet_evaluator.h,
// workers/command_evaluator.h) spread their work over the ranks. An evaluation that fails on
// its own (a user's command that crashed) is a NaN with its reason; an error status is a failure
// of the job.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual StatusOr<std::vector<Evaluation>> Evaluate(Communicator& comm, const std::vector<Architecture>& archs) = 0;
  // Step 0, before generation g's proposals (collective): an evaluator that learns readies
  // itself (workers/supernet_evaluator.h trains its supernet: the warm-up before generation 0,
  // more epochs before each later one). False: a rank was asked to stop part-way; the loop then
  // ends at once, and the last checkpoint, from before this work, is where a resume starts.
  virtual StatusOr<bool> Prepare(Communicator& /*comm*/, std::int32_t /*generation*/,
                                 const std::function<bool()>& /*stop_requested*/) {
    return true;
  }
};

struct SearchHooks {
  // Rank 0, at the end of every generation, and when a stop ends the evaluator's training (the
  // state is then the last generation's, next_generation 0 before the first).
  std::function<Status(const SearchState&)> checkpoint;
  std::function<void(const SearchState&)> on_generation;  // rank 0, after the checkpoint
  std::function<bool()> stop_requested;                    // this rank was asked to stop
};

enum class SearchEnd { kFinished, kStopped };

struct SearchServices {
  SearchPolicy* policy = nullptr;
  Evaluator* evaluator = nullptr;
  CandidateScorer* scorer = nullptr;     // needed when policy->UsesEpsilon()
  SearchPredictor* predictor = nullptr;  // needed when policy->UsesPredictor(g) for some g
  const HardwareCost* cost = nullptr;    // the population's cost per generation, when the space has a cost model
};

// The seconds that generations state.next_generation .. generations - 1 will take: the mean of the
// last `generations_this_run` (each plus `checkpoint_seconds`), without generation 0's evaluator
// training (a supernet's warm-up happens once and may outlast every generation after it).
double SecondsLeft(const SearchState& state, std::int32_t generations, int generations_this_run, double checkpoint_seconds);

// Runs generations state.next_generation .. config.search.generations - 1 (collective).
StatusOr<SearchEnd> RunSearch(Communicator& comm, const Config& config, SearchState& state,
                              const SearchServices& services, const SearchHooks& hooks);

}  // namespace hpcnas
