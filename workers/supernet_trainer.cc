#include "workers/supernet_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <spdlog/fmt/fmt.h>

#include "engine/core/rng.h"
#include "engine/metric/epsilon.h"  // ImageBytesToTensor
#include "io/cifar.h"
#include "io/files.h"  // Checksum
#include "io/images/epsilon_images.h"

namespace hpcnas {
namespace {

// Counter-based stream purposes (DESIGN section 5).
constexpr std::uint64_t kEpochOrderKey = 0x73756f72ULL;   // "suor"
constexpr std::uint64_t kAugmentKey = 0x7375617567ULL;    // "suaug"
constexpr std::uint64_t kArchBatchKey = 0x7375617262ULL;  // "suarb"
constexpr std::uint64_t kFineTuneKey = 0x737566746eULL;   // "suftn"
constexpr int kSums = 6;  // SupernetTrainingState::epoch_sums

std::vector<float> Flat(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Rows `indices` of `source`, as one tensor on `device`.
torch::Tensor Gather(const torch::Tensor& source, const std::vector<std::int64_t>& indices, torch::Device device) {
  return source.index_select(0, torch::tensor(indices, torch::kLong)).to(device);
}

// Label-smoothed cross-entropy summed over the batch (the official
// cross_entropy_with_label_smoothing, times the batch size).
torch::Tensor SmoothedCrossEntropySum(const torch::Tensor& logits, const torch::Tensor& labels, double smoothing) {
  const torch::Tensor log_p = torch::log_softmax(logits, 1);
  const torch::Tensor nll = -log_p.gather(1, labels.unsqueeze(1)).squeeze(1);
  if (smoothing == 0) return nll.sum();
  return ((1 - smoothing) * nll - smoothing * log_p.mean(1)).sum();
}

// Training inputs of train rows `ids`: normalised, then each image randomly cropped (zero padding
// 4, i.e. the mean colour after normalisation) and flipped, drawn by (seed, stream, draw, image).
torch::Tensor CropAndFlip(const SupernetData& data, const std::vector<std::int64_t>& ids, std::uint64_t seed,
                          std::uint64_t stream, std::uint64_t draw) {
  const torch::Tensor normalised = data.Inputs(Gather(data.train_pixels, ids, torch::kCPU));
  const std::int64_t size = data.resolution;
  std::vector<torch::Tensor> images;
  for (std::int64_t i = 0; i < normalised.size(0); ++i) {
    CounterRng rng(seed, {stream, draw, static_cast<std::uint64_t>(ids[static_cast<std::size_t>(i)])});
    const std::int64_t dy = static_cast<std::int64_t>(rng.NextBelow(9)), dx = static_cast<std::int64_t>(rng.NextBelow(9));
    torch::Tensor image = torch::constant_pad_nd(normalised[i], {4, 4, 4, 4}).narrow(1, dy, size).narrow(2, dx, size);
    if (rng.NextBelow(2) == 1) image = image.flip({2});
    images.push_back(image);
  }
  return torch::stack(images);
}

double Correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<double>();
}

}  // namespace

torch::Tensor SupernetData::Inputs(const torch::Tensor& pixels) const {
  const torch::Tensor bytes = pixels.contiguous();
  const std::int64_t size = bytes.size(2);
  torch::Tensor x = ImageBytesToTensor(bytes.data_ptr<std::uint8_t>(), bytes.size(0), size, mean.data(), stddev.data());
  if (size == resolution) return x;
  return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                   .size(std::vector<std::int64_t>{resolution, resolution})
                                                   .mode(torch::kBilinear)
                                                   .align_corners(false));
}

