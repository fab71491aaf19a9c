#pragma once
// Small pieces every subcommand shares.

#include <string>

namespace hpcnas {

// "hpcnas: error: <message>" on stderr: the one line a user sees when a command fails.
void LogError(const std::string& message);
// The current time as ISO 8601 UTC, for provenance attributes.
std::string UtcNow();

}  // namespace hpcnas
