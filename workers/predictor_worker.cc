#include "workers/predictor_worker.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include "engine/core/rng.h"

namespace hpcnas {
namespace {

enum StreamPurpose : std::uint64_t { kEpochOrderStream = 10, kUnlabelledBatchStream = 11 };

// Predictions run in fixed blocks of positions, so a cell's prediction is computed in the same
// batch shape whatever the number of ranks, and is bitwise the same.
constexpr std::int64_t kPredictBlock = 256;

struct Range {
  std::int64_t begin, end;
  std::int64_t size() const { return end - begin; }
};
// Part `part` of `parts` contiguous parts of n items.
Range ShareOf(std::int64_t n, int part, int parts) { return {n * part / parts, n * (part + 1) / parts}; }

std::vector<tnasp::Encoding> Gather(const std::vector<tnasp::Encoding>& all, const std::vector<std::int64_t>& indices,
                                    Range range) {
  std::vector<tnasp::Encoding> out;
  for (std::int64_t i = range.begin; i < range.end; ++i) out.push_back(all[indices[i]]);
  return out;
}

// Standardised predictions of the network for the blocks [first_block, last_block), no dropout.
std::vector<float> PredictBlocks(Predictor& p, const std::vector<tnasp::Encoding>& encodings, Range blocks) {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  for (std::int64_t block = blocks.begin; block < blocks.end; ++block) {
    const auto first = static_cast<std::size_t>(block * kPredictBlock);
    const std::size_t last = std::min(encodings.size(), first + kPredictBlock);
    const std::vector<tnasp::Encoding> chunk(encodings.begin() + first, encodings.begin() + last);
    const torch::Tensor y = p.net->forward(tnasp::EncodeBatch(chunk, p.options), nullptr).contiguous();
    out.insert(out.end(), y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  }
  return out;
}

std::int64_t BlockCount(std::size_t n) { return (static_cast<std::int64_t>(n) + kPredictBlock - 1) / kPredictBlock; }

std::vector<float> PredictStandardised(Predictor& p, const std::vector<tnasp::Encoding>& encodings) {
  return PredictBlocks(p, encodings, {0, BlockCount(encodings.size())});
}

StatusOr<std::vector<float>> PredictStandardisedSharded(Communicator& comm, Predictor& p,
                                                        const std::vector<tnasp::Encoding>& encodings, Seconds timeout) {
  const Range mine = ShareOf(BlockCount(encodings.size()), comm.rank(), comm.size());
  return AllGatherConcat(comm, PredictBlocks(p, encodings, mine), timeout);
}

// torch.optim.Adam's update (coupled L2 weight decay) on one parameter, reading its gradient
// from the all-reduced flat buffer.
void AdamUpdate(torch::Tensor& parameter, const float* gradient, float* m, float* v, double lr, double weight_decay,
                std::int64_t step) {
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  const double bias1 = 1 - std::pow(kBeta1, step), bias2_sqrt = std::sqrt(1 - std::pow(kBeta2, step));
  const auto step_size = static_cast<float>(lr / bias1);
  float* theta = parameter.data_ptr<float>();
  for (std::int64_t j = 0; j < parameter.numel(); ++j) {
    const float g = gradient[j] + static_cast<float>(weight_decay) * theta[j];
    m[j] = static_cast<float>(kBeta1) * m[j] + static_cast<float>(1 - kBeta1) * g;
    v[j] = static_cast<float>(kBeta2) * v[j] + static_cast<float>(1 - kBeta2) * g * g;
    theta[j] -= step_size * m[j] / (std::sqrt(v[j]) / static_cast<float>(bias2_sqrt) + static_cast<float>(kEps));
  }
}

// One step's global batch: indices into the labelled set and into the unlabelled pool.
struct GlobalBatch {
  std::vector<std::int64_t> labelled, unlabelled;
};

// Step 2 of the header's protocol: forward and backward over micro-batch `shard` of `shards` of
// the global batch. Leaves the gradient of its part of the global loss in the parameters'
// .grad() and returns its two loss sums (labelled, constraint).
std::pair<float, float> BackwardOnShard(Predictor& p, const TrainingData& data, const std::vector<float>& targets,
                                        const std::vector<float>& previous_predictions, const GlobalBatch& batch,
                                        double constraint_weight, std::uint64_t seed, std::uint64_t step_key,
                                        int shard, int shards) {
  const auto n_labelled = static_cast<std::int64_t>(batch.labelled.size());
  const auto n_unlabelled = static_cast<std::int64_t>(batch.unlabelled.size());
  const Range mine = ShareOf(n_labelled, shard, shards);
  const Range mine_unlabelled = ShareOf(n_unlabelled, shard, shards);
  if (mine.size() + mine_unlabelled.size() == 0) return {0.0f, 0.0f};

  // One forward pass over both groups. Places in the global batch: labelled 0..B_l-1,
  // unlabelled B_l..B_l+B_u-1; masks and sign flips are keyed by them.
  std::vector<tnasp::Encoding> encodings = Gather(data.labelled, batch.labelled, mine);
  const std::vector<tnasp::Encoding> unlabelled = Gather(data.unlabelled, batch.unlabelled, mine_unlabelled);
  encodings.insert(encodings.end(), unlabelled.begin(), unlabelled.end());
  const std::int64_t unlabelled_place = n_labelled + mine_unlabelled.begin;
  tnasp::EncodedBatch encoded = tnasp::EncodeBatch(encodings, p.options);
  auto rows = [&](std::int64_t from, std::int64_t count) {
    return tnasp::EncodedBatch{encoded.token_ids.narrow(0, from, count), encoded.positions.narrow(0, from, count)};
  };
  tnasp::EncodedBatch labelled_rows = rows(0, mine.size()), unlabelled_rows = rows(mine.size(), mine_unlabelled.size());
  tnasp::FlipEigenSigns(labelled_rows, p.options, seed, step_key, mine.begin);
  tnasp::FlipEigenSigns(unlabelled_rows, p.options, seed, step_key, unlabelled_place);
  std::optional<tnasp::DropoutMasks> masks;
  if (p.options.dropout > 0) {
    masks = tnasp::DrawDropoutMasks(p.options, seed, step_key, mine.begin, mine.size());
    if (mine_unlabelled.size() > 0) {
      masks->values = torch::cat(
          {masks->values,
           tnasp::DrawDropoutMasks(p.options, seed, step_key, unlabelled_place, mine_unlabelled.size()).values});
    }
  }
  const torch::Tensor predictions = p.net->forward(encoded, masks ? &*masks : nullptr);

  std::vector<float> wanted;
  for (std::int64_t i = mine.begin; i < mine.end; ++i) wanted.push_back(targets[batch.labelled[i]]);
  for (std::int64_t i = mine_unlabelled.begin; i < mine_unlabelled.end; ++i) {
    wanted.push_back(previous_predictions[batch.unlabelled[i]]);
  }
  const torch::Tensor squared = (predictions - torch::tensor(wanted)).pow(2);
  const torch::Tensor labelled_loss = squared.narrow(0, 0, mine.size()).sum();
  const torch::Tensor constraint_loss = squared.narrow(0, mine.size(), mine_unlabelled.size()).sum();
  torch::Tensor loss = labelled_loss / static_cast<double>(n_labelled);
  if (n_unlabelled > 0) loss = loss + constraint_loss * (constraint_weight / n_unlabelled);
  loss.backward();
  return {labelled_loss.item<float>(), constraint_loss.item<float>()};
}

// Every parameter's gradient (zeros where a micro-batch was empty), flat, into `out`.
void CopyGradients(const std::vector<torch::Tensor>& parameters, float* out) {
  for (const torch::Tensor& parameter : parameters) {
    const auto n = static_cast<std::size_t>(parameter.numel());
    if (parameter.grad().defined()) {
      const torch::Tensor g = parameter.grad().contiguous();
      std::copy(g.data_ptr<float>(), g.data_ptr<float>() + n, out);
    } else {
      std::fill(out, out + n, 0.0f);
    }
    out += n;
  }
}

// Step 3: the micro-batches' slots, gathered from the ranks that computed them (shard m on
// rank m mod size), summed in shard order: the same float additions on any number of ranks.
Status SumShardsInOrder(const std::vector<Bytes>& gathered, int shards, std::size_t slot, std::vector<float>& sum) {
  const auto size = static_cast<int>(gathered.size());
  std::fill(sum.begin(), sum.end(), 0.0f);
  for (int shard = 0; shard < shards; ++shard) {
    const Bytes& part = gathered[shard % size];
    const std::size_t offset = static_cast<std::size_t>(shard / size) * slot * sizeof(float);
    if (part.size() < offset + slot * sizeof(float)) {
      return Status::Communication("predictor gradients from rank " + std::to_string(shard % size) + " are short");
    }
    const auto* values = reinterpret_cast<const float*>(part.data() + offset);
    for (std::size_t j = 0; j < slot; ++j) sum[j] += values[j];
  }
  return Status::Ok();
}

}  // namespace

StatusOr<tnasp::ModelOptions> ModelOptionsFromConfig(const PredictorConfig& c) {
  tnasp::ModelOptions o;
  o.d_model = c.d_model;
  o.heads = c.heads;
  o.layers = c.layers;
  o.feedforward = c.feedforward;
  o.head_hidden = c.head_hidden;
  o.dropout = c.dropout;
  HPCNAS_ASSIGN_OR_RETURN(o.position, tnasp::ParsePositionKind(c.position));
  o.eigen_count = c.eigen_count;
  return o;
}

Predictor::Predictor(const tnasp::ModelOptions& model_options, std::uint64_t seed)
    : options(model_options), net(model_options) {
  tnasp::InitialiseParameters(net, seed);
  const auto n = static_cast<std::size_t>(tnasp::ParameterCount(net));
  adam.first_moment.assign(n, 0.0f);
  adam.second_moment.assign(n, 0.0f);
}

Status TrainPredictor(Communicator& comm, Predictor& p, const TrainingData& data, const PredictorConfig& config,
                      std::uint64_t seed, Seconds timeout, const std::function<void(const EpochReport&)>& on_epoch) {
  const auto n_labelled = static_cast<std::int64_t>(data.labelled.size());
  if (n_labelled < 2 || data.accuracy.size() != data.labelled.size()) {
    return Status::InvalidInput("predictor training needs at least 2 labelled architectures with one accuracy each");
  }
  const bool self_evolution = config.self_evolution_rounds >= 2;
  if (self_evolution && data.unlabelled.empty()) {
    return Status::InvalidInput("self-evolution needs unlabelled architectures");
  }
  const double mean = std::accumulate(data.accuracy.begin(), data.accuracy.end(), 0.0) / n_labelled;
  double variance = 0;
  for (double a : data.accuracy) variance += (a - mean) * (a - mean);
  p.target_mean = mean;
  p.target_std = std::sqrt(variance / n_labelled);
  if (!(p.target_std > 0)) return Status::InvalidInput("predictor training: all labelled accuracies are equal");
  std::vector<float> targets(n_labelled);
  for (std::int64_t i = 0; i < n_labelled; ++i) targets[i] = static_cast<float>((data.accuracy[i] - mean) / p.target_std);

  std::vector<torch::Tensor> parameters = p.net->parameters();
  const auto parameter_count = static_cast<std::size_t>(tnasp::ParameterCount(p.net));
  const std::size_t slot = parameter_count + 2;  // a micro-batch's gradients, then its two loss sums
  const int shards = config.gradient_shards;
  std::vector<float> mine, fused(slot);

  const int batch_size = config.batch_size;
  const std::int64_t steps_per_epoch = (n_labelled + batch_size - 1) / batch_size;
  const std::int64_t total_steps = steps_per_epoch * config.epochs;
  const int rounds = self_evolution ? config.self_evolution_rounds : 1;
  std::vector<float> previous_predictions;  // yhat on data.unlabelled, standardised

  std::int64_t global_step = 0;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    const int round = static_cast<int>(static_cast<std::int64_t>(epoch) * rounds / config.epochs);
    const bool round_starts = epoch == 0 || round != static_cast<int>(static_cast<std::int64_t>(epoch - 1) * rounds / config.epochs);
    if (self_evolution && round_starts && round >= 1) {
      HPCNAS_ASSIGN_OR_RETURN(previous_predictions, PredictStandardisedSharded(comm, p, data.unlabelled, timeout));
    }
    const bool constrained = self_evolution && round >= 1;

    CounterRng order_rng(seed, {kEpochOrderStream, static_cast<std::uint64_t>(epoch)});
    const std::vector<std::int64_t> order = SampleWithoutReplacement(order_rng, n_labelled, n_labelled);
    double epoch_labelled = 0, epoch_constraint = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++global_step) {
      const std::int64_t first = s * batch_size;
      const std::int64_t labelled_in_batch = std::min<std::int64_t>(batch_size, n_labelled - first);
      GlobalBatch batch{{order.begin() + first, order.begin() + first + labelled_in_batch}, {}};
      if (constrained) {
        CounterRng pick(seed, {kUnlabelledBatchStream, static_cast<std::uint64_t>(global_step)});
        for (int i = 0; i < batch_size; ++i) {
          batch.unlabelled.push_back(static_cast<std::int64_t>(pick.NextBelow(data.unlabelled.size())));
        }
      }
      mine.clear();
      for (int shard = comm.rank(); shard < shards; shard += comm.size()) {
        for (torch::Tensor& parameter : parameters) {
          if (parameter.grad().defined()) parameter.grad().zero_();
        }
        const auto [labelled_sum, constraint_sum] =
            BackwardOnShard(p, data, targets, previous_predictions, batch, config.self_evolution_weight, seed,
                            static_cast<std::uint64_t>(global_step), shard, shards);
        mine.resize(mine.size() + slot);
        float* out = mine.data() + mine.size() - slot;
        CopyGradients(parameters, out);
        out[parameter_count] = labelled_sum;
        out[parameter_count + 1] = constraint_sum;
      }
      StatusOr<std::vector<Bytes>> gathered = comm.AllGather(ToBytes(mine), timeout);
      if (!gathered.ok()) return gathered.status().WithContext("predictor gradient all-gather");
      HPCNAS_RETURN_IF_ERROR(SumShardsInOrder(*gathered, shards, slot, fused));

      const double lr = config.learning_rate * 0.5 * (1 + std::cos(M_PI * static_cast<double>(global_step) / total_steps));
      ++p.adam.step;
      torch::NoGradGuard no_grad;
      std::size_t offset = 0;
      for (torch::Tensor& parameter : parameters) {
        AdamUpdate(parameter, fused.data() + offset, p.adam.first_moment.data() + offset,
                   p.adam.second_moment.data() + offset, lr, config.weight_decay, p.adam.step);
        offset += static_cast<std::size_t>(parameter.numel());
      }
      epoch_labelled += fused[parameter_count] / labelled_in_batch;
      if (!batch.unlabelled.empty()) epoch_constraint += fused[parameter_count + 1] / batch.unlabelled.size();
    }
    if (on_epoch) {
      on_epoch({epoch + 1, config.epochs, round + 1, epoch_labelled / steps_per_epoch, epoch_constraint / steps_per_epoch,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()});
    }
  }
  return Status::Ok();
}

