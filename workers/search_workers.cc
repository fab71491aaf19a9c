#include "workers/search_workers.h"

#include "engine/epsilon_fast.h"
#include "engine/rng.h"
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

std::vector<nb201::Genotype> Genotypes(const std::vector<std::int32_t>& codes) {
  std::vector<nb201::Genotype> out;
  for (std::int32_t code : codes) out.push_back(nb201::Genotype::FromCode(code));
  return out;
}

}  // namespace

EpsilonCandidateScorer::EpsilonCandidateScorer(const Config& config, const torch::Tensor& images,
                                               const FaultInjection& fault, int rank)
    : timeout_(config.runtime.timeout_s) {
  const EpsilonWeights weights{config.epsilon.w1, config.epsilon.w2};
  float32_ = config.epsilon.path == "full" ? MakeFullNetworkEpsilonScorer(images, weights)
                                           : MakeOneChannelEpsilonScorer(images, weights);
  exact_ = MakeOneChannelEpsilonScorer(images, weights, EpsilonArithmetic::kScaledFloat64);
  // Wrapped once, so an injected fault counts architectures over the whole run.
  score_ = WithFaultInjection(
      [this](int64_t position) {
        const nb201::Genotype g = nb201::Genotype::FromCode((*codes_)[position]);
        return std::vector<double>{float32_->Score(g), exact_->Score(g)};
      },
      fault, rank);
}

StatusOr<std::vector<EpsilonRecord>> EpsilonCandidateScorer::Score(Communicator& comm, const std::vector<std::int32_t>& codes) {
  if (codes.empty()) return std::vector<EpsilonRecord>();
  codes_ = &codes;
  ScoreProtocolOptions options;
  options.values_per_item = 2;
  options.timeout = timeout_;
  options.max_chunk = 64;  // a fast-path cell takes milliseconds
  std::vector<double> values;
  if (comm.rank() == 0) {
    HPCNAS_ASSIGN_OR_RETURN(ScoreOutcome outcome, RunScoreCoordinator(comm, static_cast<int64_t>(codes.size()), score_, options));
    values = std::move(outcome.values);
  } else {
    HPCNAS_RETURN_IF_ERROR(RunScoreWorker(comm, score_, options));
  }
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, values, 0, timeout_).WithContext("broadcasting epsilon scores"));
  if (values.size() != 2 * codes.size()) return Status::Communication("epsilon broadcast has the wrong length");
  std::vector<EpsilonRecord> records;
  for (std::size_t i = 0; i < codes.size(); ++i) records.push_back({codes[i], values[2 * i], values[2 * i + 1]});
  return records;
}

TnaspSearchPredictor::TnaspSearchPredictor(const Config& config, const tnasp::ModelOptions& options)
    : config_(config.predictor), seed_(config.search.seed), timeout_(config.runtime.timeout_s), predictor_(options, config.search.seed) {
  config_.epochs = config.search.predictor_epochs;
}

Status TnaspSearchPredictor::Train(Communicator& comm, const std::vector<Query>& labelled,
                                   const std::vector<std::int32_t>& unlabelled, std::int32_t generation) {
  TrainingData data;
  for (const Query& q : labelled) {
    data.labelled.push_back(tnasp::Encode(nb201::Genotype::FromCode(q.code), predictor_.options.position,
                                          predictor_.options.eigen_count));
    data.accuracy.push_back(q.accuracy);
  }
  data.unlabelled = tnasp::EncodeAll(Genotypes(unlabelled), predictor_.options);
  const std::uint64_t round_seed = CounterRng(seed_, {kPredictorRoundStream, static_cast<std::uint64_t>(generation)}).NextU64();
  const OneThread one_thread;
  try {
    return TrainPredictor(comm, predictor_, data, config_, round_seed, timeout_, nullptr);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("predictor training failed: ") + e.what());
  }
}

StatusOr<std::vector<double>> TnaspSearchPredictor::Predict(Communicator& comm, const std::vector<std::int32_t>& codes) {
  const OneThread one_thread;
  try {
    return PredictSharded(comm, predictor_, tnasp::EncodeAll(Genotypes(codes), predictor_.options), timeout_);
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