StatusOr<SupernetData> LoadSupernetData(const SupernetConfig& config) {
  const std::int64_t needed = config.train_images + config.valid_images;
  const std::string counts = "supernet.train_images " + std::to_string(config.train_images) + " + supernet.valid_images " +
                             std::to_string(config.valid_images);
  SupernetData data;
  data.resolution = config.resolution;
  std::vector<std::uint8_t> pixels;
  std::int64_t size = 32;
  std::vector<std::int64_t> labels;
  std::int64_t classes = 10;
  Checksum fingerprint;
  if (IsImageSourceSpec(config.data)) {
    StatusOr<LabelledImages> subset = LoadImageSubset(config.data, needed, static_cast<int>(config.resolution), config.seed,
                                                      torch::get_num_threads());
    if (!subset.ok()) return Status::InvalidInput("supernet.data: " + subset.status().message() + " (" + counts + ")");
    fingerprint.Add(Fingerprint(subset->images));
    pixels = std::move(subset->images.pixels);
    size = subset->images.size;
    data.mean = subset->images.mean;
    data.stddev = subset->images.stddev;
    labels.assign(subset->labels.begin(), subset->labels.end());
    classes = subset->num_classes;
  } else {
    StatusOr<CifarImages> images = LoadCifarImages(config.data, needed);
    if (!images.ok()) return Status::InvalidInput(images.status().message() + " (" + counts + " records needed)");
    fingerprint.Add(images->pixels);
    pixels = std::move(images->pixels);
    data.mean.assign(kCifarMean, kCifarMean + 3);
    data.stddev.assign(kCifarStd, kCifarStd + 3);
    labels.assign(images->labels.begin(), images->labels.end());
  }
  if (classes != config.num_classes) {
    return Status::InvalidInput("supernet.data '" + config.data + "' has " + std::to_string(classes) +
                                " classes but supernet.num_classes is " + std::to_string(config.num_classes));
  }
  const torch::Tensor all = torch::from_blob(pixels.data(), {needed, 3, size, size}, torch::kUInt8);
  const torch::Tensor all_labels = torch::tensor(labels, torch::kLong);
  data.train_pixels = all.slice(0, 0, config.train_images).clone();
  data.train_labels = all_labels.slice(0, 0, config.train_images).contiguous();
  data.valid_pixels = all.slice(0, config.train_images, needed).clone();
  data.valid_labels = all_labels.slice(0, config.train_images, needed).contiguous();
  fingerprint.Add(labels);
  data.fingerprint = Hex64(fingerprint.value());
  HPCNAS_RETURN_IF_ERROR(CheckFingerprint(config.data_fingerprint, data.fingerprint, "supernet.data_fingerprint", config.data));
  return data;
}

StatusOr<SupernetCosts> PriceSupernet(const SupernetPlan& plan, const LatencyTable* latency) {
  SupernetCosts costs;
  costs.mflops.fixed = static_cast<double>(plan.FixedFlops()) / 1e6;
  if (latency) {
    CostModel& ms = costs.latency_ms.emplace();
    ms.scale = latency->calibration_scale;
    ms.offset = latency->calibration_offset_ms;
    for (const BlockPlan& block : plan.base.blocks) {
      if (block.position >= 0) continue;
      HPCNAS_ASSIGN_OR_RETURN(const double value, latency->Lookup(BlockLatencyKey(block)));
      ms.fixed += value;
    }
    HPCNAS_ASSIGN_OR_RETURN(const double classifier,
                            latency->Lookup(ClassifierLatencyKey(plan.base.classifier_in, plan.base.classifier_out)));
    ms.fixed += classifier;
  }
  for (const std::vector<BlockPlan>& position : plan.candidates) {
    std::vector<double> mflops, ms;
    for (const BlockPlan& block : position) {
      mflops.push_back(static_cast<double>(block.Flops()) / 1e6);
      if (latency) {
        HPCNAS_ASSIGN_OR_RETURN(const double value, latency->Lookup(BlockLatencyKey(block)));
        ms.push_back(value);
      }
    }
    costs.mflops.candidate.push_back(std::move(mflops));
    if (latency) costs.latency_ms->candidate.push_back(std::move(ms));
  }
  return costs;
}

ChainNetworkOptions SupernetNetworkOptions(const ChainSpace& space, const SupernetConfig& config) {
  ChainNetworkOptions options;
  options.resolution = config.resolution;
  options.num_classes = config.num_classes;
  if (space.name() == "proxyless") options.width_multiplier = config.width_multiplier;
  return options;
}

namespace {

// supernet.derive = "target": the model of the target and the bounds of its sum over positions.
struct DeriveBand {
  const CostModel* model;
  double low, high;
};

DeriveBand TargetBand(const SupernetConfig& config, const SupernetCosts& costs) {
  const bool flops = config.target_mflops > 0;
  const CostModel& model = flops ? costs.mflops : *costs.latency_ms;
  const double target = flops ? config.target_mflops : config.target_latency_ms;
  // model total = scale * (fixed + sum) + offset, in [low, high] x target.
  const auto sum_at = [&](double total) { return (total - model.offset) / model.scale - model.fixed; };
  return {&model, sum_at(config.derive_band_low * target), sum_at(config.derive_band_high * target)};
}

// CheckDeriveTarget with the supernet already priced.
Status CheckDeriveBand(const ChainSpace& space, const SupernetConfig& config, const SupernetCosts& costs) {
  if (config.derive != "target") return Status::Ok();
  if (config.target_mflops <= 0 && (config.target_latency_ms <= 0 || !costs.latency_ms)) {
    return Status::InvalidInput("supernet.derive = 'target' needs supernet.target_mflops, or supernet.target_latency_ms "
                                "with supernet.latency_table");
  }
  const DeriveBand band = TargetBand(config, costs);
  std::vector<std::vector<double>> even;  // whether an architecture lies in the band does not depend on p
  for (const std::vector<double>& position : band.model->candidate) even.emplace_back(position.size(), 0.0);
  if (MostProbableWithinCost(even, band.model->candidate, band.low, band.high)) return Status::Ok();
  const bool flops = config.target_mflops > 0;
  return Status::InvalidInput(fmt::format("supernet.derive = 'target': no architecture of space {} has {} within [{:g}, {:g}] x "
                                          "supernet.{} {:g}", space.name(), flops ? "FLOPs" : "a latency",
                                          config.derive_band_low, config.derive_band_high,
                                          flops ? "target_mflops" : "target_latency_ms",
                                          flops ? config.target_mflops : config.target_latency_ms));
}

}  // namespace

