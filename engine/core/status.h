#pragma once
// Errors as values at module edges. A Status is either ok or carries a kind and a message
// that names the input and what was wrong; StatusOr<T> is a value or such a Status.
// Exceptions from LibTorch, HDF5 and Boost are caught at the module edge and turned into
// these, so none crosses a collective call.

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace hpcnas {

enum class ErrorKind {
  kOk,
  kInvalidInput,   // a user-supplied value, file or string is wrong
  kIo,             // a file could not be read or written
  kTimeout,        // a peer did not answer before its deadline
  kCommunication,  // a message was lost, corrupt or the job was aborted
  kInternal,       // a bug: a condition that cannot happen did
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidInput(std::string message) { return {ErrorKind::kInvalidInput, std::move(message)}; }
  static Status Io(std::string message) { return {ErrorKind::kIo, std::move(message)}; }
  static Status Timeout(std::string message) { return {ErrorKind::kTimeout, std::move(message)}; }
  static Status Communication(std::string message) { return {ErrorKind::kCommunication, std::move(message)}; }
  static Status Internal(std::string message) { return {ErrorKind::kInternal, std::move(message)}; }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // "while doing X: <message>", keeping the kind.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return {kind_, context + ": " + message_};
  }

  // Process exit code for a failed command: 2 for bad input, 3 for everything else.
  int ExitCode() const { return ok() ? 0 : (kind_ == ErrorKind::kInvalidInput ? 2 : 3); }

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : data_(std::move(status)) {  // NOLINT
    if (std::get<Status>(data_).ok()) data_ = Status::Internal("StatusOr built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace hpcnas

#define HPCNAS_CONCAT_INNER(a, b) a##b
#define HPCNAS_CONCAT(a, b) HPCNAS_CONCAT_INNER(a, b)

#define HPCNAS_RETURN_IF_ERROR(expr)           \
  do {                                         \
    ::hpcnas::Status hpcnas_status_ = (expr);  \
    if (!hpcnas_status_.ok()) return hpcnas_status_; \
  } while (0)

#define HPCNAS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define HPCNAS_ASSIGN_OR_RETURN(lhs, expr) \
  HPCNAS_ASSIGN_OR_RETURN_IMPL(HPCNAS_CONCAT(hpcnas_statusor_, __LINE__), lhs, expr)
