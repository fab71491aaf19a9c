#include "io/images/loader.h"

#include <algorithm>

#include "engine/core/rng.h"

namespace hpcnas {
namespace {

constexpr std::uint64_t kGroupOrderKey = 0x67726f757073ULL;  // "groups"
constexpr std::uint64_t kShuffleKey = 0x73687566666c65ULL;   // "shuffle"

}  // namespace

std::vector<int64_t> EpochOrder(const std::vector<std::pair<int64_t, int64_t>>& groups, std::uint64_t seed,
                                int64_t epoch, int64_t shuffle_buffer) {
  CounterRng group_rng(seed, {kGroupOrderKey, static_cast<std::uint64_t>(epoch)});
  const auto n = static_cast<int64_t>(groups.size());
  std::vector<int64_t> stream;
  for (int64_t g : SampleWithoutReplacement(group_rng, n, n)) {
    for (int64_t p = groups[g].first; p < groups[g].second; ++p) stream.push_back(p);
  }
  if (shuffle_buffer <= 1) return stream;
  // WebDataset's shuffle: a sample enters a buffer of `shuffle_buffer` and a random one leaves.
  CounterRng rng(seed, {kShuffleKey, static_cast<std::uint64_t>(epoch)});
  std::vector<int64_t> order, buffer;
  order.reserve(stream.size());
  for (int64_t p : stream) {
    if (static_cast<int64_t>(buffer.size()) < shuffle_buffer) {
      buffer.push_back(p);
      continue;
    }
    const auto j = rng.NextBelow(buffer.size());
    order.push_back(buffer[j]);
    buffer[j] = p;
  }
  while (!buffer.empty()) {
    const auto j = rng.NextBelow(buffer.size());
    order.push_back(buffer[j]);
    buffer[j] = buffer.back();
    buffer.pop_back();
  }
  return order;
}

struct ImageLoader::Slot {
  int64_t batch = 0;
  int64_t first = 0;                  // position of the slot's first sample in order_
  int64_t count = 0;
  int64_t taken = 0;                  // samples handed to workers
  int64_t remaining = 0;              // samples not yet finished
  std::vector<std::uint8_t> bytes;    // when !normalize
  std::vector<float> pixels;          // when normalize
  std::vector<Status> status;         // per sample
};

StatusOr<std::unique_ptr<ImageLoader>> ImageLoader::Create(const ImageSource& source, const LoaderOptions& options) {
  const auto bad = [](const std::string& what) { return Status::InvalidInput("image loader: " + what); };
  if (options.ranks < 1 || options.rank < 0 || options.rank >= options.ranks) return bad("rank out of range");
  if (options.global_batch < options.ranks) {
    return bad("global batch " + std::to_string(options.global_batch) + " is smaller than the " +
               std::to_string(options.ranks) + " ranks");
  }
  if (options.threads < 1 || options.prefetch < 1 || options.prefetch > 16) return bad("threads >= 1 and prefetch 1..16");
  if (options.transform.resolution < 8 || options.transform.resolution > 4096) {
    return bad("resolution must be 8..4096, got " + std::to_string(options.transform.resolution));
  }
  for (int64_t p : options.positions) {
    if (p < 0 || p >= source.size()) return bad("position " + std::to_string(p) + " is outside the data");
  }
  if ((options.positions.empty() ? source.size() : static_cast<int64_t>(options.positions.size())) < options.global_batch) {
    return bad("the data holds " + std::to_string(source.size()) + " images, fewer than one global batch of " +
               std::to_string(options.global_batch));
  }
  return std::unique_ptr<ImageLoader>(new ImageLoader(source, options));
}

ImageLoader::ImageLoader(const ImageSource& source, const LoaderOptions& options)
    : source_(source),
      options_(options),
      batches_per_epoch_((options.positions.empty() ? source.size() : static_cast<int64_t>(options.positions.size())) /
                         options.global_batch) {}

ImageLoader::~ImageLoader() { StopWorkers(); }

void ImageLoader::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  slots_.clear();
  stopping_ = false;
}

void ImageLoader::FillSlot(Slot& slot, int64_t batch) {
  const int64_t b = options_.global_batch, r = options_.rank, ranks = options_.ranks;
  const int64_t image = 3LL * options_.transform.resolution * options_.transform.resolution;
  slot.batch = batch;
  slot.first = batch * b + r * b / ranks;
  slot.count = batch * b + (r + 1) * b / ranks - slot.first;
  slot.taken = 0;
  slot.remaining = slot.count;
  if (options_.normalize) {
    slot.pixels.resize(slot.count * image);
  } else {
    slot.bytes.resize(slot.count * image);
  }
  slot.status.assign(slot.count, Status::Ok());
}

