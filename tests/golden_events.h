// One sample of every event type at every schema version ever written, with every field
// set, for the golden log (tests/golden/events_v1.bin) and the round-trip tests.
#pragma once

#include <vector>

#include "events/envelope.h"
#include "events/events.h"

namespace opsledger::test {

struct GoldenEvent {
  Envelope envelope;  // payload and hashes filled when the log is built
  Event event;
};

std::vector<GoldenEvent> golden_events_v1();

// The golden log's bytes: for each event, u32 length (LE) + the chained envelope.
std::string build_golden_log(std::vector<GoldenEvent>& events);

}  // namespace opsledger::test