Status CheckDeriveTarget(const ChainSpace& space, const SupernetConfig& config, const LatencyTable* latency) {
  if (config.derive != "target") return Status::Ok();
  HPCNAS_ASSIGN_OR_RETURN(const SupernetPlan plan, PlanSupernet(space, SupernetNetworkOptions(space, config)));
  HPCNAS_ASSIGN_OR_RETURN(const SupernetCosts costs, PriceSupernet(plan, latency));
  return CheckDeriveBand(space, config, costs);
}

SupernetTrainer::SupernetTrainer(const ChainSpace& space, const SupernetConfig& config, torch::Device device)
    : space_(space), config_(config), device_(device) {}

StatusOr<std::unique_ptr<SupernetTrainer>> SupernetTrainer::Make(const ChainSpace& space, const SupernetConfig& config,
                                                                 torch::Device device, const LatencyTable* latency) {
  std::unique_ptr<SupernetTrainer> t(new SupernetTrainer(space, config, device));
  t->latency_table_ = latency;
  HPCNAS_ASSIGN_OR_RETURN(t->mode_, ParseGateMode(config.gate_mode));
  const ChainNetworkOptions options = SupernetNetworkOptions(space, config);
  HPCNAS_ASSIGN_OR_RETURN(const SupernetPlan plan, PlanSupernet(space, options));
  HPCNAS_ASSIGN_OR_RETURN(t->costs_, PriceSupernet(plan, latency));
  HPCNAS_RETURN_IF_ERROR(CheckDeriveBand(space, config, t->costs_));
  t->net_ = SupernetImpl::Make(space, plan, options, config.seed);
  t->net_->to(device);
  t->net_->train();
  t->weights_ = t->net_->WeightParameters();
  t->momentum_.resize(t->weights_.size());
  for (MixedOp& m : t->net_->mixed_ops()) {
    t->state_.candidates.push_back(m->size());
    t->state_.adam_steps.push_back(0);
    t->state_.adam_first.insert(t->state_.adam_first.end(), m->size(), 0.0);
    t->state_.adam_second.insert(t->state_.adam_second.end(), m->size(), 0.0);
  }
  return t;
}

Architecture SupernetTrainer::Derive() {
  if (config_.derive != "target") return net_->Derive();
  const DeriveBand band = TargetBand(config_, costs_);
  std::vector<std::vector<double>> log_p;
  for (MixedOp& m : net_->mixed_ops()) {
    const torch::Tensor p = m->Probabilities();
    std::vector<double> row;
    for (std::int64_t k = 0; k < p.numel(); ++k) row.push_back(std::log(p[k].item<double>()));
    log_p.push_back(std::move(row));
  }
  const std::optional<std::vector<int>> choice = MostProbableWithinCost(log_p, band.model->candidate, band.low, band.high);
  return choice ? net_->FromCandidates(*choice) : net_->Derive();  // Make checked that the band holds one
}

double SupernetTrainer::LearningRate() const {
  // Cosine over the warm-up's steps, then again over the search's (the official schedule).
  const std::int64_t steps_per_epoch = config_.train_images / config_.batch_size;
  const bool warmup = in_warmup();
  const std::int64_t phase_epochs = warmup ? config_.warmup_epochs : config_.epochs;
  const std::int64_t phase_start = warmup ? 0 : config_.warmup_epochs;
  const double t = static_cast<double>((state_.epochs_done - phase_start) * steps_per_epoch + state_.step_in_epoch);
  return 0.5 * config_.learning_rate * (1 + std::cos(M_PI * t / static_cast<double>(phase_epochs * steps_per_epoch)));
}

torch::Tensor SupernetTrainer::Expected(const CostModel& model) {
  return model.scale * (net_->ExpectedCost(model.candidate) + model.fixed) + model.offset;
}

Status SupernetTrainer::SumOverMicroBatches(Communicator& comm, const std::vector<float>& mine, std::size_t slot,
                                            bool stop_here, Seconds timeout, std::vector<float>& sum, bool& stop) {
  std::vector<float> payload = mine;
  payload.push_back(stop_here ? 1.0f : 0.0f);
  StatusOr<std::vector<Bytes>> gathered = comm.AllGather(ToBytes(payload), timeout);
  if (!gathered.ok()) return gathered.status().WithContext("supernet gradient all-gather");
  sum.assign(slot, 0.0f);
  std::vector<std::vector<float>> parts;
  for (const Bytes& bytes : *gathered) {
    HPCNAS_ASSIGN_OR_RETURN(std::vector<float> part, FromBytes<float>(bytes));
    if (part.empty() || part.size() % slot != 1) return Status::Communication("a rank sent a malformed gradient slot");
    stop = stop || part.back() != 0.0f;
    parts.push_back(std::move(part));
  }
  const int size = comm.size();
  for (int m = 0; m < config_.micro_batches; ++m) {
    const std::vector<float>& part = parts[m % size];
    const float* s = part.data() + static_cast<std::size_t>(m / size) * slot;
    for (std::size_t i = 0; i < slot; ++i) sum[i] += s[i];
  }
  return Status::Ok();
}