void ImageLoader::Start(int64_t epoch, int64_t first_batch) {
  StopWorkers();
  epoch_ = epoch;
  next_batch_ = std::clamp<int64_t>(first_batch, 0, batches_per_epoch_);
  if (!options_.positions.empty()) {
    order_ = options_.positions;
  } else if (options_.shuffle_groups) {
    order_ = EpochOrder(source_.Groups(), options_.seed, epoch, options_.shuffle_buffer);
  } else {
    order_.resize(source_.size());
    for (int64_t p = 0; p < source_.size(); ++p) order_[p] = p;
  }
  next_to_schedule_ = next_batch_;
  while (next_to_schedule_ < batches_per_epoch_ && static_cast<int>(slots_.size()) < options_.prefetch) {
    slots_.push_back(std::make_unique<Slot>());
    FillSlot(*slots_.back(), next_to_schedule_++);
  }
  for (int t = 0; t < options_.threads; ++t) workers_.emplace_back([this] { WorkerLoop(); });
}

void ImageLoader::WorkerLoop() {
  const int resolution = options_.transform.resolution;
  const size_t image = 3ULL * resolution * resolution;
  std::vector<std::uint8_t> scratch(image);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    Slot* slot = nullptr;
    work_ready_.wait(lock, [&] {
      if (stopping_) return true;
      for (auto& s : slots_) {
        if (s->taken < s->count) {
          slot = s.get();
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;
    const int64_t i = slot->taken++;
    lock.unlock();
    const int64_t position = order_[slot->first + i];
    std::uint8_t* out = options_.normalize ? scratch.data() : slot->bytes.data() + i * image;
    Status status;
    auto bytes = source_.ReadBytes(position);
    if (!bytes.ok()) {
      status = bytes.status();
    } else {
      status = TransformJpeg(*bytes, source_.Name(position), options_.transform, options_.seed,
                             static_cast<std::uint64_t>(epoch_), static_cast<std::uint64_t>(source_.Id(position)), out);
    }
    if (status.ok() && options_.normalize) NormalizeImagenet(out, resolution, slot->pixels.data() + i * image);
    lock.lock();
    slot->status[i] = std::move(status);
    if (--slot->remaining == 0) batch_done_.notify_all();
  }
}

StatusOr<ImageBatch> ImageLoader::Next() {
  if (!HasNext()) return Status::Internal("image loader: Next() after the end of the epoch");
  std::unique_lock<std::mutex> lock(mutex_);
  work_ready_.notify_all();
  batch_done_.wait(lock, [&] { return slots_.front()->remaining == 0; });
  std::unique_ptr<Slot> slot = std::move(slots_.front());
  slots_.pop_front();
  if (next_to_schedule_ < batches_per_epoch_) {
    slots_.push_back(std::make_unique<Slot>());
    FillSlot(*slots_.back(), next_to_schedule_++);
    work_ready_.notify_all();
  }
  lock.unlock();
  ++next_batch_;

  const int resolution = options_.transform.resolution;
  const int64_t image = 3LL * resolution * resolution;
  ImageBatch batch;
  batch.epoch = epoch_;
  batch.index = slot->batch;
  batch.resolution = resolution;
  // Leave out the samples that failed (when skipping is allowed), keeping the order.
  int64_t kept = 0;
  for (int64_t i = 0; i < slot->count; ++i) {
    const Status& s = slot->status[i];
    if (!s.ok()) {
      if (options_.skip_corrupt && s.kind() == ErrorKind::kInvalidInput) {
        ++batch.skipped;
        continue;
      }
      return s;
    }
    const int64_t position = order_[slot->first + i];
    batch.labels.push_back(source_.Label(position));
    batch.ids.push_back(source_.Id(position));
    if (kept != i) {
      if (options_.normalize) {
        std::copy_n(slot->pixels.begin() + i * image, image, slot->pixels.begin() + kept * image);
      } else {
        std::copy_n(slot->bytes.begin() + i * image, image, slot->bytes.begin() + kept * image);
      }
    }
    ++kept;
  }
  batch.count = kept;
  slot->pixels.resize(options_.normalize ? kept * image : 0);
  slot->bytes.resize(options_.normalize ? 0 : kept * image);
  batch.pixels = std::move(slot->pixels);
  batch.bytes = std::move(slot->bytes);
  return batch;
}

}  // namespace hpcnas
