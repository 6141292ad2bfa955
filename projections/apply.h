// The one apply path: every event changes the projections through apply_event, live (in
// the append transaction) and in replay alike (a long replay calls its two halves,
// apply_event_effects and record_applied_seq, below). It takes state and event and nothing else —
// no clock, no I/O beyond the Store — so a replay of the same log gives the same state.
#pragma once

#include <cstdint>
#include <string_view>

#include "events/envelope.h"
#include "events/events.h"
#include "projections/store.h"

namespace opsledger {

// The envelope's fields an event's effects depend on. The strings are views (into the
// stored envelope or the Envelope being appended): valid for the apply_event call.
struct EventMeta {
  std::uint64_t seq = 0;
  TimeUs at_us = 0;
  TimeUs recorded_at_us = 0;
  ActorKind actor_kind = ActorKind::none;
  std::uint64_t actor_user_id = 0;
  std::string_view actor_name;
  std::string_view request_id;

  Actor actor() const { return Actor{actor_kind, actor_user_id, std::string(actor_name)}; }
};

inline EventMeta meta_of(std::uint64_t seq, const Envelope& e) {
  return EventMeta{seq, e.at_us, e.recorded_at_us, e.actor.kind, e.actor.user_id, e.actor.name, e.request_id};
}
// The views would outlive a temporary Envelope.
EventMeta meta_of(std::uint64_t seq, Envelope&& e) = delete;
inline EventMeta meta_of(std::uint64_t seq, const EnvelopeView& e) {
  return EventMeta{seq, e.at_us, e.recorded_at_us, e.actor_kind, e.actor_user_id, e.actor_name, e.request_id};
}

// The event's effects, then `meta`'s last_seq as the last applied seq.
void apply_event(Store& store, const EventMeta& meta, const Event& event);
// The same two steps apart, for a replay of many events: it applies each event's effects
// and records the last applied seq once after a run of them, where it is read (the end of
// the replay, a progress callback). No effect reads last_seq, so the state after the run
// is the one apply_event gives; between the two a thrown exception leaves it behind the
// effects applied (a replay drops its state then). Its put was a tenth of a replay's
// applying thread: for a two-row table, but once per event.
void apply_event_effects(Store& store, const EventMeta& meta, const Event& event);
void record_applied_seq(Store& store, std::uint64_t seq);

// Decodes one stored envelope and applies it (replay). Throws DecodeError.
void apply_envelope(Store& store, std::uint64_t seq, std::string_view envelope_bytes);

std::uint64_t last_applied_seq(const Store& store);

}  // namespace opsledger
