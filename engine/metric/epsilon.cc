#include "engine/metric/epsilon.h"

#include <cmath>
#include <limits>

#include "engine/nn/nb201_network.h"
#include "engine/core/stats.h"

namespace hpcnas {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Min-max normalisation in the outputs' precision, as numpy does; NaN for a constant output
// (0 / 0) and for an all-NaN one.
template <typename T>
std::vector<T> MinMaxNormalise(const std::vector<T>& y) {
  T lo = std::numeric_limits<T>::quiet_NaN();
  T hi = lo;
  for (T v : y) {
    if (std::isnan(v)) continue;
    if (std::isnan(lo) || v < lo) lo = v;
    if (std::isnan(hi) || v > hi) hi = v;
  }
  const T range = hi - lo;
  std::vector<T> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) out[i] = (y[i] - lo) / range;
  return out;
}

class FullNetworkEpsilonScorer final : public EpsilonScorer {
 public:
  FullNetworkEpsilonScorer(torch::Tensor images, EpsilonWeights weights)
      : images_(std::move(images)), weights_(weights) {}

  double Score(const nb201::Genotype& genotype) override {
    torch::InferenceMode inference;
    Nb201Network network(Nb201NetworkOptions(genotype).num_outputs(1).batch_norm(BatchNormMode::kBatchStatistics));
    network->to(images_.device());
    return EpsilonFromOutputs(Forward(*network, weights_.w1), Forward(*network, weights_.w2));
  }

  std::string_view name() const override { return "full"; }

 private:
  std::vector<float> Forward(Nb201NetworkImpl& network, double weight) {
    FillConstantParameters(network, weight);
    torch::Tensor out = network.forward(images_).to(torch::kCPU, torch::kFloat32).contiguous().view(-1);
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
  }

  torch::Tensor images_;
  EpsilonWeights weights_;
};

}  // namespace

template <typename T>
double EpsilonFromOutputsImpl(const std::vector<T>& outputs_w1, const std::vector<T>& outputs_w2) {
  const std::vector<T> y1 = MinMaxNormalise(outputs_w1);
  const std::vector<T> y2 = MinMaxNormalise(outputs_w2);
  // Exact zeros (at least the minimum of each vector) count as missing.
  auto present = [](T v) { return !std::isnan(v) && v != T(0); };
  double abs_diff_sum = 0.0;
  int64_t abs_diff_count = 0;
  double value_sum = 0.0;
  int64_t value_count = 0;
  for (std::size_t i = 0; i < y1.size() && i < y2.size(); ++i) {
    if (present(y1[i]) && present(y2[i])) {
      abs_diff_sum += std::fabs(static_cast<double>(y1[i]) - static_cast<double>(y2[i]));
      ++abs_diff_count;
    }
  }
  for (const std::vector<T>* y : {&y1, &y2}) {
    for (T v : *y) {
      if (present(v)) {
        value_sum += v;
        ++value_count;
      }
    }
  }
  if (abs_diff_count == 0 || value_count == 0) return kNaN;
  return (abs_diff_sum / abs_diff_count) / (value_sum / value_count);
}

double EpsilonFromOutputs(const std::vector<float>& outputs_w1, const std::vector<float>& outputs_w2) {
  return EpsilonFromOutputsImpl(outputs_w1, outputs_w2);
}

double EpsilonFromOutputs(const std::vector<double>& outputs_w1, const std::vector<double>& outputs_w2) {
  return EpsilonFromOutputsImpl(outputs_w1, outputs_w2);
}

torch::Tensor CifarImagesToTensor(const std::uint8_t* pixels, int64_t num_images) {
  // Python computes mean/std in double and torch stores them as float32; do the same.
  const float mean[3] = {static_cast<float>(125.3 / 255), static_cast<float>(123.0 / 255),
                         static_cast<float>(113.9 / 255)};
  const float stddev[3] = {static_cast<float>(63.0 / 255), static_cast<float>(62.1 / 255),
                           static_cast<float>(66.7 / 255)};
  return ImageBytesToTensor(pixels, num_images, 32, mean, stddev);
}

torch::Tensor ImageBytesToTensor(const std::uint8_t* pixels, int64_t num_images, int64_t size, const float* mean,
                                 const float* stddev) {
  torch::Tensor out = torch::empty({num_images, 3, size, size}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const int64_t plane_size = size * size;
  for (int64_t n = 0; n < num_images; ++n) {
    for (int c = 0; c < 3; ++c) {
      const std::uint8_t* src = pixels + (n * 3 + c) * plane_size;
      float* plane = dst + (n * 3 + c) * plane_size;
      for (int64_t i = 0; i < plane_size; ++i) plane[i] = (static_cast<float>(src[i]) / 255.0f - mean[c]) / stddev[c];
    }
  }
  return out;
}

std::unique_ptr<EpsilonScorer> MakeFullNetworkEpsilonScorer(torch::Tensor images, EpsilonWeights weights) {
  return std::make_unique<FullNetworkEpsilonScorer>(std::move(images), weights);
}

}  // namespace hpcnas
