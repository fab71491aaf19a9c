#include "engine/config.h"

#include <cmath>
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

// One settable field: how to read it from a TOML node into the config.
using Setter = std::function<Status(const toml::node&, Config&, const std::string& key)>;

Setter StringField(std::string& (*access)(Config&)) {
  return [access](const toml::node& node, Config& c, const std::string& key) {
    auto v = node.value<std::string>();
    if (!node.is_string() || !v) return Bad(key, "must be a string");
    access(c) = *v;
    return Status::Ok();
  };
}

Setter DoubleField(double& (*access)(Config&)) {
  return [access](const toml::node& node, Config& c, const std::string& key) {
    if (!node.is_number()) return Bad(key, "must be a number");
    access(c) = *node.value<double>();
    return Status::Ok();
  };
}

template <typename Int>
Setter IntField(Int& (*access)(Config&)) {
  return [access](const toml::node& node, Config& c, const std::string& key) {
    if (!node.is_integer()) return Bad(key, "must be an integer");
    const int64_t v = *node.value<int64_t>();
    if (std::is_unsigned_v<Int> && v < 0) return Bad(key, "must not be negative");
    // A value the field's type cannot hold is refused, never cut to fit.
    if constexpr (sizeof(Int) < sizeof(int64_t)) {
      if (v < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
          v > static_cast<int64_t>(std::numeric_limits<Int>::max())) {
        return Bad(key, "is " + std::to_string(v) + "; it must fit in " + std::to_string(std::numeric_limits<Int>::min()) +
                            ".." + std::to_string(std::numeric_limits<Int>::max()));
      }
    }
    access(c) = static_cast<Int>(v);
    return Status::Ok();
  };
}

