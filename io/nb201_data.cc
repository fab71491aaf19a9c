#include "io/nb201_data.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "io/csv.h"
#include "io/embedded_data.h"
#include "io/files.h"

namespace hpcnas {
namespace {

using csv::ForEachLine;
}  // namespace

StatusOr<std::vector<double>> Nb201Truth::Lookup(const std::vector<nb201::Genotype>& genotypes) const {
  std::vector<double> out;
  out.reserve(genotypes.size());
  std::vector<std::string> missing;
  for (const auto& g : genotypes) {
    if (!present_by_code[g.Code()]) {
      if (missing.size() < 3) missing.push_back(g.ToString());
      out.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    out.push_back(accuracy_by_code[g.Code()]);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::InvalidInput("truth table '" + source + "' has no row for " + list);
  }
  return out;
}

StatusOr<Nb201Truth> ParseNb201Truth(std::string_view csv, const std::string& column, const std::string& source) {
  Nb201Truth truth;
  truth.source = source;
  truth.column = column;
  truth.accuracy_by_code.assign(nb201::kNumCells, std::numeric_limits<double>::quiet_NaN());
  truth.present_by_code.assign(nb201::kNumCells, false);
  std::vector<int64_t> line_of_code(nb201::kNumCells, 0);
  int arch_col = -1, value_col = -1, index_col = -1;
  std::size_t num_fields = 0;
  int64_t rows = 0;
  auto fail = [&](int64_t line, const std::string& why) {
    return Status::InvalidInput("truth table '" + source + "' line " + std::to_string(line) + ": " + why);
  };
  HPCNAS_RETURN_IF_ERROR(ForEachLine(csv, [&](int64_t line, std::string_view text) -> Status {
    if (text.empty()) return Status::Ok();
    const std::vector<std::string_view> fields = hpcnas::csv::SplitLine(text);
    if (line == 1) {
      num_fields = fields.size();
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == "arch") arch_col = static_cast<int>(i);
        if (fields[i] == column) value_col = static_cast<int>(i);
        if (fields[i] == "index") index_col = static_cast<int>(i);
      }
      if (arch_col < 0) return fail(1, "the header has no 'arch' column");
      if (value_col < 0) return fail(1, "the header has no '" + column + "' column");
      return Status::Ok();
    }
    if (fields.size() != num_fields) {
      return fail(line, "has " + std::to_string(fields.size()) + " fields, the header has " + std::to_string(num_fields));
    }
    auto genotype = nb201::ParseGenotype(fields[arch_col]);
    if (!genotype.ok()) return fail(line, genotype.status().message());
    const int code = genotype->Code();
    if (truth.present_by_code[code]) {
      return fail(line, "duplicate architecture " + genotype->ToString() + " (first on line " +
                            std::to_string(line_of_code[code]) + ")");
    }
    if (index_col >= 0) {
      const std::string index_text(fields[index_col]);
      char* end = nullptr;
      const long long index = std::strtoll(index_text.c_str(), &end, 10);
      if (index_text.empty() || *end != '\0' || index != nb201::OfficialIndex(*genotype)) {
        return fail(line, "index '" + index_text + "' does not match the official NB201 index " +
                              std::to_string(nb201::OfficialIndex(*genotype)) + " of " + genotype->ToString());
      }
    }
    double value = std::numeric_limits<double>::quiet_NaN();
    const std::string value_text(fields[value_col]);
    if (!value_text.empty()) {
      char* end = nullptr;
      value = std::strtod(value_text.c_str(), &end);
      if (*end != '\0' || !std::isfinite(value)) return fail(line, "'" + value_text + "' in column '" + column + "' is not a number");
    }
    truth.present_by_code[code] = true;
    truth.accuracy_by_code[code] = value;
    line_of_code[code] = line;
    ++rows;
    return Status::Ok();
  }));
  if (num_fields == 0) return Status::InvalidInput("truth table '" + source + "' is empty");
  if (rows == 0) return Status::InvalidInput("truth table '" + source + "' has a header but no rows");
  return truth;
}

StatusOr<Nb201Truth> LoadNb201Truth(const std::string& path_or_embedded, const std::string& column) {
  if (path_or_embedded == embedded::kName) return ParseNb201Truth(embedded::Nb201Table(), column, "embedded NB201 table");
  HPCNAS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_or_embedded, "truth table"));
  return ParseNb201Truth(text, column, path_or_embedded);
}

StatusOr<std::vector<nb201::Genotype>> ParseArchList(std::string_view text, const std::string& source) {
  std::vector<nb201::Genotype> archs;
  std::vector<int64_t> line_of_code(nb201::kNumCells, 0);
  HPCNAS_RETURN_IF_ERROR(ForEachLine(text, [&](int64_t line, std::string_view content) -> Status {
    std::size_t first = content.find_first_not_of(" \t");
    if (first == std::string_view::npos || content[first] == '#') return Status::Ok();
    auto genotype = nb201::ParseGenotype(content);
    if (!genotype.ok()) {
      return Status::InvalidInput("architecture file '" + source + "' line " + std::to_string(line) + ": " +
                                  genotype.status().message());
    }
    const int code = genotype->Code();
    if (line_of_code[code] != 0) {
      return Status::InvalidInput("architecture file '" + source + "' line " + std::to_string(line) + ": " +
                                  genotype->ToString() + " is listed twice (first on line " +
                                  std::to_string(line_of_code[code]) + ")");
    }
    line_of_code[code] = line;
    archs.push_back(*genotype);
    return Status::Ok();
  }));
  if (archs.empty()) return Status::InvalidInput("architecture file '" + source + "' lists no architectures");
  return archs;
}

StatusOr<std::vector<nb201::Genotype>> LoadArchList(const std::string& path) {
  HPCNAS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "architecture file"));
  return ParseArchList(text, path);
}

Status Nb201Truth::RequireEveryCell() const {
  int64_t missing = 0, no_value = 0, first_bad = -1;
  for (int code = 0; code < nb201::kNumCells; ++code) {
    const bool absent = !present_by_code[code];
    const bool empty = !absent && !std::isfinite(accuracy_by_code[code]);
    missing += absent;
    no_value += empty;
    if ((absent || empty) && first_bad < 0) first_bad = code;
  }
  if (missing + no_value == 0) return Status::Ok();
  return Status::InvalidInput("truth table '" + source + "' must give column '" + column + "' for all " +
                              std::to_string(nb201::kNumCells) + " NB201 cells: " + std::to_string(missing) +
                              " missing, " + std::to_string(no_value) + " without a value (first: " +
                              nb201::Genotype::FromCode(static_cast<int>(first_bad)).ToString() + ")");
}

}  // namespace hpcnas
