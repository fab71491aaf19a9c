#include "engine/metric/epsilon_fast.h"

namespace hpcnas {
namespace detail {
// engine/metric/epsilon_fast_variant.cc, compiled once per instruction set.
using MakeScorerFunction = std::unique_ptr<OneChannelEpsilonScorer> (*)(const torch::Tensor&, EpsilonWeights,
                                                                        EpsilonArithmetic);
std::unique_ptr<OneChannelEpsilonScorer> MakeOneChannelScorerBaseline(const torch::Tensor&, EpsilonWeights,
                                                                      EpsilonArithmetic);
std::unique_ptr<OneChannelEpsilonScorer> MakeOneChannelScorerAvx2(const torch::Tensor&, EpsilonWeights,
                                                                  EpsilonArithmetic);
std::unique_ptr<OneChannelEpsilonScorer> MakeOneChannelScorerAvx512(const torch::Tensor&, EpsilonWeights,
                                                                    EpsilonArithmetic);
}  // namespace detail

SimdLevel BestSimdLevel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq")) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return SimdLevel::kAvx2;
  return SimdLevel::kBaseline;
}

std::unique_ptr<OneChannelEpsilonScorer> MakeOneChannelEpsilonScorer(const torch::Tensor& images,
                                                                     EpsilonWeights weights,
                                                                     EpsilonArithmetic arithmetic, SimdLevel simd) {
  if (simd == SimdLevel::kAuto) simd = BestSimdLevel();
  if (static_cast<int>(simd) > static_cast<int>(BestSimdLevel())) {
    throw std::invalid_argument("this CPU does not support the requested SIMD level");
  }
  switch (simd) {
    case SimdLevel::kAvx512:
      return detail::MakeOneChannelScorerAvx512(images, weights, arithmetic);
    case SimdLevel::kAvx2:
      return detail::MakeOneChannelScorerAvx2(images, weights, arithmetic);
    default:
      return detail::MakeOneChannelScorerBaseline(images, weights, arithmetic);
  }
}

}  // namespace hpcnas
