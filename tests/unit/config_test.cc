#include "engine/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace hpcnas {
namespace {

void ExpectError(const Status& s, const std::string& fragment) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(Config, DefaultsAreValid) { EXPECT_TRUE(Validate(Config{}).ok()); }

TEST(Config, TomlRoundTripKeepsEveryField) {
  Config c;
  c.epsilon.w1 = 1e-4;
  c.epsilon.w2 = 10;
  c.epsilon.batch_size = 64;
  c.epsilon.images = "/data/x.bin";
  c.score.select = "sample";
  c.score.sample = 300;
  c.score.seed = 12345678901ULL;
  c.score.truth = "embedded";
  c.score.out = "a b.h5";
  c.runtime.threads = 3;
  c.runtime.timeout_s = 12.5;
  c.runtime.fault = "1:hang:2";
  c.search.method = "evolution";
  c.search.seed = 99;
  c.search.generations = 7;
  c.search.crossover = 0.25;
  c.search.explore = 0.3;
  c.search.selection = "combined";
  c.search.out_dir = "runs/x";
  c.predictor.gradient_shards = 5;
  auto back = ConfigFromToml(ToToml(c), "round trip");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ToToml(*back), ToToml(c));
  EXPECT_EQ(back->score.seed, 12345678901ULL);
  EXPECT_EQ(back->epsilon.w1, 1e-4);
  EXPECT_EQ(back->search.explore, 0.3);
  EXPECT_EQ(back->search.out_dir, "runs/x");
  EXPECT_EQ(back->predictor.gradient_shards, 5);
}

// One key table: every key the TOML dump writes is in ConfigKeys() (and back), every key can be
// set from the command line, and the committed reference docs/config.md is the generated one.
TEST(ConfigKeys, OneTableForTomlCommandLineAndDocs) {
  std::set<std::string> dumped;
  std::istringstream toml(ToToml(Config{}));
  std::string section;
  for (std::string line; std::getline(toml, line);) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line.substr(1, line.size() - 2);
    } else {
      const std::string name = line.substr(0, line.find(' '));
      dumped.insert(section.empty() ? name : section + "." + name);
    }
  }
  std::set<std::string> declared;
  for (const ConfigKey& key : ConfigKeys()) {
    declared.insert(key.Key());
    EXPECT_FALSE(key.doc.empty() || key.allowed.empty()) << key.Key();
  }
  EXPECT_EQ(dumped, declared);

  Config c;
  ASSERT_TRUE(SetConfigValue(c, "search.population_size", "30", "--search.population_size").ok());
  ASSERT_TRUE(SetConfigValue(c, "epsilon.w1", "1e-3", "--epsilon.w1").ok());
  ASSERT_TRUE(SetConfigValue(c, "search.seed", "12345678901", "--search.seed").ok());
  EXPECT_EQ(c.search.population_size, 30);
  EXPECT_EQ(c.epsilon.w1, 1e-3);
  EXPECT_EQ(c.search.seed, 12345678901ULL);
  ExpectError(SetConfigValue(c, "search.population_size", "3x", "--search.population_size"),
              "--search.population_size: '3x' is not an integer");
  ExpectError(SetConfigValue(c, "search.population_size", "4294967306", "--search.population_size"),
              "--search.population_size is 4294967306; it must fit in");
  ExpectError(SetConfigValue(c, "search.seed", "-1", "--search.seed"), "--search.seed must not be negative");
  ExpectError(SetConfigValue(c, "epsilon.w1", "small", "--epsilon.w1"), "--epsilon.w1: 'small' is not a number");

  std::ifstream committed(HPCNAS_SOURCE_DIR "/docs/config.md");
  ASSERT_TRUE(committed) << "docs/config.md is missing";
  std::stringstream text;
  text << committed.rdbuf();
  EXPECT_EQ(text.str(), ConfigReference()) << "docs/config.md is stale: regenerate it with hpcnas config --reference";
}

TEST(Config, UnknownKeysAndWrongTypesNameTheKey) {
  ExpectError(ConfigFromToml("[epsilon]\nweight = 1\n", "f.toml").status(), "unknown key 'epsilon.weight'");
  ExpectError(ConfigFromToml("[score]\nsample = 'many'\n", "f.toml").status(), "'score.sample' must be an integer");
  ExpectError(ConfigFromToml("[score]\nspace = 3\n", "f.toml").status(), "'score.space' must be a string");
  ExpectError(ConfigFromToml("[score\nspace = 3\n", "f.toml").status(), "malformed config 'f.toml'");
}

