#pragma once
// The small CSV reading the tables need: comma-separated fields without quoting, one record a
// line, '\r\n' or '\n' line ends.

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas::csv {

inline std::vector<std::string_view> SplitLine(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// Calls f(line_number, line) for every line, without the trailing '\r'; stops at f's first error.
template <typename F>
Status ForEachLine(std::string_view text, F f) {
  std::int64_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    HPCNAS_RETURN_IF_ERROR(f(++number, line));
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace hpcnas::csv
