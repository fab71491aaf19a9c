#pragma once
// The one configuration of an hpcnas job. Every field says its meaning, unit and range; the
// command line and TOML files fill it, Validate() checks it with errors that name the key and
// the allowed values, and its TOML text is stored in every result and checkpoint file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

struct EpsilonConfig {
  // The two constant weights, > 0 and different; 0 = the space's pair (DefaultEpsilonWeights:
  // nb201 1e-7 and 1 as in the paper, macro 1e-4 and 1, proxyless 1e-2 and 1).
  double w1 = 0;
  double w2 = 0;
  int64_t batch_size = 256;  // images in the one unlabelled batch, 2..50000
  // "embedded" (the bundled epsinas reference batch, 256 CIFAR-10 training images), a CIFAR-10
  // binary file whose first batch_size records form the batch, or JPEGs: "imagenet:DIR" (a folder
  // per class) or "shards:DIR" (hpcnas pack output), io/images/epsilon_images.h.
  std::string images = "embedded";
  // A hash of the batch read from `images`, recorded at the first start when empty and checked
  // against the batch every time after: a resumed search may find its images at another place
  // (--epsilon.images), but they must be the same images.
  std::string images_fingerprint;
  // Scorer: "fast" (the one-channel network, float32: the same scores to float rounding) or
  // "full" (the reference: the whole network in LibTorch, as the original code runs it).
  std::string path = "fast";
  // What to do about NaN scores (fast path only): "keep" (the paper: NaN stays NaN and is left
  // out of correlations), "exact" (also score every cell in exact arithmetic, which never
  // underflows: column epsilon_exact), "rank" (also give every cell a finite ranking key,
  // EpsilonRankKey: column epsilon_rank_key).
  std::string nan_policy = "keep";
  double nan_offset = 0.5;  // with nan_policy = "rank": where underflowed cells start, 0..1
  // Chain spaces (macro, proxyless): the network the batch runs through. 0 = the space's
  // default input size (macro 32, proxyless 224; the batch is resized to it), 8..4096.
  int64_t resolution = 0;
  double width_multiplier = 1.0;  // proxyless: channels x this, rounded to multiples of 8; (0, 4]
};

struct ScoreConfig {
  std::string space = "nb201";   // search space: "nb201" | "macro" | "proxyless"
  std::string select = "all";    // "all" | "sample" | "file"
  int64_t sample = 0;            // with select = "sample": how many distinct cells, >= 1
  uint64_t seed = 0;             // with select = "sample": which ones
  std::string archs_file;        // with select = "file": one genotype string per line
  // Ground-truth CSV (an `arch` column of genotype strings and accuracy columns) or "embedded"
  // for the bundled table of the space (nb201, macro); empty for none.
  std::string truth;
  std::string truth_column = "cifar10_test";  // accuracy column of the truth table
  std::string out = "scores.h5";  // HDF5 result file; the CSV goes beside it (same stem, .csv)
};

// The TNASP predictor (DESIGN section 4.3): model sizes and its training. Defaults are the
// paper's where it gives them.
struct PredictorConfig {
  int d_model = 80;          // token width, 8..1024, a multiple of heads
  int heads = 4;             // attention heads, 1..64
  int layers = 3;            // encoder layers, 1..64
  int feedforward = 320;     // feed-forward width per layer, 1..16384 (the paper does not say; 4 x d_model)
  int head_hidden = 96;      // readout hidden width, 1..16384
  double dropout = 0.1;      // 0 <= p < 1
  std::string position = "laplacian";  // "laplacian" (L = D - A rows) | "eigen" (Laplacian eigenvectors)
  int eigen_count = 3;       // with position = "eigen": eigenvectors per node, 1..3
  int epochs = 300;          // passes over the labelled set, >= 1
  int batch_size = 10;       // labelled architectures per step (global, split over ranks), >= 1
  double learning_rate = 1e-4;   // Adam, cosine-annealed to 0 over all steps, > 0
  double weight_decay = 1e-3;    // Adam L2 weight decay, >= 0
  // Self-evolution: 0 = off; T >= 2 splits the epochs into T rounds, and round t >= 2 adds
  // self_evolution_weight x MSE(f(v), previous round's prediction for v) over unlabelled v.
  int self_evolution_rounds = 0;
  double self_evolution_weight = 1.0;  // lambda, >= 0
  int64_t unlabelled_size = 1000;      // unlabelled architectures for self-evolution, >= 1
  // Each step's global batch is cut into this many micro-batches whose gradients are computed
  // separately and summed in a fixed order, so a run gives bitwise the same predictor on any
  // number of ranks; at most this many ranks share a step's work. 1..1024.
  int gradient_shards = 2;
};