Status SupernetTrainer::WeightStep(Communicator& comm, const SupernetData& data, const std::vector<std::int64_t>& order,
                                   Seconds timeout, bool& stop) {
  const std::int64_t batch = config_.batch_size;
  // The warm-up samples by p too: alpha is still at its N(0, 1e-3) start, p all but uniform.
  const bool uniform = !in_warmup() && config_.search_weight_paths == "uniform";
  net_->Binarize(mode_, 2 * static_cast<std::uint64_t>(state_.weight_steps), false, uniform);
  std::vector<torch::Tensor> active = net_->ActiveWeightParameters();
  std::size_t slot = 2;
  for (const torch::Tensor& w : active) slot += static_cast<std::size_t>(w.numel());

  std::vector<float> mine;
  for (int m = comm.rank(); m < config_.micro_batches; m += comm.size()) {
    const std::int64_t begin = state_.step_in_epoch * batch + m * batch / config_.micro_batches;
    const std::int64_t end = state_.step_in_epoch * batch + (m + 1) * batch / config_.micro_batches;
    const std::vector<std::int64_t> ids(order.begin() + begin, order.begin() + end);
    const torch::Tensor x =
        CropAndFlip(data, ids, config_.seed, kAugmentKey, static_cast<std::uint64_t>(state_.epochs_done)).to(device_);
    const torch::Tensor y = Gather(data.train_labels, ids, device_);
    for (torch::Tensor& w : weights_) w.mutable_grad() = torch::Tensor();
    const torch::Tensor logits = net_->forward(x);
    const torch::Tensor loss_sum = SmoothedCrossEntropySum(logits, y, config_.label_smoothing);
    (loss_sum / static_cast<double>(batch)).backward();
    const std::size_t at = mine.size();
    mine.resize(at + slot, 0.0f);
    std::size_t offset = at;
    for (const torch::Tensor& w : active) {
      if (w.grad().defined()) {
        const std::vector<float> g = Flat(w.grad());
        std::copy(g.begin(), g.end(), mine.begin() + static_cast<std::ptrdiff_t>(offset));
      }
      offset += static_cast<std::size_t>(w.numel());
    }
    mine[offset] = loss_sum.item<float>();
    mine[offset + 1] = static_cast<float>(Correct(logits, y));
  }
  // A stop waits for the architecture step that follows, if one does: a checkpoint falls
  // between whole (weight, architecture) pairs, so a resumed run takes the same steps.
  const bool arch_step_follows = !in_warmup() && (state_.step_in_epoch + 1) % config_.arch_every == 0;
  const bool stop_here = !arch_step_follows && stop_requested_ && stop_requested_();
  std::vector<float> sum;
  HPCNAS_RETURN_IF_ERROR(SumOverMicroBatches(comm, mine, slot, stop_here, timeout, sum, stop));
  if (!std::isfinite(sum[slot - 2])) {
    return Status::Internal("the weight loss is not finite at weight step " + std::to_string(state_.weight_steps + 1));
  }

  // SGD with Nesterov momentum and L2 decay, as torch.optim.SGD, on the weights that ran.
  const double lr = LearningRate(), momentum = config_.momentum;
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (torch::Tensor& w : active) {
    const auto index = static_cast<std::size_t>(std::find_if(weights_.begin(), weights_.end(),
                                                             [&](const torch::Tensor& t) { return t.is_same(w); }) -
                                                weights_.begin());
    torch::Tensor g = torch::from_blob(sum.data() + offset, w.sizes(), torch::kFloat32).to(device_).clone();
    offset += static_cast<std::size_t>(w.numel());
    if (config_.weight_decay != 0) g.add_(w, config_.weight_decay);
    torch::Tensor& buffer = momentum_[index];
    if (!buffer.defined()) {
      buffer = g.clone();
    } else {
      buffer.mul_(momentum).add_(g);
    }
    w.add_(g.add(buffer, momentum), -lr);
  }
  auto& sums = state_.epoch_sums;
  sums[0] += sum[slot - 2];
  sums[1] += sum[slot - 1];
  sums[2] += static_cast<double>(batch);
  ++state_.weight_steps;
  ++state_.step_in_epoch;
  return Status::Ok();
}

