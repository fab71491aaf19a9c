// Epsilon on the chain spaces: the one-channel network gives the full network's scores (to float
// rounding) and the same NaN set, and the weight search behaves as the epsinas original.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/metric/epsilon_spaces.h"
#include "io/cifar.h"

namespace hpcnas {
namespace {

torch::Tensor Batch(int64_t n) {
  auto images = LoadCifarImages("embedded", n);
  return CifarImagesToTensor(images->pixels.data(), images->count);
}

std::vector<Architecture> DistinctSample(const SearchSpace& space, int count, std::uint64_t seed) {
  CounterRng rng(seed, {11});
  std::set<std::vector<std::uint8_t>> seen;
  std::vector<Architecture> archs;
  while (static_cast<int>(archs.size()) < count) {
    const Architecture arch = space.Canonical(space.Sample(rng));
    if (seen.insert(arch.choices).second) archs.push_back(arch);
  }
  return archs;
}

// >= 300 random architectures per space, at the space's default weights: relative difference
// <= 1e-4 relative or 1e-5 absolute, and the same NaN set. Small batches and
// (proxyless) a narrow network keep the full path affordable; the collapse depends on neither.
void ExpectPathsAgree(const char* name, ChainNetworkOptions network, int64_t batch_size) {
  auto space = std::move(MakeSearchSpace(name).value());
  const torch::Tensor batch = Batch(batch_size);
  EpsilonScorerOptions options;
  options.weights = DefaultEpsilonWeights(name);
  options.network = network;
  options.path = "full";
  auto full = std::move(MakeEpsilonScorer(*space, batch, options).value());
  options.path = "fast";
  auto fast = std::move(MakeEpsilonScorer(*space, batch, options).value());
  int nan = 0, finite = 0, informative = 0, beyond_relative = 0;
  double worst = 0;
  for (const Architecture& arch : DistinctSample(*space, 300, 5)) {
    const double a = full->Score(arch), b = fast->Score(arch);
    ASSERT_EQ(std::isnan(a), std::isnan(b)) << name << " " << space->Format(arch) << ": full " << a << ", fast " << b;
    if (std::isnan(a)) {
      ++nan;
      continue;
    }
    ++finite;
    informative += std::fabs(a) > 1e-5 ? 1 : 0;
    // Both paths round in float32 through up to 60 layers, in different orders: the difference
    // has a floor of a few 1e-6 in absolute terms (measured: up to 8e-6 on proxyless scores of
    // 0.01-0.05 at batch 8), so a small score is compared absolutely.
    const double difference = std::fabs(a - b);
    if (difference > 1e-4 * std::fabs(a)) ++beyond_relative;
    worst = std::max(worst, difference);
    EXPECT_LE(difference, std::max(1e-4 * std::fabs(a), 1e-5)) << name << " " << space->Format(arch);
  }
  EXPECT_GT(finite, 200) << name << ": the default weights leave most architectures a score";
  EXPECT_GT(informative, 200) << name << ": and the scores are not all zero";
  std::printf("%s: %d finite, %d NaN, largest absolute difference %.3g, %d beyond 1e-4 relative\n", name, finite, nan,
              worst, beyond_relative);
}

TEST(EpsilonSpaces, OneChannelPathAgreesWithTheFullNetworkOnMacro) { ExpectPathsAgree("macro", {}, 8); }

TEST(EpsilonSpaces, OneChannelPathAgreesWithTheFullNetworkOnProxyless) {
  // Narrow and at 160 x 160, near the 224 where the default weights were chosen (at 32..128 the
  // pair leaves most scores at exactly 0 on both paths: see experiments/README.md).
  ChainNetworkOptions network;
  network.resolution = 160;
  network.width_multiplier = 0.35;
  ExpectPathsAgree("proxyless", network, 8);
}

TEST(EpsilonSpaces, OptionsTheSpaceCannotHonourAreErrors) {
  auto macro = std::move(MakeSearchSpace("macro").value());
  EpsilonScorerOptions options;
  options.network.width_multiplier = 0.5;
  EXPECT_FALSE(MakeEpsilonScorer(*macro, Batch(4), options).ok());
  options.network.width_multiplier = 1.0;
  options.exact = true;
  EXPECT_FALSE(MakeEpsilonScorer(*macro, Batch(4), options).ok());
  options.exact = false;
  options.path = "medium";
  EXPECT_FALSE(MakeEpsilonScorer(*macro, Batch(4), options).ok());
}

// The weight search walks the windows as search_weights does (widest first, left to right) and
// stops at the first with fewer than 10% NaN.
TEST(EpsilonSpaces, CalibrationWalksTheWindowsInTheOriginalOrder) {
  auto macro = std::move(MakeSearchSpace("macro").value());
  EpsilonScorerOptions options;
  const WeightCalibration c = CalibrateEpsilonWeights(*macro, Batch(16), options, DistinctSample(*macro, 20, 1));
  ASSERT_TRUE(c.found);
  ASSERT_FALSE(c.trials.empty());
  EXPECT_EQ(c.trials[0].weights.w1, 1e-7);
  EXPECT_EQ(c.trials[0].weights.w2, 1.0);
  if (c.trials.size() > 2) {
    EXPECT_EQ(c.trials[1].weights.w1, 1e-7);
    EXPECT_DOUBLE_EQ(c.trials[1].weights.w2, 0.1);
    EXPECT_DOUBLE_EQ(c.trials[2].weights.w1, 1e-6);
  }
  for (std::size_t i = 0; i + 1 < c.trials.size(); ++i) EXPECT_GE(c.trials[i].nan_share, 0.1);
  EXPECT_LT(c.trials.back().nan_share, 0.1);
  EXPECT_EQ(c.chosen.w1, c.trials.back().weights.w1);
}

}  // namespace
}  // namespace hpcnas
