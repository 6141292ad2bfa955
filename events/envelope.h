// The event envelope: what the `events` LMDB database stores under each `seq`.
//
// Key:   seq as 8-byte big-endian unsigned integer (1, 2, 3 … gap-free).
// Value: the envelope, little-endian fixed-width fields, strings as u32 length + bytes:
//
//   u8   format            = 1
//   u16  event_type        (EventType, events/events.h)
//   u16  schema_version    (the payload's cereal class version)
//   i64  at_us             when it happened (caller's `at`, else the engine clock)
//   i64  recorded_at_us    the engine clock at append, non-decreasing along the log
//   u8   actor_kind        0 none (embedding service), 1 user, 2 system
//   u64  actor_user_id     0 unless a user
//   str  actor_name
//   str  request_id        empty when the command carried none
//   32B  request_digest    SHA-256 of the canonical command body; zeros without request_id
//   32B  prev_hash         hash of the event at seq-1; 32 zero bytes for seq 1
//   str  payload           cereal PortableBinary encoding of the event struct
//   32B  hash              SHA-256(prev_hash || every byte above)
//
// Decoding checks the format, bounds and trailing bytes; it never reads past its input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace opsledger {

enum class ActorKind : std::uint8_t { none = 0, user = 1, system = 2 };

struct Actor {
  ActorKind kind = ActorKind::none;
  std::uint64_t user_id = 0;
  std::string name;
  bool operator==(const Actor&) const = default;
};

struct Envelope {
  std::uint16_t event_type = 0;
  std::uint16_t schema_version = 0;
  std::int64_t at_us = 0;
  std::int64_t recorded_at_us = 0;
  Actor actor;
  std::string request_id;
  std::string request_digest = std::string(32, '\0');
  std::string prev_hash = std::string(32, '\0');
  std::string payload;
  std::string hash = std::string(32, '\0');  // filled by encode_envelope
};

// The same fields as views into the stored bytes, for the scans that read every event
// (replay, rebuild, verify): no copies. Valid while the bytes are.
struct EnvelopeView {
  std::uint16_t event_type = 0;
  std::uint16_t schema_version = 0;
  std::int64_t at_us = 0;
  std::int64_t recorded_at_us = 0;
  ActorKind actor_kind = ActorKind::none;
  std::uint64_t actor_user_id = 0;
  std::string_view actor_name;
  std::string_view request_id;
  std::string_view request_digest;  // 32 bytes
  std::string_view prev_hash;       // 32 bytes
  std::string_view payload;
  std::string_view hash;            // 32 bytes
};

inline constexpr std::uint8_t kEnvelopeFormat = 1;
inline constexpr std::size_t kHashSize = 32;

// Encodes `e` (its hash field is ignored) and returns the bytes, hash included; sets e.hash.
std::string encode_envelope(Envelope& e);
// Throws DecodeError on malformed bytes. Does not check the hash; see envelope_hash_ok.
Envelope decode_envelope(std::string_view bytes);
EnvelopeView decode_envelope_view(std::string_view bytes);
// True when the stored hash equals SHA-256(prev_hash || body).
bool envelope_hash_ok(std::string_view bytes);

}  // namespace opsledger
