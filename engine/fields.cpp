#include "engine/fields.h"

#include <algorithm>

#include "events/json_values.h"

namespace opsledger {
namespace json = boost::json;

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string Fields::dotted(std::string_view key) const {
  std::string k = prefix_;
  k.append(key);
  return k;
}

Answer field_error(std::string_view code, std::string_view message, std::string_view field) {
  std::string msg = field.empty() ? std::string(message) : std::string(field) + ": " + std::string(message);
  return Answer::error(code, msg, field);
}

void Fields::fail(std::string_view code, std::string_view message, std::string_view key) {
  if (error_) return;
  error_ = field_error(code, message, dotted(key));
}

const json::value* Fields::find(std::string_view key, bool required) {
  if (error_) return nullptr;
  taken_.push_back(key);
  auto it = obj_.find(key);
  if (it == obj_.end()) {
    if (required) fail("missing_field", "required field is absent", key);
    return nullptr;
  }
  return &it->value();
}

const json::value* Fields::raw(std::string_view key, bool required) { return find(key, required); }

const json::object* Fields::object(std::string_view key, bool required) {
  auto v = find(key, required);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail("invalid_field", "must be a JSON object", key);
    return nullptr;
  }
  return &v->get_object();
}

const json::array* Fields::array(std::string_view key, bool required) {
  auto v = find(key, required);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail("invalid_field", "must be a JSON array", key);
    return nullptr;
  }
  return &v->get_array();
}

std::optional<Id> Fields::opt_id(std::string_view key) {
  auto v = find(key, false);
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() > 0) return static_cast<Id>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() > 0) return v->get_uint64();
  fail("invalid_field", "must be an integer from 1 to 2^64-1", key);
  return std::nullopt;
}

Id Fields::id(std::string_view key) {
  auto v = find(key, true);
  if (!v) return 0;
  if (v->is_int64() && v->get_int64() > 0) return static_cast<Id>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() > 0) return v->get_uint64();
  fail("invalid_field", "must be an integer from 1 to 2^64-1", key);
  return 0;
}

std::optional<std::uint64_t> Fields::opt_uint(std::string_view key, std::uint64_t lo, std::uint64_t hi) {
  auto v = find(key, false);
  if (!v) return std::nullopt;
  std::optional<std::uint64_t> n;
  if (v->is_int64() && v->get_int64() >= 0) n = static_cast<std::uint64_t>(v->get_int64());
  if (v->is_uint64()) n = v->get_uint64();
  if (!n || *n < lo || *n > hi) {
    fail("invalid_field", "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), key);
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> Fields::string_value(std::string_view key, bool required) {
  auto v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail("invalid_field", "must be a string", key);
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::string Fields::text(std::string_view key) { return string_value(key, true).value_or(std::string()); }
std::optional<std::string> Fields::opt_text(std::string_view key) { return string_value(key, false); }

std::optional<bool> Fields::opt_boolean(std::string_view key) {
  auto v = find(key, false);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    fail("invalid_field", "must be true or false", key);
    return std::nullopt;
  }
  return v->get_bool();
}

bool Fields::boolean(std::string_view key) {
  auto v = find(key, true);
  if (!v) return false;
  if (!v->is_bool()) {
    fail("invalid_field", "must be true or false", key);
    return false;
  }
  return v->get_bool();
}

std::optional<TimeUs> Fields::opt_time(std::string_view key) {
  auto s = string_value(key, false);
  if (!s) return std::nullopt;
  auto t = parse_time(*s);
  if (!t) fail("invalid_field", "must be an RFC 3339 time such as 2026-04-20T06:52:38Z", key);
  return t;
}

TimeUs Fields::time(std::string_view key) {
  if (!error_ && !obj_.contains(key)) {
    fail("missing_field", "required field is absent", key);
    return 0;
  }
  return opt_time(key).value_or(0);
}

std::optional<Actor> Fields::opt_actor() {
  auto o = object("actor", false);
  if (!o) return std::nullopt;
  Fields a(*o, dotted("actor") + ".");
  Actor actor;
  auto kind = a.text("kind");
  if (!a.failed()) {
    if (kind == "user") {
      actor.kind = ActorKind::user;
      actor.user_id = a.id("user_id");
    } else if (kind == "system") {
      actor.kind = ActorKind::system;
    } else {
      a.fail("invalid_field", "must be \"user\" or \"system\"", "kind");
    }
  }
  actor.name = a.text("name");
  if (auto e = a.finish()) {
    if (!error_) error_ = std::move(e);
    return std::nullopt;
  }
  return actor;
}

Actor Fields::actor() {
  if (!error_ && !obj_.contains("actor")) {
    fail("missing_field", "required field is absent", "actor");
    return {};
  }
  return opt_actor().value_or(Actor{});
}

std::optional<std::string> Fields::request_id(bool required) {
  auto s = string_value("request_id", required);
  if (!s) return std::nullopt;
  if (!valid_request_id(*s)) {
    fail("invalid_field", "must be 1 to 128 printable ASCII characters", "request_id");
    return std::nullopt;
  }
  return s;
}

std::optional<Answer> Fields::finish() {
  if (error_) return error_;
  for (const auto& kv : obj_) {
    std::string_view k = kv.key();
    if (std::find(taken_.begin(), taken_.end(), k) == taken_.end()) {
      fail("unknown_field", "this command does not take this field", k);
      return error_;
    }
  }
  return std::nullopt;
}

}  // namespace opsledger
