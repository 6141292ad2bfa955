#include "engine/batch_store.h"

#include <algorithm>
#include <cstring>

#include "projections/records.h"

namespace opsledger {

// LMDB takes keys of 1 to 511 bytes (its default MDB_MAXKEYSIZE). Other keys are never
// held, so that LMDB refuses them inside the command that used them, not at the flush.
constexpr std::size_t kLmdbKeyMax = 511;

// The flat tables' key sizes are their keys' own (projections/records.h); keys of another
// size are held the ordinary way.
BatchStore::BatchStore() {
  flat_[static_cast<std::size_t>(Table::active_identity)] = std::make_unique<FlatRows>(kIdentityKeySize);
  flat_[static_cast<std::size_t>(Table::strict_identity)] = std::make_unique<FlatRows>(kIdentityKeySize);
  flat_[static_cast<std::size_t>(Table::run_last_touch)] = std::make_unique<FlatRows>(kIdKeySize);
}

BatchStore::BatchStore(Store& base) : BatchStore() { base_ = &base; }

bool BatchStore::held(Table t, std::string_view key) {
  return !key.empty() && key.size() <= kLmdbKeyMax && held_table(t);
}

bool BatchStore::held_table(Table t) {
  switch (t) {
    case Table::meta:
    case Table::workspaces:
    case Table::tenants:
    case Table::memberships:
    case Table::connections:
    case Table::tenant_defaults:
    case Table::catalog:
    case Table::conn_active_count:
    case Table::scopes:
    case Table::environments:
    case Table::active_identity:
    case Table::strict_identity:
    case Table::run_last_touch:
      return true;
    default:
      return false;
  }
}

BatchStore::Entries::value_type* BatchStore::loaded(Table t, std::string_view key) const {
  Entries& rows = tables_[static_cast<std::size_t>(t)];
  auto it = rows.find(key);
  if (it != rows.end()) return &*it;
  if (rows_ >= kHeldRowsMax) return nullptr;
  Entry e;
  std::string v;
  if (base_->get(t, key, v)) e.value = std::move(v);
  ++rows_;
  return &*rows.emplace(std::string(key), std::move(e)).first;
}

BatchStore::Entries::value_type& BatchStore::for_write(Table t, std::string_view key) {
  Entries& rows = tables_[static_cast<std::size_t>(t)];
  auto it = rows.find(key);
  if (it != rows.end()) return *it;
  reserve_row();
  ++rows_;
  return *rows.emplace(std::string(key), Entry{}).first;
}

void BatchStore::reserve_row() {
  if (rows_ < kHeldRowsMax) return;
  // Everything held is written to the base, which then answers for it.
  flush();
  drop_rows();
}

FlatRows* BatchStore::flat_for(Table t, std::string_view key) const {
  FlatRows* rows = flat_[static_cast<std::size_t>(t)].get();
  return rows && key.size() == rows->key_size() ? rows : nullptr;
}

FlatRows::Row* BatchStore::flat_row(FlatRows& rows, Table t, std::string_view key) const {
  if (FlatRows::Row* row = rows.find(key)) return row;
  if (rows_ >= kHeldRowsMax) return nullptr;
  std::string v;
  bool found = base_->get(t, key, v);
  if (found && v.size() != FlatRows::kValueSize) return nullptr;
  FlatRows::Row row{};
  row.present = found;
  if (found) std::memcpy(row.value, v.data(), FlatRows::kValueSize);
  ++rows_;
  return &rows.insert(key, row);
}

void BatchStore::change(Table t, Entries::value_type& row, std::optional<std::string> value) {
  row.second.value = std::move(value);
  row.second.decoded.reset();
  row.second.decoded_type = nullptr;
  if (!row.second.dirty) dirty_.push_back({t, &row});
  row.second.dirty = true;
}

bool BatchStore::get(Table t, std::string_view key, std::string& out) const {
  if (FlatRows* rows = flat_for(t, key)) {
    const FlatRows::Row* row = flat_row(*rows, t, key);
    if (!row) return base_->get(t, key, out);
    if (!row->present) return false;
    out.assign(row->value, FlatRows::kValueSize);
    return true;
  }
  if (!held(t, key)) return base_->get(t, key, out);
  const auto* row = loaded(t, key);
  if (!row) return base_->get(t, key, out);
  if (!row->second.value) return false;
  out = *row->second.value;
  return true;
}

std::shared_ptr<const void> BatchStore::decoded(Table t, std::string_view key, const void* type,
                                                DecodeRecord decode) const {
  // A flat row holds no record: decoded from get(), which sees its held value.
  if (flat_for(t, key)) return Store::decoded(t, key, type, decode);
  if (!held(t, key)) return base_->decoded(t, key, type, decode);
  auto* row = loaded(t, key);
  if (!row) return base_->decoded(t, key, type, decode);
  Entry& e = row->second;
  if (!e.value) return nullptr;
  if (!e.decoded || e.decoded_type != type) {
    e.decoded = decode(*e.value);
    e.decoded_type = type;
  }
  return e.decoded;
}

void BatchStore::put(Table t, std::string_view key, std::string_view value) {
  if (FlatRows* rows = flat_for(t, key)) {
    if (value.size() != FlatRows::kValueSize) {
      // Never written by the projections; kept correct all the same: nothing held may
      // then shadow the base's row.
      flush();
      drop_rows();
      return base_->put(t, key, value);
    }
    FlatRows::Row* row = rows->find(key);
    if (!row) {
      reserve_row();
      ++rows_;
      row = &rows->insert(key, FlatRows::Row{});
    }
    std::memcpy(row->value, value.data(), FlatRows::kValueSize);
    row->present = true;
    rows->mark_dirty(*row);
    return;
  }
  if (!held(t, key)) return base_->put(t, key, value);
  change(t, for_write(t, key), std::string(value));
}

bool BatchStore::del(Table t, std::string_view key) {
  if (FlatRows* rows = flat_for(t, key)) {
    FlatRows::Row* row = flat_row(*rows, t, key);
    if (!row) return base_->del(t, key);
    if (!row->present) return false;
    row->present = false;
    rows->mark_dirty(*row);
    return true;
  }
  if (!held(t, key)) return base_->del(t, key);
  auto* row = loaded(t, key);
  if (!row) return base_->del(t, key);
  if (!row->second.value) return false;
  change(t, *row, std::nullopt);
  return true;
}

void BatchStore::flush() const {
  // Table and key order: the same puts in the same order whatever the hash tables' layout.
  std::sort(dirty_.begin(), dirty_.end(), [](const Dirty& a, const Dirty& b) {
    return a.table != b.table ? a.table < b.table : a.row->first < b.row->first;
  });
  auto next = dirty_.begin();
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    for (; next != dirty_.end() && next->table == t; ++next) {
      if (next->row->second.value)
        base_->put(t, next->row->first, *next->row->second.value);
      else
        base_->del(t, next->row->first);
      next->row->second.dirty = false;
    }
    if (FlatRows* rows = flat_[i].get(); rows && rows->has_dirty()) {
      for (const FlatRows::Row* row : rows->dirty()) {
        if (row->present)
          base_->put(t, rows->key_of(*row), {row->value, FlatRows::kValueSize});
        else
          base_->del(t, rows->key_of(*row));
      }
      rows->clean();
    }
  }
  dirty_.clear();
}

bool BatchStore::dirty() const {
  if (!dirty_.empty()) return true;
  for (const auto& rows : flat_)
    if (rows && rows->has_dirty()) return true;
  return false;
}

void BatchStore::forget() noexcept { drop_rows(); }

void BatchStore::drop_rows() const noexcept {
  for (auto& rows : tables_) rows.clear();
  for (auto& rows : flat_)
    if (rows) rows->clear();
  rows_ = 0;
  dirty_.clear();
}

void BatchStore::scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const {
  // The visitor may write: those writes go through this store again, as any other write.
  if (held_table(t)) flush();
  base_->scan(t, prefix, visit, from);
}

void BatchStore::clear() {
  forget();
  base_->clear();
}

}  // namespace opsledger
