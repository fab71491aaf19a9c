#include "app/command_support.h"

#include <cstdio>
#include <ctime>

#include "engine/core/printable.h"

namespace hpcnas {

void LogError(const std::string& message) {
  std::fprintf(stderr, "hpcnas: error: %s\n", Printable(message).c_str());
  std::fflush(stderr);
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace hpcnas
