#include "events/json_values.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdio>

namespace opsledger {
namespace json = boost::json;

namespace {

// Howard Hinnant's days-from-civil, proleptic Gregorian.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

unsigned days_in_month(int y, int m) {
  static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : d[m - 1];
}

// True when one of the 8 bytes of `w` must be escaped: below 0x20, '"' or '\\'.
bool needs_escape8(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto has_zero = [&](std::uint64_t x) { return (x - ones) & ~x & highs; };
  std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return (below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}

void write_string(std::string_view s, std::string& out) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the current run of bytes copied as they are
  std::size_t i = 0;
  for (;;) {
    // Skip 8 plain bytes at a time; the byte loop finds the one to escape.
    while (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (needs_escape8(w)) break;
      i += 8;
    }
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    ++i;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void write_canonical(const json::value& v, std::string& out);

void write_canonical_object(const json::object& o, std::string& out) {
  // Members in bytewise key order; most objects are small enough for the stack.
  constexpr std::size_t kOnStack = 16;
  const json::key_value_pair* stack_items[kOnStack];
  std::vector<const json::key_value_pair*> heap_items;
  const json::key_value_pair** items = stack_items;
  if (o.size() > kOnStack) {
    heap_items.resize(o.size());
    items = heap_items.data();
  }
  std::size_t n = 0;
  for (const auto& kv : o) items[n++] = &kv;
  std::sort(items, items + n, [](auto* a, auto* b) { return a->key() < b->key(); });
  out.push_back('{');
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    write_string(items[i]->key(), out);
    out.push_back(':');
    write_canonical(items[i]->value(), out);
  }
  out.push_back('}');
}

void write_canonical(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object:
      write_canonical_object(v.get_object(), out);
      break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_canonical(e, out);
      }
      out.push_back(']');
      break;
    }
    case json::kind::string:
      write_string(v.get_string(), out);
      break;
    case json::kind::int64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out.append(buf, r.ptr);
      break;
    }
    case json::kind::uint64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out.append(buf, r.ptr);
      break;
    }
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::null:
      out += "null";
      break;
    default:  // double: Boost.JSON's shortest round-trip form
      out += json::serialize(v);
  }
}

}  // namespace

std::string format_time(TimeUs t) {
  // Floor division without negating t: every int64 renders, INT64_MIN included (the
  // envelope fuzz target found the overflow).
  std::int64_t micros = t % 1000000;
  if (micros < 0) micros += 1000000;
  std::int64_t secs = t / 1000000 - (t % 1000000 < 0 ? 1 : 0);
  std::int64_t days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
  std::int64_t rem = secs - days * 86400;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                        static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                        static_cast<long long>(rem % 60));
  std::string out(buf, static_cast<std::size_t>(n));
  if (micros) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(micros));
    out += buf;
  }
  out.push_back('Z');
  return out;
}

std::optional<TimeUs> parse_time(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20) return std::nullopt;
  if (!digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  if (s[10] != 'T' && s[10] != 't') return std::nullopt;
  if (!digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (i - start < 6) micros = micros * 10 + (s[i] - '0');
      ++i;
    }
    std::size_t n = i - start;
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t k = n; k < 6; ++k) micros *= 10;
  }
  if (i >= s.size()) return std::nullopt;
  std::int64_t offset_s = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                      mi * 60 + se - offset_s;
  return secs * 1000000 + micros;
}

json::array ids_to_json(const std::vector<Id>& ids) {
  json::array a;
  for (auto id : ids) a.emplace_back(id);
  return a;
}

json::array strings_to_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object counts_to_json(const Counts& c) {
  json::object o;
  for (std::size_t i = 0; i < kCountKeys.size(); ++i) o[kCountKeys[i]] = c.values[i];
  return o;
}

json::array failures_to_json(const std::vector<Failure>& f) {
  json::array a;
  for (const auto& x : f) {
    json::object o{{"code", x.code}, {"message", x.message}};
    if (x.item) o["item"] = *x.item;
    a.emplace_back(std::move(o));
  }
  return a;
}

ReportSummary summarize(const Report& r) {
  ReportSummary s;
  for (const auto& c : r.checks) {
    ++s.total;
    switch (c.status) {
      case CheckStatus::pass: ++s.pass; break;
      case CheckStatus::warn: ++s.warn; break;
      case CheckStatus::fail:
        ++s.fail;
        if (c.blocking) ++s.blocking_fail;
        break;
      case CheckStatus::skip: ++s.skip; break;
    }
  }
  return s;
}

json::object report_to_json(const Report& r) {
  json::array checks;
  for (const auto& c : r.checks) {
    json::object o{{"key", c.key}, {"status", name_of(c.status)}, {"blocking", c.blocking}};
    if (c.reason_code) o["reason_code"] = *c.reason_code;
    checks.emplace_back(std::move(o));
  }
  auto s = summarize(r);
  return {{"checks", std::move(checks)},
          {"summary",
           {{"total", s.total},
            {"pass", s.pass},
            {"warn", s.warn},
            {"fail", s.fail},
            {"skip", s.skip},
            {"blocking_fail", s.blocking_fail}}}};
}

json::object operation_type_to_json(const OperationTypeDef& d) {
  return {{"type", d.type},
          {"label", d.label},
          {"identity_policy", name_of(d.identity_policy)},
          {"identity_fields", strings_to_json(d.identity_fields)},
          {"provider_backed", d.provider_backed},
          {"readiness_exempt", d.readiness_exempt},
          {"capability", d.capability},
          {"system_allowed", d.system_allowed},
          {"expected_duration_s", d.expected_duration_s},
          {"stale_after_s", d.stale_after_s}};
}

json::object resource_type_to_json(const ResourceTypeDef& d) {
  return {{"canonical_type", d.canonical_type},
          {"source_class", name_of(d.source_class)},
          {"workload", name_of(d.workload)},
          {"resource_class", name_of(d.resource_class)},
          {"support_state", name_of(d.support_state)},
          {"restore_tier", name_of(d.restore_tier)},
          {"display_name", d.display_name}};
}

json::object scope_to_json(const ScopeDef& d) {
  return {{"scope_key", d.scope_key},
          {"canonical_types", strings_to_json(d.canonical_types)},
          {"minimum_level", name_of(d.minimum_level)},
          {"allow_fallback", d.allow_fallback},
          {"include_beta", d.include_beta}};
}

json::object triage_to_json(const TriageEntry& t) {
  return {{"group", t.group},
          {"seam", t.seam},
          {"category", t.category},
          {"observed_failure", t.observed_failure},
          {"candidate_owner", t.candidate_owner},
          {"fix_in_scope", name_of(t.fix_in_scope)},
          {"follow_up", t.follow_up},
          {"status", t.status}};
}

void append_json_string(std::string& out, std::string_view s) { write_string(s, out); }

void append_canonical_json(std::string& out, const json::object& o) { write_canonical_object(o, out); }

std::string canonical_json(const json::value& v) {
  std::string out;
  write_canonical(v, out);
  return out;
}

json::value parse_stored_json(std::string_view s) {
  if (s.empty()) return json::object{};
  // The engine only stores canonical JSON here, but a forged (self-consistent) log may
  // hold anything: rendering it never throws (found by the envelope fuzz target); text
  // that is not JSON is shown as a string.
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(s.data(), s.size()), ec);
  if (ec) return json::value(json::string(json::string_view(s.data(), s.size())));
  return v;
}

}  // namespace opsledger
