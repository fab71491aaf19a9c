#pragma once
// The worker side of the scoring protocol (steps 3 and 5 of scheduler/score_coordinator.h):
// ask rank 0 for chunks, keep one queued, score, report, until told there is no more work.

#include "engine/comm/communicator.h"
#include "scheduler/score_coordinator.h"

namespace hpcnas {

Status RunScoreWorker(Communicator& comm, const ScoreAtPosition& score, const ScoreProtocolOptions& options);

}  // namespace hpcnas
