#include "io/cifar.h"

#include "io/embedded_data.h"
#include "io/files.h"

namespace hpcnas {

namespace {

// A file of `size` bytes holds whole records, at least `count` of them.
Status CheckCifarSize(int64_t size, int64_t count, const std::string& source) {
  if (size == 0) return Status::InvalidInput("CIFAR file '" + source + "' is empty");
  if (size % kCifarRecordBytes != 0) {
    return Status::InvalidInput("CIFAR file '" + source + "' is truncated or not in CIFAR-10 binary format: " +
                                std::to_string(size) + " bytes is not a whole number of 3073-byte records");
  }
  if (size / kCifarRecordBytes < count) {
    return Status::InvalidInput("CIFAR file '" + source + "' holds " + std::to_string(size / kCifarRecordBytes) +
                                " images, but the batch needs " + std::to_string(count));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CifarImages> ParseCifarBinary(std::string_view bytes, int64_t count, const std::string& source) {
  HPCNAS_RETURN_IF_ERROR(CheckCifarSize(static_cast<int64_t>(bytes.size()), count, source));
  CifarImages images;
  images.count = count;
  images.pixels.resize(count * kCifarImageBytes);
  images.labels.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    const char* record = bytes.data() + i * kCifarRecordBytes;
    const auto label = static_cast<std::uint8_t>(record[0]);
    if (label > 9) {
      return Status::InvalidInput("CIFAR file '" + source + "': record " + std::to_string(i) + " has label " +
                                  std::to_string(label) + ", but CIFAR-10 labels are 0..9 (not a CIFAR-10 binary file?)");
    }
    images.labels[i] = label;
    std::copy(record + 1, record + kCifarRecordBytes, images.pixels.begin() + i * kCifarImageBytes);
  }
  return images;
}

StatusOr<CifarImages> LoadCifarImages(const std::string& path_or_embedded, int64_t count) {
  if (path_or_embedded == embedded::kName) {
    return ParseCifarBinary(embedded::CifarEpsilonBatch(), count, "embedded epsinas batch");
  }
  // The size decides whether the file can serve; then only the records the batch needs are read.
  HPCNAS_ASSIGN_OR_RETURN(const int64_t size, RegularFileSize(path_or_embedded, "CIFAR file"));
  HPCNAS_RETURN_IF_ERROR(CheckCifarSize(size, count, path_or_embedded));
  HPCNAS_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path_or_embedded, "CIFAR file", count * kCifarRecordBytes));
  return ParseCifarBinary(bytes, count, path_or_embedded);
}

}  // namespace hpcnas
