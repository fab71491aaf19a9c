// Benchmark: hpcnas's JPEG training pipeline (read + decode + RandomResizedCrop + flip +
// normalise, io/images/loader.h) on a folder of JPEGs, on 1..N decode threads. Prints one line
// of images/s per thread count, as CSV on stdout (experiments/bench_images.py runs it beside
// Pillow and torchvision on the same images and makes the table).
//
//   build/experiments/bench_images --data imagenet:DIR [--threads 1,2] [--resolution 224] [--batches 0]
#include <malloc.h>

#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "io/images/image_source.h"
#include "io/images/loader.h"

using namespace hpcnas;

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"hpcnas JPEG training pipeline throughput"};
  std::string data;
  std::vector<int> thread_counts = {1, 2};
  int resolution = 224;
  int64_t batch = 32;
  int repeats = 1;
  app.add_option("--data", data, "imagenet:DIR or shards:DIR")->required();
  app.add_option("--threads", thread_counts, "decode thread counts to measure")->delimiter(',')->capture_default_str();
  app.add_option("--resolution", resolution, "output size")->capture_default_str();
  app.add_option("--batch", batch, "images per batch")->capture_default_str();
  app.add_option("--repeats", repeats, "epochs per thread count (each a new crop of every image)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto source = OpenImageSource(data, {});
  if (!source.ok()) {
    std::fprintf(stderr, "bench_images: %s\n", source.status().message().c_str());
    return 2;
  }
  std::printf("pipeline,threads,images,seconds,images_per_s\n");
  for (int threads : thread_counts) {
    LoaderOptions options;
    options.transform.resolution = resolution;
    options.global_batch = batch;
    options.threads = threads;
    options.prefetch = 4;
    auto loader = ImageLoader::Create(**source, options);
    if (!loader.ok()) {
      std::fprintf(stderr, "bench_images: %s\n", loader.status().message().c_str());
      return 2;
    }
    (*loader)->Start(1000);  // warm-up: file cache, allocator, thread start
    for (int i = 0; i < 2 && (*loader)->HasNext(); ++i) (void)(*loader)->Next();
    int64_t images = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < repeats; ++epoch) {
      (*loader)->Start(epoch);
      while ((*loader)->HasNext()) {
        auto b = (*loader)->Next();
        if (!b.ok()) {
          std::fprintf(stderr, "bench_images: %s\n", b.status().message().c_str());
          return 3;
        }
        images += b->count;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("hpcnas,%d,%lld,%.3f,%.1f\n", threads, static_cast<long long>(images), seconds, images / seconds);
    std::fflush(stdout);
  }
  return 0;
}
