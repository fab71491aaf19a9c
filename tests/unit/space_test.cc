// Search spaces as plug-ins: NB201 behind the interface unchanged, NAS-Bench-Macro exactly
// (canonical form, params and FLOPs of all 6,561 keys against the benchmark's own columns), the
// ProxylessNAS MBConv space, and the networks built from their plans.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "engine/nn/chain_network.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/nb201_space.h"
#include "io/csv.h"
#include "io/embedded_data.h"
#include "io/space_data.h"

namespace hpcnas {
namespace {

std::unique_ptr<SearchSpace> Space(const char* name) { return std::move(MakeSearchSpace(name).value()); }

void ExpectParseError(const SearchSpace& space, const std::string& text, const std::string& fragment) {
  auto parsed = space.Parse(text);
  ASSERT_FALSE(parsed.ok()) << text << " parsed";
  EXPECT_EQ(parsed.status().kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(parsed.status().message().find(fragment), std::string::npos)
      << "message: " << parsed.status().message() << "\nexpected to contain: " << fragment;
}

TEST(SearchSpaceFactory, MakesEachSpaceAndNamesTheKnownOnes) {
  for (const char* name : {"nb201", "macro", "proxyless"}) EXPECT_EQ(Space(name)->name(), name);
  auto unknown = MakeSearchSpace("nb301\x1b[2J");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("nb201, macro, proxyless"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("\\x1b"), std::string::npos) << "control bytes are escaped";
  EXPECT_EQ(QuoteForError(std::string(5000, 'x')).size() < 200, true) << "long strings are cut";
}

TEST(Nb201Space, IsTheNb201GenotypeBehindTheInterface) {
  auto space = Space("nb201");
  ASSERT_EQ(*space->Size(), nb201::kNumCells);
  EXPECT_TRUE(space->Enumerable());
  for (int code = 0; code < nb201::kNumCells; code += 7) {
    const Architecture arch = space->AtIndex(code);
    const nb201::Genotype g = nb201::Genotype::FromCode(code);
    EXPECT_EQ(ToNb201(arch), g);
    EXPECT_EQ(space->IndexOf(arch), code);
    EXPECT_EQ(space->Format(arch), g.ToString());
    EXPECT_EQ(space->CanonicalHash(arch), g.CanonicalHash()) << "NB201 keeps its hash, so its streams are unchanged";
    EXPECT_EQ(*space->Parse(g.ToString()), arch);
  }
  ExpectParseError(*space, "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'");
  const Architecture cell = *space->Parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|");
  const ArchGraph graph = space->Graph(cell);
  EXPECT_EQ(graph.num_nodes, 4);
  EXPECT_EQ(graph.token_ids, (std::vector<int>{3, 0, 1, 0, 0, 4}));
  EXPECT_EQ(graph.adjacency[0][1], 1);
  EXPECT_EQ(graph.adjacency[0][2], 0) << "a none edge carries nothing";
  EXPECT_EQ(graph.adjacency[1][2], 1);
  EXPECT_EQ(graph.adjacency[2][3], 1);
}

TEST(MacroSpace, GenotypeStringsAndErrors) {
  auto space = Space("macro");
  EXPECT_EQ(*space->Size(), 6561);
  EXPECT_EQ(*space->CanonicalCount(), 3969) << "the benchmark trained 3,969 distinct networks";
  const Architecture best = *space->Parse("22212202");
  EXPECT_EQ(space->Format(best), "22212202");
  EXPECT_EQ(*space->Parse(" MB6_K5,mb6_k5,mb6_k5,mb3_k3,mb6_k5,mb6_k5,identity,mb6_k5 "), best);
  EXPECT_EQ(*space->Parse("ir_5x5_t6,ir_5x5_t6,ir_5x5_t6,ir_3x3_t3,ir_5x5_t6,ir_5x5_t6,id,ir_5x5_t6"), best);
  ExpectParseError(*space, "2221220", "needs 8 digits, found 7");
  ExpectParseError(*space, "22212203", "digit 3 at layer 7 (stage 3) is not allowed there");
  ExpectParseError(*space, "mb6_k5,mb6_k5,conv,mb3_k3,mb6_k5,mb6_k5,identity,mb6_k5",
                   "unknown operation 'conv' at layer 2 (stage 2)");
  ExpectParseError(*space, "mb6_k5,mb6_k5", "expected 8 operations");
  ExpectParseError(*space, "", "empty string");
  ExpectParseError(*space, "22|212|202", "expected 8 operations");
  ExpectParseError(*space, "mb6_k5,mb6_k5,mb6_k5|mb3_k3,mb6_k5,mb6_k5|identity,mb6_k5", "stages separated by '|' must hold 2, 3, 3");
  EXPECT_TRUE(space->Parse("mb6_k5,mb6_k5|mb6_k5,mb3_k3,mb6_k5|mb6_k5,identity,mb6_k5").ok());
}

TEST(MacroSpace, CanonicalFormMovesStrideOneIdentitiesToTheEndOfTheirStage) {
  auto space = Space("macro");
  EXPECT_EQ(space->Format(space->Canonical(*space->Parse("00000001"))), "00000010");
  EXPECT_EQ(space->Format(space->Canonical(*space->Parse("20101002"))), "20110020");
  // The first layer of a stage changes shape: its identity (a 1x1 conv) stays where it is.
  EXPECT_EQ(space->Format(space->Canonical(*space->Parse("00100000"))), "00100000");
  EXPECT_EQ(space->CanonicalHash(*space->Parse("00000001")), space->CanonicalHash(*space->Parse("00000010")));
  EXPECT_NE(space->CanonicalHash(*space->Parse("00000001")), space->CanonicalHash(*space->Parse("00000002")));
  EXPECT_NE(space->CanonicalHash(*space->Parse("00000000")), Space("nb201")->CanonicalHash(Space("nb201")->AtIndex(0)));
}

// The benchmark's own columns, for every one of its 6,561 keys: the canonical form, the
// parameter count (BN included) and the multiply-accumulates at 32 x 32.
TEST(MacroSpace, CanonicalFormParamsAndFlopsEqualTheBenchmarkForAll6561) {
  auto space = Space("macro");
  const auto* chain = dynamic_cast<const ChainSpace*>(space.get());
  ASSERT_NE(chain, nullptr);
  int rows = 0;
  std::map<std::string, int> column;
  Status status = csv::ForEachLine(embedded::MacroTable(), [&](std::int64_t line, std::string_view text) -> Status {
    const auto fields = csv::SplitLine(text);
    if (line == 1) {
      for (std::size_t i = 0; i < fields.size(); ++i) column[std::string(fields[i])] = static_cast<int>(i);
      return Status::Ok();
    }
    const std::string key(fields[column["arch"]]);
    auto arch = space->Parse(key);
    if (!arch.ok()) return arch.status();
    EXPECT_EQ(space->Format(space->Canonical(*arch)), fields[column["canonical_arch"]]) << key;
    const NetworkPlan plan = *chain->Plan(*arch, {});
    EXPECT_EQ(std::to_string(plan.Params()), fields[column["params"]]) << key;
    EXPECT_EQ(std::to_string(plan.Flops()), fields[column["flops"]]) << key;
    ++rows;
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(rows, 6561);
}

TEST(MacroSpace, EmbeddedTruthIsKeyedByNetwork) {
  auto space = Space("macro");
  auto truth = LoadTruthTable(*space, "embedded", "mean_test_acc");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->value_by_hash.size(), 3969u);
  auto best = truth->Lookup(*space, {*space->Parse("22212202"), *space->Parse("00000001")});
  ASSERT_TRUE(best.ok());
  EXPECT_DOUBLE_EQ((*best)[0], 93.1267);  // the benchmark's best network
  EXPECT_DOUBLE_EQ((*best)[1], 64.2233);
  // A table of another space is refused at its first row, naming the space.
  auto nb201_as_macro = LoadTruthTable(*space, "embedded", "cifar10_test");
  EXPECT_FALSE(nb201_as_macro.ok());
  auto wrong = ParseTruthTable(*space, embedded::Nb201Table(), "cifar10_test", "nb201.csv");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("line 2"), std::string::npos) << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("is this a table of space 'macro'"), std::string::npos);
  // Two keys of one network must agree.
  auto clash = ParseTruthTable(*space, "arch,acc\n00000001,64\n00000010,65\n", "acc", "t.csv");
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("same network as line 2"), std::string::npos) << clash.status().message();
}

TEST(ProxylessSpace, GenotypeStringsErrorsAndCanonicalForm) {
  auto space = Space("proxyless");
  ASSERT_EQ(space->num_positions(), 21);
  // 15 blocks keep their shape (7 choices), 6 change it (6 choices).
  std::int64_t expected = 1;
  for (int i = 0; i < 15; ++i) expected *= 7;
  for (int i = 0; i < 6; ++i) expected *= 6;
  EXPECT_EQ(*space->Size(), expected);
  EXPECT_FALSE(space->Enumerable());
  EXPECT_FALSE(space->CanonicalCount().has_value());
  const std::string text = "k5e3-k3e3-zero-zero|k7e3-k3e3-k5e3-zero|k7e6-k5e3-k5e3-zero|k5e6-k5e3-k5e3-k5e3|k7e6-k7e6-zero-k7e3|k7e6";
  const Architecture arch = *space->Parse(text);
  EXPECT_EQ(space->Format(arch), text);
  EXPECT_EQ(space->Format(arch).find(','), std::string::npos) << "a genotype string is one CSV field";
  EXPECT_EQ(*space->Parse("5x5_MBConv3,3x3_MBConv3,Zero,Zero,k7e3,k3e3,k5e3,zero,k7e6,k5e3,k5e3,zero,k5e6,k5e3,k5e3,k5e3,"
                          "k7e6,k7e6,zero,k7e3,k7e6"),
            arch)
      << "the official names and no stage separators";
  ExpectParseError(*space, "zero" + text.substr(4), "zero is not allowed at block 0 (stage 1, block 1)");
  ExpectParseError(*space, "k9e3" + text.substr(4), "unknown operation 'k9e3' at block 0");
  ExpectParseError(*space, "k5e3-k3e3-zero|zero-k7e3-k3e3-k5e3-zero|k7e6-k5e3-k5e3-zero|k5e6-k5e3-k5e3-k5e3|k7e6-k7e6-zero-k7e3|k7e6",
                   "must hold 4, 4, 4, 4, 4, 1");
  // Stage 4 (width 96, stride 1) starts from 80 channels: its first block has no shortcut.
  ExpectParseError(*space, "k5e3-k3e3-zero-zero|k7e3-k3e3-k5e3-zero|k7e6-k5e3-k5e3-zero|zero-k5e3-k5e3-k5e3|k7e6-k7e6-zero-k7e3|k7e6",
                   "block 12 (stage 4, block 1)");
  EXPECT_EQ(space->Format(space->Canonical(arch)),
            "k5e3-k3e3-zero-zero|k7e3-k3e3-k5e3-zero|k7e6-k5e3-k5e3-zero|k5e6-k5e3-k5e3-k5e3|k7e6-k7e6-k7e3-zero|k7e6");
}

TEST(ProxylessSpace, NetworkPlanMatchesHandCountedLayers) {
  auto space = Space("proxyless");
  const auto& chain = dynamic_cast<const ChainSpace&>(*space);
  // Every block k3e3 where a shortcut is allowed and zero elsewhere is impossible (zero needs a
  // shortcut); take the smallest network: k3e3 in the 6 shape-changing blocks, zero in the 15 others.
  std::string text;
  for (int p = 0; p < 21; ++p) text += std::string(p ? "," : "") + (chain.layers()[p].keeps_shape ? "zero" : "k3e3");
  const NetworkPlan plan = *chain.Plan(*space->Parse(text), {});
  // stem 3->32 s2 at 224; first block dw3 32 + pw 32->16; then k3e3 blocks 16->24, 24->40,
  // 40->80, 80->96, 96->192, 192->320; feature mix 320->1280; classifier 1280->1000.
  std::int64_t params = 3 * 32 * 9 + 64 + (32 * 9 + 64) + (32 * 16 + 32) + 1280 * 1000 + 1000 + (320 * 1280 + 2560);
  const std::int64_t widths[] = {16, 24, 40, 80, 96, 192, 320};
  for (int b = 0; b < 6; ++b) {
    const std::int64_t in = widths[b], out = widths[b + 1], hidden = 3 * in;
    params += in * hidden + 2 * hidden + hidden * 9 + 2 * hidden + hidden * out + 2 * out;
  }
  EXPECT_EQ(plan.Params(), params);
  EXPECT_EQ(plan.blocks.front().out_size, 112);
  EXPECT_EQ(plan.blocks.back().in_size, 7) << "224 / 32";
  EXPECT_EQ(plan.bn_eps, 1e-3);
  ChainNetworkOptions half;
  half.width_multiplier = 0.5;
  EXPECT_EQ(chain.Plan(*space->Parse(text), half)->blocks.front().out_channels, 16);
  EXPECT_EQ(MakeDivisible(40 * 0.5), 24) << "20 rounds to 24, as the official make_divisible does";
  EXPECT_FALSE(chain.Plan(*space->Parse(text), ChainNetworkOptions{16, 1.0, 0}).ok()) << "resolution below 32";
  EXPECT_FALSE(dynamic_cast<const ChainSpace&>(*Space("macro")).Plan(Space("macro")->AtIndex(0), half).ok())
      << "macro has no width multiplier";
}

TEST(ChainSpaces, SampleMutateCrossoverAreValidAndReproducible) {
  for (const char* name : {"nb201", "macro", "proxyless"}) {
    auto space = Space(name);
    CounterRng a(7, {1}), b(7, {1});
    std::set<std::uint64_t> hashes;
    for (int i = 0; i < 200; ++i) {
      const Architecture x = space->Sample(a);
      EXPECT_EQ(x, space->Sample(b)) << "the same stream gives the same architecture";
      ASSERT_TRUE(space->Validate(x).ok()) << name;
      const Architecture m = space->Mutate(x, a);
      space->Mutate(x, b);
      ASSERT_TRUE(space->Validate(m).ok());
      int changed = 0;
      for (int p = 0; p < space->num_positions(); ++p) changed += m.choices[p] != x.choices[p];
      EXPECT_EQ(changed, 1) << "a mutation changes exactly one position";
      const Architecture c = space->Crossover(x, m, a);
      space->Crossover(x, m, b);
      ASSERT_TRUE(space->Validate(c).ok());
      for (int p = 0; p < space->num_positions(); ++p) EXPECT_TRUE(c.choices[p] == x.choices[p] || c.choices[p] == m.choices[p]);
      EXPECT_EQ(*space->Parse(space->Format(x)), x) << "format and parse round-trip";
      EXPECT_EQ(space->Canonical(space->Canonical(x)), space->Canonical(x));
      hashes.insert(space->CanonicalHash(x));
    }
    EXPECT_GT(hashes.size(), 100u) << name;
    Architecture bad = space->Sample(a);
    bad.choices.back() = 99;
    EXPECT_FALSE(space->Validate(bad).ok());
    bad.choices.pop_back();
    EXPECT_FALSE(space->Validate(bad).ok());
  }
}

TEST(ChainSpaces, ArchListsNameFileAndLine) {
  auto space = Space("macro");
  auto list = ParseArchitectureList(*space, "# best\n22212202\n\n00000001\n", "a.txt");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  auto twice = ParseArchitectureList(*space, "22212202\n22212202\n", "a.txt");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("line 2"), std::string::npos);
  auto bad = ParseArchitectureList(*space, "22212202\n2221220x\n", "a.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("architecture file 'a.txt' line 2: invalid macro genotype"), std::string::npos);
}

// The LibTorch network has exactly the plan's parameters, and its output has the plan's shape.
TEST(ChainNetwork, ParametersEqualThePlanOnEverySpace) {
  for (const char* name : {"macro", "proxyless"}) {
    auto space = Space(name);
    const auto& chain = dynamic_cast<const ChainSpace&>(*space);
    CounterRng rng(3, {2});
    for (int i = 0; i < 12; ++i) {
      const Architecture arch = space->Sample(rng);
      ChainNetworkOptions options;
      options.resolution = std::string(name) == "macro" ? 32 : 64;
      options.width_multiplier = std::string(name) == "macro" ? 1.0 : 0.5;
      const NetworkPlan plan = *chain.Plan(arch, options);
      ChainNetwork network(plan, BatchNormMode::kRunningStatistics);
      std::int64_t count = 0;
      for (const auto& p : network->parameters()) count += p.numel();
      EXPECT_EQ(count, plan.Params()) << name << " " << space->Format(arch);
      network->eval();
      torch::NoGradGuard no_grad;
      const torch::Tensor out = network->forward(torch::randn({2, 3, options.resolution, options.resolution}));
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, plan.classifier_out}));
    }
  }
}

}  // namespace
}  // namespace hpcnas
