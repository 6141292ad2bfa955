// Reading the log back: chain verification and replay into a memory store, with the same
// apply functions the live engine uses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "projections/memory_store.h"

namespace opsledger {

using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct ChainCheck {
  bool ok = true;
  std::uint64_t last_seq = 0;     // last sound seq
  std::uint64_t bad_seq = 0;      // first bad seq when !ok
  std::string problem;            // what is wrong at bad_seq
  std::string last_hash;          // chain hash at last_seq (32 raw bytes)
};

// Walks the `events` database from genesis: keys gap-free from 1, every envelope decodes,
// prev_hash links, and each hash recomputes. Stops at the first fault.
ChainCheck verify_chain(const lmdb::Txn& txn, const Dbis& dbis, const Progress& progress = {});

// Applies events (from_seq, until_seq] to `store` (which holds the state at from_seq).
// until_seq 0: to the end. Throws DecodeError naming the seq that does not decode or is
// missing (a gap). Like verify_chain, it releases the log's mapped pages every 16,384
// events (lmdb::release_mapped_pages), so its resident memory does not grow with the log.
std::uint64_t replay_into(const lmdb::Txn& txn, const Dbis& dbis, Store& store, std::uint64_t from_seq,
                          std::uint64_t until_seq, const Progress& progress = {});

// replay_into for a target in LMDB (`target` writes inside a write transaction): the hot
// tables are held in memory for the whole replay and written once at its end, as for a
// batch of the live engine (engine/batch_store.h). Used by rebuilds.
std::uint64_t replay_into_lmdb(const lmdb::Txn& txn, const Dbis& dbis, LmdbStore& target, std::uint64_t from_seq,
                               std::uint64_t until_seq, const Progress& progress = {});

}  // namespace opsledger
