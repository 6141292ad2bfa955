// The store a batch's commands see: LMDB inside the batch's write transaction, with the
// hot tables — the small ones (directory, catalog, connections, counters, meta) and the
// ones every start reads or writes (the identity indexes, runs' last touches) — held in
// memory.
//
// Reads of those tables are served from memory after the first; writes to them stay in
// memory and reach LMDB once, at the flush before the commit, so a counter, a run's last
// touch or `meta.last_seq` written by many events of a batch is put once. Every other
// table goes straight to LMDB. The small tables' rows are kept in a hash map per table; the
// identities and last touches (fixed-size keys, 8-byte values) as flat rows
// (engine/flat_rows.h). A scan of a held table flushes first, so scans always see every
// write. At most kHeldRowsMax rows are held: a write past that flushes and forgets them all
// (they are in LMDB's transaction), and a read past it is served by the base without
// holding the row (a read never writes), so memory stays bounded however many rows a batch
// or a replay touches.
//
// The engine keeps one BatchStore across its batches (`rebind` to each batch's
// transaction), so the rows it holds stay warm from one commit to the next. That is only
// sound while nothing else writes the database: the engine forgets them whenever another
// write transaction (another process's, `opsledger snapshot`'s) came between, and after a
// batch that did not commit what it held (engine/engine.cpp, Engine::Impl::run_parsed_batch).
// The engine's own automatic snapshot writes only the `snapshots` database and keeps them
// (Engine::Impl::take_snapshot).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/flat_rows.h"
#include "projections/store.h"

namespace opsledger {

class BatchStore final : public Store {
 public:
  static constexpr std::size_t kHeldRowsMax = std::size_t{1} << 17;

  // Unbound: rebind before any other call.
  BatchStore();
  explicit BatchStore(Store& base);
  BatchStore(const BatchStore&) = delete;
  BatchStore& operator=(const BatchStore&) = delete;

  // The store the held rows are read from and flushed to from now on. The held rows must
  // match it: flushed to the same LMDB state, or forgotten.
  void rebind(Store& base) { base_ = &base; }

  bool get(Table t, std::string_view key, std::string& out) const override;
  void put(Table t, std::string_view key, std::string_view value) override;
  bool del(Table t, std::string_view key) override;
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from = {}) const override;
  void clear() override;
  // A held row's decoded record is kept with it until the row changes or is forgotten.
  std::shared_ptr<const void> decoded(Table t, std::string_view key, const void* type,
                                      DecodeRecord decode) const override;

  // Writes every held change to the base store (table by table, in key order); call
  // before committing.
  void flush() const;
  // Drops every held row, written or not (after an aborted transaction, or when the
  // base changed behind this store's back).
  void forget() noexcept;
  bool dirty() const;
  std::size_t held_rows() const { return rows_; }

  // Whether (t, key) is held in memory: the hot tables, keys LMDB can store.
  static bool held(Table t, std::string_view key);
  static bool held_table(Table t);

 private:
  struct Entry {
    std::optional<std::string> value;  // nullopt: absent
    bool dirty = false;
    // The value as decoded() last decoded it (its type named by decoded_type); reset when
    // the value changes.
    std::shared_ptr<const void> decoded;
    const void* decoded_type = nullptr;
  };
  // Looked up by string_view, without building a key string.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
  };
  // One map per table: the small tables' rows stay few and in cache whatever the big
  // ones (identities, last touches) hold.
  using Entries = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  struct Dirty {
    Table table;
    Entries::value_type* row;  // a node pointer: valid until its row is erased
  };
  // The held row of (t, key), read from the base on first use; nullptr when it is not
  // held and there is no room to hold it (the caller then reads the base).
  Entries::value_type* loaded(Table t, std::string_view key) const;
  // The held row of (t, key) for a write (the base's value is replaced: not read).
  Entries::value_type& for_write(Table t, std::string_view key);
  // Sets a held row's value (nullopt: deleted) and marks it for the flush.
  void change(Table t, Entries::value_type& row, std::optional<std::string> value);
  void drop_rows() const noexcept;
  // The flat rows of a big table when `key` has their key size, else nullptr.
  FlatRows* flat_for(Table t, std::string_view key) const;
  // The held row of `key` in `rows`, read from the base on first use; nullptr when it is
  // not held and cannot be: no room, or the base holds a value that is not 8 bytes.
  FlatRows::Row* flat_row(FlatRows& rows, Table t, std::string_view key) const;
  // Makes room for one more held row for a write: flushes and forgets every row when full.
  void reserve_row();

  Store* base_ = nullptr;
  mutable std::array<Entries, kTableCount> tables_;
  // The big hot tables (identities, last touches), held as flat rows instead.
  mutable std::array<std::unique_ptr<FlatRows>, kTableCount> flat_;
  mutable std::size_t rows_ = 0;
  mutable std::vector<Dirty> dirty_;
};

}  // namespace opsledger
