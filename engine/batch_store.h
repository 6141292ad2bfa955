// The store a batch's commands see: LMDB inside the batch's write transaction, with the
// small, hot tables (directory, catalog, connections, counters, meta) held in memory for
// the length of the batch.
//
// Reads of those tables are served from memory after the first; writes to them stay in
// memory and reach LMDB once, when the batch flushes before its commit, so a counter or
// `meta.last_seq` written by every event of a batch is put once. Every other table goes
// straight to LMDB. A scan of a held table flushes first, so scans always see every write.
// A batch that is restarted (a faulted command, a grown map) starts with a new BatchStore,
// so nothing of an aborted attempt survives it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "projections/store.h"

namespace opsledger {

class BatchStore final : public Store {
 public:
  explicit BatchStore(Store& base) : base_(base) {}
  bool get(Table t, std::string_view key, std::string& out) const override;
  void put(Table t, std::string_view key, std::string_view value) override;
  bool del(Table t, std::string_view key) override;
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from = {}) const override;
  void clear() override;

  // Writes every held change to the base store (in key order); call before committing.
  void flush() const;

  // Whether (t, key) is held in memory: the hot tables, keys LMDB can store.
  static bool held(Table t, std::string_view key);
  static bool held_table(Table t);

 private:
  struct Entry {
    std::optional<std::string> value;  // nullopt: absent
    bool dirty = false;
  };
  // Key: the table's number, then the key.
  const std::string& held_key(Table t, std::string_view key) const;
  // The held entry of (t, key), read from the base on first use.
  Entry& load(Table t, std::string_view key) const;
  // Sets a held entry's value (nullopt: deleted) and marks it for the flush.
  void change(Entry& e, std::optional<std::string> value);

  Store& base_;
  mutable std::unordered_map<std::string, Entry> entries_;
  mutable std::size_t dirty_ = 0;
  mutable std::string key_;  // scratch for held_key
};

}  // namespace opsledger
