#pragma once
// Counter-based random numbers (DESIGN section 5). A stream is named by a seed and a key
// (e.g. generation, purpose, genotype hash); its i-th number is a pure function of
// (seed, key, i) computed with Philox4x32-10. So every draw is reproducible from the seed,
// whatever the number of ranks or the order in which work finishes, and a stream's position
// is one integer that a checkpoint can store.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace hpcnas {

class CounterRng {
 public:
  CounterRng(std::uint64_t seed, std::initializer_list<std::uint64_t> key);

  std::uint64_t NextU64();
  double NextUniform();  // [0, 1), 53 bits
  // Uniform in [0, n), unbiased (Lemire's multiply-and-reject); n >= 1.
  std::uint64_t NextBelow(std::uint64_t n);

  std::uint64_t position() const { return counter_; }
  void set_position(std::uint64_t position) { counter_ = position; }

 private:
  std::array<std::uint32_t, 2> key_{};
  std::uint64_t stream_ = 0;
  std::uint64_t counter_ = 0;
};

// `count` distinct values from [0, n), in the order drawn (a partial Fisher-Yates shuffle).
std::vector<std::int64_t> SampleWithoutReplacement(CounterRng& rng, std::int64_t n, std::int64_t count);

}  // namespace hpcnas
