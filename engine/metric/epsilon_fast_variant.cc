// One instruction-set variant of the one-channel epsilon kernels. engine/CMakeLists.txt
// compiles this file once per variant with HPCNAS_SIMD_NAME (Baseline, Avx2, Avx512) and the
// matching -m flags; engine/metric/epsilon_fast.cc picks a variant at run time.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/metric/epsilon_fast.h"

#ifndef HPCNAS_SIMD_NAME
#error "compile with -DHPCNAS_SIMD_NAME=<variant>"
#endif
#define HPCNAS_SIMD_STRINGIFY_INNER(x) #x
#define HPCNAS_SIMD_STRINGIFY(x) HPCNAS_SIMD_STRINGIFY_INNER(x)

namespace hpcnas::detail {
namespace {
#include "engine/metric/epsilon_fast_kernels.inc"
}  // namespace

std::unique_ptr<OneChannelEpsilonScorer> HPCNAS_CONCAT(MakeOneChannelScorer, HPCNAS_SIMD_NAME)(
    const torch::Tensor& images, EpsilonWeights weights, EpsilonArithmetic arithmetic) {
  return MakeScorer(images, weights, arithmetic, HPCNAS_SIMD_STRINGIFY(HPCNAS_SIMD_NAME));
}

}  // namespace hpcnas::detail
