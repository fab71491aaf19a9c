#pragma once
// Text from the user (a genotype line, a file name, a config value) as it may reach a terminal
// in an error line: control bytes escaped (\r, ESC sequences cannot rewrite the screen), and at
// most `max_bytes` of it, with a note of how much was left out.

#include <cstddef>
#include <string>
#include <string_view>

namespace hpcnas {

std::string Printable(std::string_view text, std::size_t max_bytes = 2000);

}  // namespace hpcnas
