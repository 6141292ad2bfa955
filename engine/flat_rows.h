// The rows of one big, hot table held in memory by a BatchStore (engine/batch_store.h):
// fixed-size records in one array, found by open addressing. For the tables whose keys
// all have one length and whose values are 8 bytes — the identity indexes (73-byte keys)
// and runs' last touches (8-byte keys) — which every start reads or writes.
//
// A node-based hash map was tried first and lost to LMDB's own B-tree: its nodes, key
// strings and bucket array spread 10,000 rows over megabytes, several cache misses per
// lookup. Here a lookup reads one slot (which carries 32 bits of the key's hash) and one
// record (key, value and flags together).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace opsledger {

class FlatRows {
 public:
  static constexpr std::size_t kValueSize = 8;

  struct Row {
    char value[kValueSize];
    bool present;  // false: the table has no such key (known absent, or deleted)
    bool dirty;    // changed since the last flush
  };

  explicit FlatRows(std::size_t key_size);

  std::size_t key_size() const { return key_size_; }
  std::size_t size() const { return count_; }

  // The row held for `key` (key_size() bytes), or nullptr.
  Row* find(std::string_view key);
  // Holds a new row for `key`, which must not be held yet; the reference stays valid
  // until the next insert or clear.
  Row& insert(std::string_view key, const Row& row);
  // The key of a row returned by find or insert.
  std::string_view key_of(const Row& row) const;

  // Marks a row changed; dirty() lists the changed rows in key order, then clean() resets.
  void mark_dirty(Row& row);
  bool has_dirty() const { return !dirty_.empty(); }
  std::vector<Row*> dirty();
  void clean();

  void clear() noexcept;

 private:
  std::size_t record_of(std::uint32_t index) const { return index * stride_; }
  Row& row_at(std::uint32_t index);
  std::uint64_t hash(std::string_view key) const;
  void grow();

  std::size_t key_size_;
  std::size_t stride_;                 // a record: the key, then a Row (rounded up to 8 bytes)
  std::vector<std::uint64_t> slots_;   // 0 empty; else the hash's high 32 bits, then index + 1
  std::vector<unsigned char> records_;
  std::uint32_t count_ = 0;
  std::vector<std::uint32_t> dirty_;   // indexes of changed rows
};

}  // namespace opsledger
