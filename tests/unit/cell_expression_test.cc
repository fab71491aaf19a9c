#include "engine/metric/cell_expression.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace hpcnas {
namespace {

nb201::Genotype Parse(const char* text) { return *nb201::ParseGenotype(text); }

TEST(CellExpression, SkipIsTheIdentityAndSumsAreMultisets) {
  // node1 = x, node2 = x + x, node3 = x + node1 + node2 = four times x.
  EXPECT_EQ(*CellFunctionKey(Parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")),
            "x+x+x+x");
  // The order of the terms does not matter.
  EXPECT_EQ(CellFunctionKey(Parse("|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|")),
            CellFunctionKey(Parse("|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")));
}

TEST(CellExpression, EqualSubexpressionsAreComputedOnce) {
  // conv3x3(x) feeds node 1 and node 2: one entry, used twice by the output sum.
  const CellProgram p = BuildCellProgram(Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"));
  ASSERT_EQ(p.entries.size(), 3u);  // x, c3(x), c3(x)+c3(x)
  EXPECT_EQ(p.key(), "c3(x)+c3(x)");
  EXPECT_EQ(p.entries[2].operands, (std::vector<int>{1, 1}));
}

TEST(CellExpression, ZeroNodesAndDeadEdgesContributeNothing) {
  // Node 1 is zero (its only input is 'none'), so the conv out of it is zero too; node 2 does
  // not reach the output.
  EXPECT_EQ(*CellFunctionKey(Parse("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|")),
            "p(x)");
  EXPECT_FALSE(CellFunctionKey(Parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")).has_value());
  EXPECT_FALSE(CellFunctionKey(Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")).has_value());
}

TEST(CellExpression, EntriesComeInEvaluationOrderAndOnlyTheNeededOnes) {
  for (int code = 0; code < nb201::kNumCells; code += 7) {
    const CellProgram p = BuildCellProgram(nb201::Genotype::FromCode(code));
    if (p.output < 0) continue;
    ASSERT_EQ(p.entries[0].kind, CellExpression::Kind::kInput);
    std::vector<bool> used(p.entries.size(), false);
    used[p.output] = true;
    for (std::size_t i = 1; i < p.entries.size(); ++i) {
      for (int operand : p.entries[i].operands) {
        ASSERT_LT(operand, static_cast<int>(i));
        used[operand] = true;
      }
    }
    for (std::size_t i = 1; i < p.entries.size(); ++i) EXPECT_TRUE(used[i]) << "entry " << i << " of code " << code;
  }
}

TEST(CellExpression, TheWholeSpaceHas4929FunctionsAnd341ZeroCells) {
  std::set<std::string> keys;
  int zero = 0;
  for (int code = 0; code < nb201::kNumCells; ++code) {
    auto key = CellFunctionKey(nb201::Genotype::FromCode(code));
    if (key) {
      keys.insert(*key);
    } else {
      ++zero;
    }
  }
  EXPECT_EQ(keys.size(), 4929u);
  EXPECT_EQ(zero, 341);
}

}  // namespace
}  // namespace hpcnas
