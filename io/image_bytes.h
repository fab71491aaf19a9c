#pragma once
// A batch of images as bytes, with the normalisation that turns them into network inputs: how
// the epsilon batch travels from rank 0 to the others (CIFAR-10 records or transformed JPEGs).

#include <cstdint>
#include <vector>

namespace hpcnas {

struct ImageBytes {
  std::int64_t count = 0;
  std::int64_t size = 32;              // height = width
  std::vector<float> mean, stddev;     // per channel, applied to x / 255
  std::vector<std::uint8_t> pixels;    // count x 3 x size x size, channel-major per image
};

}  // namespace hpcnas
