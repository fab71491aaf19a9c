#pragma once
// Pure work-partitioning logic, testable without any communicator.

#include <cstdint>
#include <optional>
#include <vector>

namespace hpcnas {

struct Chunk {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Hands out [0, total) in consecutive chunks by guided self-scheduling: each chunk is
// ceil(remaining / (2 * num_ranks)), clamped to [min_chunk, max_chunk]. Early chunks are large
// (few messages), late ones small (ranks finish together); a rank that finishes early simply
// asks again.
class ChunkQueue {
 public:
  ChunkQueue(int64_t total, int num_ranks, int64_t min_chunk, int64_t max_chunk);
  std::optional<Chunk> Next();
  int64_t remaining() const { return total_ - next_; }
  int64_t total() const { return total_; }

 private:
  int64_t total_;
  int num_ranks_;
  int64_t min_chunk_;
  int64_t max_chunk_;
  int64_t next_ = 0;
};

// Which ranks hold unfinished work and have been silent for longer than a timeout.
class SilenceWatch {
 public:
  explicit SilenceWatch(int num_ranks) : last_heard_(num_ranks, 0.0), chunks_held_(num_ranks, 0) {}
  void Heard(int rank, double now) { last_heard_[rank] = now; }
  void Assigned(int rank) { ++chunks_held_[rank]; }
  void Returned(int rank) { --chunks_held_[rank]; }
  int chunks_held(int rank) const { return chunks_held_[rank]; }
  std::vector<int> SilentRanks(double now, double timeout) const;

 private:
  std::vector<double> last_heard_;
  std::vector<int> chunks_held_;
};

}  // namespace hpcnas