Status SupernetTrainer::ArchitectureStep(Communicator& comm, const SupernetData& data, Seconds timeout, bool& stop) {
  const std::int64_t batch = config_.batch_size;
  net_->Binarize(mode_, 2 * static_cast<std::uint64_t>(state_.arch_steps) + 1, true);
  CounterRng pick(config_.seed, {kArchBatchKey, static_cast<std::uint64_t>(state_.arch_steps)});
  const std::vector<std::int64_t> chosen = SampleWithoutReplacement(pick, data.valid_size(), batch);
  std::vector<MixedOp>& mixed = net_->mixed_ops();
  std::size_t slot = 2;
  for (MixedOp& m : mixed) slot += static_cast<std::size_t>(m->size());

  // Only the gates need a gradient here: the weights' would be thrown away.
  for (torch::Tensor& w : weights_) w.requires_grad_(false);
  std::vector<float> mine;
  for (int mb = comm.rank(); mb < config_.micro_batches; mb += comm.size()) {
    const std::vector<std::int64_t> part(chosen.begin() + mb * batch / config_.micro_batches,
                                         chosen.begin() + (mb + 1) * batch / config_.micro_batches);
    const torch::Tensor x = data.Inputs(Gather(data.valid_pixels, part, torch::kCPU)).to(device_);
    const torch::Tensor y = Gather(data.valid_labels, part, device_);
    for (MixedOp& m : mixed) m->SetGateGradient(torch::Tensor());
    const torch::Tensor logits = net_->forward(x);
    const torch::Tensor ce_sum = SmoothedCrossEntropySum(logits, y, 0.0);
    (ce_sum / static_cast<double>(batch)).backward();
    const std::size_t at = mine.size();
    mine.resize(at + slot, 0.0f);
    std::size_t offset = at;
    for (MixedOp& m : mixed) {
      if (m->gates().grad().defined()) {
        const std::vector<float> g = Flat(m->gates().grad());
        std::copy(g.begin(), g.end(), mine.begin() + static_cast<std::ptrdiff_t>(offset));
      }
      offset += static_cast<std::size_t>(m->size());
    }
    mine[offset] = ce_sum.item<float>();
    mine[offset + 1] = static_cast<float>(Correct(logits, y));
  }
  for (torch::Tensor& w : weights_) w.requires_grad_(true);
  std::vector<float> sum;
  HPCNAS_RETURN_IF_ERROR(SumOverMicroBatches(comm, mine, slot, stop_requested_ && stop_requested_(), timeout, sum, stop));
  const double ce = sum[slot - 2] / static_cast<double>(batch);
  if (!std::isfinite(ce)) {
    return Status::Internal("the architecture loss is not finite at architecture step " + std::to_string(state_.arch_steps + 1));
  }

  // The hardware term: its gradient reaches alpha directly; the cross-entropy's is scaled.
  double ce_scale = 1;
  for (MixedOp& m : mixed) m->alpha().mutable_grad() = torch::Tensor();
  if (config_.target_mflops > 0 || config_.target_latency_ms > 0) {
    const bool by_latency = config_.target_latency_ms > 0;
    torch::Tensor expected = Expected(by_latency ? *costs_.latency_ms : costs_.mflops);
    const double e = expected.item<double>(), target = by_latency ? config_.target_latency_ms : config_.target_mflops;
    double cost_scale = 0;  // dLoss / dE
    if (config_.cost_loss == "mul#log") {
      const double ratio = std::log(e) / std::log(target);
      ce_scale = config_.cost_alpha * std::pow(ratio, config_.cost_beta);
      cost_scale = config_.cost_alpha * ce * config_.cost_beta * std::pow(ratio, config_.cost_beta - 1) / (e * std::log(target));
    } else if (config_.cost_loss == "add#linear") {
      cost_scale = config_.cost_lambda / target;
    } else {  // add#abs
      cost_scale = config_.cost_lambda / target * ((e > target) - (e < target));
    }
    if (!std::isfinite(ce_scale) || !std::isfinite(cost_scale)) {
      return Status::Internal("the hardware loss is not finite at architecture step " + std::to_string(state_.arch_steps + 1) +
                              " (expected cost " + std::to_string(e) + "; mul#log needs it above 1)");
    }
    (expected * cost_scale).backward();
  }
  std::size_t offset = 0;
  for (MixedOp& m : mixed) {
    const torch::Tensor g = torch::from_blob(sum.data() + offset, {m->size()}, torch::kFloat32).clone() * ce_scale;
    m->SetGateGradient(g.to(m->alpha().device()));
    m->SetArchitectureGradient();
    offset += static_cast<std::size_t>(m->size());
  }

  // Adam (beta1 0, beta2 0.999, eps 1e-8), as torch.optim.Adam, per position with a gradient.
  constexpr double kBeta1 = 0, kBeta2 = 0.999, kEps = 1e-8;
  torch::NoGradGuard no_grad;
  std::size_t at = 0;
  for (std::size_t p = 0; p < mixed.size(); ++p) {
    torch::Tensor& alpha = mixed[p]->alpha();
    const auto n = static_cast<std::size_t>(alpha.numel());
    if (alpha.grad().defined()) {
      const std::vector<float> g = Flat(alpha.grad());
      std::vector<float> a = Flat(alpha);
      const std::int64_t t = ++state_.adam_steps[p];
      const double correction1 = 1 - std::pow(kBeta1, static_cast<double>(t));
      const double correction2 = 1 - std::pow(kBeta2, static_cast<double>(t));
      for (std::size_t k = 0; k < n; ++k) {
        double& m1 = state_.adam_first[at + k];
        double& m2 = state_.adam_second[at + k];
        m1 = kBeta1 * m1 + (1 - kBeta1) * g[k];
        m2 = kBeta2 * m2 + (1 - kBeta2) * static_cast<double>(g[k]) * g[k];
        const double denominator = std::sqrt(m2) / std::sqrt(correction2) + kEps;
        a[k] = static_cast<float>(a[k] - config_.arch_learning_rate / correction1 * m1 / denominator);
      }
      alpha.copy_(torch::tensor(a, torch::kFloat32).to(alpha.device()));
    }
    at += n;
  }
  net_->RescaleAfterStep();
  auto& sums = state_.epoch_sums;
  sums[3] += sum[slot - 2];
  sums[4] += sum[slot - 1];
  sums[5] += static_cast<double>(batch);
  ++state_.arch_steps;
  return Status::Ok();
}

