#pragma once
// What a rank does in the search's steps 3 and 5 (scheduler/search_loop.h): epsilon on its share
// of the candidates, and its replica of the TNASP predictor.

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "engine/config.h"
#include "engine/epsilon.h"
#include "scheduler/score_coordinator.h"
#include "scheduler/search_loop.h"
#include "workers/predictor_worker.h"

namespace hpcnas {

// Epsilon in float32 (the configured path) and in exact arithmetic (the one-channel network
// with tracked scale, which never underflows), spread over the ranks by the scoring protocol
// of scheduler/score_coordinator.h; rank 0 broadcasts the results.
class EpsilonCandidateScorer : public CandidateScorer {
 public:
  EpsilonCandidateScorer(const Config& config, const torch::Tensor& images, const FaultInjection& fault, int rank);
  StatusOr<std::vector<EpsilonRecord>> Score(Communicator& comm, const std::vector<std::int32_t>& codes) override;

 private:
  Seconds timeout_;
  std::unique_ptr<EpsilonScorer> float32_, exact_;
  const std::vector<std::int32_t>* codes_ = nullptr;  // of the Score call in progress
  ScoreAtPosition score_;
};

// The TNASP predictor replica, warm-started from generation to generation: each Train call
// runs search.predictor_epochs more epochs (TrainPredictor, fresh cosine schedule) on every
// label so far; the dropout and batch streams are keyed by the generation.
class TnaspSearchPredictor : public SearchPredictor {
 public:
  TnaspSearchPredictor(const Config& config, const tnasp::ModelOptions& options);
  Status Train(Communicator& comm, const std::vector<Query>& labelled, const std::vector<std::int32_t>& unlabelled,
               std::int32_t generation) override;
  StatusOr<std::vector<double>> Predict(Communicator& comm, const std::vector<std::int32_t>& codes) override;

  PredictorFile Export() { return ToPredictorFile(predictor_); }
  Status Import(const PredictorFile& file);

 private:
  PredictorConfig config_;
  std::uint64_t seed_;
  Seconds timeout_;
  Predictor predictor_;
};

}  // namespace hpcnas
