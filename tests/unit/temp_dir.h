#pragma once
// A directory under /tmp that the test owns and removes.

#include <cstdlib>
#include <string>

namespace hpcnas {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/hpcnas_test_XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace hpcnas
