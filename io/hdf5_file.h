#pragma once
// A small checked layer over the HDF5 C API: every call is checked and turned into a Status
// that names the file and the object; every handle is closed by RAII. HDF5's own error
// printing is switched off.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "io/provenance.h"

namespace hpcnas::h5 {

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { Reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  herr_t Reset();

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

class File {
 public:
  static StatusOr<File> Create(const std::string& path);  // truncates
  static StatusOr<File> OpenReadOnly(const std::string& path);

  const std::string& path() const { return path_; }
  bool Exists(const std::string& object) const;

  Status CreateGroup(const std::string& group);
  // 1-D (or `shape`-shaped, row-major) datasets.
  Status Write(const std::string& name, const std::vector<double>& values, std::vector<hsize_t> shape = {});
  Status Write(const std::string& name, const std::vector<float>& values, std::vector<hsize_t> shape = {});
  Status Write(const std::string& name, const std::vector<int64_t>& values, std::vector<hsize_t> shape = {});
  Status Write(const std::string& name, const std::vector<std::uint64_t>& values, std::vector<hsize_t> shape = {});
  Status Write(const std::string& name, const std::vector<std::string>& values);

  Status SetAttribute(const std::string& object, const std::string& name, const std::string& value);
  Status SetAttribute(const std::string& object, const std::string& name, double value);
  Status SetAttribute(const std::string& object, const std::string& name, int64_t value);
  // The provenance as root attributes: its strings, and world_size as an integer.
  Status SetProvenance(const Provenance& provenance);

  StatusOr<std::vector<hsize_t>> Shape(const std::string& name) const;
  // Every dataset in the file, as absolute paths in name order.
  StatusOr<std::vector<std::string>> DatasetNames() const;
  StatusOr<std::vector<double>> ReadDoubles(const std::string& name) const;
  StatusOr<std::vector<float>> ReadFloats(const std::string& name) const;
  StatusOr<std::vector<int64_t>> ReadInt64s(const std::string& name) const;
  StatusOr<std::vector<std::uint64_t>> ReadUInt64s(const std::string& name) const;
  StatusOr<std::vector<std::string>> ReadStrings(const std::string& name) const;
  StatusOr<std::string> ReadStringAttribute(const std::string& object, const std::string& name) const;
  StatusOr<double> ReadDoubleAttribute(const std::string& object, const std::string& name) const;
  StatusOr<int64_t> ReadInt64Attribute(const std::string& object, const std::string& name) const;

  // Flushes and closes; the error of a failed flush is reported here, not lost in a destructor.
  Status Close();

 private:
  File(Handle handle, std::string path) : handle_(std::move(handle)), path_(std::move(path)) {}
  Status WriteRaw(const std::string& name, const void* data, hid_t memory_type, hid_t file_type, std::size_t count,
                  std::vector<hsize_t> shape);
  template <typename T>
  StatusOr<std::vector<T>> ReadRaw(const std::string& name, hid_t memory_type) const;
  Status Fail(const std::string& what) const;

  Handle handle_;
  std::string path_;
};

}  // namespace hpcnas::h5
