#include "engine/config/config.h"

#include <cerrno>
#include <algorithm>
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
// --SECTION.NAME), the field it sets, one line of doc and the values it allows on its own.
// Parsing TOML and command-line values, the TOML dump, the per-key checks of Validate and the
// reference docs/config.md all come from this table; Validate adds the rules that involve
// several keys or the search space.

enum class KeyType { kInt, kUnsigned, kFloat, kString };

constexpr double kInf = std::numeric_limits<double>::infinity();

struct KeySpec {
  ConfigKey key;
  KeyType type;
  // The field as the types it can be; exactly one of these is set.
  std::function<int64_t&(Config&)> int64_field;
  std::function<int&(Config&)> int_field;
  std::function<uint64_t&(Config&)> unsigned_field;
  std::function<double&(Config&)> float_field;
  std::function<std::string&(Config&)> string_field;

  // Reading goes through the setters' accessors (one per field, not two); it writes nothing.
  static Config& Fields(const Config& c) { return const_cast<Config&>(c); }
  const std::string& String(const Config& c) const { return string_field(Fields(c)); }
  double Float(const Config& c) const { return float_field(Fields(c)); }
  uint64_t Unsigned(const Config& c) const { return unsigned_field(Fields(c)); }
  int64_t Integer(const Config& c) const { return int_field ? int_field(Fields(c)) : int64_field(Fields(c)); }  // int or int64

  // What the key allows on its own. Numbers: [low, high] (an end open where said), never NaN or
  // infinite, and 0 too with or_zero. Strings: one of `choices` (any if empty), not empty with
  // non_empty. `allowed_text`, when given, replaces the generated description (a range that
  // depends on other keys).
  double low = -kInf, high = kInf;
  bool low_open = false, high_open = false, or_zero = false;
  std::vector<std::string> choices;
  std::string unknown_choice;  // what a value outside `choices` is ("unknown search space")
  bool non_empty = false;
  std::string allowed_text;

  KeySpec& In(double lo, double hi) { low = lo; high = hi; return *this; }
  KeySpec& AtLeast(double lo) { low = lo; return *this; }
  KeySpec& Above(double lo) { low = lo; low_open = true; return *this; }
  KeySpec& BelowOpen() { high_open = true; return *this; }
  KeySpec& OrZero() { or_zero = true; return *this; }
  KeySpec& OneOf(std::vector<std::string> values, std::string unknown = "") {
    choices = std::move(values);
    unknown_choice = std::move(unknown);
    return *this;
  }
  KeySpec& NonEmpty() { non_empty = true; return *this; }
  KeySpec& Allowed(std::string text) { allowed_text = std::move(text); return *this; }
};

// A number for people: integers in full (1000000, not 1e+06), others with 6 significant digits.
std::string FormatNumber(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::ostringstream out;
  out << v;
  return out.str();
}

// The allowed values for people: "2..50000", "> 0", "(0, 4]", "0 or 8..4096", "fast | full".
std::string AllowedText(const KeySpec& spec) {
  if (!spec.allowed_text.empty()) return spec.allowed_text;
  if (spec.type == KeyType::kString) {
    std::string out;
    for (const std::string& c : spec.choices) out += (out.empty() ? "" : " | ") + c;
    return out.empty() ? (spec.non_empty ? "not empty" : "any") : out;
  }
  std::string range;
  const bool has_low = spec.low > -kInf, has_high = spec.high < kInf;
  if (has_low && has_high) {
    range = spec.low_open || spec.high_open ? (spec.low_open ? "(" : "[") + FormatNumber(spec.low) + ", " +
                                                  FormatNumber(spec.high) + (spec.high_open ? ")" : "]")
                                            : FormatNumber(spec.low) + ".." + FormatNumber(spec.high);
  } else if (has_low) {
    range = (spec.low_open ? "> " : ">= ") + FormatNumber(spec.low);
  } else {
    range = "any";
  }
  return spec.or_zero ? "0 or " + range : range;
}

