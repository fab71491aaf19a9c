#include "engine/core/rng.h"

#include <numeric>
#include <unordered_map>

namespace hpcnas {
namespace {

std::uint64_t SplitMix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Philox4x32 with 10 rounds (Salmon et al., SC'11), constants from the paper.
std::array<std::uint32_t, 4> Philox4x32(std::array<std::uint32_t, 4> ctr, std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key[0] += kW0;
    key[1] += kW1;
  }
  return ctr;
}

}  // namespace

CounterRng::CounterRng(std::uint64_t seed, std::initializer_list<std::uint64_t> key) {
  const std::uint64_t k = SplitMix64(seed);
  key_ = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
  std::uint64_t stream = 0x68706e6173ULL;  // "hpnas"
  for (std::uint64_t part : key) stream = SplitMix64(stream ^ part);
  stream_ = stream;
}

std::uint64_t CounterRng::NextU64() {
  const std::uint64_t c = counter_++;
  const auto out = Philox4x32({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32),
                               static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
                              key_);
  return (static_cast<std::uint64_t>(out[0]) << 32) | out[1];
}

double CounterRng::NextUniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

std::uint64_t CounterRng::NextBelow(std::uint64_t n) {
  while (true) {
    const unsigned __int128 product = static_cast<unsigned __int128>(NextU64()) * n;
    const auto low = static_cast<std::uint64_t>(product);
    if (low >= (0 - n) % n) return static_cast<std::uint64_t>(product >> 64);
  }
}

std::vector<std::int64_t> SampleWithoutReplacement(CounterRng& rng, std::int64_t n, std::int64_t count) {
  // Sparse Fisher-Yates: only the swapped positions are stored.
  std::unordered_map<std::int64_t, std::int64_t> swapped;
  auto at = [&](std::int64_t i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  std::vector<std::int64_t> out;
  out.reserve(count);
  for (std::int64_t i = 0; i < count && i < n; ++i) {
    const std::int64_t j = i + static_cast<std::int64_t>(rng.NextBelow(static_cast<std::uint64_t>(n - i)));
    const std::int64_t vi = at(i), vj = at(j);
    swapped[j] = vi;
    swapped[i] = vj;
    out.push_back(vj);
  }
  return out;
}

}  // namespace hpcnas
