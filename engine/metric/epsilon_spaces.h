#pragma once
// Epsilon (DESIGN section 4.2) for every search space: one scorer interface over Architecture.
// NB201 uses its own scorers (engine/metric/epsilon.h, engine/metric/epsilon_fast.h); chain spaces build
// their network from its plan (engine/nn/chain_network.h), at full width ("full", the
// reference) or collapsed to one channel ("fast").

#include <torch/torch.h>

#include <memory>
#include <string>

#include "engine/config/config.h"
#include "engine/metric/epsilon.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/search_space.h"

namespace hpcnas {

class ArchitectureScorer {
 public:
  virtual ~ArchitectureScorer() = default;
  virtual double Score(const Architecture& arch) = 0;
};

struct EpsilonScorerOptions {
  EpsilonWeights weights;
  std::string path = "fast";  // "fast" | "full"
  // NB201 only: the arithmetic that never underflows (epsilon_fast.h kScaledFloat64).
  bool exact = false;
  ChainNetworkOptions network;  // chain spaces: resolution, width; the head has one output
};

// The options of the [epsilon] config section: weights (already resolved), path, chain network.
EpsilonScorerOptions EpsilonScorerOptionsFromConfig(const EpsilonConfig& config);

// `images` is a float32 [B, 3, H, W] batch on the device to use; chain networks resize it
// (bilinear) to their resolution when H differs. Errors: an option the space cannot honour.
StatusOr<std::unique_ptr<ArchitectureScorer>> MakeEpsilonScorer(const SearchSpace& space, const torch::Tensor& images,
                                                                const EpsilonScorerOptions& options);

// The input height = width of the space's epsilon network under `options` (nb201 32, the chain
// spaces their plan's: the resolution option or the space's default). Errors: an option the
// space cannot honour (a width multiplier on macro).
StatusOr<std::int64_t> EpsilonInputSize(const SearchSpace& space, const EpsilonScorerOptions& options);

// The epsinas weight search (`search_weights` of the original code): windows [10^a, 10^(a+s)]
// with a, a+s in [low, high], the widest first, left to right, until fewer than `max_nan_share`
// of the `archs` get a NaN score. Returns the chosen pair and, for the report, every window
// tried with its NaN share.
struct WeightTrial {
  EpsilonWeights weights;
  double nan_share = 0;
};
struct WeightCalibration {
  EpsilonWeights chosen;
  bool found = false;
  std::vector<WeightTrial> trials;
};
WeightCalibration CalibrateEpsilonWeights(const SearchSpace& space, const torch::Tensor& images,
                                          EpsilonScorerOptions options, const std::vector<Architecture>& archs,
                                          int low_exponent = -7, int high_exponent = 0, double max_nan_share = 0.1);

// The default weights of each space: NB201 (1e-7, 1) from the paper; the chain spaces' from
// CalibrateEpsilonWeights with the epsinas settings (reported in experiments/README.md).
EpsilonWeights DefaultEpsilonWeights(std::string_view space);
// Replaces a weight of 0 in `epsilon` ("the space's") by the space's default.
void ResolveEpsilonWeights(EpsilonConfig& epsilon, std::string_view space);

}  // namespace hpcnas
