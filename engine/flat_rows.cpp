#include "engine/flat_rows.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace opsledger {

namespace {
constexpr std::size_t kSlotsInitial = 1024;  // a power of two
}  // namespace

FlatRows::FlatRows(std::size_t key_size)
    : key_size_(key_size), stride_((key_size + sizeof(Row) + 7) / 8 * 8), slots_(kSlotsInitial, 0) {}

std::uint64_t FlatRows::hash(std::string_view key) const { return std::hash<std::string_view>{}(key); }

FlatRows::Row& FlatRows::row_at(std::uint32_t index) {
  return *reinterpret_cast<Row*>(records_.data() + record_of(index) + key_size_);
}

std::string_view FlatRows::key_of(const Row& row) const {
  return {reinterpret_cast<const char*>(&row) - key_size_, key_size_};
}

FlatRows::Row* FlatRows::find(std::string_view key) {
  std::uint64_t h = hash(key);
  std::uint64_t tag = h >> 32;
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    std::uint64_t slot = slots_[i];
    if (slot == 0) return nullptr;
    if ((slot >> 32) != tag) continue;
    auto index = static_cast<std::uint32_t>(slot) - 1;
    if (std::memcmp(records_.data() + record_of(index), key.data(), key_size_) == 0) return &row_at(index);
  }
}

FlatRows::Row& FlatRows::insert(std::string_view key, const Row& row) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  std::uint32_t index = count_;
  records_.resize(record_of(index + 1));
  std::memcpy(records_.data() + record_of(index), key.data(), key_size_);
  std::memcpy(records_.data() + record_of(index) + key_size_, &row, sizeof row);
  ++count_;
  std::uint64_t h = hash(key);
  std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = ((h >> 32) << 32) | (index + 1);
  return row_at(index);
}

void FlatRows::grow() {
  std::vector<std::uint64_t> slots(slots_.size() * 2, 0);
  std::size_t mask = slots.size() - 1;
  for (std::uint32_t index = 0; index < count_; ++index) {
    std::uint64_t h = hash({reinterpret_cast<const char*>(records_.data()) + record_of(index), key_size_});
    std::size_t i = h & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = ((h >> 32) << 32) | (index + 1);
  }
  slots_ = std::move(slots);
}

void FlatRows::mark_dirty(Row& row) {
  if (row.dirty) return;
  row.dirty = true;
  auto offset = static_cast<std::size_t>(reinterpret_cast<unsigned char*>(&row) - records_.data()) - key_size_;
  dirty_.push_back(static_cast<std::uint32_t>(offset / stride_));
}

std::vector<FlatRows::Row*> FlatRows::dirty() {
  std::sort(dirty_.begin(), dirty_.end(), [&](std::uint32_t a, std::uint32_t b) {
    return std::memcmp(records_.data() + record_of(a), records_.data() + record_of(b), key_size_) < 0;
  });
  std::vector<Row*> rows;
  rows.reserve(dirty_.size());
  for (std::uint32_t index : dirty_) rows.push_back(&row_at(index));
  return rows;
}

void FlatRows::clean() {
  for (std::uint32_t index : dirty_) row_at(index).dirty = false;
  dirty_.clear();
}

void FlatRows::clear() noexcept {
  // A big slot array is not kept: an engine that forgets often (another process writes
  // between its batches) would otherwise zero megabytes each time.
  bool shrunk = false;
  if (slots_.size() > kSlotsInitial) {
    try {
      std::vector<std::uint64_t> small(kSlotsInitial, 0);
      slots_.swap(small);
      shrunk = true;
    } catch (const std::bad_alloc&) {
    }
  }
  if (!shrunk) std::fill(slots_.begin(), slots_.end(), 0);
  records_.clear();
  count_ = 0;
  dirty_.clear();
}

}  // namespace opsledger
