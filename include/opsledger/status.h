// The result type at opsledger's C++ boundary. No exception escapes the public API: every
// failure is a Status with one of the codes below.
#pragma once

#include <string>
#include <utility>

namespace opsledger {

enum class StatusCode {
  ok = 0,
  // An argument was malformed (an empty directory path, conflicting options). Fix the call.
  invalid_argument,
  // The operating system refused an operation (cannot create or open the directory,
  // permission denied, an I/O error on read or commit). The message names the call and
  // the system error. Nothing of the failed command was written; retry when resolved.
  io_error,
  // The disk, or the configured maximum map size, is full. Nothing of the failed command
  // was written; reads keep working. Free space (or raise Options::max_map_size_bytes).
  storage_full,
  // The database is not an opsledger database, its log or projections do not decode, or
  // its projections are of a layout newer than this build's.
  // Run `opsledger verify --db DIR` to find the first bad seq.
  corrupt,
};

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) { return Status(StatusCode::invalid_argument, std::move(m)); }
  static Status io_error(std::string m) { return Status(StatusCode::io_error, std::move(m)); }
  static Status storage_full(std::string m) { return Status(StatusCode::storage_full, std::move(m)); }
  static Status corrupt(std::string m) { return Status(StatusCode::corrupt, std::move(m)); }

  bool is_ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

}  // namespace opsledger
