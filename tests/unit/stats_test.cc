#include "engine/core/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace hpcnas {
namespace {

// Reference values from scipy.stats (spearmanr, kendalltau) and numpy.percentile on the
// same inputs.
const std::vector<double> kX = {1, 2, 2, 3, 5, 8, 8, 8, 10, 0.5};
const std::vector<double> kY = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};

TEST(Stats, SpearmanWithTiesMatchesScipy) { EXPECT_NEAR(SpearmanRho(kX, kY), 0.5062209449062024, 1e-12); }
TEST(Stats, KendallTauBWithTiesMatchesScipy) { EXPECT_NEAR(KendallTau(kX, kY), 0.3855701541695039, 1e-12); }

TEST(Stats, PercentileInterpolatesLikeNumpy) {
  EXPECT_DOUBLE_EQ(Percentile(kX, 90), 8.2);
  EXPECT_DOUBLE_EQ(Percentile(kX, 37.5), 2.375);
  EXPECT_DOUBLE_EQ(Percentile(kX, 0), 0.5);
  EXPECT_DOUBLE_EQ(Percentile(kX, 100), 10);
}

double BruteForceKendall(const std::vector<double>& x, const std::vector<double>& y) {
  double concordant_minus_discordant = 0, tied_x = 0, tied_y = 0, pairs = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      ++pairs;
      if (dx == 0) ++tied_x;
      if (dy == 0) ++tied_y;
      if (dx != 0 && dy != 0) concordant_minus_discordant += (dx > 0) == (dy > 0) ? 1 : -1;
    }
  }
  return concordant_minus_discordant / std::sqrt((pairs - tied_x) * (pairs - tied_y));
}

TEST(Stats, FastKendallEqualsTheQuadraticDefinition) {
  std::mt19937 gen(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::uniform_int_distribution<int> small(0, 5 + trial);
    std::vector<double> x(50 + 13 * trial), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = small(gen);
      y[i] = x[i] * (trial % 3 - 1) + small(gen);
    }
    EXPECT_NEAR(KendallTau(x, y), BruteForceKendall(x, y), 1e-12) << "trial " << trial;
  }
}

TEST(Stats, PerfectAndReversedOrder) {
  std::vector<double> a = {1, 2, 3, 4, 5}, b = {10, 20, 30, 40, 50}, c = {5, 4, 3, 2, 1};
  EXPECT_DOUBLE_EQ(SpearmanRho(a, b), 1.0);
  EXPECT_DOUBLE_EQ(KendallTau(a, b), 1.0);
  EXPECT_DOUBLE_EQ(SpearmanRho(a, c), -1.0);
  EXPECT_DOUBLE_EQ(KendallTau(a, c), -1.0);
}

TEST(Stats, DegenerateInputsGiveNaN) {
  EXPECT_TRUE(std::isnan(SpearmanRho({1.0}, {2.0})));
  EXPECT_TRUE(std::isnan(KendallTau({}, {})));
  EXPECT_TRUE(std::isnan(SpearmanRho({1, 1, 1}, {1, 2, 3})));
}

TEST(Stats, AverageRanksShareTies) {
  EXPECT_EQ(AverageRanks({10, 20, 20, 5}), (std::vector<double>{2, 3.5, 3.5, 1}));
}

TEST(Stats, SummaryLeavesNaNScoresOutAndCountsThem) {
  std::vector<double> scores, accuracy;
  for (int i = 0; i < 100; ++i) {
    scores.push_back(i % 10 == 3 ? NAN : i);
    accuracy.push_back(i);
  }
  const RankingSummary s = SummariseRanking(scores, accuracy);
  EXPECT_EQ(s.num_total, 100);
  EXPECT_EQ(s.num_nan, 10);
  EXPECT_EQ(s.num_ranked, 90);
  EXPECT_DOUBLE_EQ(s.spearman, 1.0);
  EXPECT_DOUBLE_EQ(s.kendall, 1.0);
  EXPECT_DOUBLE_EQ(s.top10_overlap, 1.0);
  // Reverse the score: the top 10 % by score are the worst by accuracy.
  for (double& v : scores) v = -v;
  EXPECT_DOUBLE_EQ(SummariseRanking(scores, accuracy).top10_overlap, 0.0);
}

}  // namespace
}  // namespace hpcnas

#include "engine/core/printable.h"

namespace hpcnas {
namespace {

TEST(Printable, EscapesControlBytesAndBoundsTheLength) {
  EXPECT_EQ(Printable("a\rb\x1b[2Jc\n"), "a\\x0db\\x1b[2Jc\\n");
  const std::string huge(3'000'000, 'x');
  const std::string shown = Printable(huge, 100);
  EXPECT_LT(shown.size(), 140u);
  EXPECT_NE(shown.find("(2999900 more bytes)"), std::string::npos);
  EXPECT_EQ(Printable("plain text"), "plain text");
}

}  // namespace
}  // namespace hpcnas
