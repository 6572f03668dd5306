// Result<T> and Status: how every library call reports failure. Spelled like
// std::expected (has_value, value, error) so it can be swapped once C++23 is the baseline.
// Exceptions never cross the library boundary; messages are one line and name the file,
// node or field at fault.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace diviml {

// What kind of failure, so a caller (the CLI's exit code) can tell them apart: bad input (a
// file, node or field at fault), a usage error (a flag, an option out of range), a well-formed
// problem that has no plan (memory, devices, links), or a failure of ours (a solver that broke,
// a plan that did not validate, a bound above a plan). The values are the CLI's exit codes.
enum class ErrorKind { kInput = 1, kUsage = 2, kInternal = 3, kInfeasible = 4 };

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::kInput;
};

// Shorthand for `return fail("...")` inside functions returning Result<T> or Status.
inline Error fail(std::string message) { return Error{std::move(message), ErrorKind::kInput}; }
inline Error usage_error(std::string message) { return Error{std::move(message), ErrorKind::kUsage}; }
inline Error internal_error(std::string message) { return Error{std::move(message), ErrorKind::kInternal}; }
inline Error infeasible(std::string message) { return Error{std::move(message), ErrorKind::kInfeasible}; }

// The same error with `prefix` in front of its message (its kind kept).
inline Error prefixed(std::string prefix, const Error& e) { return Error{std::move(prefix) + e.message, e.kind}; }

// A message made safe for one line of a terminal or log: control bytes, quotes' escapes and
// bytes that are not UTF-8 come out as \n, \t or \xNN (ids in input files are arbitrary).
std::string one_line(const std::string& text);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design, like expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status ok_status() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace diviml