StatusOr<bool> SupernetTrainer::RunEpoch(Communicator& comm, const SupernetData& data, Seconds timeout,
                                         const std::function<bool()>& stop_requested,
                                         const std::function<void(const StepReport&)>& on_step) {
  stop_requested_ = stop_requested;
  const std::int64_t n = data.train_size();
  const std::int64_t steps = n / config_.batch_size;
  CounterRng order_rng(config_.seed, {kEpochOrderKey, static_cast<std::uint64_t>(state_.epochs_done)});
  const std::vector<std::int64_t> order = SampleWithoutReplacement(order_rng, n, n);
  bool stop = false;
  while (state_.step_in_epoch < steps && !stop) {
    HPCNAS_RETURN_IF_ERROR(WeightStep(comm, data, order, timeout, stop));
    if (!in_warmup() && !stop && state_.step_in_epoch % config_.arch_every == 0) {
      HPCNAS_RETURN_IF_ERROR(ArchitectureStep(comm, data, timeout, stop));
    }
    if (on_step) {
      on_step({state_.step_in_epoch, steps, static_cast<std::int64_t>(state_.epoch_sums[2] + state_.epoch_sums[5])});
    }
  }
  return state_.step_in_epoch == steps;
}

const SupernetEpoch& SupernetTrainer::FinishEpoch(const SupernetData& data, double seconds,
                                                  const std::function<double(const Architecture&)>& benchmark) {
  const auto& s = state_.epoch_sums;
  SupernetEpoch e;
  e.epoch = state_.epochs_done + 1;
  e.warmup = in_warmup();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  e.train_loss = s[2] > 0 ? s[0] / s[2] : nan;
  e.train_accuracy = s[2] > 0 ? 100 * s[1] / s[2] : nan;
  e.arch_loss = s[5] > 0 ? s[3] / s[5] : nan;
  e.arch_accuracy = s[5] > 0 ? 100 * s[4] / s[5] : nan;
  e.expected_mflops = ExpectedMflops();
  e.expected_latency_ms = ExpectedLatencyMs();
  e.seconds = seconds;
  e.images_per_second = seconds > 0 ? (s[2] + s[5]) / seconds : 0;
  for (MixedOp& m : net_->mixed_ops()) {
    const torch::Tensor p = m->Probabilities();
    double entropy = 0;
    for (std::int64_t k = 0; k < p.numel(); ++k) {
      const double q = p[k].item<double>();
      e.probabilities.push_back(q);
      if (q > 0) entropy -= q * std::log(q);
    }
    e.entropy.push_back(entropy);
  }
  const SubnetEvaluation derived = EvaluateDerived(data);
  e.derived = space_.Format(derived.arch);
  e.derived_mflops = derived.mflops;
  e.derived_valid_accuracy = derived.valid_accuracy;
  e.derived_latency_ms = nan;
  if (latency_table_) {
    if (auto plan = space_.Plan(derived.arch, net_->options()); plan.ok()) {
      if (auto ms = latency_table_->Predict(*plan); ms.ok()) e.derived_latency_ms = *ms;
    }
  }
  e.benchmark_accuracy = benchmark ? benchmark(derived.arch) : nan;
  state_.epoch_sums.assign(kSums, 0.0);
  state_.step_in_epoch = 0;
  ++state_.epochs_done;
  state_.history.push_back(std::move(e));
  return state_.history.back();
}

