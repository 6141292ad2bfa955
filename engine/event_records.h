// How one event reads as JSON outside the engine: `explain`, `history`, the C ABI's
// opsledger_read_events and the export/tail tools render it the same way.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>

#include "events/envelope.h"
#include "events/events.h"

namespace opsledger {

// {seq, type, version, at, recorded_at, request_id, actor, payload} (engine/commands_queries.cpp).
boost::json::object event_record_json(std::uint64_t seq, const Envelope& env, const Event& ev);

}  // namespace opsledger
