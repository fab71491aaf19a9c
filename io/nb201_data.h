#pragma once
// NAS-Bench-201 inputs: the ground-truth table (CSV, keyed by genotype string) and
// user-supplied architecture lists.

#include <string>
#include <string_view>
#include <vector>

#include "engine/space/nb201.h"
#include "engine/core/status.h"

namespace hpcnas {

struct Nb201Truth {
  std::string source;
  std::string column;
  std::vector<double> accuracy_by_code;  // kNumCells entries, NaN where the table has no value
  std::vector<bool> present_by_code;     // whether the table has a row for that cell

  // Accuracies for `genotypes`, or an error naming the first cells the table lacks.
  StatusOr<std::vector<double>> Lookup(const std::vector<nb201::Genotype>& genotypes) const;
  // An error counting the cells without a row or a value (and naming the first), if any.
  Status RequireEveryCell() const;
};

// CSV with a header row that has an `arch` column and `column`; an `index` column, if present,
// must agree with the official index of the row's arch. Duplicate archs are errors.
StatusOr<Nb201Truth> ParseNb201Truth(std::string_view csv, const std::string& column, const std::string& source);
// "embedded" reads the bundled table; anything else is a file path.
StatusOr<Nb201Truth> LoadNb201Truth(const std::string& path_or_embedded, const std::string& column);

// One genotype string per line; blank lines and lines starting with '#' are skipped.
// Errors name the file and line; duplicates and empty lists are errors.
StatusOr<std::vector<nb201::Genotype>> ParseArchList(std::string_view text, const std::string& source);
StatusOr<std::vector<nb201::Genotype>> LoadArchList(const std::string& path);

}  // namespace hpcnas
