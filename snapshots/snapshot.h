// Snapshots: the complete projection state at a seq, with the chain hash and the state
// digest there. They make point-in-time replay and rebuild faster, never different: a
// snapshot is used only after it has been decoded, its restored state hashed to the
// recorded digest, and its chain hash found in the log at its seq. Anything else is a
// warning and the snapshot is skipped.
//
// Stored in the LMDB database `snapshots` (format 2, in pieces, is described below):
// key = seq as 8-byte big-endian, value =
//
//   8B   magic             "OPSLSNAP"
//   u32  format_version    little-endian; kSnapshotFormatVersion (4); 2 is a manifest of
//                          pieces (below); 1 and 3 (older archives) are no longer read
//   16B  checksum          XXH3-128 of the archive bytes that follow, canonical (big-endian)
//                          (snapshots/snapshot_checksum.h)
//   ...  archive           Boost.Serialization binary archive of one SnapshotImage
//                          (class version 2):
//          u64 seq, string chain_hash (32 raw bytes), string digest (32 raw bytes),
//          u32 table count, then per table, in Table order: string table name, u64 byte
//          count of its rows, then its rows in key order, each framed as the state digest
//          frames a row (projections/state_digest.h): u32 key length, key bytes, u32 value
//          length, value bytes (the u32s little-endian).
//
// The checksum and the digest are computed on two more threads while the archive is
// decoded. The digest is a SHA-256 over the tables' names and their rows' bytes as they lie
// in the archive, while the decoder parses every one of those bytes, in order, into the
// rows it appends: the restored state is what was hashed. A damaged archive is reported
// as damaged whatever the decoder made of it, and the decode is wrapped so that any
// exception becomes a reported problem (the decoder is fuzzed with hostile archives under
// correct checksums).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot_checksum.h"

