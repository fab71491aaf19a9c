#pragma once
// JPEG decoding with libjpeg-turbo's TurboJPEG API: the exact pixels `djpeg` gives (accurate
// integer IDCT, fancy upsampling), optionally decoded at a reduced scale in the DCT domain
// (1/2, 1/4, 1/8, ...), which costs a fraction of a full decode when the image is larger than
// what the network needs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

struct JpegInfo {
  int width = 0;
  int height = 0;
};

// An 8-bit RGB image, row-major, 3 bytes a pixel (grayscale and CMYK JPEGs are converted).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

// `name` identifies the image in error messages (for example "n01443537/n01443537_0.jpg in
// shard train-000003.tar"). A file that is not a JPEG, is corrupt or is truncated is an error;
// libjpeg's warnings (a truncated file decodes to a grey tail) count as errors too.
StatusOr<JpegInfo> ReadJpegInfo(std::string_view bytes, const std::string& name);

// The largest DCT-domain reduction (among those libjpeg-turbo offers) under which a region of
// `region_width` x `region_height` source pixels still covers at least `min_width` x `min_height`
// pixels; returned as numerator / denominator (1/1 = full size).
struct JpegScale {
  int num = 1;
  int denom = 1;
  int Apply(int size) const { return (size * num + denom - 1) / denom; }  // TJSCALED
};
JpegScale ChooseJpegScale(int region_width, int region_height, int min_width, int min_height);

StatusOr<RgbImage> DecodeJpeg(std::string_view bytes, const std::string& name, JpegScale scale = {});

}  // namespace hpcnas
