#pragma once
// Whole-file reads and atomic writes. A result file is written as NAME.tmp and renamed over
// NAME only when complete, so a reader never sees half a file and a failed run leaves none.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

// Reads a regular file (at most `max_bytes` of it when >= 0: what the caller needs). A missing or
// unreadable file, a directory, a FIFO or a device is bad input naming `what` and the path;
// nothing blocks on a FIFO or reads /dev/zero forever.
StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what, std::int64_t max_bytes = -1);
// The size of a regular file, with the same checks.
StatusOr<std::int64_t> RegularFileSize(const std::string& path, std::string_view what);

// Calls write(temp_path), then renames temp_path over `path`. On failure (of write or of the
// rename) the temporary file is removed and nothing is left at `path` from this call.
Status WriteFileAtomically(const std::string& path, const std::function<Status(const std::string& temp_path)>& write);

// `text` as the whole of `path`, atomically.
Status WriteTextAtomically(const std::string& path, const std::string& text);
// A number as a CSV field: %.10g (or as many significant digits as asked; 17 round-trips a
// double), and an empty field for NaN, in every CSV hpcnas writes (pandas reads it as NaN).
std::string CsvNumber(double value, int significant_digits = 10);
// A text field of a CSV: quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string CsvText(const std::string& text);

// Fails early with a clear message (bad input) if `path` cannot be created (missing directory,
// no permission, a directory of that name), without leaving anything behind.
Status CheckWritable(const std::string& path);

// A lock on an output directory (an fcntl lock on DIR/.hpcnas.lock), held while the object lives:
// a second job writing to the same directory is refused, with the holder (host, pid, Slurm job)
// named. The kernel drops the lock when its process dies, so a killed or requeued job leaves no
// stale lock. On a file system without locks it is not held (held() false), and says nothing.
// Acquire creates the directory (and its parents) when missing; when the run ends having written
// nothing there (a failed start), releasing the lock removes the lock file, an empty
// checkpoints/ folder and the folders it created, so no empty folders are left behind.
class DirectoryLock {
 public:
  static StatusOr<DirectoryLock> Acquire(const std::string& dir);
  DirectoryLock(DirectoryLock&& other) noexcept { *this = std::move(other); }
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  ~DirectoryLock() { Release(); }
  bool held() const { return held_; }

 private:
  DirectoryLock(int fd, bool held, std::string dir, std::vector<std::string> created)
      : fd_(fd), held_(held), dir_(std::move(dir)), created_(std::move(created)) {}
  void Release();
  int fd_ = -1;
  bool held_ = false;
  std::string dir_;
  std::vector<std::string> created_;  // deepest first
};

// 64-bit FNV-1a, for provenance, message and checkpoint checksums. Pass the previous hash as
// `hash` to continue it over more data.
inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
std::uint64_t Fnv1a64(const void* data, std::size_t size, std::uint64_t hash = kFnv1a64Offset);
std::string Hex64(std::uint64_t value);

// FNV-1a over a sequence of numbers, vectors and strings (each vector and string with its
// length first): the checksum a checkpoint carries.
class Checksum {
 public:
  template <typename T>
  void Add(const T& value) {
    static_assert(std::is_arithmetic_v<T>, "Checksum::Add takes numbers");
    hash_ = Fnv1a64(&value, sizeof(T), hash_);
  }
  template <typename T>
  void Add(const std::vector<T>& values) {
    Add(static_cast<std::uint64_t>(values.size()));
    hash_ = Fnv1a64(values.data(), values.size() * sizeof(T), hash_);
  }
  void Add(const std::string& text) {
    Add(static_cast<std::uint64_t>(text.size()));
    hash_ = Fnv1a64(text.data(), text.size(), hash_);
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = kFnv1a64Offset;
};

// A data fingerprint (epsilon.images_fingerprint, supernet.data_fingerprint): ok when `recorded`
// is empty (a first start) or equals `actual`; else an error naming `source` and `key` (a resumed
// run may read its data from another place, but they must be the same images).
Status CheckFingerprint(const std::string& recorded, const std::string& actual, const std::string& key, const std::string& source);

// "scores.h5" -> "scores.csv"
std::string ReplaceExtension(const std::string& path, std::string_view extension);

}  // namespace hpcnas