// The key's own rule, as an error naming the key, or Ok.
Status CheckKey(const KeySpec& spec, const Config& c) {
  const std::string& key = spec.key.Key();
  if (spec.type == KeyType::kString) {
    const std::string& v = spec.String(c);
    if (spec.non_empty && v.empty()) return Bad(key, "must not be empty");
    if (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(), v) != spec.choices.end()) {
      return Status::Ok();
    }
    std::string list;
    for (const std::string& choice : spec.choices) list += (list.empty() ? "" : ", ") + choice;
    return Bad(key, "is " + QuoteForError(v) + (spec.unknown_choice.empty() ? "" : ": " + spec.unknown_choice) +
                        "; allowed: " + list);
  }
  double v = 0;
  std::string shown;
  switch (spec.type) {
    case KeyType::kFloat: v = spec.Float(c); shown = FormatNumber(v); break;
    case KeyType::kUnsigned: v = static_cast<double>(spec.Unsigned(c)); shown = std::to_string(spec.Unsigned(c)); break;
    default: v = static_cast<double>(spec.Integer(c)); shown = std::to_string(spec.Integer(c));
  }
  if (spec.or_zero && v == 0) return Status::Ok();
  const bool above = spec.low_open ? v > spec.low : v >= spec.low;
  const bool below = spec.high_open ? v < spec.high : v <= spec.high;
  if (above && below && std::isfinite(v)) return Status::Ok();
  return Bad(key, "is " + shown + "; allowed: " + AllowedText(spec));
}

