#pragma once
// Inputs of any search space: ground-truth tables and architecture lists, keyed by the space's
// canonical hash (engine/space/search_space.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/space/search_space.h"
#include "engine/core/status.h"

namespace hpcnas {

struct TruthTable {
  std::string source;
  std::string column;
  std::unordered_map<std::uint64_t, double> value_by_hash;  // NaN where the row has no value

  // Values for `archs`, or an error naming the first architectures the table lacks.
  StatusOr<std::vector<double>> Lookup(const SearchSpace& space, const std::vector<Architecture>& archs) const;
  // An error counting the distinct architectures of an enumerable `space` without a row or a
  // value (and naming the first), if any: a tabular search needs them all.
  Status RequireEveryArchitecture(const SearchSpace& space) const;
};

// CSV with a header row that has an `arch` column of genotype strings of `space` and `column`.
// Rows of one network (the same canonical form, e.g. NAS-Bench-Macro's 6,561 keys of 3,969
// networks) must agree; a row that does not parse names the line and says the space, so a table
// of another space is refused at its first row.
StatusOr<TruthTable> ParseTruthTable(const SearchSpace& space, std::string_view text, const std::string& column,
                                     const std::string& source);
// The accuracy column of the space's bundled table: nb201 "cifar10_test" (CIFAR-10 test accuracy
// after 200 epochs), macro "mean_test_acc" (mean of three runs); empty for a space without one.
std::string DefaultTruthColumn(const SearchSpace& space);
// "embedded" reads the space's bundled table (nb201, macro); anything else is a file path.
StatusOr<TruthTable> LoadTruthTable(const SearchSpace& space, const std::string& path_or_embedded, const std::string& column);

// One genotype string per line; blank lines and lines starting with '#' are skipped. Errors
// name the file and line; the same string twice and an empty list are errors.
StatusOr<std::vector<Architecture>> ParseArchitectureList(const SearchSpace& space, std::string_view text,
                                                          const std::string& source);
StatusOr<std::vector<Architecture>> LoadArchitectureList(const SearchSpace& space, const std::string& path);

}  // namespace hpcnas