// A value the key's type cannot hold is refused, never cut to fit (4294967306 once ran as 10).
TEST(Config, IntegerKeysRefuseWhatTheirTypeCannotHold) {
  for (const char* key : {"queries_per_generation", "initial_pool", "initial_queries", "candidates", "population_size",
                          "tournament_size", "predictor_epochs", "keep_checkpoints", "generations"}) {
    ExpectError(ConfigFromToml(std::string("[search]\n") + key + " = 4294967306\n", "f.toml").status(),
                std::string("'search.") + key + "' is 4294967306; it must fit in -2147483648..2147483647");
  }
  for (const char* key : {"d_model", "heads", "layers", "epochs", "batch_size", "gradient_shards"}) {
    ExpectError(ConfigFromToml(std::string("[predictor]\n") + key + " = -4294967296\n", "f.toml").status(),
                std::string("'predictor.") + key + "' is -4294967296");
  }
  auto big = ConfigFromToml("[score]\nsample = 4294967306\n", "f.toml");
  ASSERT_TRUE(big.ok()) << "an int64 key holds it";
  EXPECT_EQ(big->score.sample, 4294967306);
}

TEST(Config, ChainSpaceKeys) {
  Config c;
  c.score.space = "macro";
  EXPECT_TRUE(Validate(c).ok());
  c.score.space = "proxyless";
  c.epsilon.resolution = 4;
  ExpectError(Validate(c), "'epsilon.resolution' is 4");
  c.epsilon.resolution = 224;
  c.epsilon.width_multiplier = 0;
  ExpectError(Validate(c), "'epsilon.width_multiplier' is 0; allowed: (0, 4]");
  c.epsilon.width_multiplier = 1.4;
  c.epsilon.nan_policy = "rank";
  ExpectError(Validate(c), "exists for space nb201 only");
  c.epsilon.nan_policy = "keep";
  EXPECT_TRUE(Validate(c).ok());
  auto back = ConfigFromToml(ToToml(c), "round trip");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->epsilon.resolution, 224);
  EXPECT_EQ(back->epsilon.width_multiplier, 1.4);
  c.score.space = "darts";
  ExpectError(Validate(c), "allowed: nb201, macro, proxyless");
}

TEST(Config, ValidateNamesTheKeyAndTheAllowedValues) {
  Config c;
  c.score.space = "nb301";
  ExpectError(Validate(c), "'score.space' is 'nb301': unknown search space; allowed: nb201");
  c = Config{};
  c.epsilon.w1 = c.epsilon.w2 = 1e-3;
  ExpectError(Validate(c), "'epsilon.w2' must differ");
  c.epsilon.w2 = -1;
  ExpectError(Validate(c), "'epsilon.w2' is -1; allowed: 0 or > 0");
  c.epsilon.w2 = std::numeric_limits<double>::quiet_NaN();
  ExpectError(Validate(c), "'epsilon.w2' is nan; allowed: 0 or > 0");
  c.epsilon.w2 = std::numeric_limits<double>::infinity();
  ExpectError(Validate(c), "'epsilon.w2' is inf");
  c = Config{};
  c.epsilon.batch_size = 1;
  ExpectError(Validate(c), "'epsilon.batch_size' is 1; allowed: 2..50000");
  c = Config{};
  c.score.select = "sample";
  ExpectError(Validate(c), "'score.sample' is 0");
  c = Config{};
  c.score.select = "file";
  ExpectError(Validate(c), "'score.archs_file' must name a file");
  c = Config{};
  c.epsilon.path = "turbo";
  ExpectError(Validate(c), "'epsilon.path' is 'turbo'; allowed:");
  c = Config{};
  c.runtime.timeout_s = 0;
  ExpectError(Validate(c), "'runtime.timeout_s' is 0; allowed: > 0");
  c = Config{};
  c.supernet.derive = "target";
  ExpectError(Validate(c), "'supernet.derive' is 'target' but there is none");
  c.supernet.target_mflops = 50;
  EXPECT_TRUE(Validate(c).ok());
  c.supernet.derive = "closest";
  ExpectError(Validate(c), "'supernet.derive' is 'closest'; allowed: argmax, target");
  c.supernet.derive = "target";
  c.supernet.derive_band_high = 1;  // a hard budget
  EXPECT_TRUE(Validate(c).ok());
  c.supernet.derive_band_low = 1.2;
  ExpectError(Validate(c), "'supernet.derive_band_low' is 1.2, above supernet.derive_band_high 1");
  c.supernet.derive_band_low = 0;
  ExpectError(Validate(c), "'supernet.derive_band_low' is 0; allowed: > 0");
}

TEST(Config, FaultInjectionSyntax) {
  auto f = ParseFaultInjection("2:hang:5");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->rank, 2);
  EXPECT_EQ(f->kind, "hang");
  EXPECT_EQ(f->after, 5);
  EXPECT_EQ(ParseFaultInjection("")->rank, -1);
  ExpectError(ParseFaultInjection("1:explode").status(), "'runtime.fault'");
  ExpectError(ParseFaultInjection("x:throw").status(), "'runtime.fault'");
  ExpectError(ParseFaultInjection("1:throw:-3").status(), "'runtime.fault'");
}

}  // namespace
}  // namespace hpcnas
