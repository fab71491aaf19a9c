#pragma once
// What a rank does in the search's steps 3 and 5 (scheduler/search_loop.h): epsilon on its share
// of the candidates, and its replica of the TNASP predictor.

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "engine/config/config.h"
#include "engine/metric/epsilon_spaces.h"
#include "scheduler/score_coordinator.h"
#include "scheduler/search_loop.h"
#include "workers/predictor_worker.h"

namespace hpcnas {

// Epsilon in float32 (the configured path) and, on NB201, in exact arithmetic (the one-channel
// network with tracked scale, which never underflows; NaN on the other spaces), spread over
// the ranks by the scoring protocol of scheduler/score_coordinator.h; rank 0 broadcasts the
// results. Errors: an epsilon option the space cannot honour.
class EpsilonCandidateScorer : public CandidateScorer {
 public:
  static StatusOr<std::unique_ptr<EpsilonCandidateScorer>> Make(const SearchSpace& space, const Config& config,
                                                                const torch::Tensor& images, const FaultInjection& fault,
                                                                int rank);
  StatusOr<std::vector<EpsilonRecord>> Score(Communicator& comm, const std::vector<Architecture>& archs) override;

 private:
  explicit EpsilonCandidateScorer(Seconds timeout) : timeout_(timeout) {}
  Seconds timeout_;
  std::unique_ptr<ArchitectureScorer> float32_, exact_;  // exact_ may be null
  const std::vector<Architecture>* archs_ = nullptr;  // of the Score call in progress
  ScoreAtPosition score_;
};

// The TNASP predictor replica, warm-started from generation to generation: each Train call
// runs search.predictor_epochs more epochs (TrainPredictor, fresh cosine schedule) on every
// label so far; the dropout and batch streams are keyed by the generation.
class TnaspSearchPredictor : public SearchPredictor {
 public:
  // `space` must outlive the predictor; `options` are for that space (ModelOptions::ForSpace).
  TnaspSearchPredictor(const SearchSpace& space, const Config& config, const tnasp::ModelOptions& options);
  Status Train(Communicator& comm, const std::vector<Query>& labelled, const std::vector<Architecture>& unlabelled,
               std::int32_t generation) override;
  StatusOr<std::vector<double>> Predict(Communicator& comm, const std::vector<Architecture>& archs) override;

  PredictorFile Export() { return ToPredictorFile(predictor_); }
  Status Import(const PredictorFile& file);

 private:
  const SearchSpace& space_;
  PredictorConfig config_;
  std::uint64_t seed_;
  Seconds timeout_;
  Predictor predictor_;
};

}  // namespace hpcnas
