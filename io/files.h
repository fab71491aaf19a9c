#pragma once
// Whole-file reads and atomic writes. A result file is written as NAME.tmp and renamed over
// NAME only when complete, so a reader never sees half a file and a failed run leaves none.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace hpcnas {

StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what);

// Calls write(temp_path), then renames temp_path over `path`. On failure (of write or of the
// rename) the temporary file is removed and nothing is left at `path` from this call.
Status WriteFileAtomically(const std::string& path, const std::function<Status(const std::string& temp_path)>& write);

// Fails early with a clear message if `path` cannot be created (missing directory, no
// permission), without leaving anything behind.
Status CheckWritable(const std::string& path);

// 64-bit FNV-1a, for provenance, message and checkpoint checksums. Pass the previous hash as
// `hash` to continue it over more data.
inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
std::uint64_t Fnv1a64(const void* data, std::size_t size, std::uint64_t hash = kFnv1a64Offset);
std::string Hex64(std::uint64_t value);

// "scores.h5" -> "scores.csv"
std::string ReplaceExtension(const std::string& path, std::string_view extension);

}  // namespace hpcnas
