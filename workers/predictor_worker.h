#pragma once
// What a rank does with the TNASP predictor: data-parallel training and sharded prediction
// (DESIGN section 2, step 5).
//
// Training, every step:
//   1. every rank draws the same global batch: the next batch_size labelled architectures of
//      the epoch's permutation and, with self-evolution from round 2 on, batch_size unlabelled
//      ones (both from counter-based streams keyed by the seed and the step);
//   2. the global batch is cut into gradient_shards fixed micro-batches; micro-batch m is
//      computed by rank m mod size, with dropout masks keyed by each sample's place in the
//      global batch: the gradient of its part of the global loss
//         sum_l (f(x_l) - y_l)^2 / B_l  +  lambda * sum_u (f(v_u) - yhat_u)^2 / B_u;
//   3. each micro-batch's gradients and two loss sums form one flat float slot; the slots are
//      all-gathered and every rank sums them in micro-batch order, so the sum is the same
//      float arithmetic on any number of ranks;
//   4. every rank applies the same Adam update (cosine-annealed learning rate), so replicas stay
//      identical, and a run gives bitwise the same predictor on 1, 2 or N ranks.
// At the start of every self-evolution round t >= 2 each rank predicts its shard of the
// unlabelled architectures and the shards are all-gathered: yhat for round t.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/config/config.h"
#include "engine/space/nb201.h"
#include "engine/predictor/tnasp_model.h"
#include "io/predictor_file.h"

namespace hpcnas {

StatusOr<tnasp::ModelOptions> ModelOptionsFromConfig(const PredictorConfig& config);

struct AdamState {
  std::vector<float> first_moment, second_moment;  // flat, in parameter order
  std::int64_t step = 0;
};

// A replica: the network, how its outputs map to accuracy, and its optimiser state.
struct Predictor {
  Predictor(const tnasp::ModelOptions& options, std::uint64_t seed);  // weights drawn from the seed
  tnasp::ModelOptions options;
  tnasp::TnaspNet net;
  double target_mean = 0, target_std = 1;
  AdamState adam;
};

struct EpochReport {
  int epoch = 0;             // 1-based
  int epochs = 0;
  int round = 1;             // self-evolution round, 1-based
  double labelled_loss = 0;  // mean over the epoch's steps of the global labelled MSE (standardised)
  double constraint_loss = 0;  // likewise for the self-evolution term (0 in round 1)
  double seconds = 0;        // this epoch, this rank
};

// Architectures arrive encoded (tnasp::EncodeAll), so the predictor works on any search space.
struct TrainingData {
  std::vector<tnasp::Encoding> labelled;
  std::vector<double> accuracy;              // one per labelled architecture, finite
  std::vector<tnasp::Encoding> unlabelled;   // self-evolution's v; may be empty when it is off
};

// Every rank calls this with the same data and config (collective). Sets the target
// standardisation from `data.accuracy`. Errors: a peer timing out or failing.
Status TrainPredictor(Communicator& comm, Predictor& predictor, const TrainingData& data, const PredictorConfig& config,
                      std::uint64_t seed, Seconds timeout, const std::function<void(const EpochReport&)>& on_epoch);

// Predicted accuracies (destandardised), no dropout, computed on this rank alone.
std::vector<double> Predict(Predictor& predictor, const std::vector<tnasp::Encoding>& encodings);
// The same, each rank predicting a contiguous shard of fixed-size blocks; every rank gets all
// predictions, bitwise equal to Predict's.
StatusOr<std::vector<double>> PredictSharded(Communicator& comm, Predictor& predictor,
                                             const std::vector<tnasp::Encoding>& encodings, Seconds timeout);

// All parameters in one flat vector, in net->parameters() order.
std::vector<float> FlatParameters(Predictor& predictor);

// To and from the file format; the file's arrays must match the network `options` builds.
PredictorFile ToPredictorFile(Predictor& predictor);
StatusOr<Predictor> FromPredictorFile(const PredictorFile& file, const tnasp::ModelOptions& options);

}  // namespace hpcnas
