#include "engine/config.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

#include "engine/space/search_space.h"

namespace hpcnas {
namespace {

Status Bad(const std::string& key, const std::string& why) {
  return Status::InvalidInput("config key '" + key + "' " + why);
}

bool OneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

// ---- The key table ---------------------------------------------------------------------------
// Every key is declared once, below: its section and name (the TOML key and the flag
// --SECTION.NAME), the field it sets, the values it allows (for people: the checks are in
// Validate) and one line of doc. Parsing TOML and command-line values, the TOML dump and the
// reference docs/config.md all come from this table.

enum class KeyType { kInt, kUnsigned, kFloat, kString };

struct KeySpec {
  ConfigKey key;
  KeyType type;
  // The field as the types it can be; exactly one of these is set.
  std::function<int64_t&(Config&)> int64_field;
  std::function<int&(Config&)> int_field;
  std::function<uint64_t&(Config&)> unsigned_field;
  std::function<double&(Config&)> float_field;
  std::function<std::string&(Config&)> string_field;
};

template <typename Access>
KeySpec Key(const char* section, const char* name, Access access, const char* allowed, const char* doc) {
  using T = std::remove_reference_t<decltype(access(std::declval<Config&>()))>;
  KeySpec spec;
  spec.key = {section, name, "", allowed, doc};
  if constexpr (std::is_same_v<T, std::string>) {
    spec.type = KeyType::kString;
    spec.string_field = access;
  } else if constexpr (std::is_same_v<T, double>) {
    spec.type = KeyType::kFloat;
    spec.float_field = access;
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    spec.type = KeyType::kUnsigned;
    spec.unsigned_field = access;
  } else if constexpr (std::is_same_v<T, int>) {
    spec.type = KeyType::kInt;
    spec.int_field = access;
  } else {
    static_assert(std::is_same_v<T, int64_t>, "config fields are int, int64_t, uint64_t, double or std::string");
    spec.type = KeyType::kInt;
    spec.int64_field = access;
  }
  spec.key.type = spec.type == KeyType::kString ? "string" : spec.type == KeyType::kFloat ? "float" : "integer";
  return spec;
}

#define HPCNAS_KEY(section, name, allowed, doc) \
  Key(#section, #name, [](Config& c) -> auto& { return c.section.name; }, allowed, doc)

const std::vector<KeySpec>& KeySpecs() {
  static const std::vector<KeySpec> specs = {
      Key("", "command", [](Config& c) -> auto& { return c.command; }, "score | train-predictor | predict | search",
          "the subcommand that wrote the file (set by hpcnas)"),
      HPCNAS_KEY(epsilon, w1, "> 0, or 0", "first constant weight; 0 = the space's (nb201 1e-7, macro 1e-4, proxyless 1e-2)"),
      HPCNAS_KEY(epsilon, w2, "> 0 and != w1, or 0", "second constant weight; 0 = the space's (1 on every space)"),
      HPCNAS_KEY(epsilon, batch_size, "2..50000", "images in the one unlabelled batch"),
      HPCNAS_KEY(epsilon, images, "a file or embedded",
                 "CIFAR-10 binary file whose first batch_size records form the batch; embedded = the epsinas reference batch"),
      HPCNAS_KEY(epsilon, path, "fast | full", "fast: the one-channel network; full: the whole network in LibTorch (the reference)"),
      HPCNAS_KEY(epsilon, nan_policy, "keep | exact | rank",
                 "NaN scores: keep (the paper), exact (also exact arithmetic), rank (also a finite ranking key); nb201, fast path"),
      HPCNAS_KEY(epsilon, nan_offset, "0..1", "with nan_policy = rank: where underflowed architectures start"),
      HPCNAS_KEY(epsilon, resolution, "0 or 8..4096", "chain spaces: input size of the network; 0 = the space's (macro 32, proxyless 224)"),
      HPCNAS_KEY(epsilon, width_multiplier, "(0, 4]", "proxyless: channels x this, rounded to multiples of 8"),
      HPCNAS_KEY(score, space, "nb201 | macro | proxyless", "search space of the architectures"),
      HPCNAS_KEY(score, select, "all | sample | file", "what to score: the whole space, a random sample, or a file"),
      HPCNAS_KEY(score, sample, "1..distinct networks", "with select = sample: how many distinct architectures"),
      HPCNAS_KEY(score, seed, ">= 0", "with select = sample: which ones"),
      HPCNAS_KEY(score, archs_file, "a file", "with select = file: one genotype string per line"),
      HPCNAS_KEY(score, truth, "a CSV, embedded or empty", "ground truth to correlate with (an arch column); empty for none"),
      HPCNAS_KEY(score, truth_column, "a column", "accuracy column of the truth table"),
      HPCNAS_KEY(score, out, "a path", "HDF5 result file; the CSV goes beside it"),
      HPCNAS_KEY(predictor, d_model, "8..1024, a multiple of heads", "token width"),
      HPCNAS_KEY(predictor, heads, "1..64", "attention heads"),
      HPCNAS_KEY(predictor, layers, "1..64", "encoder layers"),
      HPCNAS_KEY(predictor, feedforward, "1..16384", "feed-forward width per layer"),
      HPCNAS_KEY(predictor, head_hidden, "1..16384", "readout hidden width"),
      HPCNAS_KEY(predictor, dropout, "0 <= p < 1", "dropout probability"),
      HPCNAS_KEY(predictor, position, "laplacian | eigen", "position encoding: Laplacian rows, or Laplacian eigenvectors"),
      HPCNAS_KEY(predictor, eigen_count, "1..3", "with position = eigen: eigenvectors per node"),
      HPCNAS_KEY(predictor, epochs, ">= 1", "passes over the labelled set"),
      HPCNAS_KEY(predictor, batch_size, ">= 1", "labelled architectures per step (global, split over ranks)"),
      HPCNAS_KEY(predictor, learning_rate, "> 0", "Adam, cosine-annealed to 0 over all steps"),
      HPCNAS_KEY(predictor, weight_decay, ">= 0", "Adam L2 weight decay"),
      HPCNAS_KEY(predictor, self_evolution_rounds, "0 or 2..epochs", "self-evolution rounds (0 = off)"),
      HPCNAS_KEY(predictor, self_evolution_weight, ">= 0", "weight of the self-evolution constraint"),
      HPCNAS_KEY(predictor, unlabelled_size, "1..15625", "unlabelled architectures for self-evolution"),
      HPCNAS_KEY(predictor, gradient_shards, "1..1024", "micro-batches per step, summed in a fixed order (at most this many ranks share a step)"),
      HPCNAS_KEY(train, space, "nb201 | macro", "search space with ground truth for every network"),
      HPCNAS_KEY(train, truth, "a CSV or embedded", "ground truth; must cover the space"),
      HPCNAS_KEY(train, truth_column, "a column", "accuracy column to learn and to judge by"),
      HPCNAS_KEY(train, train_size, "2..networks - 1", "labelled architectures"),
      HPCNAS_KEY(train, seed, ">= 0", "which architectures, initial weights, batches, dropout"),
      HPCNAS_KEY(train, out, "a path", "the predictor's HDF5 file"),
      HPCNAS_KEY(search, space, "nb201 | macro", "search space with a benchmark table"),
      HPCNAS_KEY(search, method, "tnasp | evolution | random", "ours (epsilon + TNASP predictor + evolution), regularised evolution, random search"),
      HPCNAS_KEY(search, truth, "a CSV or embedded", "ground truth of the tabular evaluator"),
      HPCNAS_KEY(search, truth_column, "a column, or empty", "accuracy column; empty = the space's (nb201 cifar10_test, macro mean_test_acc)"),
      HPCNAS_KEY(search, seed, ">= 0", "every random draw of the search"),
      HPCNAS_KEY(search, generations, "1..100000", "generations, generation 0 included"),
      HPCNAS_KEY(search, initial_pool, "1..distinct networks", "tnasp, generation 0: random architectures scored by epsilon"),
      HPCNAS_KEY(search, initial_queries, "2..distinct networks (tnasp: ..initial_pool)", "generation 0: architectures evaluated"),
      HPCNAS_KEY(search, candidates, "queries_per_generation..distinct networks", "tnasp: children proposed per generation"),
      HPCNAS_KEY(search, queries_per_generation, "1..distinct networks", "architectures evaluated per later generation"),
      HPCNAS_KEY(search, population_size, "1..distinct networks", "aging population (regularised evolution)"),
      HPCNAS_KEY(search, tournament_size, "1..population_size", "parent = best of this many random members"),
      HPCNAS_KEY(search, crossover, "0..1", "share of children made by uniform crossover of two parents"),
      HPCNAS_KEY(search, predictor_epochs, "1..1000000", "tnasp: predictor epochs per generation, warm-started"),
      HPCNAS_KEY(search, selection, "predictor | epsilon | combined", "tnasp: how candidates are ranked for evaluation"),
      HPCNAS_KEY(search, explore, "0..1", "tnasp: share of later queries given to children as proposed"),
      HPCNAS_KEY(search, out_dir, "a directory", "results, CSVs and checkpoints/"),
      HPCNAS_KEY(search, keep_checkpoints, "1..1000000", "newest checkpoints kept"),
      HPCNAS_KEY(runtime, threads, "0..1024", "intra-op threads per rank; 0 = cores / ranks on the node"),
      HPCNAS_KEY(runtime, timeout_s, "> 0", "seconds a rank may stay silent before the job is aborted"),
      HPCNAS_KEY(runtime, progress_s, ">= 0", "seconds between progress lines"),
      HPCNAS_KEY(runtime, fault, "RANK:KIND[:AFTER]", "testing only: make RANK fail (throw | exit | hang | kill) after AFTER architectures"),
  };
  return specs;
}

#undef HPCNAS_KEY

const KeySpec* FindKey(const std::string& key) {
  for (const KeySpec& spec : KeySpecs()) {
    if (spec.key.Key() == key) return &spec;
  }
  return nullptr;
}

// Stores an integer read from TOML or the command line. A value the field's type cannot hold is
// refused, never cut to fit: the result is why (empty when stored).
std::string SetInteger(const KeySpec& spec, Config& c, int64_t v) {
  if (spec.type == KeyType::kUnsigned) {
    if (v < 0) return "must not be negative";
    spec.unsigned_field(c) = static_cast<uint64_t>(v);
  } else if (spec.int_field) {
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      return "is " + std::to_string(v) + "; it must fit in " + std::to_string(std::numeric_limits<int>::min()) + ".." +
             std::to_string(std::numeric_limits<int>::max());
    }
    spec.int_field(c) = static_cast<int>(v);
  } else {
    spec.int64_field(c) = v;
  }
  return "";
}

Status SetFromToml(const KeySpec& spec, const toml::node& node, Config& c, const std::string& key) {
  switch (spec.type) {
    case KeyType::kString: {
      auto v = node.value<std::string>();
      if (!node.is_string() || !v) return Bad(key, "must be a string");
      spec.string_field(c) = *v;
      return Status::Ok();
    }
    case KeyType::kFloat:
      if (!node.is_number()) return Bad(key, "must be a number");
      spec.float_field(c) = *node.value<double>();
      return Status::Ok();
    default:
      if (!node.is_integer()) return Bad(key, "must be an integer");
      if (const std::string why = SetInteger(spec, c, *node.value<int64_t>()); !why.empty()) return Bad(key, why);
      return Status::Ok();
  }
}

void AddToToml(const KeySpec& spec, const Config& config, toml::table& table) {
  Config& c = const_cast<Config&>(config);  // the accessors are shared with the setters; nothing is written
  const std::string& name = spec.key.name;
  switch (spec.type) {
    case KeyType::kString: table.insert_or_assign(name, spec.string_field(c)); break;
    case KeyType::kFloat: table.insert_or_assign(name, spec.float_field(c)); break;
    case KeyType::kUnsigned: table.insert_or_assign(name, static_cast<int64_t>(spec.unsigned_field(c))); break;
    default: table.insert_or_assign(name, spec.int_field ? static_cast<int64_t>(spec.int_field(c)) : spec.int64_field(c)); break;
  }
}

std::string ValueText(const KeySpec& spec, const Config& config) {
  toml::table table;
  AddToToml(spec, config, table);
  std::ostringstream out;
  table.get(spec.key.name)->visit([&out](const auto& value) {
    if constexpr (toml::is_value<decltype(value)>) out << value;
  });
  return out.str();
}

Status IntIn(const std::string& key, int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return Status::Ok();
  return Bad(key, "is " + std::to_string(value) + "; allowed: " + std::to_string(low) + ".." + std::to_string(high));
}

Status ValidatePredictor(const PredictorConfig& p) {
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.heads", p.heads, 1, 64));
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.d_model", p.d_model, 8, 1024));
  if (p.d_model % p.heads != 0) {
    return Bad("predictor.d_model", "is " + std::to_string(p.d_model) + "; must be a multiple of predictor.heads (" +
                                        std::to_string(p.heads) + ")");
  }
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.layers", p.layers, 1, 64));
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.feedforward", p.feedforward, 1, 16384));
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.head_hidden", p.head_hidden, 1, 16384));
  if (!(p.dropout >= 0 && p.dropout < 1)) return Bad("predictor.dropout", "must be in [0, 1)");
  if (!OneOf(p.position, {"laplacian", "eigen"})) {
    return Bad("predictor.position", "is '" + p.position + "'; allowed: laplacian, eigen");
  }
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.eigen_count", p.eigen_count, 1, 3));
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.epochs", p.epochs, 1, 1000000));
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.batch_size", p.batch_size, 1, 1000000));
  if (!(p.learning_rate > 0) || !std::isfinite(p.learning_rate)) {
    return Bad("predictor.learning_rate", "must be a finite number > 0");
  }
  if (!(p.weight_decay >= 0) || !std::isfinite(p.weight_decay)) return Bad("predictor.weight_decay", "must be >= 0");
  if (p.self_evolution_rounds == 1 || p.self_evolution_rounds < 0 || p.self_evolution_rounds > p.epochs) {
    return Bad("predictor.self_evolution_rounds", "is " + std::to_string(p.self_evolution_rounds) +
                                                      "; allowed: 0 (off) or 2..predictor.epochs");
  }
  if (!(p.self_evolution_weight >= 0) || !std::isfinite(p.self_evolution_weight)) {
    return Bad("predictor.self_evolution_weight", "must be a finite number >= 0");
  }
  HPCNAS_RETURN_IF_ERROR(IntIn("predictor.gradient_shards", p.gradient_shards, 1, 1024));
  return IntIn("predictor.unlabelled_size", p.unlabelled_size, 1, 15625);
}

Status ValidateSearch(const SearchConfig& s) {
  // A tabular search needs the space's benchmark table (proxyless has none).
  if (!OneOf(s.space, {"nb201", "macro"})) {
    return Bad("search.space", "is '" + s.space + "': unknown search space, or one without a benchmark table; allowed: nb201, macro");
  }
  const int distinct = static_cast<int>(*(*MakeSearchSpace(s.space))->CanonicalCount());
  if (!OneOf(s.method, {"tnasp", "evolution", "random"})) {
    return Bad("search.method", "is '" + s.method + "'; allowed: tnasp, evolution, random");
  }
  if (s.truth.empty()) return Bad("search.truth", "must name a ground-truth CSV or 'embedded'");
  HPCNAS_RETURN_IF_ERROR(IntIn("search.generations", s.generations, 1, 100000));
  HPCNAS_RETURN_IF_ERROR(IntIn("search.initial_pool", s.initial_pool, 1, distinct));
  HPCNAS_RETURN_IF_ERROR(IntIn("search.initial_queries", s.initial_queries, 2, distinct));
  if (s.method == "tnasp" && s.initial_queries > s.initial_pool) {
    return Bad("search.initial_queries", "is " + std::to_string(s.initial_queries) +
                                             "; allowed: 2..search.initial_pool (" + std::to_string(s.initial_pool) + ")");
  }
  HPCNAS_RETURN_IF_ERROR(IntIn("search.queries_per_generation", s.queries_per_generation, 1, distinct));
  if (s.candidates < s.queries_per_generation || s.candidates > distinct) {
    return Bad("search.candidates", "is " + std::to_string(s.candidates) + "; allowed: search.queries_per_generation (" +
                                        std::to_string(s.queries_per_generation) + ") .. " + std::to_string(distinct));
  }
  HPCNAS_RETURN_IF_ERROR(IntIn("search.population_size", s.population_size, 1, distinct));
  if (s.tournament_size < 1 || s.tournament_size > s.population_size) {
    return Bad("search.tournament_size", "is " + std::to_string(s.tournament_size) + "; allowed: 1..search.population_size (" +
                                             std::to_string(s.population_size) + ")");
  }
  if (!(s.crossover >= 0 && s.crossover <= 1)) return Bad("search.crossover", "must be in 0..1");
  HPCNAS_RETURN_IF_ERROR(IntIn("search.predictor_epochs", s.predictor_epochs, 1, 1000000));
  if (!(s.explore >= 0 && s.explore <= 1)) return Bad("search.explore", "must be in 0..1");
  if (!OneOf(s.selection, {"predictor", "epsilon", "combined"})) {
    return Bad("search.selection", "is '" + s.selection + "'; allowed: predictor, epsilon, combined");
  }
  if (s.out_dir.empty()) return Bad("search.out_dir", "must name a directory");
  return IntIn("search.keep_checkpoints", s.keep_checkpoints, 1, 1000000);
}

}  // namespace

Status Validate(const Config& c) {
  if (!OneOf(c.command, {"score", "train-predictor", "predict", "search"})) {
    return Bad("command", "is '" + c.command + "'; allowed: score, train-predictor, predict, search");
  }
  if (!(c.epsilon.w1 >= 0) || !std::isfinite(c.epsilon.w1)) return Bad("epsilon.w1", "must be a finite number > 0 (0: the space's)");
  if (!(c.epsilon.w2 >= 0) || !std::isfinite(c.epsilon.w2)) return Bad("epsilon.w2", "must be a finite number > 0 (0: the space's)");
  if (c.epsilon.w1 > 0 && c.epsilon.w1 == c.epsilon.w2) return Bad("epsilon.w2", "must differ from epsilon.w1");
  if (c.epsilon.batch_size < 2 || c.epsilon.batch_size > 50000) {
    return Bad("epsilon.batch_size", "is " + std::to_string(c.epsilon.batch_size) + "; allowed: 2..50000");
  }
  if (c.epsilon.images.empty()) return Bad("epsilon.images", "must be a CIFAR-10 binary file or 'embedded'");
  if (!OneOf(c.epsilon.path, {"fast", "full"})) {
    return Bad("epsilon.path", "is '" + c.epsilon.path + "'; allowed: fast, full");
  }
  if (!OneOf(c.epsilon.nan_policy, {"keep", "exact", "rank"})) {
    return Bad("epsilon.nan_policy", "is '" + c.epsilon.nan_policy + "'; allowed: keep, exact, rank");
  }
  if (c.epsilon.nan_policy != "keep" && c.epsilon.path != "fast") {
    return Bad("epsilon.nan_policy", "'" + c.epsilon.nan_policy + "' needs epsilon.path = fast (the exact arithmetic is a fast-path feature)");
  }
  if (!(c.epsilon.nan_offset >= 0 && c.epsilon.nan_offset <= 1)) return Bad("epsilon.nan_offset", "must be in 0..1");
  if (c.epsilon.resolution != 0 && (c.epsilon.resolution < 8 || c.epsilon.resolution > 4096)) {
    return Bad("epsilon.resolution", "is " + std::to_string(c.epsilon.resolution) + "; allowed: 0 (the space's default) or 8..4096");
  }
  if (!(c.epsilon.width_multiplier > 0 && c.epsilon.width_multiplier <= 4)) {
    return Bad("epsilon.width_multiplier", "must be in (0, 4]");
  }
  if (!OneOf(c.score.space, {"nb201", "macro", "proxyless"})) {
    return Bad("score.space", "is '" + c.score.space + "': unknown search space; allowed: nb201, macro, proxyless");
  }
  if (c.score.space != "nb201" && c.epsilon.nan_policy != "keep") {
    return Bad("epsilon.nan_policy", "'" + c.epsilon.nan_policy + "' exists for space nb201 only (the exact arithmetic is NB201's)");
  }
  if (!OneOf(c.score.select, {"all", "sample", "file"})) {
    return Bad("score.select", "is '" + c.score.select + "'; allowed: all, sample, file");
  }
  // The upper bound of other spaces is checked against the space (SearchSpace::CheckDistinctCount).
  if (c.score.select == "sample" && (c.score.sample < 1 || (c.score.space == "nb201" && c.score.sample > 15625))) {
    return Bad("score.sample", "is " + std::to_string(c.score.sample) + "; allowed: 1..15625 distinct NB201 cells");
  }
  if (c.score.select == "file" && c.score.archs_file.empty()) {
    return Bad("score.archs_file", "must name a file when score.select = 'file'");
  }
  if (c.score.truth_column.empty()) return Bad("score.truth_column", "must not be empty");
  if (c.score.out.empty()) return Bad("score.out", "must name the HDF5 output file");
  HPCNAS_RETURN_IF_ERROR(ValidatePredictor(c.predictor));
  if (!OneOf(c.train.space, {"nb201", "macro"})) {
    return Bad("train.space", "is '" + c.train.space +
                                  "': unknown search space, or one without ground truth for every network; allowed: nb201, macro");
  }
  if (c.train.truth.empty()) return Bad("train.truth", "must name a ground-truth CSV or 'embedded'");
  if (c.train.truth_column.empty()) return Bad("train.truth_column", "must not be empty");
  // Other spaces' upper bound is their number of networks (checked against the space).
  if (c.train.train_size < 2 || (c.train.space == "nb201" && c.train.train_size > 15624)) {
    return Bad("train.train_size", "is " + std::to_string(c.train.train_size) +
                                       "; allowed: 2..15624 (some NB201 cells must stay out of training)");
  }
  if (c.train.out.empty()) return Bad("train.out", "must name the HDF5 predictor file");
  HPCNAS_RETURN_IF_ERROR(ValidateSearch(c.search));
  if (c.runtime.threads < 0 || c.runtime.threads > 1024) {
    return Bad("runtime.threads", "is " + std::to_string(c.runtime.threads) + "; allowed: 0 (auto) .. 1024");
  }
  if (!(c.runtime.timeout_s > 0)) return Bad("runtime.timeout_s", "must be > 0 seconds");
  if (!(c.runtime.progress_s >= 0)) return Bad("runtime.progress_s", "must be >= 0 seconds");
  return ParseFaultInjection(c.runtime.fault).status();
}

std::string ToToml(const Config& c) {
  toml::table root;
  for (const KeySpec& spec : KeySpecs()) {
    if (spec.key.section.empty()) {
      AddToToml(spec, c, root);
      continue;
    }
    if (!root.contains(spec.key.section)) root.insert(spec.key.section, toml::table{});
    AddToToml(spec, c, *root.get_as<toml::table>(spec.key.section));
  }
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    const Config defaults;
    for (const KeySpec& spec : KeySpecs()) {
      ConfigKey key = spec.key;
      key.default_value = ValueText(spec, defaults);
      out.push_back(key);
    }
    return out;
  }();
  return keys;
}

