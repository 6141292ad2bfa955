#include "engine/event_log.h"

#include "events/bytes.h"

namespace opsledger {

LogTail read_tail(const lmdb::Txn& txn, MDB_dbi events) {
  LogTail t;
  lmdb::Cursor c(txn, events);
  if (!c.last()) return t;
  t.seq = get_be64(c.key());
  auto e = decode_envelope(c.value());
  t.hash = e.hash;
  t.recorded_at_us = e.recorded_at_us;
  return t;
}

std::uint64_t LogAppender::append(Envelope& e) {
  e.prev_hash = tail_.hash;
  if (e.recorded_at_us < tail_.recorded_at_us) e.recorded_at_us = tail_.recorded_at_us;
  std::string bytes = encode_envelope(e);
  std::uint64_t seq = tail_.seq + 1;
  txn_.put(events_, be64(seq), bytes, MDB_APPEND);
  tail_.seq = seq;
  tail_.hash = e.hash;
  tail_.recorded_at_us = e.recorded_at_us;
  return seq;
}

std::optional<std::string_view> read_event(const lmdb::Txn& txn, MDB_dbi events, std::uint64_t seq) {
  std::string_view v;
  if (!txn.get(events, be64(seq), v)) return std::nullopt;
  return v;
}

}  // namespace opsledger
