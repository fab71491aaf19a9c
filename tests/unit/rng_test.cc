#include "engine/core/rng.h"

#include <gtest/gtest.h>

#include <set>

namespace hpcnas {
namespace {

TEST(CounterRng, SameSeedAndKeySameStream) {
  CounterRng a(42, {1, 2, 3}), b(42, {1, 2, 3});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.NextU64(), b.NextU64());
}

TEST(CounterRng, DifferentKeysOrSeedsDiffer) {
  CounterRng a(42, {1, 2, 3}), b(42, {1, 2, 4}), c(43, {1, 2, 3});
  int same_b = 0, same_c = 0;
  for (int i = 0; i < 100; ++i) {
    const auto v = a.NextU64();
    same_b += v == b.NextU64();
    same_c += v == c.NextU64();
  }
  EXPECT_EQ(same_b, 0);
  EXPECT_EQ(same_c, 0);
}

TEST(CounterRng, PositionRestoresTheStream) {
  CounterRng a(7, {9});
  for (int i = 0; i < 17; ++i) a.NextU64();
  const auto saved = a.position();
  const auto expected = a.NextU64();
  CounterRng b(7, {9});
  b.set_position(saved);
  EXPECT_EQ(b.NextU64(), expected);
}

TEST(CounterRng, NextBelowIsInRangeAndRoughlyUniform) {
  CounterRng rng(1, {});
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const auto v = rng.NextBelow(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // > 5 sigma
  double sum = 0;
  for (int i = 0; i < 100000; ++i) sum += rng.NextUniform();
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

TEST(CounterRng, SampleWithoutReplacementIsDistinctAndDeterministic) {
  CounterRng a(3, {5}), b(3, {5});
  const auto s = SampleWithoutReplacement(a, 15625, 1000);
  EXPECT_EQ(s, SampleWithoutReplacement(b, 15625, 1000));
  EXPECT_EQ(std::set<int64_t>(s.begin(), s.end()).size(), 1000u);
  for (auto v : s) {
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 15625);
  }
  CounterRng c(3, {5});
  const auto all = SampleWithoutReplacement(c, 20, 50);  // asks for more than there are
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), 20u);
}

}  // namespace
}  // namespace hpcnas