SubnetEvaluation SupernetTrainer::EvaluateDerived(const SupernetData& data) {
  StatusOr<SubnetEvaluation> derived = EvaluateSubnet(data, Derive(), 0, 0);
  return derived.ok() ? *derived : SubnetEvaluation{};  // cannot fail: the derived path is the supernet's own
}

StatusOr<SubnetEvaluation> SupernetTrainer::EvaluateSubnet(const SupernetData& data, const Architecture& arch,
                                                           int finetune_steps, std::uint64_t finetune_key,
                                                           bool finetune_augment) {
  SubnetEvaluation result;
  result.arch = arch;
  HPCNAS_ASSIGN_OR_RETURN(ChainNetwork network, net_->ExtractNetwork(arch));
  result.mflops = static_cast<double>(network->plan().Flops()) / 1e6;
  if (finetune_steps > 0) FineTune(*network, data, finetune_steps, finetune_key, finetune_augment);
  const std::int64_t recalibration = std::min(config_.recalibration_images, data.train_size());
  RecalibrateBatchNorm(*network, data.Inputs(data.train_pixels.slice(0, 0, recalibration)).to(device_), config_.batch_size);
  torch::NoGradGuard no_grad;
  double correct = 0, loss_sum = 0;
  for (std::int64_t begin = 0; begin < data.valid_size(); begin += config_.batch_size) {
    const std::int64_t end = std::min(begin + config_.batch_size, data.valid_size());
    const torch::Tensor logits = network->forward(data.Inputs(data.valid_pixels.slice(0, begin, end)).to(device_));
    const torch::Tensor labels = data.valid_labels.slice(0, begin, end).to(device_);
    correct += Correct(logits, labels);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits.to(torch::kFloat64), labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
  }
  const auto valid = static_cast<double>(data.valid_size());
  result.valid_accuracy = 100 * correct / valid;
  result.valid_loss = loss_sum / valid;
  return result;
}

void SupernetTrainer::FineTune(ChainNetworkImpl& network, const SupernetData& data, int steps, std::uint64_t key,
                               bool augment) {
  // SGD Nesterov with the supernet's momentum, weight decay and label smoothing, the learning
  // rate cosine-annealed from supernet.learning_rate to 0 over the steps; batches of batch_size
  // train images drawn by a stream keyed by (seed, key, step): the same on any rank. With
  // `augment`, the weight steps' crop and flip, drawn by (seed, key, step, image).
  std::vector<torch::Tensor> parameters = network.parameters();
  torch::optim::SGD sgd(parameters, torch::optim::SGDOptions(config_.learning_rate)
                                        .momentum(config_.momentum)
                                        .nesterov(config_.momentum > 0)
                                        .weight_decay(config_.weight_decay));
  network.train();
  const std::int64_t batch = std::min<std::int64_t>(config_.batch_size, data.train_size());
  for (int step = 0; step < steps; ++step) {
    const double lr = 0.5 * config_.learning_rate * (1 + std::cos(M_PI * step / steps));
    for (auto& group : sgd.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    CounterRng pick(config_.seed, {kFineTuneKey, key, static_cast<std::uint64_t>(step)});
    const std::vector<std::int64_t> chosen = SampleWithoutReplacement(pick, data.train_size(), batch);
    sgd.zero_grad();
    const torch::Tensor x = augment ? CropAndFlip(data, chosen, config_.seed, key, static_cast<std::uint64_t>(step))
                                    : data.Inputs(Gather(data.train_pixels, chosen, torch::kCPU));
    const torch::Tensor logits = network.forward(x.to(device_));
    const torch::Tensor loss = SmoothedCrossEntropySum(logits, Gather(data.train_labels, chosen, device_), config_.label_smoothing) /
                               static_cast<double>(batch);
    loss.backward();
    sgd.step();
  }
}

Status SupernetTrainer::BroadcastReplica(Communicator& comm, int root, Seconds timeout) {
  // Floats: every weight, then every started momentum buffer. Doubles: counters, epoch sums,
  // alpha, Adam state, and a started flag per momentum buffer.
  std::vector<float> floats;
  std::vector<double> doubles;
  if (comm.rank() == root) {
    const SupernetTrainingState s = Export();
    for (const NamedArray& a : s.weights) floats.insert(floats.end(), a.values.begin(), a.values.end());
    for (const NamedArray& a : s.momentum) floats.insert(floats.end(), a.values.begin(), a.values.end());
    doubles = {static_cast<double>(s.epochs_done), static_cast<double>(s.step_in_epoch), static_cast<double>(s.weight_steps),
               static_cast<double>(s.arch_steps)};
    doubles.insert(doubles.end(), s.epoch_sums.begin(), s.epoch_sums.end());
    for (const auto* v : {&s.alpha, &s.adam_first, &s.adam_second}) doubles.insert(doubles.end(), v->begin(), v->end());
    for (std::int64_t t : s.adam_steps) doubles.push_back(static_cast<double>(t));
    for (const NamedArray& a : s.momentum) doubles.push_back(a.values.empty() ? 0 : 1);
  }
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, floats, root, timeout));
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, doubles, root, timeout));
  if (comm.rank() == root) return Status::Ok();
  SupernetTrainingState s = Export();  // this replica's shapes, filled with root's values
  const std::size_t alphas = s.alpha.size(), positions = s.adam_steps.size(), arrays = s.momentum.size();
  if (doubles.size() != 4 + kSums + 3 * alphas + positions + arrays) return Status::Communication("replica broadcast: wrong size");
  auto d = doubles.begin();
  s.epochs_done = static_cast<std::int64_t>(*d++);
  s.step_in_epoch = static_cast<std::int64_t>(*d++);
  s.weight_steps = static_cast<std::int64_t>(*d++);
  s.arch_steps = static_cast<std::int64_t>(*d++);
  s.epoch_sums.assign(d, d + kSums);
  d += kSums;
  for (auto* v : {&s.alpha, &s.adam_first, &s.adam_second}) {
    v->assign(d, d + static_cast<std::ptrdiff_t>(alphas));
    d += static_cast<std::ptrdiff_t>(alphas);
  }
  for (std::int64_t& t : s.adam_steps) t = static_cast<std::int64_t>(*d++);
  auto f = floats.begin();
  for (NamedArray& a : s.weights) {
    if (floats.end() - f < static_cast<std::ptrdiff_t>(a.values.size())) return Status::Communication("replica broadcast: too few weights");
    std::copy(f, f + static_cast<std::ptrdiff_t>(a.values.size()), a.values.begin());
    f += static_cast<std::ptrdiff_t>(a.values.size());
  }
  for (std::size_t i = 0; i < arrays; ++i) {
    const std::size_t n = s.weights[i].values.size();
    if (*d++ == 0) {
      s.momentum[i].values.clear();
      continue;
    }
    if (floats.end() - f < static_cast<std::ptrdiff_t>(n)) return Status::Communication("replica broadcast: too few momentum values");
    s.momentum[i].values.assign(f, f + static_cast<std::ptrdiff_t>(n));
    f += static_cast<std::ptrdiff_t>(n);
  }
  return Import(s);
}

