#pragma once
// The result files of `hpcnas score`: one HDF5 file (layout in io/README.md) and a CSV with
// the same rows. Both are written to temporary names and renamed only when both are complete.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cstdint>
#include "engine/core/stats.h"
#include "engine/core/status.h"
#include "io/provenance.h"

namespace hpcnas {

inline constexpr int64_t kScoreFileSchemaVersion = 1;

struct ScoreResults {
  std::vector<std::string> archs;            // genotype strings, one per row
  std::vector<std::int64_t> index;           // nb201: the official index; empty for other spaces
  std::vector<std::string> canonical_archs;  // chain spaces: the canonical form; empty otherwise
  std::vector<std::string> cell_functions;   // nb201: canonical cell expression ("0": identically zero)
  std::vector<double> epsilon;   // NaN = undefined score
  std::vector<double> seconds;   // wall time spent scoring each (provenance)
  std::vector<double> accuracy;  // ground truth, empty without a truth table
  std::string accuracy_column;
  std::optional<RankingSummary> summary;  // of epsilon against accuracy
  // More per-row columns (e.g. epsilon_exact, epsilon_rank_key) and their summaries, by name.
  std::map<std::string, std::vector<double>> extra_columns;
  std::map<std::string, RankingSummary> extra_summaries;
  std::map<std::string, std::string> text_attributes;  // config, options
  std::map<std::string, double> number_attributes;
  std::map<std::string, std::int64_t> integer_attributes;
  Provenance provenance;
};

Status WriteScoreResults(const std::string& h5_path, const std::string& csv_path, const ScoreResults& results);

}  // namespace hpcnas
