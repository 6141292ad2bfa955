#include "engine/batch_store.h"

#include <algorithm>
#include <vector>

namespace opsledger {

// LMDB takes keys of 1 to 511 bytes (its default MDB_MAXKEYSIZE). Other keys are never
// held, so that LMDB refuses them inside the command that used them, not at the flush.
constexpr std::size_t kLmdbKeyMax = 511;

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
      return true;
    default:
      return false;
  }
}

const std::string& BatchStore::held_key(Table t, std::string_view key) const {
  key_.assign(1, static_cast<char>(t));
  key_.append(key);
  return key_;
}

BatchStore::Entry& BatchStore::load(Table t, std::string_view key) const {
  const std::string& k = held_key(t, key);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    Entry e;
    std::string v;
    if (base_.get(t, key, v)) e.value = std::move(v);
    it = entries_.emplace(k, std::move(e)).first;
  }
  return it->second;
}

void BatchStore::change(Entry& e, std::optional<std::string> value) {
  e.value = std::move(value);
  if (!e.dirty) ++dirty_;
  e.dirty = true;
}

bool BatchStore::get(Table t, std::string_view key, std::string& out) const {
  if (!held(t, key)) return base_.get(t, key, out);
  const Entry& e = load(t, key);
  if (!e.value) return false;
  out = *e.value;
  return true;
}

void BatchStore::put(Table t, std::string_view key, std::string_view value) {
  if (!held(t, key)) return base_.put(t, key, value);
  change(entries_[held_key(t, key)], std::string(value));
}

bool BatchStore::del(Table t, std::string_view key) {
  if (!held(t, key)) return base_.del(t, key);
  Entry& e = load(t, key);
  if (!e.value) return false;
  change(e, std::nullopt);
  return true;
}

void BatchStore::flush() const {
  if (dirty_ == 0) return;
  std::vector<std::pair<const std::string*, Entry*>> changed;
  changed.reserve(dirty_);
  for (auto& [k, e] : entries_)
    if (e.dirty) changed.emplace_back(&k, &e);
  // Key order: the same puts in the same order whatever the hash table's layout.
  std::sort(changed.begin(), changed.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto& [k, e] : changed) {
    auto t = static_cast<Table>((*k)[0]);
    std::string_view key = std::string_view(*k).substr(1);
    if (e->value)
      base_.put(t, key, *e->value);
    else
      base_.del(t, key);
    e->dirty = false;
  }
  dirty_ = 0;
}

void BatchStore::scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const {
  // The visitor may write: those writes go through this store again, as any other write.
  if (held_table(t)) flush();
  base_.scan(t, prefix, visit, from);
}

void BatchStore::clear() {
  entries_.clear();
  dirty_ = 0;
  base_.clear();
}

}  // namespace opsledger
