#include "io/images/transforms.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/rng.h"
#include "io/images/jpeg.h"

namespace hpcnas {
namespace {

constexpr std::uint64_t kCropKey = 0x63726f70ULL;  // "crop"
constexpr std::uint64_t kFlipKey = 0x666c6970ULL;  // "flip"

// The taps of an antialiased bilinear resampling of [begin, begin + length) source pixels onto
// `out` pixels (Pillow's precompute_coeffs: a triangle widened by the reduction factor).
struct Taps {
  std::vector<int> first;       // first source pixel of output pixel i
  std::vector<int> count;       // taps of output pixel i
  std::vector<float> weights;   // out * max_taps, normalised to sum 1
  int max_taps = 0;
};

Taps ComputeTaps(double begin, double length, int in_size, int out) {
  const double scale = length / out;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's support is 1 at filter scale 1
  Taps taps;
  taps.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out);
  taps.count.resize(out);
  taps.weights.assign(static_cast<size_t>(out) * taps.max_taps, 0.0f);
  for (int i = 0; i < out; ++i) {
    const double centre = begin + (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(centre + support + 0.5), in_size);
    double sum = 0;
    std::vector<double> w(std::max(hi - lo, 0));
    for (int k = 0; k < hi - lo; ++k) {
      const double x = std::abs((lo + k - centre + 0.5) / filter_scale);
      w[k] = x < 1.0 ? 1.0 - x : 0.0;
      sum += w[k];
    }
    const int n = std::min(static_cast<int>(w.size()), taps.max_taps);
    taps.first[i] = lo;
    taps.count[i] = n;
    for (int k = 0; k < n; ++k) taps.weights[static_cast<size_t>(i) * taps.max_taps + k] = static_cast<float>(sum > 0 ? w[k] / sum : 0);
  }
  return taps;
}

std::uint8_t ToByte(float v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// Resamples the box [x0, x0 + w) x [y0, y0 + h) (in image pixels, fractional) of `image` to
// out x out, flipping horizontally if asked, into channel-major bytes.
void ResampleBox(const RgbImage& image, double x0, double y0, double w, double h, int out, bool flip, std::uint8_t* chw) {
  const Taps horizontal = ComputeTaps(x0, w, image.width, out);
  const Taps vertical = ComputeTaps(y0, h, image.height, out);
  const int row_first = vertical.first.front();
  const int row_last = vertical.first.back() + vertical.count.back();
  // Horizontal pass over the rows the vertical pass reads: [rows][out][3] floats.
  std::vector<float> rows(static_cast<size_t>(row_last - row_first) * out * 3);
  for (int y = row_first; y < row_last; ++y) {
    const std::uint8_t* src = image.rgb.data() + static_cast<size_t>(y) * image.width * 3;
    float* dst = rows.data() + static_cast<size_t>(y - row_first) * out * 3;
    for (int x = 0; x < out; ++x) {
      const float* wts = horizontal.weights.data() + static_cast<size_t>(x) * horizontal.max_taps;
      const std::uint8_t* px = src + horizontal.first[x] * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0; k < horizontal.count[x]; ++k) {
        r += wts[k] * px[3 * k];
        g += wts[k] * px[3 * k + 1];
        b += wts[k] * px[3 * k + 2];
      }
      dst[3 * x] = r;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = b;
    }
  }
  const size_t plane = static_cast<size_t>(out) * out;
  std::vector<float> acc(static_cast<size_t>(out) * 3);
  for (int y = 0; y < out; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* wts = vertical.weights.data() + static_cast<size_t>(y) * vertical.max_taps;
    for (int k = 0; k < vertical.count[y]; ++k) {
      const float* src = rows.data() + static_cast<size_t>(vertical.first[y] + k - row_first) * out * 3;
      for (int i = 0; i < out * 3; ++i) acc[i] += wts[k] * src[i];
    }
    for (int x = 0; x < out; ++x) {
      const int dx = flip ? out - 1 - x : x;
      for (int c = 0; c < 3; ++c) chw[c * plane + static_cast<size_t>(y) * out + dx] = ToByte(acc[3 * x + c]);
    }
  }
}

}  // namespace

