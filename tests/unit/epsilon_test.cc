#include "engine/metric/epsilon.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/nn/nb201_network.h"
#include "io/cifar.h"

namespace hpcnas {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
using F = std::vector<float>;

TEST(EpsilonFormula, HandComputedExample) {
  // Normalised: y1 = [0, 1/3, 2/3, 1], y2 = [0, 2/3, 1/3, 1]; the zeros become NaN.
  // mean |y1 - y2| over positions 1..3 = (1/3 + 1/3 + 0) / 3 = 2/9; mean of the six values = 2/3.
  EXPECT_NEAR(EpsilonFromOutputs(F{0, 1, 2, 3}, F{0, 2, 1, 3}), 1.0 / 3.0, 1e-7);
  // Invariant to a positive affine change of either output.
  EXPECT_NEAR(EpsilonFromOutputs(F{5, 7, 9, 11}, F{-3, 1, -1, 3}), 1.0 / 3.0, 1e-7);
}

TEST(EpsilonFormula, ConstantOrNonFiniteOutputGivesNaN) {
  EXPECT_TRUE(std::isnan(EpsilonFromOutputs(F{1, 1, 1}, F{0, 1, 2})));
  EXPECT_TRUE(std::isnan(EpsilonFromOutputs(F{0, 1, 2}, F{0, 0, 0})));
  EXPECT_TRUE(std::isnan(EpsilonFromOutputs(F{0, 1, kInf}, F{0, 1, 2})));
}

TEST(EpsilonFormula, NaNEntriesAreIgnoredLikeNumpyNanmin) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // y1 = [0, 1/3, 2/3, 1, NaN], y2 = [0, 2/3, 1/3, 1, 1]: mean |diff| over positions 1..3 = 2/9,
  // mean of the 7 present values = 5/7.
  EXPECT_NEAR(EpsilonFromOutputs(F{0, 1, 2, 3, nan}, F{0, 2, 1, 3, 3}), (2.0 / 9.0) / (5.0 / 7.0), 1e-7);
}

TEST(CifarTensor, NormalisesWithTheCifarMeanAndStd) {
  std::vector<std::uint8_t> pixels(3072, 0);
  pixels[0] = 0;             // R plane, first pixel
  pixels[1] = 255;           // R plane, second pixel
  pixels[1024 + 5] = 128;    // G plane
  torch::Tensor x = CifarImagesToTensor(pixels.data(), 1);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_NEAR(x[0][0][0][0].item<float>(), (0.0 - 125.3 / 255) / (63.0 / 255), 1e-5);
  EXPECT_NEAR(x[0][0][0][1].item<float>(), (1.0 - 125.3 / 255) / (63.0 / 255), 1e-5);
  EXPECT_NEAR(x[0][1][0][5].item<float>(), (128.0 / 255 - 123.0 / 255) / (62.1 / 255), 1e-5);
  EXPECT_NEAR(x[0][2][31][31].item<float>(), (0.0 - 113.9 / 255) / (66.7 / 255), 1e-5);
}

nb201::Genotype Uniform(nb201::Op op) {
  nb201::Genotype g;
  g.ops.fill(op);
  return g;
}

