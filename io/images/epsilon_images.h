#pragma once
// Fixed sets of images from any image source: the one unlabelled batch that epsilon scores with
// (epsilon.images), and the labelled train and held-out images of a supernet (supernet.data).

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "io/image_bytes.h"

namespace hpcnas {

inline bool IsImageSourceSpec(const std::string& spec) {
  return spec.rfind("imagenet:", 0) == 0 || spec.rfind("shards:", 0) == 0;
}

struct LabelledImages {
  ImageBytes images;
  std::vector<std::int32_t> labels;
  std::int64_t num_classes = 0;  // of the source
};
// "imagenet:DIR" or "shards:DIR": the `count` images of the train split with the smallest keys
// of (seed, image id), in that order (a seeded draw over every class: the same images from a
// folder and from its packed shards), by the evaluation transform (resize, centre crop) at
// `resolution`, ImageNet mean/std. Errors: an unreadable source, fewer than `count` images.
StatusOr<LabelledImages> LoadImageSubset(const std::string& spec, int64_t count, int resolution, std::uint64_t seed, int threads);

// "embedded" or a CIFAR-10 binary file: its first `count` records, 32 x 32, CIFAR-10 mean/std
// (as epsinas). "imagenet:DIR" or "shards:DIR": LoadImageSubset's images.
StatusOr<ImageBytes> LoadEpsilonImages(const std::string& images, int64_t count, int resolution, std::uint64_t seed,
                                       int threads);

}  // namespace hpcnas
