#include "io/space_data.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "io/csv.h"
#include "io/embedded_data.h"
#include "io/files.h"

namespace hpcnas {

StatusOr<std::vector<double>> TruthTable::Lookup(const SearchSpace& space, const std::vector<Architecture>& archs) const {
  std::vector<double> out;
  std::string missing;
  int num_missing = 0;
  for (const Architecture& arch : archs) {
    auto it = value_by_hash.find(space.CanonicalHash(arch));
    if (it == value_by_hash.end()) {
      if (++num_missing <= 3) missing += (missing.empty() ? "" : ", ") + space.Format(arch);
      continue;
    }
    out.push_back(it->second);
  }
  if (num_missing > 0) {
    return Status::InvalidInput("truth table '" + source + "' has no row for " + std::to_string(num_missing) +
                                " of the architectures (first: " + missing + ")");
  }
  return out;
}

Status TruthTable::RequireEveryArchitecture(const SearchSpace& space) const {
  if (!space.Enumerable()) return Status::InvalidInput("space '" + std::string(space.name()) + "' is too large for a table");
  const std::vector<Architecture> distinct = space.DistinctArchitectures();
  std::int64_t missing = 0, no_value = 0;
  const Architecture* first_bad = nullptr;
  for (const Architecture& arch : distinct) {
    auto it = value_by_hash.find(space.CanonicalHash(arch));
    const bool absent = it == value_by_hash.end();
    const bool empty = !absent && !std::isfinite(it->second);
    missing += absent;
    no_value += empty;
    if ((absent || empty) && first_bad == nullptr) first_bad = &arch;
  }
  if (first_bad == nullptr) return Status::Ok();
  return Status::InvalidInput("truth table '" + source + "' must give column '" + column + "' for all " +
                              std::to_string(distinct.size()) + " distinct " + std::string(space.name()) +
                              " architectures: " + std::to_string(missing) + " missing, " + std::to_string(no_value) +
                              " without a value (first: " + space.Format(*first_bad) + ")");
}

StatusOr<TruthTable> ParseTruthTable(const SearchSpace& space, std::string_view text, const std::string& column,
                                     const std::string& source) {
  TruthTable truth;
  truth.source = source;
  truth.column = column;
  std::unordered_map<std::uint64_t, std::int64_t> line_of_hash;
  int arch_col = -1, value_col = -1;
  std::size_t num_fields = 0;
  auto fail = [&](std::int64_t line, const std::string& why) {
    return Status::InvalidInput("truth table '" + source + "' line " + std::to_string(line) + ": " + why);
  };
  HPCNAS_RETURN_IF_ERROR(csv::ForEachLine(text, [&](std::int64_t line, std::string_view row) -> Status {
    if (row.empty()) return Status::Ok();
    const std::vector<std::string_view> fields = csv::SplitLine(row);
    if (line == 1) {
      num_fields = fields.size();
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == "arch") arch_col = static_cast<int>(i);
        if (fields[i] == column) value_col = static_cast<int>(i);
      }
      if (arch_col < 0) return fail(1, "the header has no 'arch' column");
      if (value_col < 0) return fail(1, "the header has no '" + column + "' column");
      return Status::Ok();
    }
    if (fields.size() != num_fields) {
      return fail(line, "has " + std::to_string(fields.size()) + " fields, the header has " + std::to_string(num_fields));
    }
    auto arch = space.Parse(fields[arch_col]);
    if (!arch.ok()) return fail(line, arch.status().message() + " (is this a table of space '" + std::string(space.name()) + "'?)");
    double value = std::numeric_limits<double>::quiet_NaN();
    const std::string value_text(fields[value_col]);
    if (!value_text.empty()) {
      char* end = nullptr;
      value = std::strtod(value_text.c_str(), &end);
      if (*end != '\0' || !std::isfinite(value)) {
        return fail(line, QuoteForError(value_text) + " in column '" + column + "' is not a number");
      }
    }
    const std::uint64_t hash = space.CanonicalHash(*arch);
    auto [it, inserted] = truth.value_by_hash.emplace(hash, value);
    if (!inserted) {
      const bool same = it->second == value || (std::isnan(it->second) && std::isnan(value));
      if (!same) {
        return fail(line, space.Format(*arch) + " is the same network as line " + std::to_string(line_of_hash[hash]) +
                              " but has another value in column '" + column + "'");
      }
    } else {
      line_of_hash[hash] = line;
    }
    return Status::Ok();
  }));
  if (num_fields == 0) return Status::InvalidInput("truth table '" + source + "' is empty");
  if (truth.value_by_hash.empty()) return Status::InvalidInput("truth table '" + source + "' has a header but no rows");
  return truth;
}

std::string DefaultTruthColumn(const SearchSpace& space) {
  if (space.name() == "nb201") return "cifar10_test";
  if (space.name() == "macro") return "mean_test_acc";
  return "";
}

StatusOr<TruthTable> LoadTruthTable(const SearchSpace& space, const std::string& path_or_embedded, const std::string& column) {
  if (path_or_embedded == embedded::kName) {
    if (space.name() == "nb201") return ParseTruthTable(space, embedded::Nb201Table(), column, "embedded NB201 table");
    if (space.name() == "macro") return ParseTruthTable(space, embedded::MacroTable(), column, "embedded NAS-Bench-Macro table");
    return Status::InvalidInput("space '" + std::string(space.name()) + "' has no embedded ground truth; give a CSV file");
  }
  HPCNAS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_or_embedded, "truth table"));
  return ParseTruthTable(space, text, column, path_or_embedded);
}

StatusOr<std::vector<Architecture>> ParseArchitectureList(const SearchSpace& space, std::string_view text,
                                                          const std::string& source) {
  std::vector<Architecture> archs;
  std::map<std::vector<std::uint8_t>, std::int64_t> line_of_arch;
  HPCNAS_RETURN_IF_ERROR(csv::ForEachLine(text, [&](std::int64_t line, std::string_view content) -> Status {
    const std::size_t first = content.find_first_not_of(" \t");
    if (first == std::string_view::npos || content[first] == '#') return Status::Ok();
    auto arch = space.Parse(content);
    if (!arch.ok()) {
      return Status::InvalidInput("architecture file '" + source + "' line " + std::to_string(line) + ": " +
                                  arch.status().message());
    }
    auto [it, inserted] = line_of_arch.emplace(arch->choices, line);
    if (!inserted) {
      return Status::InvalidInput("architecture file '" + source + "' line " + std::to_string(line) + ": " +
                                  space.Format(*arch) + " is listed twice (first on line " + std::to_string(it->second) + ")");
    }
    archs.push_back(*arch);
    return Status::Ok();
  }));
  if (archs.empty()) return Status::InvalidInput("architecture file '" + source + "' lists no architectures");
  return archs;
}

StatusOr<std::vector<Architecture>> LoadArchitectureList(const SearchSpace& space, const std::string& path) {
  HPCNAS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "architecture file"));
  return ParseArchitectureList(space, text, path);
}

}  // namespace hpcnas
