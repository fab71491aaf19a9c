#include "io/files.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hpcnas {

StatusOr<std::int64_t> RegularFileSize(const std::string& path, std::string_view what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Status::InvalidInput("cannot open " + std::string(what) + " '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) return Status::InvalidInput(std::string(what) + " '" + path + "' is a directory, not a file");
  if (!S_ISREG(info.st_mode)) {
    return Status::InvalidInput(std::string(what) + " '" + path + "' is not a regular file (a FIFO, device or socket)");
  }
  return static_cast<std::int64_t>(info.st_size);
}

StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what, std::int64_t max_bytes) {
  HPCNAS_ASSIGN_OR_RETURN(const std::int64_t size, RegularFileSize(path, what));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidInput("cannot open " + std::string(what) + " '" + path + "': " + std::strerror(errno));
  }
  std::string content(static_cast<std::size_t>(max_bytes >= 0 ? std::min(size, max_bytes) : size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.gcount() != static_cast<std::streamsize>(content.size())) {
    return Status::Io("error reading " + std::string(what) + " '" + path + "': it ended early (changed while being read?)");
  }
  return content;
}

Status WriteFileAtomically(const std::string& path, const std::function<Status(const std::string&)>& write) {
  const std::string temp = path + ".tmp";
  Status status = write(temp);
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = Status::Io("cannot rename '" + temp + "' to '" + path + "': " + std::strerror(errno));
  }
  if (!status.ok()) std::remove(temp.c_str());
  return status;
}

Status CheckWritable(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return Status::InvalidInput("cannot write output '" + path + "': it is a directory");
  }
  const std::string probe = path + ".tmp";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();  // a stale temp file: the writer will replace it
    return Status::InvalidInput("cannot write output '" + path + "': " + std::strerror(errno));
  }
  ::close(fd);
  std::remove(probe.c_str());
  return Status::Ok();
}

StatusOr<DirectoryLock> DirectoryLock::Acquire(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> created;
  std::error_code error;
  for (fs::path p = fs::absolute(dir, error).lexically_normal(); !p.empty() && !fs::exists(p, error); p = p.parent_path()) {
    created.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, error);
  if (error) return Status::InvalidInput("cannot create output directory '" + dir + "': " + error.message());
  const std::string path = dir + "/.hpcnas.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    DirectoryLock nothing_written(-1, false, dir, std::move(created));  // removes what was created
    return Status::InvalidInput("cannot create lock file '" + path + "': " + std::strerror(errno));
  }
  struct flock request {};
  request.l_type = F_WRLCK;
  request.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &request) != 0) {
    const int error = errno;
    if (error == EACCES || error == EAGAIN) {
      char holder[512] = {};
      const ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
      ::close(fd);
      return Status::InvalidInput("output directory '" + dir + "' is in use by another hpcnas job (" +
                                  (n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string("holder unknown")) +
                                  "); wait for it to end, or choose another --out");
    }
    return DirectoryLock(fd, false, dir, std::move(created));  // no locks on this file system (ENOLCK, ENOSYS)
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::string holder = std::string("host ") + host + ", pid " + std::to_string(::getpid());
  if (const char* job = std::getenv("SLURM_JOB_ID")) holder += std::string(", Slurm job ") + job;
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
    // The lock holds without the note; a refused job then reports "holder unknown".
  }
  return DirectoryLock(fd, true, dir, std::move(created));
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    held_ = std::exchange(other.held_, false);
    dir_ = std::move(other.dir_);
    created_ = std::move(other.created_);
    other.dir_.clear();
    other.created_.clear();
  }
  return *this;
}

void DirectoryLock::Release() {
  if (dir_.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ignored;
  fs::remove(fs::path(dir_) / "checkpoints", ignored);  // only when empty
  const fs::path lock_file = fs::path(dir_) / ".hpcnas.lock";
  bool only_the_lock = true;
  for (const auto& entry : fs::directory_iterator(dir_, ignored)) only_the_lock = only_the_lock && entry.path() == lock_file;
  // Unlinked before the close, while still held: a job that opened it meanwhile then locks a
  // file nobody else can open, which is as if it had come after this one.
  if (only_the_lock) fs::remove(lock_file, ignored);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  for (const std::string& created : created_) fs::remove(created, ignored);  // deepest first, only when empty
  dir_.clear();
  created_.clear();
}

std::uint64_t Fnv1a64(const void* data, std::size_t size, std::uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string Hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

Status CheckFingerprint(const std::string& recorded, const std::string& actual, const std::string& key, const std::string& source) {
  if (recorded.empty() || recorded == actual) return Status::Ok();
  return Status::InvalidInput("'" + source + "' holds other images than the run started with (their " + key + " is " + actual +
                              ", the run's " + recorded + "): a run may read its data from another place, but they must be the same images");
}

std::string ReplaceExtension(const std::string& path, std::string_view extension) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  const bool has_extension = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_extension ? path.substr(0, dot) : path) + std::string(extension);
}

Status WriteTextAtomically(const std::string& path, const std::string& text) {
  return WriteFileAtomically(path, [&](const std::string& temp) {
    std::FILE* out = std::fopen(temp.c_str(), "w");
    if (out == nullptr) return Status::Io("cannot write '" + temp + "': " + std::strerror(errno));
    const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
    const bool closed = std::fclose(out) == 0;
    return written && closed ? Status::Ok() : Status::Io("cannot write '" + temp + "': " + std::strerror(errno));
  });
}

std::string CsvNumber(double value, int significant_digits) {
  if (std::isnan(value)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", significant_digits, value);
  return buffer;
}

std::string CsvText(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace hpcnas