CropBox DrawRandomResizedCrop(int width, int height, const TransformOptions& options, std::uint64_t seed,
                              std::uint64_t epoch, std::uint64_t sample_id, bool* flip) {
  CounterRng rng(seed, {kCropKey, epoch, sample_id});
  const double area = static_cast<double>(width) * height;
  const double log_ratio_min = std::log(options.ratio_min), log_ratio_max = std::log(options.ratio_max);
  CropBox box;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target_area = area * (options.scale_min + (options.scale_max - options.scale_min) * rng.NextUniform());
    const double ratio = std::exp(log_ratio_min + (log_ratio_max - log_ratio_min) * rng.NextUniform());
    const int w = static_cast<int>(std::lround(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target_area / ratio)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      box = {static_cast<int>(rng.NextBelow(width - w + 1)), static_cast<int>(rng.NextBelow(height - h + 1)), w, h};
      found = true;
    }
  }
  if (!found) {  // a centre crop whose ratio is clamped into [ratio_min, ratio_max]
    const double in_ratio = static_cast<double>(width) / height;
    int w = width, h = height;
    if (in_ratio < options.ratio_min) h = static_cast<int>(std::lround(w / options.ratio_min));
    if (in_ratio > options.ratio_max) w = static_cast<int>(std::lround(h * options.ratio_max));
    box = {(width - w) / 2, (height - h) / 2, w, h};
  }
  // The flip has a stream of its own, so it never depends on how many crop attempts were needed.
  *flip = CounterRng(seed, {kFlipKey, epoch, sample_id}).NextUniform() < 0.5;
  return box;
}

CropBox CentreCropBox(int width, int height, int resolution) {
  const int shorter_target = static_cast<int>(std::lround(resolution * 256.0 / 224.0));
  // torchvision Resize(int): the shorter side becomes `shorter_target`, the longer one int(...).
  const bool wide = width >= height;
  const double factor = static_cast<double>(shorter_target) / (wide ? height : width);
  const int resized_w = wide ? static_cast<int>(shorter_target * static_cast<double>(width) / height) : shorter_target;
  const int resized_h = wide ? shorter_target : static_cast<int>(shorter_target * static_cast<double>(height) / width);
  const int left = static_cast<int>(std::lround((resized_w - resolution) / 2.0));
  const int top = static_cast<int>(std::lround((resized_h - resolution) / 2.0));
  const int side = std::max(1, static_cast<int>(std::lround(resolution / factor)));
  return {std::clamp(static_cast<int>(std::lround(left / factor)), 0, std::max(0, width - side)),
          std::clamp(static_cast<int>(std::lround(top / factor)), 0, std::max(0, height - side)), std::min(side, width),
          std::min(side, height)};
}

Status TransformJpeg(std::string_view jpeg, const std::string& name, const TransformOptions& options,
                     std::uint64_t seed, std::uint64_t epoch, std::uint64_t sample_id, std::uint8_t* chw) {
  HPCNAS_ASSIGN_OR_RETURN(JpegInfo info, ReadJpegInfo(jpeg, name));
  bool flip = false;
  const CropBox box = options.train
                          ? DrawRandomResizedCrop(info.width, info.height, options, seed, epoch, sample_id, &flip)
                          : CentreCropBox(info.width, info.height, options.resolution);
  const JpegScale scale = ChooseJpegScale(box.width, box.height, options.resolution, options.resolution);
  HPCNAS_ASSIGN_OR_RETURN(RgbImage image, DecodeJpeg(jpeg, name, scale));
  // The box in the decoded image's pixels (exact: the decoded size is the source's times num/denom).
  const double fx = static_cast<double>(image.width) / info.width, fy = static_cast<double>(image.height) / info.height;
  ResampleBox(image, box.x * fx, box.y * fy, box.width * fx, box.height * fy, options.resolution, flip, chw);
  return Status::Ok();
}

void NormalizeImagenet(const std::uint8_t* chw, int resolution, float* out) {
  const size_t plane = static_cast<size_t>(resolution) * resolution;
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < plane; ++i) {
      out[c * plane + i] = (static_cast<float>(chw[c * plane + i]) / 255.0f - kImagenetMean[c]) / kImagenetStd[c];
    }
  }
}

}  // namespace hpcnas
