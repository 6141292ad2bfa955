// Field-by-field validation of one command object. Each accessor marks its key as taken
// and records the first fault (missing_field, invalid_field …) with the key's dotted name;
// after a fault the accessors return defaults and change nothing. finish() then reports
// the first fault, or an unknown_field for any key no accessor took.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/command_context.h"
#include "events/domain.h"
#include "events/envelope.h"

namespace opsledger {

class Fields {
 public:
  explicit Fields(const boost::json::object& obj, std::string prefix = {}) : obj_(obj), prefix_(std::move(prefix)) {}
  const boost::json::object& object() const { return obj_; }

  Id id(std::string_view key);
  std::optional<Id> opt_id(std::string_view key);
  std::string text(std::string_view key);  // any string, may be empty
  std::optional<std::string> opt_text(std::string_view key);
  bool boolean(std::string_view key);
  std::optional<bool> opt_boolean(std::string_view key);
  TimeUs time(std::string_view key);
  std::optional<TimeUs> opt_time(std::string_view key);
  // Unsigned integer in [lo, hi].
  std::optional<std::uint64_t> opt_uint(std::string_view key, std::uint64_t lo, std::uint64_t hi);
  template <class E>
  E enumv(std::string_view key) {
    return opt_enum_impl<E>(key, true).value_or(E{});
  }
  template <class E>
  std::optional<E> opt_enum(std::string_view key) {
    return opt_enum_impl<E>(key, false);
  }
  // A user or system actor (required) or an optional one.
  Actor actor();
  std::optional<Actor> opt_actor();
  // The command's request_id (1–128 printable ASCII); required or optional.
  std::optional<std::string> request_id(bool required);
  // The raw value, taken; nullptr when absent (missing_field when required).
  const boost::json::value* raw(std::string_view key, bool required);
  const boost::json::object* object(std::string_view key, bool required);
  const boost::json::array* array(std::string_view key, bool required);

  // Records a fault found by the handler itself (first one wins).
  void fail(std::string_view code, std::string_view message, std::string_view key);
  // Takes a nested object's fault (from its own Fields::finish) as this one's; true if any.
  bool adopt(std::optional<Answer> nested_error) {
    if (nested_error && !error_) error_ = std::move(nested_error);
    return nested_error.has_value() || error_.has_value();
  }
  bool failed() const { return error_.has_value(); }
  // The first fault recorded so far (finish() without its unknown-field check).
  const std::optional<Answer>& fault() const { return error_; }
  std::string dotted(std::string_view key) const;

  // The first fault, else unknown_field for an untaken key, else nullopt.
  std::optional<Answer> finish();

 private:
  template <class E>
  std::optional<E> opt_enum_impl(std::string_view key, bool required) {
    auto s = string_value(key, required);
    if (!s) return std::nullopt;
    auto e = parse_enum<E>(*s);
    if (!e) fail("invalid_field", "not one of the allowed values", key);
    return e;
  }
  std::optional<std::string> string_value(std::string_view key, bool required);
  const boost::json::value* find(std::string_view key, bool required);

  const boost::json::object& obj_;
  std::string prefix_;
  std::vector<std::string_view> taken_;
  std::optional<Answer> error_;
};

bool valid_request_id(std::string_view s);

// The answer Fields::fail records: `code`, "field: message", the field.
Answer field_error(std::string_view code, std::string_view message, std::string_view field);

}  // namespace opsledger
