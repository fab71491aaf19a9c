#pragma once
// The fast epsilon path: the NB201 network collapsed to one channel (DESIGN section 4.2).
//
// With every weight equal to w and BatchNorm per channel, every channel of every layer carries
// the same values, so the network's outputs come from a one-channel network in which each
// convolution and linear layer multiplies by w * (fan-in channels) and sums its k x k window.
// That removes C_in * C_out of the work of every convolution. The kernels here are hand-written
// loops over [batch, H, W] (separable 3x3 window sums in L1-sized per-image tiles, BatchNorm
// statistics fused into the producing pass, BatchNorm itself applied lazily by its consumer),
// and the stem, which is the same for every cell, is computed once per weight. A cell is
// evaluated as its canonical expression (engine/metric/cell_expression.h), so equal subexpressions are
// computed once.
//
// Three arithmetics:
//   kFloat32        the default: float32 like the original code, underflow included, so the
//                   scores and the NaN set follow the reference (a cell whose w1 output
//                   underflows to zero is NaN);
//   kFloat64        the same network in float64 (underflows much later);
//   kScaledFloat64  float64 values with each tensor's power-of-two scale tracked apart, so no
//                   value ever underflows: the exact epsilon of the real-number network.

#include <torch/torch.h>

#include <memory>
#include <optional>

#include "engine/metric/cell_expression.h"
#include "engine/metric/epsilon.h"
#include "engine/space/nb201.h"

namespace hpcnas {

enum class EpsilonArithmetic { kFloat32, kFloat64, kScaledFloat64 };

// Everything the one-channel pass learns about a cell, for the NaN policies: the score and, per
// weight, the base-2 logarithm of the largest |output| (how far the signal shrank; -inf when
// the output is all zero).
struct EpsilonDetails {
  double epsilon = 0.0;
  double log2_max_output_w1 = 0.0;
  double log2_max_output_w2 = 0.0;
};

class OneChannelEpsilonScorer : public EpsilonScorer {
 public:
  // Score() skips the w2 pass when the w1 output is all zero; this one runs both passes.
  virtual EpsilonDetails ScoreWithDetails(const nb201::Genotype& genotype) = 0;
};

// Which compiled variant of the kernels runs; kAuto takes the widest the CPU supports. Every
// variant gives bitwise the same scores.
enum class SimdLevel { kAuto = -1, kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };
SimdLevel BestSimdLevel();

// `images` is a float32 [B, 3, 32, 32] tensor of normalised CIFAR images (copied to the CPU).
std::unique_ptr<OneChannelEpsilonScorer> MakeOneChannelEpsilonScorer(
    const torch::Tensor& images, EpsilonWeights weights, EpsilonArithmetic arithmetic = EpsilonArithmetic::kFloat32,
    SimdLevel simd = SimdLevel::kAuto);

}  // namespace hpcnas
