#include "events/envelope.h"

#include "events/bytes.h"
#include "events/sha256.h"

namespace opsledger {

std::string encode_envelope(Envelope& e) {
  std::string out;
  out.reserve(128 + e.payload.size() + e.actor.name.size() + e.request_id.size());
  ByteWriter w(out);
  w.u8(kEnvelopeFormat);
  w.u16(e.event_type);
  w.u16(e.schema_version);
  w.i64(e.at_us);
  w.i64(e.recorded_at_us);
  w.u8(static_cast<std::uint8_t>(e.actor.kind));
  w.u64(e.actor.user_id);
  w.str(e.actor.name);
  w.str(e.request_id);
  w.raw(e.request_digest);
  w.raw(e.prev_hash);
  w.str(e.payload);
  e.hash = sha256(e.prev_hash, out);
  out += e.hash;
  return out;
}

EnvelopeView decode_envelope_view(std::string_view bytes) {
  ByteReader r(bytes);
  if (r.u8() != kEnvelopeFormat) throw DecodeError("unknown envelope format");
  EnvelopeView e;
  e.event_type = r.u16();
  e.schema_version = r.u16();
  e.at_us = r.i64();
  e.recorded_at_us = r.i64();
  auto kind = r.u8();
  if (kind > 2) throw DecodeError("unknown actor kind");
  e.actor_kind = static_cast<ActorKind>(kind);
  e.actor_user_id = r.u64();
  e.actor_name = r.str_view();
  e.request_id = r.str_view();
  e.request_digest = r.raw(kHashSize);
  e.prev_hash = r.raw(kHashSize);
  e.payload = r.str_view();
  e.hash = r.raw(kHashSize);
  r.expect_end();
  return e;
}

Envelope decode_envelope(std::string_view bytes) {
  EnvelopeView v = decode_envelope_view(bytes);
  Envelope e;
  e.event_type = v.event_type;
  e.schema_version = v.schema_version;
  e.at_us = v.at_us;
  e.recorded_at_us = v.recorded_at_us;
  e.actor = Actor{v.actor_kind, v.actor_user_id, std::string(v.actor_name)};
  e.request_id = v.request_id;
  e.request_digest = v.request_digest;
  e.prev_hash = v.prev_hash;
  e.payload = v.payload;
  e.hash = v.hash;
  return e;
}

bool envelope_hash_ok(std::string_view bytes) {
  if (bytes.size() < 1 + kHashSize) return false;
  EnvelopeView e;
  try {
    e = decode_envelope_view(bytes);
  } catch (const DecodeError&) {
    return false;
  }
  return sha256(e.prev_hash, bytes.substr(0, bytes.size() - kHashSize)) == e.hash;
}

}  // namespace opsledger
