#pragma once
// The result files of `hpcnas score`: one HDF5 file (layout in io/README.md) and a CSV with
// the same rows. Both are written to temporary names and renamed only when both are complete.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/nb201.h"
#include "engine/stats.h"
#include "engine/status.h"

namespace hpcnas {

inline constexpr int64_t kScoreFileSchemaVersion = 1;

struct ScoreResults {
  std::vector<nb201::Genotype> genotypes;
  std::vector<std::string> cell_functions;  // canonical cell expression per row ("0": identically zero)
  std::vector<double> epsilon;   // NaN = undefined score
  std::vector<double> seconds;   // wall time spent scoring each (provenance)
  std::vector<double> accuracy;  // ground truth, empty without a truth table
  std::string accuracy_column;
  std::optional<RankingSummary> summary;  // of epsilon against accuracy
  // More per-row columns (e.g. epsilon_exact, epsilon_rank_key) and their summaries, by name.
  std::map<std::string, std::vector<double>> extra_columns;
  std::map<std::string, RankingSummary> extra_summaries;
  std::map<std::string, std::string> text_attributes;  // config, provenance
  std::map<std::string, double> number_attributes;
};

Status WriteScoreResults(const std::string& h5_path, const std::string& csv_path, const ScoreResults& results);

}  // namespace hpcnas
