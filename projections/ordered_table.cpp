#include "projections/ordered_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace opsledger {
namespace {

// Byte order (std::string_view::compare's sign), eight bytes at a time: most keys are
// 8-byte ids or seqs, or a short prefix and one, so most comparisons end in a word or two.
int compare_keys(std::string_view a, std::string_view b) noexcept {
  const char* pa = a.data();
  const char* pb = b.data();
  std::size_t n = std::min(a.size(), b.size());
  for (; n >= 8; n -= 8, pa += 8, pb += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, pa, 8);
    std::memcpy(&y, pb, 8);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little) {
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
      }
      return x < y ? -1 : 1;
    }
  }
  for (; n > 0; --n, ++pa, ++pb) {
    auto x = static_cast<unsigned char>(*pa), y = static_cast<unsigned char>(*pb);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// An entry is its key's size and its value's size as LEB128 varints (a byte below 128, two
// below 16,384: a projection row's key takes one, its value one or two), then the key,
// then the value.
std::size_t varint_bytes(std::size_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

char* put_varint(char* p, std::uint32_t v) {
  for (; v >= 0x80; v >>= 7) *p++ = static_cast<char>(v | 0x80);
  *p++ = static_cast<char>(v);
  return p;
}

const char* get_varint(const char* p, std::uint32_t& v) {
  std::uint32_t b = static_cast<unsigned char>(*p++);
  v = b & 0x7f;
  for (int shift = 7; b >= 0x80; shift += 7) {
    b = static_cast<unsigned char>(*p++);
    v |= (b & 0x7f) << shift;
  }
  return p;
}

struct Entry {
  std::string_view key, value;
  std::size_t bytes;  // header included
};

Entry read_entry(const char* p) {
  std::uint32_t ks, vs;
  const char* k = get_varint(get_varint(p, ks), vs);
  return {{k, ks}, {k + ks, vs}, static_cast<std::size_t>(k - p) + ks + vs};
}

std::size_t entry_size(std::string_view key, std::string_view value) {
  return varint_bytes(key.size()) + varint_bytes(value.size()) + key.size() + value.size();
}

// The shortest fence between two leaves: a key greater than `below` (the last key on the
// left) and no greater than `above` (the first on the right): `above` cut one byte past
// the prefix the two share. Short fences keep the fence tree's keys inline (a std::string
// holds up to 15 bytes without a heap block): a seq-keyed table's fences are 6 or 7 bytes.
std::string separator(std::string_view below, std::string_view above) {
  std::size_t shared = 0;
  while (shared < below.size() && shared < above.size() && below[shared] == above[shared]) ++shared;
  return std::string(above.substr(0, shared + 1));
}

}  // namespace

bool OrderedTable::KeyLess::operator()(std::string_view a, std::string_view b) const noexcept {
  return compare_keys(a, b) < 0;
}

void OrderedTable::BlockPool::Free::operator()(char* p) const { std::free(p); }

namespace {
#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux's value, for C libraries that predate it
#endif
}  // namespace

char* OrderedTable::BlockPool::take() {
  if (!free_.empty()) {
    char* block = free_.back();
    free_.pop_back();
    return block;
  }
  if (carved_ == chunk_blocks_) {
    std::size_t blocks = chunk_blocks_ == 0 ? kFirstChunkBlocks : std::min(2 * chunk_blocks_, kLargestChunkBlocks);
    std::size_t size = blocks * kLeafBytes;
    // A 2 MiB chunk is 2 MiB-aligned, so that a system whose transparent huge pages are
    // "always" on can back it with one; it is not asked for one (no MADV_HUGEPAGE): on the
    // benchmark machine, a virtual machine, a fresh huge page cost more than its 512 small
    // ones (docs/benchmarks-history.md, the fourteenth session).
    constexpr std::size_t kHugePage = kLargestChunkBlocks * kLeafBytes;
    void* p = nullptr;
    if (posix_memalign(&p, size == kHugePage ? kHugePage : kLeafBytes, size) != 0) throw std::bad_alloc();
    std::unique_ptr<char, Free> chunk(static_cast<char*>(p));
    // A 2 MiB chunk is faulted in whole, in one call, rather than a page at a time as its
    // blocks are first written: the kernel zeroes the same pages, without a trap for each
    // (a snapshot's load, which fills a chunk in moments, took 0.86 of the time). Only the
    // largest chunks, so only tables already that large hold the up to 2 MiB not yet used.
    // A kernel without it (before Linux 5.14) refuses the advice and pages fault as before.
    if (size == kHugePage) (void)::madvise(p, size, kPopulateWrite);
    free_.reserve(blocks_ + blocks);
    chunks_.push_back(std::move(chunk));
    blocks_ += blocks;
    chunk_blocks_ = blocks;
    carved_ = 0;
  }
  return chunks_.back().get() + kLeafBytes * carved_++;
}

OrderedTable::Leaf::Leaf(BlockPool& p) : pool(p), data(p.take()), capacity(kLeafBytes) {}

OrderedTable::Leaf::Leaf(const Leaf& o, BlockPool& p) : Leaf(p) {
  if (o.used > capacity) {
    char* heap = new char[o.used];  // before the block goes back: ~Leaf gives back what `data` holds
    pool.give(data);
    data = heap;
    capacity = o.used;
  }
  if (o.used) std::memcpy(data, o.data, o.used);
  used = o.used;
  offsets = o.offsets;
  live = o.live;
}

OrderedTable::Leaf::~Leaf() { release_data(); }

void OrderedTable::Leaf::release_data() noexcept {
  if (capacity == kLeafBytes)
    pool.give(data);
  else
    delete[] data;
}

std::string_view OrderedTable::Leaf::key(std::size_t i) const { return read_entry(data + offsets[i]).key; }

std::string_view OrderedTable::Leaf::value(std::size_t i) const { return read_entry(data + offsets[i]).value; }

std::size_t OrderedTable::Leaf::entry_bytes(std::size_t i) const { return read_entry(data + offsets[i]).bytes; }

std::size_t OrderedTable::Leaf::lower_bound(std::string_view k, bool after) const {
  std::size_t lo = 0, hi = offsets.size();
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    int c = compare_keys(key(mid), k);
    if (c < 0 || (after && c == 0))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

std::uint32_t OrderedTable::Leaf::write(std::string_view k, std::string_view v) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::size_t size = entry_size(k, v);
  if (k.size() > kMax || v.size() > kMax || used + size > kMax)
    throw std::length_error("a projection leaf of 4 GiB or more");
  if (used + size > capacity) {  // a large row, or large rows a split left together
    std::size_t grown = std::min<std::size_t>(std::max<std::size_t>(used + size, 2 * std::size_t{capacity}), kMax);
    char* bigger = new char[grown];
    if (used) std::memcpy(bigger, data, used);
    release_data();
    data = bigger;
    capacity = static_cast<std::uint32_t>(grown);
  }
  std::uint32_t offset = used;
  char* p = put_varint(data + used, static_cast<std::uint32_t>(k.size()));
  p = put_varint(p, static_cast<std::uint32_t>(v.size()));
  if (!k.empty()) std::memcpy(p, k.data(), k.size());
  if (!v.empty()) std::memcpy(p + k.size(), v.data(), v.size());
  used += static_cast<std::uint32_t>(size);
  live += size;
  return offset;
}

void OrderedTable::Leaf::insert(std::size_t at, std::string_view k, std::string_view v) {
  std::uint32_t offset = write(k, v);
  offsets.insert(offsets.begin() + static_cast<std::ptrdiff_t>(at), offset);
}

void OrderedTable::Leaf::remove(std::size_t at) {
  live -= entry_bytes(at);
  offsets.erase(offsets.begin() + static_cast<std::ptrdiff_t>(at));
}

void OrderedTable::Leaf::keep_only(std::size_t from, std::size_t to, std::string& scratch) {
  // Everything that can throw comes before the first change.
  scratch.clear();
  scratch.reserve(used);
  char* block = nullptr;
  if (capacity > kLeafBytes && entries_bytes(from, to) <= kLeafBytes) block = pool.take();  // back from the heap
  for (std::size_t i = from; i < to; ++i) {
    std::size_t size = entry_bytes(i);
    std::uint32_t offset = offsets[i];
    offsets[i - from] = static_cast<std::uint32_t>(scratch.size());  // i - from <= i: read before written
    scratch.append(data + offset, size);
  }
  offsets.resize(to - from);
  if (block) {
    release_data();
    data = block;
    capacity = kLeafBytes;
  }
  if (!scratch.empty()) std::memcpy(data, scratch.data(), scratch.size());  // never more than `capacity`
  used = static_cast<std::uint32_t>(scratch.size());
  live = scratch.size();
}

void OrderedTable::Leaf::move_tail(std::size_t from, Leaf& into) {
  into.offsets.reserve(into.count() + count() - from);
  for (std::size_t i = from; i < count(); ++i) {
    live -= entry_bytes(i);
    into.offsets.push_back(into.write(key(i), value(i)));
  }
  offsets.resize(from);
}

void OrderedTable::Leaf::take_tail_of(const Leaf& o, std::size_t from, std::size_t bytes, std::string& scratch) {
  if (used + bytes > capacity) keep_only(0, count(), scratch);
  offsets.insert(offsets.begin(), o.count() - from, 0);
  for (std::size_t i = from; i < o.count(); ++i) offsets[i - from] = write(o.key(i), o.value(i));
}

std::size_t OrderedTable::Leaf::entries_bytes(std::size_t from, std::size_t to) const {
  std::size_t bytes = 0;
  for (std::size_t i = from; i < to; ++i) bytes += entry_bytes(i);
  return bytes;
}

OrderedTable::OrderedTable(const OrderedTable& o) : size_(o.size_) {
  if (o.leaves_.empty()) return;
  pool_ = std::make_unique<BlockPool>();
  for (const auto& [fence, leaf] : o.leaves_)
    leaves_.emplace_hint(leaves_.end(), fence, std::make_unique<Leaf>(*leaf, *pool_));
}

OrderedTable::OrderedTable(OrderedTable&& o) noexcept
    : pool_(std::move(o.pool_)), leaves_(std::move(o.leaves_)), size_(std::exchange(o.size_, 0)) {
  o.leaves_.clear();
  ++o.changes_;  // what the source found last is ours now
  ++o.erasures_;
}

// The leaves go before the pool their blocks belong to.
OrderedTable& OrderedTable::operator=(OrderedTable&& o) noexcept {
  if (this != &o) {
    leaves_.clear();
    pool_ = std::move(o.pool_);
    leaves_ = std::move(o.leaves_);
    o.leaves_.clear();
    size_ = std::exchange(o.size_, 0);
    ++changes_;
    ++o.changes_;
    ++erasures_;
    ++o.erasures_;
  }
  return *this;
}

OrderedTable& OrderedTable::operator=(const OrderedTable& o) {
  if (this != &o) *this = OrderedTable(o);
  return *this;
}

OrderedTable::Leaves::const_iterator OrderedTable::leaf_for(std::string_view k) const {
  return std::prev(leaves_.upper_bound(k));  // the first fence is "", which no key precedes
}

OrderedTable::Leaves::iterator OrderedTable::leaf_for(std::string_view k) {
  return std::prev(leaves_.upper_bound(k));
}

OrderedTable::Leaves::const_iterator OrderedTable::locate(std::string_view k) const {
  if (hint_.erasures == erasures_) {
    auto it = hint_.leaf;
    if (!KeyLess{}(k, it->first)) {
      auto next = std::next(it);
      if (next == leaves_.end() || KeyLess{}(k, next->first)) return it;
    }
  }
  auto it = leaf_for(k);
  hint_ = {erasures_, it};
  return it;
}

std::optional<std::string_view> OrderedTable::find(std::string_view k) const {
  if (leaves_.empty()) return std::nullopt;
  auto it = locate(k);
  const Leaf& leaf = *it->second;
  std::size_t at = leaf.lower_bound(k);
  if (at == leaf.count() || leaf.key(at) != k) return std::nullopt;
  found_.changes = changes_;
  found_.leaf = it;
  found_.index = at;
  found_.key.assign(k);
  return leaf.value(at);
}

std::pair<OrderedTable::Leaves::iterator, std::size_t> OrderedTable::make_room(Leaves::iterator it, std::size_t at,
                                                                                 std::string_view k,
                                                                                 std::size_t bytes) {
  Leaf& leaf = *it->second;
  std::size_t n = leaf.count();
  std::size_t garbage = leaf.used - leaf.live;
  // Compacting comes first when it makes room: it costs a copy of one leaf, as a split
  // does, and leaves no half-empty leaf behind. So that it costs a leaf's copy per 256
  // bytes rewritten at most (a row rewritten in turns one byte longer and shorter in a
  // full leaf would otherwise cost a copy per put), it must reclaim a sixteenth of the
  // leaf or leave a sixteenth free. A leaf with no rows is only garbage, and a row too
  // large for any leaf goes into an empty one alone.
  constexpr std::size_t kSixteenth = kLeafBytes / 16;
  bool fits = leaf.live + bytes <= kLeafBytes;
  if (n == 0 || (fits && (garbage >= kSixteenth || leaf.live + bytes + kSixteenth <= kLeafBytes))) {
    leaf.keep_only(0, n, scratch_);
    return {it, at};
  }
  auto fresh = [&] { return std::make_unique<Leaf>(*pool_); };
  bool last = std::next(it) == leaves_.end();
  if (at == n && last) {
    // After every key of the table: a new leaf of its own, so a table written in key order
    // fills its leaves. The full one's offsets will not grow again for a while: their
    // spare capacity goes back.
    leaf.offsets.shrink_to_fit();
    auto next = leaves_.emplace_hint(leaves_.end(), separator(leaf.key(n - 1), k), fresh());
    return {next, 0};
  }
  if (auto lent = lend_rows(it, at, k, bytes)) return *lent;
  if (at == n) {
    // After every key of the leaf, before the next fence, and no neighbour has room: a new
    // leaf for this gap, which keys written in order into it fill.
    auto next = leaves_.emplace_hint(std::next(it), separator(leaf.key(n - 1), k), fresh());
    return {next, 0};
  }
  // Split in the middle: [0, mid) stay, [mid, n) move to a new leaf fenced between key(mid
  // - 1) and key(mid) (a leaf of one row keeps nothing; the right one is fenced by its
  // key). The new key sorts before key(at): with at < mid it sorts below the fence, with
  // at > mid above it, and with at == mid the fence decides — the left half's end or the
  // right half's start. The left half is compacted before it takes the row (its buffer
  // still holds the moved rows).
  std::size_t mid = n / 2;
  std::string fence = mid == 0 ? std::string(leaf.key(0)) : separator(leaf.key(mid - 1), leaf.key(mid));
  bool goes_right = at > mid || (at == mid && std::string_view(fence) <= k);
  auto right_leaf = fresh();
  leaf.move_tail(mid, *right_leaf);
  auto right = leaves_.emplace_hint(std::next(it), std::move(fence), std::move(right_leaf));
  if (goes_right) return {right, at - mid};
  leaf.keep_only(0, mid, scratch_);
  return {it, at};
}

// Rows written in key order and then rewritten larger — a run's record as the run goes
// from queued to running to an outcome — fill a leaf by appends and then overflow it. A
// split there leaves two half-empty leaves that the rows, soon final, never fill again
// (the runs table's rows filled about half of its buffers), so the full leaf first lends rows to a
// neighbour. Its first rows go to the leaf before, which holds older rows, done growing
// in that pattern: as many as fit there. Else its last rows go to the leaf after, which
// holds newer rows, still growing: while it stays under 15/16 full and holds no more than
// the full leaf keeps. The rows are taken in the order they will have with the new row
// among them (at `at`), so the new row may go to the neighbour too; the full leaf keeps
// one row at least, and the fence between the two moves.
std::optional<std::pair<OrderedTable::Leaves::iterator, std::size_t>> OrderedTable::lend_rows(Leaves::iterator it,
                                                                                            std::size_t at,
                                                                                            std::string_view k,
                                                                                            std::size_t bytes) {
  Leaf& leaf = *it->second;
  std::size_t n = leaf.count();
  // The leaf's rows with the new one at `at`: n + 1 of them.
  auto key_of = [&](std::size_t j) { return j < at ? leaf.key(j) : j == at ? k : leaf.key(j - 1); };
  auto bytes_of = [&](std::size_t j) {
    return j < at ? leaf.entry_bytes(j) : j == at ? bytes : leaf.entry_bytes(j - 1);
  };
  std::size_t total = leaf.live + bytes;
  if (it != leaves_.begin()) {
    auto prev = std::prev(it);
    Leaf& before = *prev->second;
    std::size_t given = before.live, kept = total, s = 0;  // rows [0, s) go before
    for (; s < n; ++s) {
      std::size_t e = bytes_of(s);
      if (given + e > kLeafBytes) break;
      given += e;
      kept -= e;
    }
    if (s > 0 && kept <= kLeafBytes) {
      std::string fence = separator(key_of(s - 1), key_of(s));
      if (before.used + (given - before.live) > before.capacity) before.keep_only(0, before.count(), scratch_);
      std::size_t rows = s > at ? s - 1 : s;  // of the leaf's own
      std::size_t new_at = before.count() + at;
      before.offsets.reserve(before.count() + rows + 1);  // (the new row may go there too)
      for (std::size_t i = 0; i < rows; ++i) before.offsets.push_back(before.write(leaf.key(i), leaf.value(i)));
      leaf.keep_only(rows, n, scratch_);
      auto moved = refence(it, std::move(fence));
      if (s > at) return std::pair{prev, new_at};
      return std::pair{moved, at - s};
    }
  }
  auto next = std::next(it);
  if (next != leaves_.end()) {
    Leaf& after = *next->second;
    constexpr std::size_t kNeighbourBytes = kLeafBytes * 15 / 16;
    std::size_t given = after.live, kept = total, s = n + 1;  // rows [s, n] go after
    for (; s > 1; --s) {
      std::size_t e = bytes_of(s - 1);
      if (given + e > kNeighbourBytes || given + e > kept - e) break;
      given += e;
      kept -= e;
    }
    if (s <= n && kept <= kLeafBytes) {
      std::string fence = separator(key_of(s - 1), key_of(s));
      std::size_t from = s > at ? s - 1 : s;  // the leaf's own rows [from, n) go
      after.take_tail_of(leaf, from, given - after.live, scratch_);
      leaf.keep_only(0, from, scratch_);
      auto moved = refence(next, std::move(fence));
      if (s <= at) return std::pair{moved, at - s};
      return std::pair{it, at};
    }
  }
  return std::nullopt;
}

OrderedTable::Leaves::iterator OrderedTable::refence(Leaves::iterator it, std::string fence) {
  auto hint = std::next(it);
  ++erasures_;
  auto node = leaves_.extract(it);
  node.key() = std::move(fence);
  return leaves_.insert(hint, std::move(node));
}

void OrderedTable::put(std::string_view k, std::string_view v) {
  Leaves::iterator it;
  std::size_t at;
  bool present;
  if (found_.changes == changes_ && found_.key == k) {
    // The row find() just found, unchanged since: a read-modify-write needs no search.
    it = mutable_leaf(found_.leaf);
    at = found_.index;
    present = true;
  } else {
    if (leaves_.empty()) {
      if (!pool_) pool_ = std::make_unique<BlockPool>();
      leaves_.emplace(std::string(), std::make_unique<Leaf>(*pool_));
    }
    // Most tables that grow, grow at their end: try the last leaf first.
    it = std::prev(leaves_.end());
    const Leaf& last = *it->second;
    if (last.count() > 0 && compare_keys(last.key(last.count() - 1), k) < 0) {
      at = last.count();
      present = false;
    } else {
      it = mutable_leaf(locate(k));
      at = it->second->lower_bound(k);
      present = at < it->second->count() && it->second->key(at) == k;
    }
  }
  ++changes_;
  if (present) {
    Leaf& leaf = *it->second;
    std::string_view old = leaf.value(at);
    if (old.size() == v.size()) {
      if (!v.empty()) std::memmove(const_cast<char*>(old.data()), v.data(), v.size());
      return;
    }
    // Another size: the old entry becomes garbage and the row is inserted again.
    leaf.remove(at);
    --size_;
  }
  std::size_t bytes = entry_size(k, v);
  if (it->second->used + bytes > kLeafBytes) std::tie(it, at) = make_room(it, at, k, bytes);
  it->second->insert(at, k, v);
  ++size_;
}

bool OrderedTable::append(std::string_view k, std::string_view v) {
  if (size_ > 0) {
    Leaf& last = *std::prev(leaves_.end())->second;  // never empty while the table is not
    if (compare_keys(last.key(last.count() - 1), k) >= 0) return false;
    // Room in the last leaf: what put would do, without its searches (a snapshot's load
    // appends every row of the state this way).
    std::size_t bytes = entry_size(k, v);
    if (last.used + bytes <= kLeafBytes) {
      ++changes_;
      last.insert(last.count(), k, v);
      ++size_;
      return true;
    }
  }
  put(k, v);
  return true;
}

bool OrderedTable::erase(std::string_view k) {
  if (leaves_.empty()) return false;
  auto it = mutable_leaf(locate(k));
  Leaf& leaf = *it->second;
  std::size_t at = leaf.lower_bound(k);
  if (at == leaf.count() || leaf.key(at) != k) return false;
  ++changes_;
  leaf.remove(at);
  --size_;
  after_removal(it);
  return true;
}

// Drops a leaf left empty (the first stays: its fence is ""), and merges a leaf under a
// quarter full with the next when the two fit in three quarters of one.
void OrderedTable::after_removal(Leaves::iterator it) {
  Leaf& leaf = *it->second;
  if (leaf.count() == 0 && it != leaves_.begin()) {
    ++erasures_;
    leaves_.erase(it);
    return;
  }
  if (leaf.live * 4 >= kLeafBytes) return;
  auto next = std::next(it);
  if (next == leaves_.end() || (leaf.live + next->second->live) * 4 > kLeafBytes * 3) return;
  leaf.keep_only(0, leaf.count(), scratch_);
  next->second->move_tail(0, leaf);
  ++erasures_;
  leaves_.erase(next);
}

void OrderedTable::clear() {
  ++changes_;
  ++erasures_;
  leaves_.clear();
  pool_.reset();  // the memory goes back to the heap
  size_ = 0;
}

std::string OrderedTable::layout_fault() const {
  std::size_t rows = 0;
  for (auto it = leaves_.begin(); it != leaves_.end(); ++it) {
    const Leaf& leaf = *it->second;
    std::string_view fence = it->first;
    auto next = std::next(it);
    if (it == leaves_.begin() && !fence.empty()) return "the first fence is not empty";
    if (next != leaves_.end() && !(fence < std::string_view(next->first))) return "fences out of order";
    if (leaf.count() == 0 && it != leaves_.begin()) return "an empty leaf after the first";
    std::size_t live = 0;
    for (std::size_t i = 0; i < leaf.count(); ++i) {
      live += leaf.entry_bytes(i);
      if (leaf.offsets[i] + leaf.entry_bytes(i) > leaf.used) return "an entry past the used bytes";
      if (i > 0 && !(leaf.key(i - 1) < leaf.key(i))) return "keys out of order in a leaf";
    }
    if (live != leaf.live) return "live bytes miscounted";
    if (leaf.used > leaf.capacity) return "used past capacity";
    if (leaf.count() > 0) {
      if (leaf.key(0) < fence) return "a key below its leaf's fence";
      if (next != leaves_.end() && !(leaf.key(leaf.count() - 1) < std::string_view(next->first)))
        return "a key at or above the next fence";
    }
    rows += leaf.count();
  }
  if (rows != size_) return "size miscounted";
  return {};
}

OrderedTable::Footprint OrderedTable::footprint() const {
  Footprint f;
  f.rows = size_;
  f.leaves = leaves_.size();
  for (const auto& [fence, leaf] : leaves_) {
    for (std::size_t i = 0; i < leaf->count(); ++i) f.row_bytes += leaf->key(i).size() + leaf->value(i).size();
    f.entry_bytes += leaf->live;
    f.buffer_bytes += leaf->capacity;
    f.offset_bytes += leaf->offsets.capacity() * sizeof(std::uint32_t);
  }
  return f;
}

bool OrderedTable::operator==(const OrderedTable& o) const {
  if (size_ != o.size_) return false;
  auto a = leaves_.begin(), b = o.leaves_.begin();
  std::size_t i = 0, j = 0;
  for (std::size_t row = 0; row < size_; ++row) {
    while (i == a->second->count()) {
      ++a;
      i = 0;
    }
    while (j == b->second->count()) {
      ++b;
      j = 0;
    }
    if (a->second->key(i) != b->second->key(j) || a->second->value(i) != b->second->value(j)) return false;
    ++i;
    ++j;
  }
  return true;
}

}  // namespace opsledger
