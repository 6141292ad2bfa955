// One projection table in memory: an ordered map from byte strings to byte strings, kept
// compact for replays of long logs.
//
// Rows live packed in leaves of about kLeafBytes, each leaf one byte buffer of entries
// (key size and value size as LEB128 varints — three bytes in all for nearly every row —
// then key and value; never persisted) and one array of u32 entry offsets in key order. A
// red-black tree maps each leaf's fence — a key no greater than any key the leaf holds and
// greater than every key of the leaf before it; the first leaf's fence is "" — to the leaf.
// A lookup first tries the leaf of the table's last lookup, else searches that tree, about a
// hundredth the size of a tree of rows; then it does a binary search in one leaf.
//
// A row costs its key and value plus about 7 bytes (a std::map<std::string, std::string>
// node costs ~100 bytes and up to two heap blocks more). Appending at the end of the table
// (keys that start with a seq or a new id) starts a new leaf when the last one is full, so
// such tables fill their leaves. A rewritten value of another size is appended to its
// leaf's buffer and the old bytes become garbage. A leaf out of room is compacted when
// that makes room, else lends rows to a neighbour with room (make_room, lend_rows), else
// splits in two. Leaves that fall under a quarter full are merged with the next when both
// fit in three quarters of one; empty leaves are dropped.
//
// Leaf buffers are blocks of kLeafBytes carved from chunks of a table's own pool and reused
// when a leaf goes (a buffer grows past kLeafBytes only for a row larger than a leaf, and
// then comes from the heap): glibc's malloc spent a quarter of a snapshot load in
// allocating them one by one. Chunks double from 64 KiB to 2 MiB; a 2 MiB chunk is
// 2 MiB-aligned but not advised into a transparent huge page: the system's own policy
// decides (on the benchmark machine, a virtual machine, a fresh huge page cost more to
// fault in than 512 small pages, and advising them made a snapshot load slower). It is
// faulted in whole when carved (MADV_POPULATE_WRITE), not a page per first write.
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
  // A moved-from table is empty and ready for use.
  OrderedTable(OrderedTable&& o) noexcept;
  OrderedTable& operator=(OrderedTable&& o) noexcept;
  OrderedTable(const OrderedTable& o);
  OrderedTable& operator=(const OrderedTable& o);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value of `key`, valid until the table next changes. Not for concurrent readers:
  // it records where it found the key (for a put that follows).
  std::optional<std::string_view> find(std::string_view key) const;
  // Inserts or replaces. Keys and values must each be under 4 GiB, and must not view this
  // table's own bytes (a leaf may move before they are copied; MemoryStore only ever
  // passes copies). A put that throws (out of memory, a row of 4 GiB) may leave the table
  // unsound — the row it was replacing lost, rows it was moving between leaves held twice:
  // callers drop a table after an exception, as every replay does.
  void put(std::string_view key, std::string_view value);
  // Inserts `key`, which must be greater than every key held; false (nothing changed)
  // when it is not. Written straight into the last leaf when it fits there.
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

  // Where the leaves' memory goes, for the benchmarks' breakdown (docs/benchmarks.md):
  // not counted are the pool's free and uncarved blocks, the fence tree's nodes and fences.
  struct Footprint {
    std::size_t rows = 0;
    std::size_t row_bytes = 0;     // keys and values
    std::size_t entry_bytes = 0;   // the live entries, their size headers included
    std::size_t buffer_bytes = 0;  // the leaves' buffers: entries, garbage and free room
    std::size_t offset_bytes = 0;  // the leaves' offset arrays, as allocated
    std::size_t leaves = 0;
  };
  Footprint footprint() const;

  // For tests: "" when the layout holds — fences ascending, the first "", each leaf's keys
  // ascending, at or above its fence and below the next, no empty leaf but the first, the
  // counts of rows and live bytes right — else what is wrong.
  std::string layout_fault() const;

 private:
  // Blocks of kLeafBytes, carved from chunks; a block given back is taken again first.
  // Room for every block on the free list is reserved as chunks are carved, so give()
  // never allocates (it runs in destructors).
  class BlockPool {
   public:
    char* take();
    void give(char* block) noexcept { free_.push_back(block); }

   private:
    struct Free {
      void operator()(char* p) const;
    };
    static constexpr std::size_t kFirstChunkBlocks = 16;   // 64 KiB
    static constexpr std::size_t kLargestChunkBlocks = 512;  // 2 MiB
    std::vector<std::unique_ptr<char, Free>> chunks_;
    std::vector<char*> free_;
    std::size_t chunk_blocks_ = 0;  // of the last chunk
    std::size_t carved_ = 0;        // blocks of the last chunk handed out
    std::size_t blocks_ = 0;        // in all chunks
  };

  struct Leaf {
    explicit Leaf(BlockPool& pool);
    Leaf(const Leaf& o, BlockPool& pool);  // a copy whose buffer comes from `pool`
    ~Leaf();
    Leaf(const Leaf&) = delete;
    Leaf& operator=(const Leaf&) = delete;

    BlockPool& pool;
    char* data;                  // the buffer: a pool block, or a heap block when capacity > kLeafBytes
    std::uint32_t used = 0;      // bytes of `data` written, garbage included
    std::uint32_t capacity = 0;  // of `data`
    std::vector<std::uint32_t> offsets;  // of entries in `data`, in key order
    std::size_t live = 0;                // bytes of the entries `offsets` names

    std::size_t count() const { return offsets.size(); }
    std::string_view key(std::size_t i) const;
    std::string_view value(std::size_t i) const;
    std::size_t entry_bytes(std::size_t i) const;
    // The first index whose key is >= key (or > key when `after`).
    std::size_t lower_bound(std::string_view key, bool after = false) const;
    // Appends an entry to `data` (growing it past a block for a row larger than a leaf);
    // returns its offset.
    std::uint32_t write(std::string_view key, std::string_view value);
    void insert(std::size_t at, std::string_view key, std::string_view value);
    // Drops entry `at` from the order; its bytes become garbage.
    void remove(std::size_t at);
    // Frees `data`: back to the pool when it is a block, else to the heap.
    void release_data() noexcept;
    // Rewrites `data` with only the entries [from, to), in order, through `scratch`
    // (no allocation once it has grown to a leaf's size).
    void keep_only(std::size_t from, std::size_t to, std::string& scratch);
    // Moves the entries [from, count()) into `into` (appended there, in order); their
    // bytes here become garbage.
    void move_tail(std::size_t from, Leaf& into);
    // Copies the entries [from, count()) of `o`, whose keys all sort before this leaf's,
    // in front of this leaf's entries; compacts first when `bytes` (those entries' and any
    // to be inserted after) do not fit after `used`.
    void take_tail_of(const Leaf& o, std::size_t from, std::size_t bytes, std::string& scratch);
    // The bytes of the entries [from, to).
    std::size_t entries_bytes(std::size_t from, std::size_t to) const;
  };
  // Byte order, as std::less<> on strings, compared eight bytes at a time inline (a fence
  // search compares a key with about twenty fences; glibc's memcmp behind a call was a
  // fifth of a replay's applying thread).
  struct KeyLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept;
  };
  using Leaves = std::map<std::string, std::unique_ptr<Leaf>, KeyLess>;

  // The leaf that holds `key` or would hold it; `leaves_` must not be empty.
  Leaves::const_iterator leaf_for(std::string_view key) const;
  Leaves::iterator leaf_for(std::string_view key);
  // leaf_for through `hint_`: the leaf of the last lookup is tried first (for find, put
  // and erase, which a table's user never calls concurrently; walk does not use it).
  Leaves::const_iterator locate(std::string_view key) const;
  // The same leaf as an iterator that may change it (an empty erase: no leaf is removed).
  Leaves::iterator mutable_leaf(Leaves::const_iterator it) { return leaves_.erase(it, it); }
  // Makes room for an entry of `bytes` to be inserted at index `at` of `it`'s leaf, which
  // is full: compacts it, lends rows to a neighbour, starts a new leaf or splits it;
  // returns the leaf and index to insert at, which has room for the entry.
  std::pair<Leaves::iterator, std::size_t> make_room(Leaves::iterator it, std::size_t at, std::string_view key,
                                                     std::size_t bytes);
  // make_room's resort after compacting: moves rows from the full leaf to a neighbour
  // that can take them (the leaf before up to full, the leaf after up to 15/16) when that
  // leaves room for the entry; nullopt, with nothing changed, when neither can.
  std::optional<std::pair<Leaves::iterator, std::size_t>> lend_rows(Leaves::iterator it, std::size_t at,
                                                                    std::string_view key, std::size_t bytes);
  // Gives `it`'s leaf a new fence; returns its new iterator.
  Leaves::iterator refence(Leaves::iterator it, std::string fence);
  void after_removal(Leaves::iterator it);

  // Declared before the leaves, which give their blocks back when destroyed; held by pointer
  // so that it stays put when the table moves. Null until the first put.
  std::unique_ptr<BlockPool> pool_;
  Leaves leaves_;
  std::size_t size_ = 0;
  std::uint64_t changes_ = 0;  // lets a walk notice that its visitor changed the table
  std::string scratch_;        // for compacting a leaf
  // The row find() found last, valid while `changes` equals changes_: a put of the same
  // key right after (a read-modify-write — a touch chain's head, a run's record, a
  // counter) goes straight to it.
  struct Found {
    std::uint64_t changes = ~std::uint64_t{0};
    Leaves::const_iterator leaf;
    std::size_t index = 0;
    std::string key;
  };
  mutable Found found_;
  // The leaf locate() found last, valid while `erasures` equals erasures_, which counts
  // every removal of a leaf from `leaves_` (an erase, a refence's extract, a clear, a
  // move): an iterator to a leaf still in the map stays valid, and locate() checks the
  // key against the leaf's fence and the next one, so a leaf whose range has changed since
  // is only a miss.
  struct Hint {
    std::uint64_t erasures = ~std::uint64_t{0};
    Leaves::const_iterator leaf;
  };
  mutable Hint hint_;
  std::uint64_t erasures_ = 0;
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