Status SetConfigValue(Config& config, const std::string& key, const std::string& text, const std::string& flag) {
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) return Status::InvalidInput("unknown config key '" + key + "'");
  auto bad = [&](const char* what) { return Status::InvalidInput(flag + ": " + QuoteForError(text) + " is not " + what); };
  switch (spec->type) {
    case KeyType::kString:
      spec->string_field(config) = text;
      return Status::Ok();
    case KeyType::kFloat: {
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || errno == ERANGE) return bad("a number");
      spec->float_field(config) = v;
      return Status::Ok();
    }
    default: {
      int64_t v = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || error != std::errc() || end != text.data() + text.size()) return bad("an integer (in int64 range)");
      if (const std::string why = SetInteger(*spec, config, v); !why.empty()) return Status::InvalidInput(flag + " " + why);
      return Status::Ok();
    }
  }
}

std::string ConfigReference() {
  std::string out =
      "# Configuration keys\n\n"
      "Generated from the key table in `engine/config.cc` (`hpcnas config --reference`); a unit test keeps it\n"
      "equal. A TOML file (`--config FILE`, on every subcommand that runs a job) sets any of these in its\n"
      "`[section]`; on the command line, `--section.name VALUE` sets one and overrides the file. The\n"
      "subcommands read: `score` [epsilon] [score] [runtime]; `train-predictor` [predictor] [train] [runtime];\n"
      "`search` [search] [epsilon] [predictor] [runtime]. Cross-key rules (a tournament no larger than the\n"
      "population, counts no larger than the space) are checked too, with errors that name the key.\n\n"
      "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  auto cell = [](std::string text) {  // a '|' inside a cell would end it
    for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.insert(at, "\\");
    return text;
  };
  for (const ConfigKey& key : ConfigKeys()) {
    out += "| `" + key.Key() + "` | " + key.type + " | `" + key.default_value + "` | " + cell(key.allowed) + " | " +
           cell(key.doc) + " |\n";
  }
  return out;
}

