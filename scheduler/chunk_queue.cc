#include "scheduler/chunk_queue.h"

#include <algorithm>

namespace hpcnas {

ChunkQueue::ChunkQueue(int64_t total, int num_ranks, int64_t min_chunk, int64_t max_chunk)
    : total_(std::max<int64_t>(0, total)),
      num_ranks_(std::max(1, num_ranks)),
      min_chunk_(std::max<int64_t>(1, min_chunk)),
      max_chunk_(std::max(min_chunk_, max_chunk)) {}

std::optional<Chunk> ChunkQueue::Next() {
  const int64_t left = remaining();
  if (left == 0) return std::nullopt;
  const int64_t guided = (left + 2 * num_ranks_ - 1) / (2 * num_ranks_);
  const int64_t size = std::min(left, std::clamp(guided, min_chunk_, max_chunk_));
  Chunk chunk{next_, next_ + size};
  next_ += size;
  return chunk;
}

std::vector<int> SilenceWatch::SilentRanks(double now, double timeout) const {
  std::vector<int> silent;
  for (int r = 0; r < static_cast<int>(last_heard_.size()); ++r) {
    if (chunks_held_[r] > 0 && now - last_heard_[r] > timeout) silent.push_back(r);
  }
  return silent;
}

}  // namespace hpcnas