int64_t CountParameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(Nb201Network, ParameterCountMatchesTheArchitecture) {
  // All-conv3x3 cell, C = 16, N = 5, 10 outputs, counted by hand from DESIGN 4.1.
  auto conv_bn = [](int64_t in, int64_t out, int64_t k) { return in * out * k * k + 2 * out; };
  int64_t expected = conv_bn(3, 16, 3);
  for (int64_t c : {16, 32, 64}) expected += 5 * 6 * conv_bn(c, c, 3);
  expected += conv_bn(16, 32, 3) + conv_bn(32, 32, 3) + 16 * 32;  // reduction 1 (+ 1x1 shortcut)
  expected += conv_bn(32, 64, 3) + conv_bn(64, 64, 3) + 32 * 64;  // reduction 2
  expected += 2 * 64 + 64 * 10 + 10;                              // last BN, classifier
  Nb201Network net(Nb201NetworkOptions(Uniform(nb201::Op::kConv3x3)).num_outputs(10));
  EXPECT_EQ(CountParameters(*net), expected);
  // Parameter-free ops add nothing beyond the skeleton.
  Nb201Network pool(Nb201NetworkOptions(Uniform(nb201::Op::kAvgPool3x3)).num_outputs(10));
  int64_t cell_convs = 0;
  for (int64_t c : {16, 32, 64}) cell_convs += 5 * 6 * conv_bn(c, c, 3);
  EXPECT_EQ(CountParameters(*pool), expected - cell_convs);
}

TEST(Nb201Network, OutputShapeAndOptions) {
  torch::Tensor x = torch::randn({4, 3, 32, 32});
  Nb201Network net(Nb201NetworkOptions(*nb201::FromOfficialIndex(1)).num_outputs(7).channels(8).cells_per_stage(2));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{4, 7}));
  EXPECT_TRUE(net->buffers().empty());  // batch statistics only: no running stats
  Nb201Network tracked(Nb201NetworkOptions(*nb201::FromOfficialIndex(1)).batch_norm(BatchNormMode::kRunningStatistics));
  EXPECT_FALSE(tracked->buffers().empty());
}

TEST(Nb201Network, AllNoneCellIgnoresItsInput) {
  Nb201Network net(Nb201NetworkOptions(Uniform(nb201::Op::kNone)).num_outputs(3));
  torch::NoGradGuard no_grad;
  torch::Tensor a = net->forward(torch::randn({5, 3, 32, 32}));
  torch::Tensor b = net->forward(torch::randn({5, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(FullNetworkEpsilon, AllNoneCellIsNaNAndScoresAreDeterministic) {
  auto images = LoadCifarImages("embedded", 32);
  ASSERT_TRUE(images.ok());
  auto scorer = MakeFullNetworkEpsilonScorer(CifarImagesToTensor(images->pixels.data(), 32), {});
  EXPECT_TRUE(std::isnan(scorer->Score(Uniform(nb201::Op::kNone))));
  const nb201::Genotype skip = Uniform(nb201::Op::kSkipConnect);
  const double first = scorer->Score(skip);
  EXPECT_TRUE(std::isfinite(first));
  EXPECT_GT(first, 0.0);
  EXPECT_EQ(scorer->Score(skip), first);  // bitwise
  EXPECT_EQ(scorer->name(), "full");
}

}  // namespace
}  // namespace hpcnas

namespace hpcnas {
namespace {

TEST(EpsilonRankKey, QuantilesWithinGroupsUnderflowedAboveZeroCellsLast) {
  const double nan = std::nan("");
  // Two finite cells, two underflowed ones (exact scores only), one identically-zero cell.
  const std::vector<double> float32 = {0.2, 0.6, nan, nan, nan};
  const std::vector<double> exact = {0.2, 0.6, 0.1, 0.05, nan};
  const auto key = EpsilonRankKey(float32, exact, 0.5);
  EXPECT_DOUBLE_EQ(key[0], 0.25);        // quantiles (rank - 0.5) / 2 among the finite cells
  EXPECT_DOUBLE_EQ(key[1], 0.75);
  EXPECT_DOUBLE_EQ(key[2], 0.5 + 0.75);  // underflowed: offset + quantile by exact epsilon
  EXPECT_DOUBLE_EQ(key[3], 0.5 + 0.25);
  EXPECT_DOUBLE_EQ(key[4], -1.0);
  const auto tiers = EpsilonRankKey(float32, exact, 1.0);
  EXPECT_GT(tiers[3], tiers[1]);  // offset 1: every underflowed cell above every finite one
}

}  // namespace
}  // namespace hpcnas
