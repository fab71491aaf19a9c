#include "io/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace hpcnas {

StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Io("cannot open " + std::string(what) + " '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Status::Io("error reading " + std::string(what) + " '" + path + "'");
  return content.str();
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
  const std::string probe = path + ".tmp";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();  // a stale temp file: the writer will replace it
    return Status::Io("cannot write output '" + path + "': " + std::strerror(errno));
  }
  ::close(fd);
  std::remove(probe.c_str());
  return Status::Ok();
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

std::string ReplaceExtension(const std::string& path, std::string_view extension) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  const bool has_extension = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_extension ? path.substr(0, dot) : path) + std::string(extension);
}

}  // namespace hpcnas
