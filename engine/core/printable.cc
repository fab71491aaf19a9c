#include "engine/core/printable.h"

#include <cstdio>

namespace hpcnas {

std::string Printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  std::size_t used = 0;
  for (; used < text.size() && out.size() < max_bytes; ++used) {
    const auto c = static_cast<unsigned char>(text[used]);
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (used < text.size()) out += " ... (" + std::to_string(text.size() - used) + " more bytes)";
  return out;
}

}  // namespace hpcnas
