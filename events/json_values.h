// JSON renderings of the shared value types and times, used by event export, queries and
// answers, so that every surface names a thing the same way.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.h"

namespace opsledger {

// RFC 3339 UTC: "2026-04-20T06:52:38Z", with ".ffffff" only when there are microseconds.
std::string format_time(TimeUs t);
// Accepts RFC 3339 with any offset (Z or ±hh:mm) and an optional fraction (up to 9 digits;
// digits beyond microseconds are truncated). nullopt when malformed or out of range.
std::optional<TimeUs> parse_time(std::string_view s);

boost::json::array ids_to_json(const std::vector<Id>& ids);
boost::json::array strings_to_json(const std::vector<std::string>& v);
boost::json::object counts_to_json(const Counts& c);
boost::json::array failures_to_json(const std::vector<Failure>& f);
boost::json::object report_to_json(const Report& r);  // checks and the derived summary
boost::json::object operation_type_to_json(const OperationTypeDef& d);
boost::json::object resource_type_to_json(const ResourceTypeDef& d);
boost::json::object scope_to_json(const ScopeDef& d);
boost::json::object triage_to_json(const TriageEntry& t);

// Report summary counts derived by the engine (SPEC section 8).
struct ReportSummary {
  std::uint64_t total = 0, pass = 0, warn = 0, fail = 0, skip = 0, blocking_fail = 0;
};
ReportSummary summarize(const Report& r);

// Appends `s` as a JSON string, escaped exactly as boost::json::serialize escapes it.
void append_json_string(std::string& out, std::string_view s);

// Canonical JSON text: object keys sorted bytewise, no whitespace. Used for request digests
// and for JSON stored inside events, so equal values always give equal bytes.
std::string canonical_json(const boost::json::value& v);
void append_canonical_json(std::string& out, const boost::json::object& o);
// Parses JSON stored by the engine itself (canonical); never throws: text that is not
// JSON (only in a forged log) comes back as a JSON string.
boost::json::value parse_stored_json(std::string_view s);

}  // namespace opsledger
