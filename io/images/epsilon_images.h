#pragma once
// The one unlabelled batch that epsilon scores with, from any image source (epsilon.images).

#include <cstdint>
#include <string>

#include "engine/core/status.h"
#include "io/image_bytes.h"

namespace hpcnas {

// "embedded" or a CIFAR-10 binary file: its first `count` records, 32 x 32, CIFAR-10 mean/std
// (as epsinas). "imagenet:DIR" or "shards:DIR": the `count` images of the train split with the
// smallest keys of (seed, image id), so a folder and its packed shards give the same batch;
// evaluation transform (resize, centre crop) at `resolution`, ImageNet mean/std.
StatusOr<ImageBytes> LoadEpsilonImages(const std::string& images, int64_t count, int resolution, std::uint64_t seed,
                                       int threads);

}  // namespace hpcnas
