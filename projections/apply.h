// The one apply path: every event changes the projections through apply_event, live (in
// the append transaction) and in replay alike. It takes state and event and nothing else —
// no clock, no I/O beyond the Store — so a replay of the same log gives the same state.
#pragma once

#include <cstdint>
#include <string_view>

#include "events/envelope.h"
#include "events/events.h"
#include "projections/store.h"

namespace opsledger {

struct EventMeta {
  std::uint64_t seq = 0;
  TimeUs at_us = 0;
  TimeUs recorded_at_us = 0;
  Actor actor;
  std::string request_id;
  std::string request_digest;  // 32 raw bytes
};

inline EventMeta meta_of(std::uint64_t seq, const Envelope& e) {
  return EventMeta{seq, e.at_us, e.recorded_at_us, e.actor, e.request_id, e.request_digest};
}

void apply_event(Store& store, const EventMeta& meta, const Event& event);

// Decodes one stored envelope and applies it (replay). Throws DecodeError.
void apply_envelope(Store& store, std::uint64_t seq, std::string_view envelope_bytes);

std::uint64_t last_applied_seq(const Store& store);

}  // namespace opsledger