namespace {

std::vector<double> ToAccuracy(const Predictor& p, const std::vector<float>& standardised) {
  std::vector<double> out(standardised.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = standardised[i] * p.target_std + p.target_mean;
  return out;
}

}  // namespace

std::vector<double> Predict(Predictor& p, const std::vector<tnasp::Encoding>& encodings) {
  return ToAccuracy(p, PredictStandardised(p, encodings));
}

StatusOr<std::vector<double>> PredictSharded(Communicator& comm, Predictor& p, const std::vector<tnasp::Encoding>& encodings,
                                             Seconds timeout) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<float> standardised, PredictStandardisedSharded(comm, p, encodings, timeout));
  return ToAccuracy(p, standardised);
}

std::vector<float> FlatParameters(Predictor& p) {
  std::vector<float> flat;
  for (const torch::Tensor& parameter : p.net->parameters()) {
    const torch::Tensor c = parameter.detach().contiguous();
    flat.insert(flat.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return flat;
}

PredictorFile ToPredictorFile(Predictor& p) {
  PredictorFile file;
  for (const auto& item : p.net->named_parameters()) {
    const torch::Tensor c = item.value().detach().contiguous();
    file.parameters.push_back({item.key(), c.sizes().vec(), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())});
  }
  file.adam_first_moment = p.adam.first_moment;
  file.adam_second_moment = p.adam.second_moment;
  file.adam_step = p.adam.step;
  file.target_mean = p.target_mean;
  file.target_std = p.target_std;
  return file;
}

StatusOr<Predictor> FromPredictorFile(const PredictorFile& file, const tnasp::ModelOptions& options) {
  Predictor p(options, 0);
  const auto named = p.net->named_parameters();
  if (named.size() != file.parameters.size()) {
    return Status::InvalidInput("predictor file has " + std::to_string(file.parameters.size()) +
                                " parameter arrays; the network of its config has " + std::to_string(named.size()));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < named.size(); ++i) {
    const NamedArray& a = file.parameters[i];
    torch::Tensor target = named[i].value();
    if (a.name != named[i].key() || a.shape != target.sizes().vec() ||
        static_cast<std::int64_t>(a.values.size()) != target.numel()) {
      return Status::InvalidInput("predictor file parameter '" + a.name + "' does not match the network of its config (expected '" +
                                  named[i].key() + "' with " + std::to_string(target.numel()) + " values)");
    }
    std::copy(a.values.begin(), a.values.end(), target.data_ptr<float>());
  }
  if (file.adam_first_moment.size() != p.adam.first_moment.size()) {
    return Status::InvalidInput("predictor file optimizer state does not match the network");
  }
  p.adam = {file.adam_first_moment, file.adam_second_moment, file.adam_step};
  p.target_mean = file.target_mean;
  p.target_std = file.target_std;
  return p;
}

}  // namespace hpcnas
