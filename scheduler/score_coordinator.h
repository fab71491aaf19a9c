#pragma once
// The distributed scoring protocol ("hpcnas score"), rank 0's side. The worker side is
// workers/score_worker.h. Tags and messages are in io/messages.h.
//
//  1. Rank 0 validates the config, loads the architecture list and the images, and broadcasts
//     one ScoreJobSpec (or the error that stopped it) to every rank.
//  2. Every rank builds the same scorer from the spec; every rank, rank 0 included, scores.
//  3. Each worker rank sends two WorkerReports without results: it holds one chunk and keeps
//     one queued, so it never waits for rank 0 between chunks.
//  4. Rank 0 answers every report that wants more with a WorkAssignment: the next chunk of a
//     ChunkQueue (guided self-scheduling: large chunks first, small ones at the end, so a rank
//     that finishes early gets more), or "no more work".
//  5. A worker scores its chunks in order and sends one WorkerReport per chunk with the scores;
//     the report also asks for one more chunk until the worker has been told there are none.
//  6. Rank 0 scores chunks of its own from the same queue, one architecture at a time,
//     handling every arrived report in between, so no worker waits longer than one
//     architecture for an answer.
//  7. Scores are stored by position in the list, so the result is the same whichever rank
//     scored an architecture and whenever its report arrived.
//  8. Rank 0 is done when every position has a score and every worker's two opening reports
//     have been answered. A worker that holds work and stays silent longer than the timeout
//     is named in a kTimeout error; a worker waiting longer than the timeout for rank 0 names
//     rank 0. The caller turns either into an abort of the whole job.
//  9. The caller writes the outputs on rank 0; then all ranks agree on the final status.

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/core/status.h"

namespace hpcnas {

// Scores the architecture at a position of the job's list on this rank (may throw): exactly
// ScoreProtocolOptions::values_per_item values (e.g. epsilon, and its exact-arithmetic twin).
using ScoreAtPosition = std::function<std::vector<double>(int64_t position)>;

struct ScoreProtocolOptions {
  int values_per_item = 1;
  Seconds timeout{600};
  int64_t min_chunk = 1;
  int64_t max_chunk = 16;
  // Rank 0: called after each new result.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct ScoreOutcome {
  std::vector<double> values;   // values_per_item per position, position-major
  std::vector<double> seconds;  // per position
  double value(int64_t position, int k, int values_per_item) const { return values[position * values_per_item + k]; }
};

StatusOr<ScoreOutcome> RunScoreCoordinator(Communicator& comm, int64_t total, const ScoreAtPosition& score,
                                           const ScoreProtocolOptions& options);

}  // namespace hpcnas
