#include "workers/search_workers.h"

#include <limits>

#include "engine/core/rng.h"
#include "workers/runtime.h"
#include "workers/score_worker.h"

namespace hpcnas {
namespace {

enum StreamPurpose : std::uint64_t { kPredictorRoundStream = 0x70726564 };

// The predictor runs on one intra-op thread: LibTorch splits some reductions by thread count,
// and the search must give bitwise the same predictor whatever the ranks and threads per rank
// (measured: a lone process with 2 threads drifted from 2 ranks x 1 thread). The network is
// small; the ranks, not threads, share its work.
class OneThread {
 public:
  OneThread() : previous_(torch::get_num_threads()) { torch::set_num_threads(1); }
  ~OneThread() { torch::set_num_threads(previous_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int previous_;
};

}  // namespace

StatusOr<std::unique_ptr<EpsilonCandidateScorer>> EpsilonCandidateScorer::Make(const SearchSpace& space, const Config& config,
                                                                                 const torch::Tensor& images,
                                                                                 const FaultInjection& fault, int rank) {
  std::unique_ptr<EpsilonCandidateScorer> scorer(new EpsilonCandidateScorer(Seconds(config.runtime.timeout_s)));
  EpsilonScorerOptions options = EpsilonScorerOptionsFromConfig(config.epsilon);
  HPCNAS_ASSIGN_OR_RETURN(scorer->float32_, MakeEpsilonScorer(space, images, options));
  if (space.name() == "nb201") {
    options.exact = true;
    HPCNAS_ASSIGN_OR_RETURN(scorer->exact_, MakeEpsilonScorer(space, images, options));
  }
  // Wrapped once, so an injected fault counts architectures over the whole run.
  EpsilonCandidateScorer* self = scorer.get();
  scorer->score_ = WithFaultInjection(
      [self](int64_t position) {
        const Architecture& arch = (*self->archs_)[position];
        const double exact = self->exact_ ? self->exact_->Score(arch) : std::numeric_limits<double>::quiet_NaN();
        return std::vector<double>{self->float32_->Score(arch), exact};
      },
      fault, rank);
  return scorer;
}

StatusOr<std::vector<EpsilonRecord>> EpsilonCandidateScorer::Score(Communicator& comm, const std::vector<Architecture>& archs) {
  if (archs.empty()) return std::vector<EpsilonRecord>();
  archs_ = &archs;
  ScoreProtocolOptions options;
  options.values_per_item = 2;
  options.timeout = timeout_;
  options.max_chunk = 64;  // a fast-path NB201 cell takes milliseconds
  std::vector<double> values;
  if (comm.rank() == 0) {
    HPCNAS_ASSIGN_OR_RETURN(ScoreOutcome outcome, RunScoreCoordinator(comm, static_cast<int64_t>(archs.size()), score_, options));
    values = std::move(outcome.values);
  } else {
    HPCNAS_RETURN_IF_ERROR(RunScoreWorker(comm, score_, options));
  }
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, values, 0, timeout_).WithContext("broadcasting epsilon scores"));
  if (values.size() != 2 * archs.size()) return Status::Communication("epsilon broadcast has the wrong length");
  std::vector<EpsilonRecord> records;
  for (std::size_t i = 0; i < archs.size(); ++i) records.push_back({archs[i], values[2 * i], values[2 * i + 1]});
  return records;
}

TnaspSearchPredictor::TnaspSearchPredictor(const SearchSpace& space, const Config& config, const tnasp::ModelOptions& options)
    : space_(space),
      config_(config.predictor), seed_(config.search.seed), timeout_(config.runtime.timeout_s), predictor_(options, config.search.seed) {
  config_.epochs = config.search.predictor_epochs;
}

Status TnaspSearchPredictor::Train(Communicator& comm, const std::vector<Query>& labelled,
                                   const std::vector<Architecture>& unlabelled, std::int32_t generation) {
  TrainingData data;
  std::vector<Architecture> labelled_archs;
  for (const Query& q : labelled) {
    labelled_archs.push_back(q.arch);
    data.accuracy.push_back(q.accuracy);
  }
  data.labelled = tnasp::EncodeAll(space_, labelled_archs, predictor_.options);
  data.unlabelled = tnasp::EncodeAll(space_, unlabelled, predictor_.options);
  const std::uint64_t round_seed = CounterRng(seed_, {kPredictorRoundStream, static_cast<std::uint64_t>(generation)}).NextU64();
  const OneThread one_thread;
  try {
    return TrainPredictor(comm, predictor_, data, config_, round_seed, timeout_, nullptr);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("predictor training failed: ") + e.what());
  }
}

StatusOr<std::vector<double>> TnaspSearchPredictor::Predict(Communicator& comm, const std::vector<Architecture>& archs) {
  const OneThread one_thread;
  try {
    return PredictSharded(comm, predictor_, tnasp::EncodeAll(space_, archs, predictor_.options), timeout_);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("predictor failed: ") + e.what());
  }
}

Status TnaspSearchPredictor::Import(const PredictorFile& file) {
  HPCNAS_ASSIGN_OR_RETURN(Predictor restored, FromPredictorFile(file, predictor_.options));
  predictor_ = std::move(restored);
  return Status::Ok();
}

}  // namespace hpcnas
