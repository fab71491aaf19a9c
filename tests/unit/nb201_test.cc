#include "engine/space/nb201.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "io/embedded_data.h"

namespace hpcnas::nb201 {
namespace {

TEST(Nb201, EveryCodeRoundTripsThroughTheString) {
  for (int code = 0; code < kNumCells; ++code) {
    const Genotype g = Genotype::FromCode(code);
    EXPECT_EQ(g.Code(), code);
    auto parsed = ParseGenotype(g.ToString());
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, g);
  }
}

TEST(Nb201, PrintsTheStandardString) {
  Genotype g;
  g.ops = {Op::kConv3x3, Op::kConv3x3, Op::kAvgPool3x3, Op::kSkipConnect, Op::kConv3x3, Op::kSkipConnect};
  EXPECT_EQ(g.ToString(),
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
}

// Checks index <-> string for all 15,625 cells against a table whose rows are "index,arch,...".
void ExpectOfficialOrderMatches(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (std::getline(in, line)) {
    const auto comma1 = line.find(',');
    const auto comma2 = line.find(',', comma1 + 1);
    const int index = std::atoi(line.substr(0, comma1).c_str());
    const std::string arch = line.substr(comma1 + 1, comma2 - comma1 - 1);
    auto g = ParseGenotype(arch);
    ASSERT_TRUE(g.ok()) << g.status().message();
    ASSERT_EQ(OfficialIndex(*g), index) << arch;
    ASSERT_EQ(FromOfficialIndex(index)->ToString(), arch);
    ++rows;
  }
  EXPECT_EQ(rows, kNumCells);
}

TEST(Nb201, OfficialIndexMatchesTheEmbeddedTable) { ExpectOfficialOrderMatches(std::string(embedded::Nb201Table())); }

TEST(Nb201, OfficialIndexMatchesTheSharedGroundTruth) {
  std::ifstream file(std::string(HPCNAS_SHARED_DATA_DIR) + "/nb201.csv");
  if (!file) GTEST_SKIP() << "needs the full data in ../shared/data (nb201.csv); not present";
  std::stringstream content;
  content << file.rdbuf();
  ExpectOfficialOrderMatches(content.str());
}

TEST(Nb201, KnownIndicesFromTheBenchmark) {
  // data/README.md: the NB201 optimum on CIFAR-10 is index 6111; index 1 is the README example.
  EXPECT_EQ(FromOfficialIndex(6111)->ToString(),
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|");
  EXPECT_EQ(OfficialIndex(*ParseGenotype(
                "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")),
            1);
  EXPECT_FALSE(FromOfficialIndex(-1).ok());
  EXPECT_FALSE(FromOfficialIndex(kNumCells).ok());
}

TEST(Nb201, CanonicalHashIsDistinctAndStable) {
  std::set<std::uint64_t> hashes;
  for (int code = 0; code < kNumCells; ++code) hashes.insert(Genotype::FromCode(code).CanonicalHash());
  EXPECT_EQ(hashes.size(), static_cast<std::size_t>(kNumCells));
  // Stable across builds and machines: checkpoints and random streams are keyed by it.
  EXPECT_EQ(Genotype::FromCode(0).CanonicalHash(), 0xcf9a040ee8a20e3cULL) << std::hex << Genotype::FromCode(0).CanonicalHash();
}

TEST(Nb201, SurroundingWhitespaceIsAccepted) {
  auto g = ParseGenotype("  |none~0|+|none~0|none~1|+|none~0|none~1|none~2|\r\n");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->Code(), 0);
}

struct Malformed {
  const char* text;
  const char* expected_fragment;
};

class Nb201Malformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(Nb201Malformed, IsRejectedWithAClearMessage) {
  auto g = ParseGenotype(GetParam().text);
  ASSERT_FALSE(g.ok()) << GetParam().text;
  EXPECT_EQ(g.status().kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(g.status().message().find(GetParam().expected_fragment), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("invalid NB201 genotype"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Nb201Malformed,
    ::testing::Values(
        Malformed{"", "empty string"},
        Malformed{"|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'nor_conv_5x5'"},
        Malformed{"|none~0|+|none~0|none~1|", "expected 3 nodes"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "expected 3 nodes"},
        Malformed{"|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 incoming edge(s), found 1"},
        Malformed{"|none~0|+|none~0|none~1|none~2|+|none~0|none~1|none~2|", "node 2 must have 2"},
        Malformed{"|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "expected '~0'"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~3|", "has input '~3'"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~x|", "has input '~x'"},
        Malformed{"|none|+|none~0|none~1|+|none~0|none~1|none~2|", "not of the form op~i"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|garbage", "must start and end with '|'"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x|", "node 3 must have 3 incoming edge(s), found 4"},
        Malformed{"none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1"},
        Malformed{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2~|", "has input '~2~'"}),
    [](const ::testing::TestParamInfo<Malformed>& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace hpcnas::nb201
