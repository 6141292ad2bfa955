// Canonical JSON (request digests, identity hashes) and RFC 3339 times.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "events/json_values.h"

using namespace opsledger;

TEST_CASE("canonical JSON matches Python's sort_keys/compact/ensure_ascii=False form", "[json]") {
  auto v = boost::json::parse(
      "{\"b\":\"x\\\"\\\\\\n\\u0001\xc3\xa9\x7f\",\"a\":[1,-2,true,null,18446744073709551615]}");
  // python3: json.dumps(o, sort_keys=True, separators=(",",":"), ensure_ascii=False)
  CHECK(canonical_json(v) == "{\"a\":[1,-2,true,null,18446744073709551615],\"b\":\"x\\\"\\\\\\n\\u0001\xc3\xa9\x7f\"}");
  CHECK(canonical_json(boost::json::parse(R"({"z":{"y":1,"x":{}},"":"e"})")) == R"({"":"e","z":{"x":{},"y":1}})");
}

TEST_CASE("RFC 3339 times parse with offsets and fractions and format in UTC", "[json][time]") {
  CHECK(parse_time("2026-04-20T06:52:38Z") == 1776667958000000);
  CHECK(parse_time("2026-04-20T08:52:38+02:00") == 1776667958000000);
  CHECK(parse_time("2026-04-20T06:52:38.123456789Z") == 1776667958123456);
  CHECK(parse_time("2026-04-20t06:52:38.5z") == 1776667958500000);
  CHECK(format_time(1776667958000000) == "2026-04-20T06:52:38Z");
  CHECK(format_time(1776667958000001) == "2026-04-20T06:52:38.000001Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(parse_time("2024-02-29T00:00:00Z").has_value());
  for (auto bad : {"2026-04-20", "2026-04-20T06:52:38", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
                   "2026-04-20T24:00:00Z", "2026-04-20T06:52:38.Z", "2026-04-20T06:52:38+2:00",
                   "2026-04-20T06:52:38Z ", " 2026-04-20T06:52:38Z", "2026-04-20T06:52:38.1234567890Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time(bad).has_value());
  }
}
