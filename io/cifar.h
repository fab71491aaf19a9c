#pragma once
// CIFAR-10 binary batches: records of 1 label byte and 3x1024 pixel bytes (R, G, B planes of a
// row-major 32x32 image), 3,073 bytes each, as in the official cifar-10-batches-bin.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

inline constexpr int64_t kCifarRecordBytes = 3073;
inline constexpr int64_t kCifarImageBytes = 3072;
// epsinas's CIFAR-10 normalisation of x / 255, computed in double and stored as float32 as torch does.
inline constexpr float kCifarMean[3] = {static_cast<float>(125.3 / 255), static_cast<float>(123.0 / 255),
                                        static_cast<float>(113.9 / 255)};
inline constexpr float kCifarStd[3] = {static_cast<float>(63.0 / 255), static_cast<float>(62.1 / 255),
                                       static_cast<float>(66.7 / 255)};

struct CifarImages {
  int64_t count = 0;
  std::vector<std::uint8_t> pixels;  // count * 3072, channel-major per image
  std::vector<std::uint8_t> labels;  // count, 0..9
};

// The first `count` records of `bytes`. `source` names the data in error messages.
StatusOr<CifarImages> ParseCifarBinary(std::string_view bytes, int64_t count, const std::string& source);
// "embedded" reads the bundled epsinas batch; anything else is a file path.
StatusOr<CifarImages> LoadCifarImages(const std::string& path_or_embedded, int64_t count);

}  // namespace hpcnas
