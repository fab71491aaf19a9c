#include "io/images/epsilon_images.h"

#include <algorithm>

#include "engine/core/rng.h"
#include "io/cifar.h"
#include "io/images/loader.h"

namespace hpcnas {
namespace {

constexpr std::uint64_t kEpsilonBatchKey = 0x65707362617463ULL;  // "epsbatc"

}  // namespace

StatusOr<LabelledImages> LoadImageSubset(const std::string& spec, int64_t count, int resolution, std::uint64_t seed,
                                         int threads) {
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<ImageSource> source, OpenImageSource(spec, {}));
  if (source->size() < count) {
    return Status::InvalidInput("'" + spec + "' has " + std::to_string(source->size()) + " train images, fewer than the " +
                                std::to_string(count) + " asked for");
  }
  LoaderOptions options;
  options.transform.resolution = resolution;
  options.transform.train = false;
  options.seed = seed;
  options.global_batch = count;
  options.threads = threads;
  options.prefetch = 1;
  options.normalize = false;
  // The images with the smallest keys of (seed, image id): the same images from a folder and from
  // its packed shards, whatever their storage order.
  std::vector<std::pair<std::uint64_t, int64_t>> keyed;
  for (int64_t p = 0; p < source->size(); ++p) {
    keyed.push_back({CounterRng(seed, {kEpsilonBatchKey, static_cast<std::uint64_t>(source->Id(p))}).NextU64(), p});
  }
  std::sort(keyed.begin(), keyed.end());
  for (int64_t i = 0; i < count; ++i) options.positions.push_back(keyed[i].second);
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<ImageLoader> loader, ImageLoader::Create(*source, options));
  loader->Start(0);
  HPCNAS_ASSIGN_OR_RETURN(ImageBatch first, loader->Next());
  LabelledImages out;
  out.images.count = first.count;
  out.images.size = resolution;
  out.images.mean.assign(kImagenetMean, kImagenetMean + 3);
  out.images.stddev.assign(kImagenetStd, kImagenetStd + 3);
  out.images.pixels = std::move(first.bytes);
  out.labels = std::move(first.labels);
  out.num_classes = static_cast<std::int64_t>(source->classes().size());
  return out;
}

StatusOr<ImageBytes> LoadEpsilonImages(const std::string& images, int64_t count, int resolution, std::uint64_t seed,
                                       int threads) {
  if (!IsImageSourceSpec(images)) {
    ImageBytes batch;
    HPCNAS_ASSIGN_OR_RETURN(CifarImages cifar, LoadCifarImages(images, count));
    batch.count = cifar.count;
    batch.size = 32;
    batch.mean.assign(kCifarMean, kCifarMean + 3);
    batch.stddev.assign(kCifarStd, kCifarStd + 3);
    batch.pixels = std::move(cifar.pixels);
    return batch;
  }
  HPCNAS_ASSIGN_OR_RETURN(LabelledImages subset, LoadImageSubset(images, count, resolution, seed, threads));
  return std::move(subset.images);
}

}  // namespace hpcnas