// `hpcnas train-predictor`: what to train on and where the predictor goes.
struct TrainConfig {
  std::string space = "nb201";    // search space with ground truth for every network: "nb201" | "macro"
  std::string truth = "embedded";  // ground-truth CSV or "embedded" (the space's table); must cover the space
  std::string truth_column = "cifar10_test";
  int64_t train_size = 1563;      // labelled architectures, 2 .. cells - 1
  uint64_t seed = 0;              // which architectures, initial weights, batches, dropout
  std::string out = "predictor.h5";
};

// `hpcnas search` (DESIGN section 2): the generation loop on a space with a benchmark table.
// Generation 0 evaluates initial_queries architectures; every later one evaluates
// queries_per_generation, so a run makes initial_queries + (generations - 1) x
// queries_per_generation queries. "N distinct" below is the space's number of networks
// (nb201 15,625, macro 3,969).
struct SearchConfig {
  // "nb201" | "macro" | "proxyless" (proxyless has no benchmark table: evaluator supernet or command).
  // Chain spaces (macro, proxyless) build their networks as [supernet] says (resolution, width).
  std::string space = "nb201";
  // "tnasp" (ours: epsilon on every candidate, the TNASP predictor, top-k evaluated),
  // "evolution" (regularised evolution, no epsilon, no predictor), "random" (random search).
  std::string method = "tnasp";
  std::string truth = "embedded";  // ground truth of the tabular evaluator, CSV or "embedded"
  // Accuracy column of the truth table; empty = the space's (nb201 "cifar10_test", macro "mean_test_acc").
  std::string truth_column;
  uint64_t seed = 0;               // every random draw of the search
  int generations = 10;            // generation 0 included, 1..100000
  int initial_pool = 500;          // tnasp, generation 0: random architectures scored by epsilon, 1..N distinct
  int initial_queries = 10;        // generation 0: architectures evaluated (tnasp: the best by epsilon), 2..N
  int candidates = 100;            // tnasp: children proposed per generation, >= queries_per_generation
  int queries_per_generation = 10;  // >= 1
  int population_size = 20;        // aging population (regularised evolution), >= 1
  int tournament_size = 5;         // parent = best of this many random members, 1..population_size
  double crossover = 0.0;          // share of children made by uniform crossover of two parents, 0..1
  int predictor_epochs = 50;       // tnasp: epochs per generation, the predictor warm-started, >= 1
  // tnasp: how the candidates are ranked for evaluation: "predictor" (epsilon breaks ties),
  // "epsilon", or "combined" (mean of the two quantiles; the predictor alone where epsilon is unknown).
  std::string selection = "predictor";
  // tnasp: "epsilon" scores every candidate with epsilon (generation 0 evaluates the best of a
  // random pool by epsilon; epsilon breaks the predictor's ties), "none" leaves epsilon out
  // (generation 0 evaluates random architectures, the predictor alone ranks): an ablation.
  std::string prefilter = "epsilon";
  // tnasp: share of each later generation's queries given to children in the order they were
  // proposed (plain regularised evolution) instead of by rank: exploration the predictor cannot
  // veto. 0..1.
  double explore = 0.2;
  std::string out_dir = "search_out";  // results, CSVs and checkpoints/
  int keep_checkpoints = 3;        // newest checkpoints kept, >= 1
  // Step 7, the accuracy of a selected architecture: "tabular" (the benchmark table
  // search.truth), "supernet" (its weights inherited from a trained supernet, search.supernet),
  // or "command" (a user's program, search.evaluate_command).
  std::string evaluator = "tabular";
  // evaluator supernet: a checkpoint of `hpcnas supernet` or its output directory (the newest
  // checkpoint), whose [supernet] section then replaces the search's (data, splits, resolution,
  // width); or "train": the search trains a supernet of its own [supernet] section, the warm-up
  // epochs before generation 0 and supernet_epochs_per_generation more epochs before each later
  // generation (until its warmup_epochs + epochs are done), on all ranks, into OUT/supernet/.
  std::string supernet;
  int supernet_epochs_per_generation = 1;  // search.supernet = "train": >= 0
  // evaluator supernet: a candidate's label, "accuracy" (held-out, %) or "log_likelihood" (the
  // held-out mean log-probability of the true class, minus the cross-entropy: a finer ranking
  // than the accuracy of a weak supernet on a small held-out split; experiments/supernet_ranking.py).
  std::string supernet_score = "accuracy";
  int finetune_steps = 0;          // evaluator supernet: SGD steps on each inherited subnet first, >= 0
  // evaluator command: run by /bin/sh once per architecture, {arch} replaced by the genotype
  // string and {out} by a directory of its own (both quoted); the last line of standard output
  // is the accuracy, a number or JSON with an "accuracy" member.
  std::string evaluate_command;
  double evaluate_timeout_s = 3600;  // evaluator command: seconds before a run is killed (its accuracy NaN), > 0
  // Hardware budget (chain spaces): architectures above it are never proposed, so never scored
  // or evaluated. 0 = no limit. Latency is predicted from search.latency_table.
  double max_mflops = 0;
  double max_latency_ms = 0;
  std::string latency_table;       // HDF5 file of `hpcnas latency` for the search's networks
};