SupernetTrainingState SupernetTrainer::Export() const {
  SupernetTrainingState s = state_;
  s.weights.clear();
  s.momentum.clear();
  s.alpha.clear();
  std::size_t i = 0;
  for (const auto& item : net_->named_parameters()) {
    const std::string& name = item.key();
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, "alpha") == 0) continue;
    std::vector<std::int64_t> shape(item.value().sizes().begin(), item.value().sizes().end());
    s.weights.push_back({name, shape, Flat(item.value())});
    if (momentum_[i].defined()) {
      s.momentum.push_back({name, shape, Flat(momentum_[i])});
    } else {
      s.momentum.push_back({name, {0}, {}});  // not started: no decay or momentum has reached it yet
    }
    ++i;
  }
  for (MixedOp& m : net_->mixed_ops()) {
    for (float a : Flat(m->alpha())) s.alpha.push_back(a);
  }
  return s;
}

Status SupernetTrainer::Import(const SupernetTrainingState& s) {
  if (s.candidates != state_.candidates) return Status::InvalidInput("the checkpoint's supernet has other positions or candidates");
  if (s.weights.size() != weights_.size() || s.momentum.size() != weights_.size()) {
    return Status::InvalidInput("the checkpoint's supernet has " + std::to_string(s.weights.size()) + " weight arrays, this one " +
                                std::to_string(weights_.size()));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    const auto n = static_cast<std::size_t>(weights_[i].numel());
    if (s.weights[i].values.size() != n || (!s.momentum[i].values.empty() && s.momentum[i].values.size() != n)) {
      return Status::InvalidInput("the checkpoint's weight '" + s.weights[i].name + "' has another size");
    }
    const auto to_tensor = [&](const std::vector<float>& v) {
      return torch::tensor(v, torch::kFloat32).reshape(weights_[i].sizes()).to(device_);
    };
    weights_[i].copy_(to_tensor(s.weights[i].values));
    momentum_[i] = s.momentum[i].values.empty() ? torch::Tensor() : to_tensor(s.momentum[i].values);
  }
  std::size_t at = 0;
  for (MixedOp& m : net_->mixed_ops()) {
    std::vector<float> a(s.alpha.begin() + static_cast<std::ptrdiff_t>(at), s.alpha.begin() + static_cast<std::ptrdiff_t>(at) + m->size());
    m->alpha().copy_(torch::tensor(a, torch::kFloat32).to(m->alpha().device()));
    at += static_cast<std::size_t>(m->size());
  }
  state_ = s;
  state_.weights.clear();
  state_.momentum.clear();
  state_.alpha.clear();
  return Status::Ok();
}

}  // namespace hpcnas
