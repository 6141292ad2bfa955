// What auditors and operators do with the log (SPEC sections 2, 12, 13): verify a whole
// database, replay it to a point (from the nearest sound snapshot), find the point that
// corresponds to a recorded time. All of it reads only; none of it appends.
#pragma once

#include <cstdint>
#include <string>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/domain.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot.h"

namespace opsledger {

struct VerifyResult {
  bool ok = false;
  std::uint64_t events = 0;     // last sound seq of the chain
  std::uint64_t snapshots = 0;  // snapshots checked
  std::string digest_hex;       // live digest, when the projections were compared
  std::string verdict;          // one line: "OK: ..." or "FAILED: seq N: ..."
};

// In order, stopping at the first fault:
//  1. the hash chain from genesis (keys gap-free from 1, envelopes and payloads decode,
//     prev_hash links, hashes recompute);
//  2. the projections' last applied seq equals the log's last seq;
//  3. the live projections equal a full rebuild from genesis (digest, then the first
//     differing table is named);
//  4. every snapshot: decodes, is of a known version, its restored state hashes to its
//     recorded digest, its chain hash is the log's hash at its seq, and its digest equals
//     the rebuild's digest at that seq.
// Never throws: an exception becomes a FAILED verdict.
VerifyResult verify_database(lmdb::Txn& txn, const Dbis& dbis, const Progress& progress = {});

struct ReplayResult {
  MemoryStore state;
  std::uint64_t seq = 0;           // the state is the state after this event
  std::uint64_t snapshot_seq = 0;  // the snapshot it started from; 0: genesis
};

// The state after event `until_seq` (clamped to the log's end by the caller): the nearest
// sound snapshot at or before it (unless !use_snapshots), then the tail of the log. Bad
// snapshots are reported through `warn` and skipped. Throws DecodeError when the log does
// not decode.
ReplayResult replay_state(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t until_seq, bool use_snapshots,
                          const Warn& warn = {}, const Progress& progress = {});

// The last seq whose recorded_at is <= t (0 when none). recorded_at is non-decreasing
// along the log, so this is a binary search. Throws DecodeError on a gap or bad envelope.
std::uint64_t seq_at_recorded_time(const lmdb::Txn& txn, const Dbis& dbis, TimeUs t);

}  // namespace opsledger
