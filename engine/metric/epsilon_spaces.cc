#include "engine/metric/epsilon_spaces.h"

#include <cmath>

#include "engine/metric/epsilon_fast.h"
#include "engine/nn/chain_network.h"
#include "engine/space/nb201_space.h"

namespace hpcnas {
namespace {

class Nb201Scorer final : public ArchitectureScorer {
 public:
  explicit Nb201Scorer(std::unique_ptr<EpsilonScorer> scorer) : scorer_(std::move(scorer)) {}
  double Score(const Architecture& arch) override { return scorer_->Score(ToNb201(arch)); }

 private:
  std::unique_ptr<EpsilonScorer> scorer_;
};

class ChainScorer final : public ArchitectureScorer {
 public:
  ChainScorer(const ChainSpace& space, torch::Tensor images, const EpsilonScorerOptions& options)
      : space_(space), images_(std::move(images)), options_(options) {}

  double Score(const Architecture& arch) override {
    torch::InferenceMode inference;
    NetworkPlan plan = *space_.Plan(arch, options_.network);  // options checked by MakeEpsilonScorer
    if (images_.size(2) != plan.resolution || images_.size(3) != plan.resolution) {
      images_ = torch::nn::functional::interpolate(
          images_, torch::nn::functional::InterpolateFuncOptions()
                       .size(std::vector<int64_t>{plan.resolution, plan.resolution})
                       .mode(torch::kBilinear)
                       .align_corners(false));
    }
    ChainNetwork network(std::move(plan), BatchNormMode::kBatchStatistics, options_.path == "fast");
    network->to(images_.device());
    return EpsilonFromOutputs(Forward(*network, options_.weights.w1), Forward(*network, options_.weights.w2));
  }

 private:
  std::vector<float> Forward(ChainNetworkImpl& network, double w) {
    network.FillEpsilonWeights(w);
    torch::Tensor out = network.forward(images_).to(torch::kCPU, torch::kFloat32).contiguous().view(-1);
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
  }

  const ChainSpace& space_;
  torch::Tensor images_;
  EpsilonScorerOptions options_;
};

}  // namespace

EpsilonScorerOptions EpsilonScorerOptionsFromConfig(const EpsilonConfig& config) {
  EpsilonScorerOptions options;
  options.weights = {config.w1, config.w2};
  options.path = config.path;
  options.network.resolution = config.resolution;
  options.network.width_multiplier = config.width_multiplier;
  return options;
}

StatusOr<std::int64_t> EpsilonInputSize(const SearchSpace& space, const EpsilonScorerOptions& options) {
  const auto* chain = dynamic_cast<const ChainSpace*>(&space);
  if (chain == nullptr) return std::int64_t{32};
  CounterRng rng(0, {0});
  HPCNAS_ASSIGN_OR_RETURN(NetworkPlan plan, chain->Plan(space.Sample(rng), options.network));
  return plan.resolution;
}

StatusOr<std::unique_ptr<ArchitectureScorer>> MakeEpsilonScorer(const SearchSpace& space, const torch::Tensor& images,
                                                                const EpsilonScorerOptions& options) {
  if (options.path != "fast" && options.path != "full") {
    return Status::InvalidInput("epsilon path '" + options.path + "' is not one of fast, full");
  }
  if (space.name() == "nb201") {
    if (options.exact) {
      return std::unique_ptr<ArchitectureScorer>(std::make_unique<Nb201Scorer>(
          MakeOneChannelEpsilonScorer(images, options.weights, EpsilonArithmetic::kScaledFloat64)));
    }
    return std::unique_ptr<ArchitectureScorer>(std::make_unique<Nb201Scorer>(
        options.path == "full" ? MakeFullNetworkEpsilonScorer(images, options.weights)
                               : std::unique_ptr<EpsilonScorer>(MakeOneChannelEpsilonScorer(images, options.weights))));
  }
  const auto* chain = dynamic_cast<const ChainSpace*>(&space);
  if (chain == nullptr) return Status::InvalidInput("no epsilon scorer for space '" + std::string(space.name()) + "'");
  if (options.exact) {
    return Status::InvalidInput("the exact-arithmetic epsilon (nan_policy exact | rank) exists for nb201 only");
  }
  ChainNetworkOptions network = options.network;
  network.num_classes = 1;  // epsilon reads one output unit
  HPCNAS_RETURN_IF_ERROR(chain->Plan(space.AtIndex(0), network).status());
  EpsilonScorerOptions checked = options;
  checked.network = network;
  return std::unique_ptr<ArchitectureScorer>(std::make_unique<ChainScorer>(*chain, images, checked));
}

WeightCalibration CalibrateEpsilonWeights(const SearchSpace& space, const torch::Tensor& images,
                                          EpsilonScorerOptions options, const std::vector<Architecture>& archs,
                                          int low_exponent, int high_exponent, double max_nan_share) {
  WeightCalibration result;
  for (int window = high_exponent - low_exponent; window > 0; --window) {
    for (int a = low_exponent; a + window <= high_exponent; ++a) {
      options.weights = {std::pow(10.0, a), std::pow(10.0, a + window)};
      auto scorer = MakeEpsilonScorer(space, images, options);
      if (!scorer.ok()) return result;
      int nan = 0;
      for (const Architecture& arch : archs) nan += std::isnan((*scorer)->Score(arch)) ? 1 : 0;
      const double share = archs.empty() ? 0.0 : static_cast<double>(nan) / archs.size();
      result.trials.push_back({options.weights, share});
      if (share < max_nan_share) {
        result.chosen = options.weights;
        result.found = true;
        return result;
      }
    }
  }
  return result;
}

EpsilonWeights DefaultEpsilonWeights(std::string_view space) {
  // `hpcnas score --space S --calibrate-weights` (100 architectures, seed 0, the embedded batch;
  // proxyless at 224 x 224 with 32 of its images): macro: windows with w1 <= 1e-5 leave 71-100 %
  // NaN, (1e-4, 1) none; proxyless, 23 blocks deep: every window with w1 <= 1e-3 leaves 100 %
  // NaN, (1e-2, 1) none.
  if (space == "macro") return {1e-4, 1.0};
  if (space == "proxyless") return {1e-2, 1.0};
  return {1e-7, 1.0};  // the paper's NB201 pair
}

void ResolveEpsilonWeights(EpsilonConfig& epsilon, std::string_view space) {
  const EpsilonWeights defaults = DefaultEpsilonWeights(space);
  if (epsilon.w1 == 0) epsilon.w1 = defaults.w1;
  if (epsilon.w2 == 0) epsilon.w2 = defaults.w2;
}

}  // namespace hpcnas