const std::map<std::string, Setter>& Schema() {
  static const std::map<std::string, Setter> schema = {
      {"command", StringField([](Config& c) -> std::string& { return c.command; })},
      {"epsilon.w1", DoubleField([](Config& c) -> double& { return c.epsilon.w1; })},
      {"epsilon.w2", DoubleField([](Config& c) -> double& { return c.epsilon.w2; })},
      {"epsilon.batch_size", IntField<int64_t>([](Config& c) -> int64_t& { return c.epsilon.batch_size; })},
      {"epsilon.images", StringField([](Config& c) -> std::string& { return c.epsilon.images; })},
      {"epsilon.path", StringField([](Config& c) -> std::string& { return c.epsilon.path; })},
      {"epsilon.nan_policy", StringField([](Config& c) -> std::string& { return c.epsilon.nan_policy; })},
      {"epsilon.nan_offset", DoubleField([](Config& c) -> double& { return c.epsilon.nan_offset; })},
      {"epsilon.resolution", IntField<int64_t>([](Config& c) -> int64_t& { return c.epsilon.resolution; })},
      {"epsilon.width_multiplier", DoubleField([](Config& c) -> double& { return c.epsilon.width_multiplier; })},
      {"score.space", StringField([](Config& c) -> std::string& { return c.score.space; })},
      {"score.select", StringField([](Config& c) -> std::string& { return c.score.select; })},
      {"score.sample", IntField<int64_t>([](Config& c) -> int64_t& { return c.score.sample; })},
      {"score.seed", IntField<uint64_t>([](Config& c) -> uint64_t& { return c.score.seed; })},
      {"score.archs_file", StringField([](Config& c) -> std::string& { return c.score.archs_file; })},
      {"score.truth", StringField([](Config& c) -> std::string& { return c.score.truth; })},
      {"score.truth_column", StringField([](Config& c) -> std::string& { return c.score.truth_column; })},
      {"score.out", StringField([](Config& c) -> std::string& { return c.score.out; })},
      {"predictor.d_model", IntField<int>([](Config& c) -> int& { return c.predictor.d_model; })},
      {"predictor.heads", IntField<int>([](Config& c) -> int& { return c.predictor.heads; })},
      {"predictor.layers", IntField<int>([](Config& c) -> int& { return c.predictor.layers; })},
      {"predictor.feedforward", IntField<int>([](Config& c) -> int& { return c.predictor.feedforward; })},
      {"predictor.head_hidden", IntField<int>([](Config& c) -> int& { return c.predictor.head_hidden; })},
      {"predictor.dropout", DoubleField([](Config& c) -> double& { return c.predictor.dropout; })},
      {"predictor.position", StringField([](Config& c) -> std::string& { return c.predictor.position; })},
      {"predictor.eigen_count", IntField<int>([](Config& c) -> int& { return c.predictor.eigen_count; })},
      {"predictor.epochs", IntField<int>([](Config& c) -> int& { return c.predictor.epochs; })},
      {"predictor.batch_size", IntField<int>([](Config& c) -> int& { return c.predictor.batch_size; })},
      {"predictor.learning_rate", DoubleField([](Config& c) -> double& { return c.predictor.learning_rate; })},
      {"predictor.weight_decay", DoubleField([](Config& c) -> double& { return c.predictor.weight_decay; })},
      {"predictor.self_evolution_rounds", IntField<int>([](Config& c) -> int& { return c.predictor.self_evolution_rounds; })},
      {"predictor.self_evolution_weight", DoubleField([](Config& c) -> double& { return c.predictor.self_evolution_weight; })},
      {"predictor.unlabelled_size", IntField<int64_t>([](Config& c) -> int64_t& { return c.predictor.unlabelled_size; })},
      {"predictor.gradient_shards", IntField<int>([](Config& c) -> int& { return c.predictor.gradient_shards; })},
      {"train.space", StringField([](Config& c) -> std::string& { return c.train.space; })},
      {"train.truth", StringField([](Config& c) -> std::string& { return c.train.truth; })},
      {"train.truth_column", StringField([](Config& c) -> std::string& { return c.train.truth_column; })},
      {"train.train_size", IntField<int64_t>([](Config& c) -> int64_t& { return c.train.train_size; })},
      {"train.seed", IntField<uint64_t>([](Config& c) -> uint64_t& { return c.train.seed; })},
      {"train.out", StringField([](Config& c) -> std::string& { return c.train.out; })},
      {"search.space", StringField([](Config& c) -> std::string& { return c.search.space; })},
      {"search.method", StringField([](Config& c) -> std::string& { return c.search.method; })},
      {"search.truth", StringField([](Config& c) -> std::string& { return c.search.truth; })},
      {"search.truth_column", StringField([](Config& c) -> std::string& { return c.search.truth_column; })},
      {"search.seed", IntField<uint64_t>([](Config& c) -> uint64_t& { return c.search.seed; })},
      {"search.generations", IntField<int>([](Config& c) -> int& { return c.search.generations; })},
      {"search.initial_pool", IntField<int>([](Config& c) -> int& { return c.search.initial_pool; })},
      {"search.initial_queries", IntField<int>([](Config& c) -> int& { return c.search.initial_queries; })},
      {"search.candidates", IntField<int>([](Config& c) -> int& { return c.search.candidates; })},
      {"search.queries_per_generation", IntField<int>([](Config& c) -> int& { return c.search.queries_per_generation; })},
      {"search.population_size", IntField<int>([](Config& c) -> int& { return c.search.population_size; })},
      {"search.tournament_size", IntField<int>([](Config& c) -> int& { return c.search.tournament_size; })},
      {"search.crossover", DoubleField([](Config& c) -> double& { return c.search.crossover; })},
      {"search.predictor_epochs", IntField<int>([](Config& c) -> int& { return c.search.predictor_epochs; })},
      {"search.explore", DoubleField([](Config& c) -> double& { return c.search.explore; })},
      {"search.selection", StringField([](Config& c) -> std::string& { return c.search.selection; })},
      {"search.out_dir", StringField([](Config& c) -> std::string& { return c.search.out_dir; })},
      {"search.keep_checkpoints", IntField<int>([](Config& c) -> int& { return c.search.keep_checkpoints; })},
      {"runtime.threads", IntField<int>([](Config& c) -> int& { return c.runtime.threads; })},
      {"runtime.timeout_s", DoubleField([](Config& c) -> double& { return c.runtime.timeout_s; })},
      {"runtime.progress_s", DoubleField([](Config& c) -> double& { return c.runtime.progress_s; })},
      {"runtime.fault", StringField([](Config& c) -> std::string& { return c.runtime.fault; })},
  };
  return schema;
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
  toml::table root{
      {"command", c.command},
      {"epsilon", toml::table{{"w1", c.epsilon.w1},
                              {"w2", c.epsilon.w2},
                              {"batch_size", c.epsilon.batch_size},
                              {"images", c.epsilon.images},
                              {"path", c.epsilon.path},
                              {"nan_policy", c.epsilon.nan_policy},
                              {"nan_offset", c.epsilon.nan_offset},
                              {"resolution", c.epsilon.resolution},
                              {"width_multiplier", c.epsilon.width_multiplier}}},
      {"score", toml::table{{"space", c.score.space},
                            {"select", c.score.select},
                            {"sample", c.score.sample},
                            {"seed", static_cast<int64_t>(c.score.seed)},
                            {"archs_file", c.score.archs_file},
                            {"truth", c.score.truth},
                            {"truth_column", c.score.truth_column},
                            {"out", c.score.out}}},
      {"predictor", toml::table{{"d_model", c.predictor.d_model},
                                {"heads", c.predictor.heads},
                                {"layers", c.predictor.layers},
                                {"feedforward", c.predictor.feedforward},
                                {"head_hidden", c.predictor.head_hidden},
                                {"dropout", c.predictor.dropout},
                                {"position", c.predictor.position},
                                {"eigen_count", c.predictor.eigen_count},
                                {"epochs", c.predictor.epochs},
                                {"batch_size", c.predictor.batch_size},
                                {"learning_rate", c.predictor.learning_rate},
                                {"weight_decay", c.predictor.weight_decay},
                                {"self_evolution_rounds", c.predictor.self_evolution_rounds},
                                {"self_evolution_weight", c.predictor.self_evolution_weight},
                                {"unlabelled_size", c.predictor.unlabelled_size},
                                {"gradient_shards", c.predictor.gradient_shards}}},
      {"train", toml::table{{"space", c.train.space},
                            {"truth", c.train.truth},
                            {"truth_column", c.train.truth_column},
                            {"train_size", c.train.train_size},
                            {"seed", static_cast<int64_t>(c.train.seed)},
                            {"out", c.train.out}}},
      {"search", toml::table{{"space", c.search.space},
                             {"method", c.search.method},
                             {"truth", c.search.truth},
                             {"truth_column", c.search.truth_column},
                             {"seed", static_cast<int64_t>(c.search.seed)},
                             {"generations", c.search.generations},
                             {"initial_pool", c.search.initial_pool},
                             {"initial_queries", c.search.initial_queries},
                             {"candidates", c.search.candidates},
                             {"queries_per_generation", c.search.queries_per_generation},
                             {"population_size", c.search.population_size},
                             {"tournament_size", c.search.tournament_size},
                             {"crossover", c.search.crossover},
                             {"predictor_epochs", c.search.predictor_epochs},
                             {"selection", c.search.selection},
                             {"explore", c.search.explore},
                             {"out_dir", c.search.out_dir},
                             {"keep_checkpoints", c.search.keep_checkpoints}}},
      {"runtime", toml::table{{"threads", c.runtime.threads},
                              {"timeout_s", c.runtime.timeout_s},
                              {"progress_s", c.runtime.progress_s},
                              {"fault", c.runtime.fault}}},
  };
  std::ostringstream out;
  out << root << "\n";
  return out.str();
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
  const auto& schema = Schema();
  auto apply = [&](const std::string& key, const toml::node& node) -> Status {
    auto it = schema.find(key);
    if (it == schema.end()) {
      return Status::InvalidInput("config '" + std::string(source_name) + "': unknown key '" + key + "'");
    }
    return it->second(node, config, key).WithContext("config '" + std::string(source_name) + "'");
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
