#pragma once
// Batches of transformed images for data-parallel training, identical whatever the number of
// threads or ranks.
//
// An epoch's order is global: the source's groups (shards) permuted from (seed, epoch), their
// samples concatenated, then shuffled through a bounded buffer (WebDataset's shuffle, drawn from
// the same stream). Global batch b is order[b * B, (b + 1) * B); rank r of R takes its share
// [b * B + r * B / R, b * B + (r + 1) * B / R). So every rank has the same number of batches
// (size / B, the last partial batch dropped), the union of the ranks' batches is the same for
// any R, and a run resumed at batch b continues with exactly the samples it had left. The
// buffer keeps all ranks reading within a window of a few shards at a time (each member read
// at its index offset).
//
// A pool of threads decodes and transforms the samples of the next `prefetch` batches; each
// sample lands in its own slot, so the bytes do not depend on which thread did the work.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/status.h"
#include "io/images/image_source.h"
#include "io/images/transforms.h"

namespace hpcnas {

// The global order of source positions for `epoch`.
std::vector<int64_t> EpochOrder(const std::vector<std::pair<int64_t, int64_t>>& groups, std::uint64_t seed,
                                int64_t epoch, int64_t shuffle_buffer);

struct LoaderOptions {
  TransformOptions transform;
  std::uint64_t seed = 0;
  int64_t global_batch = 256;    // over all ranks
  int rank = 0, ranks = 1;
  int threads = 1;               // decode threads on this rank
  int prefetch = 3;              // batches decoded ahead
  int64_t shuffle_buffer = 8192; // 0 or 1: no shuffling inside the group order (evaluation)
  bool shuffle_groups = true;    // false: the source's own order (evaluation)
  std::vector<int64_t> positions;  // when given: exactly these source positions, in this order, every epoch
  bool skip_corrupt = false;     // a sample that does not decode is left out of its batch and counted
  bool normalize = true;         // float pixels (ImageNet mean/std); false: bytes
};

struct ImageBatch {
  int64_t epoch = 0, index = 0;
  int resolution = 0;
  int64_t count = 0;                // samples in this rank's part of the batch
  std::vector<float> pixels;        // count x 3 x resolution x resolution, when normalize
  std::vector<std::uint8_t> bytes;  // the same, as bytes, when !normalize
  std::vector<int32_t> labels;
  std::vector<int64_t> ids;
  int64_t skipped = 0;              // corrupt samples left out (skip_corrupt)
};

class ImageLoader {
 public:
  static StatusOr<std::unique_ptr<ImageLoader>> Create(const ImageSource& source, const LoaderOptions& options);
  ~ImageLoader();
  ImageLoader(const ImageLoader&) = delete;
  ImageLoader& operator=(const ImageLoader&) = delete;

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // Starts (or restarts) reading `epoch` at global batch `first_batch`.
  void Start(int64_t epoch, int64_t first_batch = 0);
  bool HasNext() const { return next_batch_ < batches_per_epoch_; }
  // The next batch of this rank, in order; a sample that fails to read or decode is an error
  // naming it (or, with skip_corrupt and bad data, a skip).
  StatusOr<ImageBatch> Next();

 private:
  struct Slot;
  ImageLoader(const ImageSource& source, const LoaderOptions& options);
  void StopWorkers();
  void WorkerLoop();
  void FillSlot(Slot& slot, int64_t batch);

  const ImageSource& source_;
  LoaderOptions options_;
  int64_t batches_per_epoch_ = 0;
  int64_t epoch_ = 0;
  int64_t next_batch_ = 0;  // the batch Next() returns
  std::vector<int64_t> order_;

  std::mutex mutex_;
  std::condition_variable work_ready_, batch_done_;
  std::deque<std::unique_ptr<Slot>> slots_;  // batches in flight, in order
  int64_t next_to_schedule_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hpcnas
