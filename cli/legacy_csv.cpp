#include "cli/legacy_csv.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include "engine/dispatch.h"
#include "events/domain.h"

namespace opsledger::cli {
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> kRequiredColumns = {"kind",   "legacy_id",  "workspace_id", "tenant_id",
                                                              "status", "started_at", "completed_at"};

bool is_integer_column(std::string_view key) {
  return key == "legacy_id" || key == "workspace_id" || key == "tenant_id" || key == "operation_run_id";
}

// The column a header cell names, or nullopt for an unknown name.
std::optional<LegacyColumn> column_named(std::string_view name) {
  if (std::find(kRequiredColumns.begin(), kRequiredColumns.end(), name) != kRequiredColumns.end() ||
      name == "operation_run_id")
    return LegacyColumn{std::string(name), is_integer_column(name), false};
  std::string_view key = name;
  if (key.rfind("counts.", 0) == 0) key.remove_prefix(7);
  if (std::find(kCountKeys.begin(), kCountKeys.end(), key) != kCountKeys.end())
    return LegacyColumn{"counts." + std::string(key), true, true};
  return std::nullopt;
}

// A decimal integer cell as a JSON number; anything else (including out-of-range values)
// stays a string for the engine to reject.
json::value integer_cell(const std::string& s) {
  if (!s.empty()) {
    const char* b = s.data();
    const char* e = b + s.size();
    if (s[0] == '-') {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec == std::errc() && p == e) return v;
    } else {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec == std::errc() && p == e) return v;
    }
  }
  return json::string(s);
}

}  // namespace

LegacyHeader parse_legacy_header(const CsvRecord& header) {
  LegacyHeader h;
  if (!header.error.empty()) {
    h.error = "the header row is malformed: " + header.error;
    return h;
  }
  for (const auto& cell : header.fields) {
    auto col = column_named(cell.value);
    if (!col) {
      h.error = "unknown column \"" + cell.value + "\"";
      if (cell.value.rfind("counts.", 0) == 0) h.error += " (unknown_count_key: not one of the count keys)";
      return h;
    }
    for (const auto& c : h.columns)
      if (c.key == col->key) {
        h.error = "column \"" + cell.value + "\" repeats the field " + col->key;
        return h;
      }
    h.columns.push_back(std::move(*col));
  }
  for (auto required : kRequiredColumns) {
    bool present = std::any_of(h.columns.begin(), h.columns.end(), [&](const LegacyColumn& c) { return c.key == required; });
    if (!present) {
      h.error = "the header has no column \"" + std::string(required) + "\"";
      return h;
    }
  }
  return h;
}

LegacyRow legacy_row_command(const LegacyHeader& header, const CsvRecord& row) {
  LegacyRow out;
  if (!row.error.empty()) {
    out.error_code = "malformed_csv";
    out.error_message = row.error;
    return out;
  }
  if (row.fields.size() != header.columns.size()) {
    out.error_code = "malformed_csv";
    out.error_message = "the row has " + std::to_string(row.fields.size()) + " fields, the header " +
                        std::to_string(header.columns.size()) + " (line " + std::to_string(row.line) + ")";
    return out;
  }
  json::object cmd{{"cmd", "import_legacy_run"}};
  json::object counts;
  for (std::size_t i = 0; i < row.fields.size(); ++i) {
    const auto& cell = row.fields[i];
    const auto& col = header.columns[i];
    if (cell.value.empty() && !cell.quoted) continue;  // absent
    if (!valid_utf8(cell.value)) {
      out.error_code = "invalid_utf8";
      out.error_message = col.key + ": the cell is not valid UTF-8";
      out.error_field = col.key;
      return out;
    }
    json::value v = col.integer ? integer_cell(cell.value) : json::value(json::string(cell.value));
    if (col.count)
      counts[std::string_view(col.key).substr(7)] = std::move(v);
    else
      cmd[col.key] = std::move(v);
  }
  cmd["counts"] = std::move(counts);
  out.command = json::serialize(cmd);
  return out;
}

}  // namespace opsledger::cli