// `hpcnas supernet` (DESIGN section 4.4): ProxylessNAS on a chain space, data-parallel over ranks.
// Defaults are the official search's where it gives them (SGD Nesterov 0.9, weight decay 4e-5,
// label smoothing 0.1, an architecture step every 5 weight steps, Adam 1e-3 with beta1 = 0).
struct SupernetConfig {
  std::string space = "macro";   // chain space: "macro" | "proxyless"
  // "embedded" (the bundled 256 CIFAR-10 training images) or a CIFAR-10 binary file: the first
  // train_images records train the weights, the next valid_images form the held-out split
  // (architecture steps, and the accuracy of the derived network). Or "imagenet:DIR" /
  // "shards:DIR" (ImageNet, Tiny-ImageNet: io/images/image_source.h): a seeded draw of
  // train_images + valid_images from every class of the train split, decoded once (resize and
  // centre crop to `resolution`) and held in memory, split the same way.
  std::string data = "embedded";
  // As epsilon.images_fingerprint, for the images and labels read from `data`.
  std::string data_fingerprint;
  int64_t num_classes = 10;      // of supernet.data (CIFAR-10: 10): the classifier's outputs
  int64_t train_images = 192;    // >= batch_size
  int64_t valid_images = 64;     // >= batch_size
  int64_t recalibration_images = 128;  // first train images (at most all) that recalibrate BatchNorm before an evaluation
  int64_t resolution = 32;       // input size, 8..4096 (CIFAR images are resized when it differs)
  double width_multiplier = 1.0;  // proxyless: channels x this; (0, 4]
  uint64_t seed = 0;             // initial weights and alphas, image order, augmentation, gates
  int epochs = 10;               // search epochs after the warm-up, >= 1
  int warmup_epochs = 2;         // epochs of weight steps on random paths first, >= 0
  int batch_size = 32;           // global batch (weight and architecture steps), not multiplied by the rank count
  // Each step's global batch is cut into this many micro-batches (BatchNorm statistics per
  // micro-batch, gradients summed in micro-batch order), so a run gives bitwise the same
  // supernet on any number of ranks up to this many. 1..batch_size.
  int micro_batches = 2;
  double learning_rate = 0.025;   // SGD, cosine-annealed (separately over the warm-up and over the search)
  double momentum = 0.9;          // Nesterov
  double weight_decay = 4e-5;
  double label_smoothing = 0.1;   // weight steps; architecture steps use plain cross-entropy
  std::string gate_mode = "full_v2";  // "full_v2" | "two" | "full" (engine/nn/mixed_op.h)
  double arch_learning_rate = 1e-3;   // Adam, betas (0, 0.999)
  int arch_every = 5;             // an architecture step after every this many weight steps
  // The paths of the search's weight steps: "sampled" by p (official; the operations alpha
  // favours get the most training), or "uniform" (every operation trained equally, as in the warm-up).
  std::string search_weight_paths = "sampled";
  // Hardware target, one of: expected FLOPs (millions of multiply-accumulates), or expected
  // latency (ms) from a lookup table measured on the target device (`hpcnas latency`); 0 = none.
  double target_mflops = 0;
  double target_latency_ms = 0;
  std::string latency_table;  // HDF5 file of `hpcnas latency`; needed by target_latency_ms, reported when given
  std::string cost_loss = "mul#log";  // "mul#log": a CE (log E / log T)^b; "add#linear": CE + l (E - T) / T;
                                      // "add#abs": CE + l |E - T| / T
  double cost_alpha = 0.2, cost_beta = 0.3, cost_lambda = 0.1;
  // The architecture a run reports: "argmax", the most probable operation per position (the
  // official rule), or "target", the most probable architecture whose cost is within
  // [derive_band_low, derive_band_high] x the target (argmax of nearly even probabilities can
  // land far from the expected cost). A hard budget B: target B, band [0.9, 1].
  std::string derive = "argmax";
  double derive_band_low = 0.9, derive_band_high = 1.1;  // 0 < low <= high
  std::string out_dir = "supernet_out";  // results, CSV, plots and checkpoints/
  int keep_checkpoints = 2;       // newest checkpoints kept, >= 1
};

