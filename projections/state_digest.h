// The state digest (store.h's state_digest) fed row by row, for a reader that sees the
// rows in digest order anyway (a snapshot being loaded) and so need not scan the state
// again afterwards.
//
// The digest: SHA-256 over every table in Table order: the table's name (u32 length and
// bytes), then each row in key order, framed by frame_row: key (u32 length and bytes),
// value length (u32), value bytes (lengths little-endian). A snapshot stores each table's
// rows in this framing (snapshots/snapshot.h), so its loader hashes them as they lie.
#pragma once

#include <string>
#include <string_view>

#include "events/sha256.h"
#include "projections/store.h"

namespace opsledger {

// Appends `key` and `value` to `out` as the digest frames a row.
void frame_row(std::string& out, std::string_view key, std::string_view value);

class StateDigester {
 public:
  // Starts table `t`. Tables must come in Table order; the ones skipped (absent, empty)
  // are framed as empty tables. Returns false (and the digest is then unusable) when `t`
  // does not come after the previous table.
  bool begin_table(Table t);
  // A row of the current table; rows must come in key order (the caller checks it).
  void row(std::string_view key, std::string_view value);
  // Rows of the current table already framed by frame_row, in key order: the same as
  // passing each to row(). Any cut between calls will do (a row may span two calls).
  void framed(std::string_view rows);
  // Frames every table not begun yet and returns the 32-byte digest.
  std::string finish();

 private:
  void frame_name(std::size_t table);
  // Hashes the pending bytes once they reach kFlushAt: rows are tens of bytes, and
  // SHA-256 calls that small cost more than the hashing (a fifth of a snapshot load's
  // digest thread).
  void flush_when_full();
  static constexpr std::size_t kFlushAt = 32 * 1024;
  Sha256 hash_;
  std::size_t next_table_ = 0;  // the first table not begun yet
  std::string pending_;         // framed rows not hashed yet
};

}  // namespace opsledger