namespace opsledger {

struct Snapshot {
  std::uint64_t seq = 0;
  std::string chain_hash;  // 32 raw bytes: hash of the event at seq
  std::string digest;      // 32 raw bytes: state_digest of `state`
  MemoryStore state;
};

// Serialises the state held in `state` (which must be the state at `seq`) into the stored
// value format above.
std::string encode_snapshot(std::uint64_t seq, const std::string& chain_hash, const std::string& digest,
                            const Store& state);

// Decodes a stored value and checks its internal consistency (magic, version, checksum,
// archive, restored digest == recorded digest, state's last applied seq == key seq).
// Returns nullopt and sets `problem` on any fault; never throws.
std::optional<Snapshot> decode_snapshot(std::uint64_t key_seq, std::string_view bytes, std::string& problem);
// The same for a value given as the ranges it is stored in, in order (format 2's pieces),
// read where they lie: never put together into one buffer.
std::optional<Snapshot> decode_snapshot(std::uint64_t key_seq, const std::vector<std::string_view>& parts,
                                        std::string& problem);

// decode_snapshot plus the check against the log: the event at seq exists and its hash is
// the snapshot's chain hash. Never throws.
std::optional<Snapshot> load_snapshot(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq,
                                      std::string& problem);

// The seqs of every stored snapshot, ascending (keys that are not 8 bytes are skipped).
std::vector<std::uint64_t> snapshot_seqs(const lmdb::Txn& txn, const Dbis& dbis);

// The nearest sound snapshot at or before `until_seq`. Each unusable snapshot on the way
// is passed to `warn` ("snapshot at seq N: problem") and skipped. nullopt when none.
using Warn = std::function<void(const std::string&)>;
std::optional<Snapshot> nearest_snapshot(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t until_seq,
                                         const Warn& warn);

struct SnapshotWritten {
  std::uint64_t seq = 0;
  std::string digest;  // 32 raw bytes
  std::size_t bytes = 0;
  std::vector<std::uint64_t> pruned;  // write_snapshot with `keep`: the seqs deleted
};

struct EncodedSnapshot {
  SnapshotWritten written;
  std::string bytes;  // the value to store under written.seq
};

// Thrown by encode_committed when it is asked to stop.
struct SnapshotCancelled : std::runtime_error {
  SnapshotCancelled() : std::runtime_error("the snapshot was cancelled") {}
};

// Format 2, a snapshot stored in pieces (the engine's automatic snapshots larger than a
// piece, so that batches run between the pieces' commits): under the key seq a manifest
//   8B "OPSLSNAP", u32 2, u64 total bytes, u32 piece count  (little-endian)
// and a single value (format 4) cut into that many pieces, in order, under the 12-byte keys seq
// (8-byte big-endian) + piece index (4-byte big-endian). The manifest is written last, so a
// snapshot whose pieces were not all stored is not seen (snapshot_seqs lists 8-byte keys
// only); load_snapshot decodes the pieces, in order, as one single value, reading each
// where it lies in the map.
inline constexpr std::uint32_t kSnapshotPiecesVersion = 2;
// The engine's piece size (Engine::Impl::snapshot_piece_bytes, which tests lower).
inline constexpr std::size_t kSnapshotPieceBytes = std::size_t{16} << 20;
std::string snapshot_piece_key(std::uint64_t seq, std::uint32_t index);
std::string snapshot_manifest(std::uint64_t total_bytes, std::uint32_t pieces);
// Deletes every piece no manifest claims and no writer can still claim: pieces whose seq's
// 8-byte row is a single value or a manifest naming fewer pieces (a snapshot written
// again at that seq), and pieces whose seq has no row yet but lies below the newest
// complete snapshot's (left by a writer stopped or killed between pieces, or one
// overtaken by a newer snapshot). Pieces above the newest complete snapshot may be another
// process's snapshot being stored and are left alone. Returns how many rows it deleted.
std::size_t drop_unfinished_pieces(lmdb::Txn& txn, const Dbis& dbis);
// For a writer storing a snapshot at `seq` in pieces: true when it is superseded, because
// a complete snapshot at `seq` (another writer's, of the same state) or after it exists;
// its pieces at `seq` are then deleted in `txn`, unless a manifest at `seq` claims them
// (the same state cut the same way: the other writer's pieces are byte for byte its own).
// `deleted` gets how many rows it deleted.
bool superseded_pieces(lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq, std::size_t& deleted);
// Deletes the pieces of `seq` from index `from` on; returns how many.
std::size_t drop_pieces_of(lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq, std::uint32_t from);

// Retention: deletes every snapshot but the newest `keep` (by seq; 0 keeps them all), with
// their pieces, and returns the seqs it deleted, ascending. Only complete snapshots count
// and are deleted: pieces no manifest claims yet (a snapshot being stored) are left alone.
std::vector<std::uint64_t> prune_snapshots(lmdb::Txn& txn, const Dbis& dbis, std::size_t keep);

// Reads and encodes the state `read` sees (a read transaction: a snapshot describes the
// state at its seq, whatever is committed after, so no write lock is held while it reads;
// on the 10M-event benchmark database, reading and encoding take over a minute). When
// `stop` is given it is polled as rows are read, and once it is set this throws
// SnapshotCancelled. Throws std::runtime_error when the projections are not applied up to
// the log's tail (the database needs `verify`/`rebuild`), lmdb::LmdbError on storage
// errors.
EncodedSnapshot encode_committed(lmdb::Txn& read, const Dbis& dbis, const std::atomic<bool>* stop = nullptr);

// Puts an encoded single value under its seq in `txn`, first deleting that seq's pieces
// of an earlier snapshot stored in pieces, then the pieces drop_unfinished_pieces names.
void put_snapshot(lmdb::Txn& txn, const Dbis& dbis, const EncodedSnapshot& e);

// encode_committed in a read transaction of its own, then put_snapshot (and
// prune_snapshots(keep), in the same commit) in a write transaction of its own, growing the
// map and retrying when it fills: other writers wait only while the value is stored. Only
// with no other transaction of this process open. Throws as encode_committed does, and
// lmdb::LmdbError on storage errors.
SnapshotWritten write_snapshot(lmdb::Env& env, const Dbis& dbis, std::size_t keep = 0);

}  // namespace opsledger