struct RuntimeConfig {
  int threads = 0;           // intra-op threads per rank; 0 = cores / ranks on the node
  double timeout_s = 600;    // longest a rank may stay silent before the job is aborted, > 0
  double progress_s = 5;     // seconds between progress lines, >= 0
  // Testing only: "RANK:KIND[:AFTER]" makes RANK fail after scoring AFTER architectures (the
  // supernet: after AFTER weight steps), KIND one of throw | exit | hang | kill, or signal (it
  // sends itself SIGUSR1). Empty = no fault.
  std::string fault;
};

struct Config {
  std::string command = "score";
  EpsilonConfig epsilon;
  ScoreConfig score;
  PredictorConfig predictor;
  TrainConfig train;
  SearchConfig search;
  SupernetConfig supernet;
  RuntimeConfig runtime;
};

Status Validate(const Config& config);

// TOML text with every field, sections [epsilon], [score], [predictor], [train], [search], [supernet], [runtime].
std::string ToToml(const Config& config);
// Reads what ToToml writes (any subset of keys; the rest keep their defaults). Unknown
// sections or keys and wrong value types are errors that name the key.
StatusOr<Config> ConfigFromToml(std::string_view text, std::string_view source_name);

// One key of the Config, as declared in the key table of config.cc: the TOML key
// SECTION.NAME ("command" has no section), its type, default, allowed values and meaning.
struct ConfigKey {
  std::string section, name;
  std::string type;           // "integer", "float", "string"
  std::string allowed;        // for people: "1..100000", "fast | full"
  std::string doc;            // one line
  std::string default_value;  // as TOML writes it
  std::string Key() const { return section.empty() ? name : section + "." + name; }
};
// Every key, in the table's order.
const std::vector<ConfigKey>& ConfigKeys();
// Sets `key` from a command-line value; errors name `flag` as the user typed it.
Status SetConfigValue(Config& config, const std::string& key, const std::string& text, const std::string& flag);
// The reference table of every key (Markdown), committed as docs/config.md.
std::string ConfigReference();

struct FaultInjection {
  int rank = -1;
  std::string kind;  // throw | exit | hang | kill | signal
  int64_t after = 0;
};
// Parses RuntimeConfig::fault; an empty string gives rank -1 (no fault).
StatusOr<FaultInjection> ParseFaultInjection(const std::string& text);

}  // namespace hpcnas
