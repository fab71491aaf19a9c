// The one-channel epsilon path against the reference network (a few cells here; 505 cells in
// the end-to-end test cli.score.fidelity_and_paths), its SIMD variants, and its arithmetics.
#include "engine/metric/epsilon_fast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "engine/core/rng.h"
#include "io/cifar.h"

namespace hpcnas {
namespace {

class OneChannelEpsilon : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto images = LoadCifarImages("embedded", 256);
    ASSERT_TRUE(images.ok());
    images_ = new torch::Tensor(CifarImagesToTensor(images->pixels.data(), 256));
  }
  static void TearDownTestSuite() { delete images_; }
  static std::vector<nb201::Genotype> Sample(int n, uint64_t seed) {
    CounterRng rng(seed, {});
    std::vector<nb201::Genotype> cells;
    for (int64_t c : SampleWithoutReplacement(rng, nb201::kNumCells, n)) cells.push_back(nb201::Genotype::FromCode(static_cast<int>(c)));
    return cells;
  }
  static torch::Tensor* images_;
};
torch::Tensor* OneChannelEpsilon::images_ = nullptr;

TEST_F(OneChannelEpsilon, MatchesTheFullNetworkOnEveryOpAndTheSkeleton) {
  auto full = MakeFullNetworkEpsilonScorer(*images_, {});
  auto fast = MakeOneChannelEpsilonScorer(*images_, {});
  // Every op on every edge position, in cells that stay finite in float32 (a skip path keeps the
  // w1 signal alive) and cells that underflow to NaN.
  const char* cells[] = {
      "|nor_conv_1x1~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|skip_connect~2|",
      "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|",
      "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|skip_connect~1|avg_pool_3x3~2|",
      "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|skip_connect~2|",
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
      "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
  };
  for (const char* text : cells) {
    const nb201::Genotype g = *nb201::ParseGenotype(text);
    const double reference = full->Score(g), ours = fast->Score(g);
    ASSERT_EQ(std::isnan(reference), std::isnan(ours)) << text << ": reference " << reference << ", fast " << ours;
    if (!std::isnan(reference)) {
      EXPECT_NEAR(ours, reference, 1e-4 * reference) << text;
    }
  }
}

TEST_F(OneChannelEpsilon, EverySimdVariantGivesBitwiseTheSameScores) {
  const auto cells = Sample(40, 11);
  auto baseline = MakeOneChannelEpsilonScorer(*images_, {}, EpsilonArithmetic::kFloat32, SimdLevel::kBaseline);
  std::vector<double> expected;
  for (const auto& g : cells) expected.push_back(baseline->Score(g));
  for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (static_cast<int>(level) > static_cast<int>(BestSimdLevel())) continue;
    auto scorer = MakeOneChannelEpsilonScorer(*images_, {}, EpsilonArithmetic::kFloat32, level);
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const double v = scorer->Score(cells[i]);
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(v));
      } else {
        EXPECT_EQ(v, expected[i]) << scorer->name() << " on " << cells[i].ToString();
      }
    }
  }
}

TEST_F(OneChannelEpsilon, CellsWithTheSameFunctionGetTheSameScore) {
  auto fast = MakeOneChannelEpsilonScorer(*images_, {});
  std::map<std::string, std::pair<std::string, double>> first;
  int compared = 0;
  for (const auto& g : Sample(400, 5)) {
    auto key = CellFunctionKey(g);
    if (!key) {
      EXPECT_TRUE(std::isnan(fast->Score(g)));
      continue;
    }
    const double score = fast->Score(g);
    auto [it, inserted] = first.emplace(*key, std::make_pair(g.ToString(), score));
    if (inserted) continue;
    ++compared;
    if (std::isnan(score)) {
      EXPECT_TRUE(std::isnan(it->second.second));
    } else {
      EXPECT_EQ(score, it->second.second) << g.ToString() << " vs " << it->second.first;
    }
  }
  EXPECT_GT(compared, 20);
}

TEST_F(OneChannelEpsilon, Float64AndExactArithmeticsAgreeWhereFloat32IsFiniteAndRankEveryCell) {
  auto f32 = MakeOneChannelEpsilonScorer(*images_, {}, EpsilonArithmetic::kFloat32);
  auto f64 = MakeOneChannelEpsilonScorer(*images_, {}, EpsilonArithmetic::kFloat64);
  auto exact = MakeOneChannelEpsilonScorer(*images_, {}, EpsilonArithmetic::kScaledFloat64);
  int underflowed = 0;
  for (const auto& g : Sample(60, 3)) {
    const double a = f32->Score(g), b = f64->Score(g);
    const EpsilonDetails c = exact->ScoreWithDetails(g);
    if (!CellFunctionKey(g)) {
      EXPECT_TRUE(std::isnan(c.epsilon));  // identically zero: no arithmetic can rank it
      continue;
    }
    EXPECT_TRUE(std::isfinite(c.epsilon)) << g.ToString();  // no underflow in the exact arithmetic
    if (std::isnan(a)) {
      ++underflowed;
      continue;
    }
    // Conv-free functions: float32 rounding moves their tiny epsilon by up to ~1 % (see the
    // end-to-end test cli.score.fidelity_and_paths).
    if (CellFunctionKey(g)->find('c') == std::string::npos) continue;
    EXPECT_NEAR(b, a, 1e-4 * a) << g.ToString();
    EXPECT_NEAR(c.epsilon, a, 1e-4 * a) << g.ToString();
  }
  EXPECT_GT(underflowed, 10);
}

}  // namespace
}  // namespace hpcnas
