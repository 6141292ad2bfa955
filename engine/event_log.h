// Appending to and reading from the `events` database (format: events/envelope.h).
// An appender lives inside one write transaction: it reads the tail once (last seq, hash
// and recorded time), then chains each new envelope onto it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/lmdb.h"
#include "events/domain.h"
#include "events/envelope.h"

namespace opsledger {

struct LogTail {
  std::uint64_t seq = 0;
  std::string hash = std::string(32, '\0');
  TimeUs recorded_at_us = 0;
};

LogTail read_tail(const lmdb::Txn& txn, MDB_dbi events);

class LogAppender {
 public:
  LogAppender(lmdb::Txn& txn, MDB_dbi events) : txn_(txn), events_(events), tail_(read_tail(txn, events)) {}
  // Sets prev_hash, makes recorded_at non-decreasing, writes the envelope; returns its seq.
  std::uint64_t append(Envelope& e);
  const LogTail& tail() const { return tail_; }

 private:
  lmdb::Txn& txn_;
  MDB_dbi events_;
  LogTail tail_;
};

// The stored bytes of event `seq`, valid until the transaction ends.
std::optional<std::string_view> read_event(const lmdb::Txn& txn, MDB_dbi events, std::uint64_t seq);

}  // namespace opsledger