StatusOr<Config> ConfigFromToml(std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status::InvalidInput("malformed config '" + std::string(source_name) + "' at " + where.str() + ": " +
                                std::string(e.description()));
  }
  Config config;
  auto apply = [&](const std::string& key, const toml::node& node) -> Status {
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) return Status::InvalidInput("config '" + std::string(source_name) + "': unknown key '" + key + "'");
    return SetFromToml(*spec, node, config, key).WithContext("config '" + std::string(source_name) + "'");
  };
  for (auto&& [section_key, section] : root) {
    const std::string section_name(section_key.str());
    if (const toml::table* table = section.as_table()) {
      for (auto&& [key, node] : *table) HPCNAS_RETURN_IF_ERROR(apply(section_name + "." + std::string(key.str()), node));
    } else {
      HPCNAS_RETURN_IF_ERROR(apply(section_name, section));
    }
  }
  return config;
}

StatusOr<FaultInjection> ParseFaultInjection(const std::string& text) {
  FaultInjection fault;
  if (text.empty()) return fault;
  auto bad = [&] {
    return Bad("runtime.fault", "is '" + text + "'; expected RANK:KIND[:AFTER] with KIND throw, exit, hang or kill");
  };
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ':');) parts.push_back(part);
  if (parts.size() < 2 || parts.size() > 3) return bad();
  try {
    std::size_t used = 0;
    fault.rank = std::stoi(parts[0], &used);
    if (used != parts[0].size() || fault.rank < 0) return bad();
    if (parts.size() == 3) {
      fault.after = std::stoll(parts[2], &used);
      if (used != parts[2].size() || fault.after < 0) return bad();
    }
  } catch (const std::exception&) {
    return bad();
  }
  fault.kind = parts[1];
  if (!OneOf(fault.kind, {"throw", "exit", "hang", "kill"})) return bad();
  return fault;
}

}  // namespace hpcnas
