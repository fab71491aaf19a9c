#pragma once
// The image transforms of ImageNet training, as torchvision defines them, on decoded JPEGs:
// training = RandomResizedCrop(resolution, scale 0.08-1, ratio 3/4-4/3) + horizontal flip (p 0.5),
// evaluation = resize the shorter side to resolution * 256/224, centre crop; both end in
// mean/std normalisation. Every random draw comes from CounterRng(seed, {epoch, sample id}),
// so a sample's crop and flip do not depend on the thread, the rank or the source (folder or
// shards) that delivers it.
//
// The crop is chosen on the JPEG's full size, then the image is decoded at the smallest DCT
// scale that still gives the crop at least `resolution` pixels a side, and the crop region is
// resampled with an antialiased bilinear filter (Pillow's, whose support grows with the
// reduction) straight to resolution x resolution: one resampling, no full-size intermediate.

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace hpcnas {

struct TransformOptions {
  int resolution = 224;
  bool train = true;  // false: the evaluation transform
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
};

// A region of the source image, in its pixels.
struct CropBox {
  int x = 0, y = 0, width = 0, height = 0;
};

// torchvision's RandomResizedCrop.get_params (10 tries, then a centre crop of clamped ratio).
CropBox DrawRandomResizedCrop(int width, int height, const TransformOptions& options, std::uint64_t seed,
                              std::uint64_t epoch, std::uint64_t sample_id, bool* flip);
// torchvision's Resize(resolution * 256/224) + CenterCrop(resolution), as one box in the source.
CropBox CentreCropBox(int width, int height, int resolution);

// Decodes `jpeg`, crops, resizes, flips; writes resolution^2 * 3 bytes, channel-major (C, H, W).
Status TransformJpeg(std::string_view jpeg, const std::string& name, const TransformOptions& options,
                     std::uint64_t seed, std::uint64_t epoch, std::uint64_t sample_id, std::uint8_t* chw);

// ImageNet's mean and std (torchvision's constants).
inline constexpr float kImagenetMean[3] = {0.485f, 0.456f, 0.406f};
inline constexpr float kImagenetStd[3] = {0.229f, 0.224f, 0.225f};
// (x / 255 - mean) / std per channel, in float32 as ToTensor + Normalize compute it.
void NormalizeImagenet(const std::uint8_t* chw, int resolution, float* out);

}  // namespace hpcnas
