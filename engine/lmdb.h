// RAII wrappers over the LMDB C API: an environment, a move-only transaction that aborts
// in its destructor, and a cursor. Errors become LmdbError carrying the LMDB code so the
// engine can tell a full map (grow and retry) from a full disk (storage_full).
//
// Values returned as std::string_view point into the memory map and stay valid only until
// the transaction that produced them ends (commit, abort or destruction).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace opsledger::lmdb {

class LmdbError : public std::runtime_error {
 public:
  LmdbError(const char* where, int code);
  int code() const noexcept { return code_; }
  bool map_full() const noexcept { return code_ == MDB_MAP_FULL; }
  bool disk_full() const noexcept;

 private:
  int code_;
};

void check(const char* where, int rc);

class Env {
 public:
  struct Options {
    std::size_t map_size_bytes = std::size_t{1} << 26;  // 64 MiB; grows on MDB_MAP_FULL
    unsigned max_dbs = 64;
    unsigned max_readers = 256;
    bool nosync = false;
    bool read_only = false;
  };
  Env(const std::string& dir, const Options& options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* get() const noexcept { return env_; }
  std::size_t map_size() const;
  // Doubles the map (or sets at least `at_least`). Only with no transaction open in this process.
  void grow(std::size_t at_least = 0);
  // Adopts a size another process set (after MDB_MAP_RESIZED; Txn's constructor does it).
  // Only with no other transaction open in this process.
  void adopt_map_size();
  void sync(bool force);
  // Clears reader slots left behind by dead processes; returns how many.
  int reader_check();

  // Called around each remap (grow, adopt_map_size) with the remap to run: a caller whose
  // own thread may hold a transaction meanwhile (the engine's snapshot thread) ends it
  // first. Not thread-safe: set it before the environment is shared.
  using RemapGuard = std::function<void(const std::function<void()>& remap)>;
  void set_remap_guard(RemapGuard guard) { remap_guard_ = std::move(guard); }

 private:
  void remap(std::size_t size);

  MDB_env* env_ = nullptr;
  RemapGuard remap_guard_;
};

class Txn {
 public:
  Txn() = default;
  Txn(Env& env, bool write);
  // A read transaction on `env` for this thread, or nullopt when LMDB refuses one (another
  // process resized the map, no reader slot is free): for helpers that can do without.
  static std::optional<Txn> try_read(MDB_env* env) noexcept;
  ~Txn() { abort(); }
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&& other) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  MDB_txn* get() const noexcept { return txn_; }
  bool active() const noexcept { return txn_ != nullptr; }
  // LMDB's transaction id: a write transaction's is the last committed one's plus one, in
  // whichever process that one ran.
  std::size_t id() const noexcept { return mdb_txn_id(txn_); }
  // The handle is cleared before mdb_txn_commit so a failed commit is never freed twice.
  void commit();
  void abort() noexcept;

  MDB_dbi open_db(const char* name, bool create);
  // The named database when it exists (never creates it).
  std::optional<MDB_dbi> find_db(const char* name);
  // Returns false when the key is absent (or could not be stored: empty or too long);
  // `out` then is untouched.
  bool get(MDB_dbi dbi, std::string_view key, std::string_view& out) const;
  void put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // Puts a key past the last one (MDB_APPEND: no search); false, and nothing written, when
  // the key is not past the last.
  bool append(MDB_dbi dbi, std::string_view key, std::string_view value);
  bool del(MDB_dbi dbi, std::string_view key);
  void drop(MDB_dbi dbi, bool delete_db);

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(const Txn& txn, MDB_dbi dbi);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  // Position helpers; each returns false at the end of the database.
  bool first();
  bool last();
  bool next();
  bool prev();
  bool seek(std::string_view key);  // first key >= key
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  bool get(MDB_cursor_op op, std::string_view key = {});
  MDB_cursor* cursor_ = nullptr;
  std::string_view key_, value_;
};

// Drops this process's resident pages of `env`'s memory map (madvise MADV_DONTNEED over
// the mapping of its data file, found in /proc/self/maps). The pages stay in the kernel's
// page cache and fault back in on the next access, so data read through the map stays
// valid; only the process's resident set shrinks. Long scans (replay, rebuild, verify)
// call it every so many events, which bounds their resident memory by what they hold
// instead of by the log's size. Safe at any time because the engine never opens LMDB with
// MDB_WRITEMAP: the map is read-only and shared. Best effort: a failure is ignored.
void release_mapped_pages(MDB_env* env) noexcept;
// How often the long scans call it: every so many records (events or rows) read, about
// 6 MiB of log at the mean event size. Measured on the 10M-event benchmark log
// (docs/benchmarks-history.md), a rebuild into LMDB committing every 262,144 events: releasing
// every 65,536 events it peaked at 262 MiB, every 16,384 at 148 MiB, in the same time.
inline constexpr std::uint64_t kReleasePagesEvery = 16384;

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view from_val(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace opsledger::lmdb
