#pragma once
// The epsilon (epsinas) zero-cost score, DESIGN section 4.2.
//
// For each weight w in (w1, w2): every weight of the network is set to w and every bias to 0,
// BatchNorm uses batch statistics, the single-output network runs one forward pass over one
// unlabelled batch, and the B outputs are min-max normalised. Both normalised vectors are
// stacked, exact zeros become NaN, and
//     epsilon = nanmean(|y1 - y2|) / nanmean(y1 u y2).
// A constant or non-finite output gives NaN, which is a valid result ("unknown"), not an error.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/space/nb201.h"
#include "engine/core/stats.h"  // EpsilonRankKey

namespace hpcnas {

struct EpsilonWeights {
  double w1 = 1e-7;  // NB201 defaults (NB101 uses 1e-4, 10)
  double w2 = 1.0;
};

// The score from the two raw float32 output vectors, with the original numpy semantics:
// min/max ignore NaN; normalisation in float32; means over the non-NaN entries.
double EpsilonFromOutputs(const std::vector<float>& outputs_w1, const std::vector<float>& outputs_w2);
// The same in float64, for outputs computed in float64.
double EpsilonFromOutputs(const std::vector<double>& outputs_w1, const std::vector<double>& outputs_w2);

// CIFAR images (n records of 3x32x32 bytes, channel-major as in the CIFAR binary format) to a
// float32 [n, 3, 32, 32] tensor: x / 255, then (x - mean) / std with the CIFAR-10 mean
// (125.3, 123.0, 113.9) / 255 and std (63.0, 62.1, 66.7) / 255, in float32 as torchvision does.
torch::Tensor CifarImagesToTensor(const std::uint8_t* pixels, int64_t num_images);
// Any size: `pixels` is num_images x 3 x size x size bytes; (x / 255 - mean[c]) / stddev[c] in float32.
torch::Tensor ImageBytesToTensor(const std::uint8_t* pixels, int64_t num_images, int64_t size, const float* mean,
                                 const float* stddev);


class EpsilonScorer {
 public:
  virtual ~EpsilonScorer() = default;
  virtual double Score(const nb201::Genotype& genotype) = 0;
  virtual std::string_view name() const = 0;
};

// The reference path: the full NB201 network (C=16, N=5, one output) in float32, two forward
// passes per genotype. `images` is a float32 [B, 3, H, W] tensor on the device to use.
std::unique_ptr<EpsilonScorer> MakeFullNetworkEpsilonScorer(torch::Tensor images, EpsilonWeights weights);

}  // namespace hpcnas
