#pragma once
// A batch of images as bytes, with the normalisation that turns them into network inputs: how
// the epsilon batch travels from rank 0 to the others (CIFAR-10 records or transformed JPEGs).

#include <cstdint>
#include <string>
#include <vector>

#include "io/files.h"

namespace hpcnas {

struct ImageBytes {
  std::int64_t count = 0;
  std::int64_t size = 32;              // height = width
  std::vector<float> mean, stddev;     // per channel, applied to x / 255
  std::vector<std::uint8_t> pixels;    // count x 3 x size x size, channel-major per image
};

// A hash of everything that makes the batch (epsilon.images_fingerprint): a resumed run that
// reads its images from another place checks that they are still the same images.
inline std::string Fingerprint(const ImageBytes& images) {
  Checksum sum;
  sum.Add(images.count);
  sum.Add(images.size);
  sum.Add(images.mean);
  sum.Add(images.stddev);
  sum.Add(images.pixels);
  return Hex64(sum.value());
}

}  // namespace hpcnas
