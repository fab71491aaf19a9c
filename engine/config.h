#pragma once
// The one configuration of an hpcnas job. Every field says its meaning, unit and range; the
// command line and TOML files fill it, Validate() checks it with errors that name the key and
// the allowed values, and its TOML text is stored in every result and checkpoint file.

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace hpcnas {

struct EpsilonConfig {
  double w1 = 1e-7;  // first constant weight, > 0 (NB201 default 1e-7)
  double w2 = 1.0;   // second constant weight, > 0 and != w1 (NB201 default 1)
  int64_t batch_size = 256;  // images in the one unlabelled batch, 2..50000
  // CIFAR-10 binary file whose first batch_size records form the batch, or "embedded" for
  // the bundled epsinas reference batch (256 CIFAR-10 training images).
  std::string images = "embedded";
  std::string path = "full";  // scorer: "full" (the reference network)
};

struct ScoreConfig {
  std::string space = "nb201";   // search space: "nb201"
  std::string select = "all";    // "all" | "sample" | "file"
  int64_t sample = 0;            // with select = "sample": how many distinct cells, >= 1
  uint64_t seed = 0;             // with select = "sample": which ones
  std::string archs_file;        // with select = "file": one genotype string per line
  // Ground-truth CSV (NB201 format: index, arch, accuracy columns) or "embedded" for the
  // bundled NAS-Bench-201 table; empty for none.
  std::string truth;
  std::string truth_column = "cifar10_test";  // accuracy column of the truth table
  std::string out = "scores.h5";  // HDF5 result file; the CSV goes beside it (same stem, .csv)
};

struct RuntimeConfig {
  int threads = 0;           // intra-op threads per rank; 0 = cores / ranks on the node
  double timeout_s = 600;    // longest a rank may stay silent before the job is aborted, > 0
  double progress_s = 5;     // seconds between progress lines, >= 0
  // Testing only: "RANK:KIND[:AFTER]" makes RANK fail after scoring AFTER architectures,
  // KIND one of throw | exit | hang | kill. Empty = no fault.
  std::string fault;
};

struct Config {
  std::string command = "score";
  EpsilonConfig epsilon;
  ScoreConfig score;
  RuntimeConfig runtime;
};

Status Validate(const Config& config);

// TOML text with every field, sections [epsilon], [score], [runtime].
std::string ToToml(const Config& config);
// Reads what ToToml writes (any subset of keys; the rest keep their defaults). Unknown
// sections or keys and wrong value types are errors that name the key.
StatusOr<Config> ConfigFromToml(std::string_view text, std::string_view source_name);

struct FaultInjection {
  int rank = -1;
  std::string kind;  // throw | exit | hang | kill
  int64_t after = 0;
};
// Parses RuntimeConfig::fault; an empty string gives rank -1 (no fault).
StatusOr<FaultInjection> ParseFaultInjection(const std::string& text);

}  // namespace hpcnas