template <typename Access>
KeySpec Key(const char* section, const char* name, Access access, const char* doc) {
  using T = std::remove_reference_t<decltype(access(std::declval<Config&>()))>;
  KeySpec spec;
  spec.key = {section, name, "", "", doc, ""};
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

#define HPCNAS_KEY(section, name, doc) Key(#section, #name, [](Config& c) -> auto& { return c.section.name; }, doc)

const std::vector<KeySpec>& KeySpecs() {
  static const std::vector<KeySpec> specs = {
      Key("", "command", [](Config& c) -> auto& { return c.command; }, "the subcommand that wrote the file (set by hpcnas)")
          .OneOf({"score", "train-predictor", "predict", "search", "supernet"}),
      HPCNAS_KEY(epsilon, w1, "first constant weight; 0 = the space's (nb201 1e-7, macro 1e-4, proxyless 1e-2)").Above(0).OrZero(),
      HPCNAS_KEY(epsilon, w2, "second constant weight, != w1; 0 = the space's (1 on every space)").Above(0).OrZero(),
      HPCNAS_KEY(epsilon, batch_size, "images in the one unlabelled batch").In(2, 50000),
      HPCNAS_KEY(epsilon, images, "embedded (the epsinas reference batch), a CIFAR-10 binary file (its first batch_size records), or imagenet:DIR / shards:DIR (JPEGs, centre crop at the network's input size)")
          .NonEmpty(),
      HPCNAS_KEY(epsilon, images_fingerprint, "hash of the batch read from images: recorded at the first start when empty, then checked (a resume may move images, not change them)"),
      HPCNAS_KEY(epsilon, path, "fast: the one-channel network; full: the whole network in LibTorch (the reference)")
          .OneOf({"fast", "full"}),
      HPCNAS_KEY(epsilon, nan_policy, "NaN scores: keep (the paper), exact (also exact arithmetic), rank (also a finite ranking key); nb201, fast path")
          .OneOf({"keep", "exact", "rank"}),
      HPCNAS_KEY(epsilon, nan_offset, "with nan_policy = rank: where underflowed architectures start").In(0, 1),
      HPCNAS_KEY(epsilon, resolution, "chain spaces: input size of the network; 0 = the space's (macro 32, proxyless 224)")
          .In(8, 4096).OrZero(),
      HPCNAS_KEY(epsilon, width_multiplier, "proxyless: channels x this, rounded to multiples of 8").In(0, 4).Above(0),
      HPCNAS_KEY(score, space, "search space of the architectures").OneOf({"nb201", "macro", "proxyless"}, "unknown search space"),
      HPCNAS_KEY(score, select, "what to score: the whole space, a random sample, or a file").OneOf({"all", "sample", "file"}),
      HPCNAS_KEY(score, sample, "with select = sample: how many distinct architectures").Allowed("1..distinct networks"),
      HPCNAS_KEY(score, seed, "with select = sample: which ones").AtLeast(0),
      HPCNAS_KEY(score, archs_file, "with select = file: one genotype string per line").Allowed("a file (with select = file)"),
      HPCNAS_KEY(score, truth, "ground truth to correlate with (a CSV with an arch column, or embedded); empty for none"),
      HPCNAS_KEY(score, truth_column, "accuracy column of the truth table").NonEmpty(),
      HPCNAS_KEY(score, out, "HDF5 result file; the CSV goes beside it").NonEmpty(),
      HPCNAS_KEY(predictor, d_model, "token width, a multiple of heads").In(8, 1024),
      HPCNAS_KEY(predictor, heads, "attention heads").In(1, 64),
      HPCNAS_KEY(predictor, layers, "encoder layers").In(1, 64),
      HPCNAS_KEY(predictor, feedforward, "feed-forward width per layer").In(1, 16384),
      HPCNAS_KEY(predictor, head_hidden, "readout hidden width").In(1, 16384),
      HPCNAS_KEY(predictor, dropout, "dropout probability").In(0, 1).BelowOpen(),
      HPCNAS_KEY(predictor, position, "position encoding: Laplacian rows, or Laplacian eigenvectors").OneOf({"laplacian", "eigen"}),
      HPCNAS_KEY(predictor, eigen_count, "with position = eigen: eigenvectors per node").In(1, 3),
      HPCNAS_KEY(predictor, epochs, "passes over the labelled set").In(1, 1000000),
      HPCNAS_KEY(predictor, batch_size, "labelled architectures per step (global, split over ranks)").In(1, 1000000),
      HPCNAS_KEY(predictor, learning_rate, "Adam, cosine-annealed to 0 over all steps").Above(0),
      HPCNAS_KEY(predictor, weight_decay, "Adam L2 weight decay").AtLeast(0),
      HPCNAS_KEY(predictor, self_evolution_rounds, "self-evolution rounds (0 = off)").Allowed("0 or 2..epochs"),
      HPCNAS_KEY(predictor, self_evolution_weight, "weight of the self-evolution constraint").AtLeast(0),
      HPCNAS_KEY(predictor, unlabelled_size, "unlabelled architectures for self-evolution").In(1, 15625),
      HPCNAS_KEY(predictor, gradient_shards, "micro-batches per step, summed in a fixed order (at most this many ranks share a step)")
          .In(1, 1024),
      HPCNAS_KEY(train, space, "search space with ground truth for every network")
          .OneOf({"nb201", "macro"}, "unknown search space, or one without ground truth for every network"),
      HPCNAS_KEY(train, truth, "ground truth (a CSV or embedded); must cover the space").NonEmpty(),
      HPCNAS_KEY(train, truth_column, "accuracy column to learn and to judge by").NonEmpty(),
      HPCNAS_KEY(train, train_size, "labelled architectures").Allowed("2..networks - 1"),
      HPCNAS_KEY(train, seed, "which architectures, initial weights, batches, dropout").AtLeast(0),
      HPCNAS_KEY(train, out, "the predictor's HDF5 file").NonEmpty(),
      HPCNAS_KEY(search, space, "search space (proxyless has no table: evaluator supernet or command)")
          .OneOf({"nb201", "macro", "proxyless"}, "unknown search space"),
      HPCNAS_KEY(search, method, "ours (epsilon + TNASP predictor + evolution), regularised evolution, random search")
          .OneOf({"tnasp", "evolution", "random"}),
      HPCNAS_KEY(search, truth, "ground truth of the tabular evaluator (a CSV or embedded)").NonEmpty(),
      HPCNAS_KEY(search, truth_column, "accuracy column; empty = the space's (nb201 cifar10_test, macro mean_test_acc)"),
      HPCNAS_KEY(search, seed, "every random draw of the search").AtLeast(0),
      HPCNAS_KEY(search, generations, "generations, generation 0 included").In(1, 100000),
      HPCNAS_KEY(search, initial_pool, "tnasp, generation 0: random architectures scored by epsilon").Allowed("1..distinct networks"),
      HPCNAS_KEY(search, initial_queries, "generation 0: architectures evaluated").Allowed("2..distinct networks (tnasp: ..initial_pool)"),
      HPCNAS_KEY(search, candidates, "tnasp: children proposed per generation").Allowed("queries_per_generation..distinct networks"),
      HPCNAS_KEY(search, queries_per_generation, "architectures evaluated per later generation").Allowed("1..distinct networks"),
      HPCNAS_KEY(search, population_size, "aging population (regularised evolution)").Allowed("1..distinct networks"),
      HPCNAS_KEY(search, tournament_size, "parent = best of this many random members").Allowed("1..population_size"),
      HPCNAS_KEY(search, crossover, "share of children made by uniform crossover of two parents").In(0, 1),
      HPCNAS_KEY(search, predictor_epochs, "tnasp: predictor epochs per generation, warm-started").In(1, 1000000),
      HPCNAS_KEY(search, selection, "tnasp: how candidates are ranked for evaluation").OneOf({"predictor", "epsilon", "combined"}),
      HPCNAS_KEY(search, prefilter, "tnasp: epsilon on every candidate, or none (the predictor alone; generation 0 random)")
          .OneOf({"epsilon", "none"}),
      HPCNAS_KEY(search, explore, "tnasp: share of later queries given to children as proposed").In(0, 1),
      HPCNAS_KEY(search, out_dir, "results, CSVs and checkpoints/").NonEmpty(),
      HPCNAS_KEY(search, keep_checkpoints, "newest checkpoints kept").In(1, 1000000),
      HPCNAS_KEY(search, evaluator, "accuracy of a selected architecture: the benchmark table, inherited supernet weights, or a command")
          .OneOf({"tabular", "supernet", "command"}),
      HPCNAS_KEY(search, supernet, "evaluator supernet: a checkpoint of hpcnas supernet, its output directory (the newest), or 'train': the search trains one of its [supernet] (warm-up before generation 0, more epochs between generations)")
          .Allowed("a file, a directory or 'train' (with evaluator = supernet)"),
      HPCNAS_KEY(search, supernet_epochs_per_generation, "supernet = 'train': epochs of the supernet's schedule before each generation after the first").In(0, 1000000),
      HPCNAS_KEY(search, supernet_score, "evaluator supernet: a candidate's label, its held-out accuracy or its held-out log-likelihood (minus the cross-entropy: ranks better on a small held-out split)")
          .OneOf({"accuracy", "log_likelihood"}),
      HPCNAS_KEY(search, finetune_steps, "evaluator supernet: SGD steps on each inherited subnet before its evaluation").In(0, 1000000),
      HPCNAS_KEY(search, evaluate_command, "evaluator command: /bin/sh command line with {arch} and {out}; prints the accuracy last")
          .Allowed("a command with {arch} (with evaluator = command)"),
      HPCNAS_KEY(search, evaluate_timeout_s, "evaluator command: seconds before a run is killed and recorded as failed").Above(0),
      HPCNAS_KEY(search, max_mflops, "budget: millions of FLOPs (multiply-accumulates) an architecture may cost; 0 = none").Above(0).OrZero(),
      HPCNAS_KEY(search, max_latency_ms, "budget: predicted latency (search.latency_table) an architecture may have; 0 = none").Above(0).OrZero(),
      HPCNAS_KEY(search, latency_table, "latency lookup table of hpcnas latency (HDF5) for the search's networks"),
      HPCNAS_KEY(supernet, space, "chain space of the supernet (a search with supernet = 'train' sets it to search.space)").OneOf({"macro", "proxyless"}, "unknown chain space"),
      HPCNAS_KEY(supernet, data, "embedded (256 CIFAR-10 training images), a CIFAR-10 binary file, or imagenet:DIR / shards:DIR (a seeded draw from every class, held in memory)").NonEmpty(),
      HPCNAS_KEY(supernet, data_fingerprint, "hash of the images and labels read from data: recorded at the first start when empty, then checked (a resume may move data, not change it)"),
      HPCNAS_KEY(supernet, num_classes, "classes of supernet.data (CIFAR-10: 10; Tiny-ImageNet: 200; ImageNet: 1000)").In(2, 1000000),
      HPCNAS_KEY(supernet, train_images, "first records: weight steps").Allowed("batch_size..records - valid_images"),
      HPCNAS_KEY(supernet, valid_images, "next records: architecture steps and evaluation").Allowed("batch_size..records - train_images"),
      HPCNAS_KEY(supernet, recalibration_images, "train images (at most all of them) that recalibrate BatchNorm before an evaluation")
          .In(1, 1000000),
      HPCNAS_KEY(supernet, resolution, "input size of the network").In(8, 4096),
      HPCNAS_KEY(supernet, width_multiplier, "proxyless: channels x this, rounded to multiples of 8").In(0, 4).Above(0),
      HPCNAS_KEY(supernet, seed, "weights, alphas, image order, augmentation, gates").AtLeast(0),
      HPCNAS_KEY(supernet, epochs, "search epochs after the warm-up").In(1, 1000000),
      HPCNAS_KEY(supernet, warmup_epochs, "epochs of weight steps on random paths first").In(0, 1000000),
      HPCNAS_KEY(supernet, batch_size, "global batch, not multiplied by the rank count").In(1, 1000000),
      HPCNAS_KEY(supernet, micro_batches, "micro-batches per step: BatchNorm statistics and gradients per micro-batch, summed in a fixed order")
          .Allowed("1..batch_size"),
      HPCNAS_KEY(supernet, learning_rate, "SGD (Nesterov), cosine over the warm-up and again over the search").Above(0),
      HPCNAS_KEY(supernet, momentum, "SGD Nesterov momentum").In(0, 1).BelowOpen(),
      HPCNAS_KEY(supernet, weight_decay, "SGD L2 weight decay").AtLeast(0),
      HPCNAS_KEY(supernet, label_smoothing, "weight steps' label smoothing").In(0, 1).BelowOpen(),
      HPCNAS_KEY(supernet, gate_mode, "binary gates: full_v2 (official), two (two paths), full (all paths; reference)")
          .OneOf({"full_v2", "two", "full"}),
      HPCNAS_KEY(supernet, arch_learning_rate, "architecture Adam learning rate (betas 0, 0.999)").Above(0),
      HPCNAS_KEY(supernet, arch_every, "an architecture step after every this many weight steps").In(1, 1000000),
      HPCNAS_KEY(supernet, search_weight_paths, "paths of the weight steps after the warm-up: sampled (by p, official: what alpha favours trains most) or uniform (every operation equally, as in the warm-up)")
          .OneOf({"sampled", "uniform"}),
      HPCNAS_KEY(supernet, target_mflops, "expected-FLOPs target in millions; 0 = no hardware term").Above(0).OrZero(),
      HPCNAS_KEY(supernet, target_latency_ms, "expected-latency target in ms (needs latency_table); 0 = none").Above(0).OrZero(),
      HPCNAS_KEY(supernet, latency_table, "latency lookup table of hpcnas latency (HDF5), measured on this device for this space"),
      HPCNAS_KEY(supernet, cost_loss, "mul#log: a CE (log E / log T)^b, as the official code (T only scales the loss, which Adam cancels: how hard it pulls does not depend on T); add#linear: CE + l (E - T) / T (a smaller T pulls harder, whether E is above T or below); add#abs: CE + l |E - T| / T (TuNAS's absolute reward: pulls E towards T from either side)").OneOf({"mul#log", "add#linear", "add#abs"}),
      HPCNAS_KEY(supernet, cost_alpha, "mul#log: a").Above(0),
      HPCNAS_KEY(supernet, cost_beta, "mul#log: b").AtLeast(0),
      HPCNAS_KEY(supernet, cost_lambda, "add#linear and add#abs: l").AtLeast(0),
      HPCNAS_KEY(supernet, derive, "the reported architecture: argmax (the most probable operation per position, official) or target (the most probable architecture whose cost is within [derive_band_low, derive_band_high] x the target)")
          .OneOf({"argmax", "target"}),
      HPCNAS_KEY(supernet, derive_band_low, "derive = target: lowest cost allowed, as a fraction of the target").Above(0),
      HPCNAS_KEY(supernet, derive_band_high, "derive = target: highest cost allowed, as a fraction of the target (1 for a hard budget)").Above(0),
      HPCNAS_KEY(supernet, out_dir, "results, CSV, plots and checkpoints/ (a search with supernet = 'train' uses search.out_dir/supernet)").NonEmpty(),
      HPCNAS_KEY(supernet, keep_checkpoints, "newest checkpoints kept").In(1, 1000000),
      HPCNAS_KEY(runtime, threads, "intra-op threads per rank; 0 = cores / ranks on the node").In(0, 1024),
      HPCNAS_KEY(runtime, timeout_s, "seconds a rank may stay silent before the job is aborted").Above(0),
      HPCNAS_KEY(runtime, progress_s, "seconds between progress lines").AtLeast(0),
      HPCNAS_KEY(runtime, fault, "testing only: make RANK fail (throw | exit | hang | stop | kill) or send itself SIGUSR1 (signal) after AFTER architectures (supernet: weight steps)")
          .Allowed("RANK:KIND[:AFTER], or empty"),
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

void AddToToml(const KeySpec& spec, const Config& c, toml::table& table) {
  const std::string& name = spec.key.name;
  switch (spec.type) {
    case KeyType::kString: table.insert_or_assign(name, spec.String(c)); break;
    case KeyType::kFloat: table.insert_or_assign(name, spec.Float(c)); break;
    case KeyType::kUnsigned: table.insert_or_assign(name, static_cast<int64_t>(spec.Unsigned(c))); break;
    default: table.insert_or_assign(name, spec.Integer(c)); break;
  }
}

// The value as a person reads it in docs/config.md: TOML strings, numbers as FormatNumber.
std::string ValueText(const KeySpec& spec, const Config& config) {
  if (spec.type == KeyType::kFloat) return FormatNumber(spec.Float(config));
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

// The predictor's rules that involve two keys.
Status ValidatePredictor(const PredictorConfig& p) {
  if (p.d_model % p.heads != 0) {
    return Bad("predictor.d_model", "is " + std::to_string(p.d_model) + "; must be a multiple of predictor.heads (" +
                                        std::to_string(p.heads) + ")");
  }
  if (p.self_evolution_rounds == 1 || p.self_evolution_rounds < 0 || p.self_evolution_rounds > p.epochs) {
    return Bad("predictor.self_evolution_rounds", "is " + std::to_string(p.self_evolution_rounds) +
                                                      "; allowed: 0 (off) or 2..predictor.epochs");
  }
  return Status::Ok();
}

// The search's rules that involve several keys or the space's number of networks.
Status ValidateSearch(const SearchConfig& s) {
  const std::optional<std::int64_t> count = (*MakeSearchSpace(s.space))->CanonicalCount();
  const int distinct = static_cast<int>(std::min<std::int64_t>(count.value_or(1000000000), 1000000000));
  if (s.evaluator == "tabular" && s.space == "proxyless") {
    return Bad("search.evaluator", "is 'tabular' but space proxyless has no benchmark table; use 'supernet' or 'command'");
  }
  if (s.evaluator == "supernet" && s.space == "nb201") return Bad("search.evaluator", "'supernet' needs a chain space (macro, proxyless)");
  if (s.evaluator != "supernet" && s.supernet_score != "accuracy") return Bad("search.supernet_score", "applies only with evaluator = 'supernet'");
  if (s.evaluator == "supernet" && s.supernet.empty()) return Bad("search.supernet", "must name a supernet checkpoint, or be 'train', with evaluator = 'supernet'");
  if (s.evaluator == "command" && s.evaluate_command.find("{arch}") == std::string::npos) {
    return Bad("search.evaluate_command", "must hold {arch} (the genotype string) with evaluator = 'command'");
  }
  if ((s.max_mflops > 0 || s.max_latency_ms > 0) && s.space == "nb201") {
    return Bad(s.max_mflops > 0 ? "search.max_mflops" : "search.max_latency_ms", "needs a chain space (macro, proxyless): nb201 has no cost model");
  }
  if (s.max_latency_ms > 0 && s.latency_table.empty()) return Bad("search.latency_table", "must name a table when search.max_latency_ms is set");
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
  return Status::Ok();
}

Status ValidateSupernet(const SupernetConfig& s) {
  const std::string batch = "supernet.batch_size (" + std::to_string(s.batch_size) + ")";
  if (s.train_images < s.batch_size) return Bad("supernet.train_images", "is " + std::to_string(s.train_images) + "; must be at least " + batch);
  if (s.valid_images < s.batch_size) return Bad("supernet.valid_images", "is " + std::to_string(s.valid_images) + "; must be at least " + batch);
  HPCNAS_RETURN_IF_ERROR(IntIn("supernet.micro_batches", s.micro_batches, 1, s.batch_size));
  if (s.space == "macro" && s.width_multiplier != 1.0) return Bad("supernet.width_multiplier", "exists for space proxyless only");
  if (s.target_mflops > 0 && s.target_latency_ms > 0) return Bad("supernet.target_latency_ms", "and supernet.target_mflops: choose one target");
  if (s.cost_loss == "mul#log" && std::max(s.target_mflops, s.target_latency_ms) > 0 && std::max(s.target_mflops, s.target_latency_ms) <= 1) {
    return Bad(s.target_mflops > 0 ? "supernet.target_mflops" : "supernet.target_latency_ms",
               "must be above 1 with supernet.cost_loss = 'mul#log' (log T divides); use 'add#linear' or 'add#abs' for smaller targets");
  }
  if (s.target_latency_ms > 0 && s.latency_table.empty()) return Bad("supernet.latency_table", "must name a table when supernet.target_latency_ms is set");
  if (s.derive == "target" && s.target_mflops == 0 && s.target_latency_ms == 0) {
    return Bad("supernet.derive", "is 'target' but there is none: set supernet.target_mflops or supernet.target_latency_ms");
  }
  if (s.derive_band_low > s.derive_band_high) {
    return Bad("supernet.derive_band_low", "is " + FormatNumber(s.derive_band_low) + ", above supernet.derive_band_high " + FormatNumber(s.derive_band_high));
  }
  return Status::Ok();
}

}  // namespace

Status Validate(const Config& c) {
  // Each key's own rule (the table), then the rules that involve several keys or a space.
  for (const KeySpec& spec : KeySpecs()) HPCNAS_RETURN_IF_ERROR(CheckKey(spec, c));
  if (c.epsilon.w1 > 0 && c.epsilon.w1 == c.epsilon.w2) return Bad("epsilon.w2", "must differ from epsilon.w1");
  if (c.epsilon.nan_policy != "keep" && c.epsilon.path != "fast") {
    return Bad("epsilon.nan_policy", "'" + c.epsilon.nan_policy + "' needs epsilon.path = fast (the exact arithmetic is a fast-path feature)");
  }
  if (c.score.space != "nb201" && c.epsilon.nan_policy != "keep") {
    return Bad("epsilon.nan_policy", "'" + c.epsilon.nan_policy + "' exists for space nb201 only (the exact arithmetic is NB201's)");
  }
  // The upper bound of other spaces is checked against the space (SearchSpace::CheckDistinctCount).
  if (c.score.select == "sample" && (c.score.sample < 1 || (c.score.space == "nb201" && c.score.sample > 15625))) {
    return Bad("score.sample", "is " + std::to_string(c.score.sample) + "; allowed: 1..15625 distinct NB201 cells");
  }
  if (c.score.select == "file" && c.score.archs_file.empty()) {
    return Bad("score.archs_file", "must name a file when score.select = 'file'");
  }
  HPCNAS_RETURN_IF_ERROR(ValidatePredictor(c.predictor));
  // Other spaces' upper bound is their number of networks (checked against the space).
  if (c.train.train_size < 2 || (c.train.space == "nb201" && c.train.train_size > 15624)) {
    return Bad("train.train_size", "is " + std::to_string(c.train.train_size) +
                                       "; allowed: 2..15624 (some NB201 cells must stay out of training)");
  }
  HPCNAS_RETURN_IF_ERROR(ValidateSearch(c.search));
  HPCNAS_RETURN_IF_ERROR(ValidateSupernet(c.supernet));
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
      key.allowed = AllowedText(spec);
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
      "Generated from the key table in `engine/config/config.cc` (`hpcnas config --reference`); a unit test keeps it\n"
      "equal. A TOML file (`--config FILE`, on every subcommand that runs a job) sets any of these in its\n"
      "`[section]`; on the command line, `--section.name VALUE` (or its short flag, `hpcnas SUBCOMMAND --help`\n"
      "lists them) sets one and overrides the file. The\n"
      "subcommands read: `score` [epsilon] [score] [runtime]; `train-predictor` [predictor] [train] [runtime];\n"
      "`search` [search] [epsilon] [predictor] [runtime]; `supernet` [supernet] [runtime]. Cross-key rules (a tournament no larger than the\n"
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
    return Bad("runtime.fault", "is '" + text + "'; expected RANK:KIND[:AFTER] with KIND throw, exit, hang, stop (SIGSTOP: a frozen rank), kill or signal");
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
  if (!OneOf(fault.kind, {"throw", "exit", "hang", "stop", "kill", "signal"})) return bad();
  return fault;
}

}  // namespace hpcnas
