#include "io/hdf5_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "io/dataset_descriptions.h"

namespace hpcnas::h5 {
namespace {

void SilenceHdf5Errors() {
  static const bool silenced = [] {
    // A file whose close failed (a full disk) stays open inside HDF5, and its clean-up at exit
    // then crashes (HDF5 1.10); every file is closed explicitly, so that clean-up is not needed.
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

Handle StringType() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  return type;
}

template <typename T>
Status SetScalarAttribute(hid_t file, const std::string& path, const std::string& object, const std::string& name,
                          hid_t memory_type, hid_t file_type, const T* value) {
  auto fail = [&] { return Status::Io("HDF5 file '" + path + "': cannot write attribute '" + name + "' of '" + object + "'"); };
  Handle target(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!target.valid()) return fail();
  if (H5Aexists(target.id(), name.c_str()) > 0) H5Adelete(target.id(), name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(target.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid() || H5Awrite(attribute.id(), memory_type, value) < 0) return fail();
  return Status::Ok();
}

}  // namespace

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

herr_t Handle::Reset() {
  herr_t result = 0;
  if (id_ >= 0 && closer_ != nullptr) result = closer_(id_);
  id_ = -1;
  return result;
}

StatusOr<File> File::Create(const std::string& path) {
  SilenceHdf5Errors();
  Handle handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  File file(std::move(handle), path);
  if (!file.handle_.valid()) return file.Fail("cannot create the file");
  return file;
}

StatusOr<File> File::OpenReadOnly(const std::string& path) {
  SilenceHdf5Errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    return Status::InvalidInput("'" + path + "' is missing, truncated or not an HDF5 file");
  }
  Handle handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!handle.valid()) return Status::InvalidInput("cannot open HDF5 file '" + path + "' (truncated or corrupt?)");
  return File(std::move(handle), path);
}

namespace {

// The reason HDF5 would print if its printing were on, and the stack cleared: the error of a
// failed system call where there is one (its entry reads "..., errno = 28, error message =
// 'No space left on device', ..."), else the innermost (most specific) entry.
std::string TakeHdf5Reason() {
  struct Reasons {
    std::string innermost;
    int system_error = 0;
  } reasons;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto* r = static_cast<Reasons*>(data);
        if (error->desc == nullptr || error->desc[0] == '\0') return 0;
        r->innermost = error->desc;  // downward: the last entry is the innermost
        if (const char* at = std::strstr(error->desc, "errno = "); at != nullptr && r->system_error == 0) {
          r->system_error = std::atoi(at + std::strlen("errno = "));
        }
        return 0;
      },
      &reasons);
  H5Eclear2(H5E_DEFAULT);
  if (reasons.system_error == ENOSPC) return "no space left on device";
  return reasons.system_error > 0 ? std::strerror(reasons.system_error) : reasons.innermost;
}

}  // namespace

Status File::Fail(const std::string& what) const {
  const std::string reason = TakeHdf5Reason();
  return Status::Io("HDF5 file '" + path_ + "': " + what + (reason.empty() ? "" : " (" + reason + ")"));
}

StatusOr<std::vector<std::string>> File::DatasetNames() const {
  struct Visit {
    hid_t file;
    std::vector<std::string> names;
  } visit{handle_.id(), {}};
  const herr_t status = H5Lvisit(
      handle_.id(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        auto* v = static_cast<Visit*>(data);
        const hid_t object = H5Oopen(v->file, name, H5P_DEFAULT);
        if (object < 0) return -1;
        if (H5Iget_type(object) == H5I_DATASET) v->names.push_back(std::string("/") + name);
        H5Oclose(object);
        return 0;
      },
      &visit);
  if (status < 0) return Fail("cannot list its datasets");
  return visit.names;
}

