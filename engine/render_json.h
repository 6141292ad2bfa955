// JSON renderings shared by queries and the audit tools: a run as queries return it, an
// event as export/history/explain show it, and the whole projection state as replay
// prints it.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>

#include "events/envelope.h"
#include "events/events.h"
#include "projections/records.h"
#include "projections/store.h"

namespace opsledger {

// engine/commands_queries.cpp
boost::json::object run_to_json(const RunRecord& r);
boost::json::object event_record_json(std::uint64_t seq, const Envelope& env, const Event& ev);

// engine/commands_ledgers.cpp: an imported legacy record, as resolve_legacy and replay show it.
boost::json::object legacy_to_json(const LegacyRecord& r);

// engine/state_json.cpp

// One exported event: seq, hash, prev_hash (lowercase hex), type, version, at, recorded_at,
// request_id, actor and the decoded payload. Throws DecodeError on bytes that do not decode.
boost::json::object export_record(std::uint64_t seq, std::string_view envelope_bytes);

// Every projection table, in Table order, keyed by table name; each record decoded from
// its binary form with its key rendered as the ids it is made of. A record that does not
// decode is shown as {"key_hex","value_hex","undecodable":true} rather than dropped.
boost::json::object state_to_json(const Store& store);

}  // namespace opsledger
