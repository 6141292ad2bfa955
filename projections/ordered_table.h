// One projection table in memory: an ordered map from byte strings to byte strings, kept
// compact for replays of long logs.
//
// Rows live packed in leaves of about kLeafBytes, each leaf one byte buffer of entries
// (u32 key size, u32 value size, key, value; unaligned, native order — never persisted)
// and one array of entry offsets in key order. A red-black tree maps each leaf's fence —
// a key no greater than any key the leaf holds and greater than every key of the leaf
// before it; the first leaf's fence is "" — to the leaf. A lookup is a search of that
// tree, about a hundredth the size of a tree of rows, then a binary search in one leaf.
//
// A row costs its key and value plus 12 bytes (a std::map<std::string, std::string> node
// costs ~100 bytes and up to two heap blocks more). Appending at the end of the table
// (keys that start with a seq or a new id) starts a new leaf when the last one is full, so
// such tables fill their leaves; elsewhere a full leaf splits in two. A rewritten value
// of another size is appended to its leaf's buffer and the old bytes become garbage,
// reclaimed when the leaf is compacted (garbage over half the buffer) or split. Leaves
// that fall under a quarter full are merged with the next when both fit in one; empty
// leaves are dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opsledger {

class OrderedTable {
 public:
  static constexpr std::size_t kLeafBytes = 4096;

  OrderedTable() = default;
  OrderedTable(OrderedTable&&) noexcept = default;
  OrderedTable& operator=(OrderedTable&&) noexcept = default;
  OrderedTable(const OrderedTable& o);
  OrderedTable& operator=(const OrderedTable& o);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value of `key`, valid until the table next changes.
  std::optional<std::string_view> find(std::string_view key) const;
  // Inserts or replaces. Keys and values must each be under 4 GiB.
  void put(std::string_view key, std::string_view value);
  // Inserts `key`, which must be greater than every key held; false (nothing changed)
  // when it is not.
  bool append(std::string_view key, std::string_view value);
  // False when absent.
  bool erase(std::string_view key);
  void clear();

  // Visits every row with a key >= `from`, in key order, until `visit` returns false.
  // `visit` gets copies and may change the table: the walk goes on from the first key
  // greater than the one just visited.
  template <class Visit>
  void walk(std::string_view from, Visit&& visit) const;
  // Visits every row in key order with views into the table; `visit` must not change it.
  template <class Visit>
  void for_each(Visit&& visit) const;

  bool operator==(const OrderedTable& o) const;

 private:
  struct Leaf {
    std::vector<std::uint32_t> offsets;  // of entries in `bytes`, in key order
    std::string bytes;
    std::size_t live = 0;  // bytes of the entries `offsets` names

    std::size_t count() const { return offsets.size(); }
    std::string_view key(std::size_t i) const;
    std::string_view value(std::size_t i) const;
    std::size_t entry_bytes(std::size_t i) const;
    // The first index whose key is >= key (or > key when `after`).
    std::size_t lower_bound(std::string_view key, bool after = false) const;
    // Appends an entry to `bytes`; returns its offset.
    std::uint32_t write(std::string_view key, std::string_view value);
    void insert(std::size_t at, std::string_view key, std::string_view value);
    // Rewrites `bytes` with only the entries [from, to), in order, through `scratch`
    // (no allocation once both have grown to a leaf's size).
    void keep_only(std::size_t from, std::size_t to, std::string& scratch);
    // Moves the entries [from, count()) into `into` (appended there, in order); their
    // bytes here become garbage.
    void move_tail(std::size_t from, Leaf& into);
  };
  using Leaves = std::map<std::string, std::unique_ptr<Leaf>, std::less<>>;

  // The leaf that holds `key` or would hold it; `leaves_` must not be empty.
  Leaves::const_iterator leaf_for(std::string_view key) const;
  Leaves::iterator leaf_for(std::string_view key);
  // Makes room for an entry of `bytes` to be inserted at index `at` of `it`'s leaf, which
  // is full: compacts it, or splits it; returns the leaf and index to insert at.
  std::pair<Leaves::iterator, std::size_t> make_room(Leaves::iterator it, std::size_t at, std::string_view key,
                                                     std::size_t bytes);
  void after_removal(Leaves::iterator it);

  Leaves leaves_;
  std::size_t size_ = 0;
  std::uint64_t changes_ = 0;  // lets a walk notice that its visitor changed the table
  std::string scratch_;        // for compacting a leaf
};

template <class Visit>
void OrderedTable::walk(std::string_view from, Visit&& visit) const {
  if (leaves_.empty()) return;
  auto it = leaf_for(from);
  std::size_t i = it->second->lower_bound(from);
  std::string k, v;
  for (;;) {
    if (i >= it->second->count()) {
      if (++it == leaves_.end()) return;
      i = 0;
      continue;
    }
    k.assign(it->second->key(i));
    v.assign(it->second->value(i));
    std::uint64_t before = changes_;
    if (!visit(std::string_view(k), std::string_view(v))) return;
    if (changes_ == before) {
      ++i;
    } else {
      if (leaves_.empty()) return;
      it = leaf_for(k);
      i = it->second->lower_bound(k, true);
    }
  }
}

template <class Visit>
void OrderedTable::for_each(Visit&& visit) const {
  for (const auto& [fence, leaf] : leaves_)
    for (std::size_t i = 0; i < leaf->count(); ++i) visit(leaf->key(i), leaf->value(i));
}

}  // namespace opsledger