bool File::Exists(const std::string& object) const {
  // Check each path component, since H5Lexists fails on a missing intermediate group.
  std::size_t position = 0;
  while (true) {
    position = object.find('/', position + 1);
    const std::string prefix = object.substr(0, position);
    if (!prefix.empty() && prefix != "/" && H5Lexists(handle_.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (position == std::string::npos) return true;
  }
}

Status File::CreateGroup(const std::string& group) {
  Handle g(H5Gcreate2(handle_.id(), group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  return g.valid() ? Status::Ok() : Fail("cannot create group '" + group + "'");
}

Status File::WriteRaw(const std::string& name, const void* data, hid_t memory_type, hid_t file_type, std::size_t count,
                      std::vector<hsize_t> shape) {
  if (shape.empty()) shape = {static_cast<hsize_t>(count)};
  const hsize_t elements = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
  if (elements != count) return Status::Internal("dataset '" + name + "': shape does not match the element count");
  Handle space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), H5Sclose);
  Handle dataset(H5Dcreate2(handle_.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid()) return Fail("cannot create dataset '" + name + "'");
  if (count > 0 && H5Dwrite(dataset.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Fail("cannot write dataset '" + name + "'");
  }
  dataset.Reset();
  if (const DatasetDescription* about = DescribeDataset(name)) {
    HPCNAS_RETURN_IF_ERROR(SetAttribute(name, "description", std::string(about->description)));
    if (about->units[0] != '\0') HPCNAS_RETURN_IF_ERROR(SetAttribute(name, "units", std::string(about->units)));
  }
  return Status::Ok();
}

Status File::Write(const std::string& name, const std::vector<double>& values, std::vector<hsize_t> shape) {
  return WriteRaw(name, values.data(), H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, values.size(), std::move(shape));
}
Status File::Write(const std::string& name, const std::vector<float>& values, std::vector<hsize_t> shape) {
  return WriteRaw(name, values.data(), H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, values.size(), std::move(shape));
}
Status File::Write(const std::string& name, const std::vector<int64_t>& values, std::vector<hsize_t> shape) {
  return WriteRaw(name, values.data(), H5T_NATIVE_INT64, H5T_STD_I64LE, values.size(), std::move(shape));
}
Status File::Write(const std::string& name, const std::vector<std::uint64_t>& values, std::vector<hsize_t> shape) {
  return WriteRaw(name, values.data(), H5T_NATIVE_UINT64, H5T_STD_U64LE, values.size(), std::move(shape));
}
Status File::Write(const std::string& name, const std::vector<std::string>& values) {
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  Handle type = StringType();
  return WriteRaw(name, pointers.data(), type.id(), type.id(), values.size(), {});
}

Status File::SetAttribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle type = StringType();
  const char* pointer = value.c_str();
  return SetScalarAttribute(handle_.id(), path_, object, name, type.id(), type.id(), &pointer);
}
Status File::SetAttribute(const std::string& object, const std::string& name, double value) {
  return SetScalarAttribute(handle_.id(), path_, object, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &value);
}
Status File::SetAttribute(const std::string& object, const std::string& name, int64_t value) {
  return SetScalarAttribute(handle_.id(), path_, object, name, H5T_NATIVE_INT64, H5T_STD_I64LE, &value);
}

Status File::SetProvenance(const Provenance& provenance) {
  for (const auto& [name, value] : provenance.text) HPCNAS_RETURN_IF_ERROR(SetAttribute("/", name, value));
  return SetAttribute("/", "world_size", provenance.world_size);
}

template <typename T>
StatusOr<std::vector<T>> File::ReadRaw(const std::string& name, hid_t memory_type) const {
  if (!Exists(name)) return Status::InvalidInput("HDF5 file '" + path_ + "' has no dataset '" + name + "'");
  Handle dataset(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) return Status::InvalidInput("HDF5 file '" + path_ + "': cannot open dataset '" + name + "'");
  Handle space(H5Dget_space(dataset.id()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.id());
  if (count < 0) return Status::InvalidInput("HDF5 file '" + path_ + "': dataset '" + name + "' is unreadable");
  std::vector<T> values(static_cast<std::size_t>(count));
  if (count > 0 && H5Dread(dataset.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    return Status::InvalidInput("HDF5 file '" + path_ + "': cannot read dataset '" + name + "' (corrupt or wrong type)");
  }
  return values;
}

StatusOr<std::vector<hsize_t>> File::Shape(const std::string& name) const {
  if (!Exists(name)) return Status::InvalidInput("HDF5 file '" + path_ + "' has no dataset '" + name + "'");
  Handle dataset(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(dataset.valid() ? H5Dget_space(dataset.id()) : -1, H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.id()) : -1;
  if (rank < 0) return Status::InvalidInput("HDF5 file '" + path_ + "': dataset '" + name + "' is unreadable");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

StatusOr<std::vector<double>> File::ReadDoubles(const std::string& name) const {
  return ReadRaw<double>(name, H5T_NATIVE_DOUBLE);
}
StatusOr<std::vector<float>> File::ReadFloats(const std::string& name) const {
  return ReadRaw<float>(name, H5T_NATIVE_FLOAT);
}
StatusOr<std::vector<int64_t>> File::ReadInt64s(const std::string& name) const {
  return ReadRaw<int64_t>(name, H5T_NATIVE_INT64);
}
StatusOr<std::vector<std::uint64_t>> File::ReadUInt64s(const std::string& name) const {
  return ReadRaw<std::uint64_t>(name, H5T_NATIVE_UINT64);
}

StatusOr<std::vector<std::string>> File::ReadStrings(const std::string& name) const {
  Handle type = StringType();
  HPCNAS_ASSIGN_OR_RETURN(std::vector<char*> pointers, ReadRaw<char*>(name, type.id()));
  std::vector<std::string> values;
  values.reserve(pointers.size());
  for (char* p : pointers) values.emplace_back(p ? p : "");
  // Free what HDF5 allocated for the variable-length strings.
  Handle dataset(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(dataset.id()), H5Sclose);
  if (!pointers.empty()) H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, pointers.data());
  return values;
}

StatusOr<std::string> File::ReadStringAttribute(const std::string& object, const std::string& name) const {
  auto fail = [&] { return Status::InvalidInput("HDF5 file '" + path_ + "': no readable string attribute '" + name + "' on '" + object + "'"); };
  if (H5Aexists_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return fail();
  Handle attribute(H5Aopen_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle file_type(H5Aget_type(attribute.id()), H5Tclose);
  if (H5Tget_class(file_type.id()) != H5T_STRING || H5Tis_variable_str(file_type.id()) <= 0) return fail();
  Handle type = StringType();
  char* value = nullptr;
  if (H5Aread(attribute.id(), type.id(), &value) < 0) return fail();
  std::string out = value ? value : "";
  H5free_memory(value);
  return out;
}

StatusOr<double> File::ReadDoubleAttribute(const std::string& object, const std::string& name) const {
  double value = 0;
  if (H5Aexists_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) {
    return Status::InvalidInput("HDF5 file '" + path_ + "': no attribute '" + name + "' on '" + object + "'");
  }
  Handle attribute(H5Aopen_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (H5Aread(attribute.id(), H5T_NATIVE_DOUBLE, &value) < 0) {
    return Status::InvalidInput("HDF5 file '" + path_ + "': attribute '" + name + "' is not a number");
  }
  return value;
}

StatusOr<int64_t> File::ReadInt64Attribute(const std::string& object, const std::string& name) const {
  int64_t value = 0;
  if (H5Aexists_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) {
    return Status::InvalidInput("HDF5 file '" + path_ + "': no attribute '" + name + "' on '" + object + "'");
  }
  Handle attribute(H5Aopen_by_name(handle_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (H5Aread(attribute.id(), H5T_NATIVE_INT64, &value) < 0) {
    return Status::InvalidInput("HDF5 file '" + path_ + "': attribute '" + name + "' is not an integer");
  }
  return value;
}

Status File::Close() {
  if (!handle_.valid()) return Status::Ok();
  const bool flushed = H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL) >= 0;
  const bool closed = handle_.Reset() >= 0;
  return flushed && closed ? Status::Ok() : Fail("cannot flush and close");
}

}  // namespace hpcnas::h5
