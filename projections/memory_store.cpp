#include "projections/memory_store.h"

namespace opsledger {

std::string_view table_name(Table t) {
  static constexpr std::string_view names[] = {
      "meta",          "requests",        "workspaces",      "tenants",       "memberships",
      "connections",   "tenant_defaults", "catalog",         "runs",          "active_identity",
      "strict_identity", "conn_active",   "conn_active_count", "active_runs", "workspace_runs",
      "run_touches",   "notifications",   "resource_types",  "scopes",        "environments",
      "coverage",      "eligibility",     "triage",          "legacy_runs",   "run_last_touch"};
  static_assert(sizeof(names) / sizeof(names[0]) == kTableCount);
  return names[static_cast<std::size_t>(t)];
}

bool MemoryStore::get(Table t, std::string_view key, std::string& out) const {
  const auto& m = table(t);
  auto it = m.find(key);
  if (it == m.end()) return false;
  out = it->second;
  return true;
}

void MemoryStore::put(Table t, std::string_view key, std::string_view value) {
  auto& m = table(t);
  // Many tables grow at their end (keys that start with a seq or a new run id): one
  // comparison with the last key instead of a search.
  if (m.empty() || std::string_view(m.rbegin()->first) < key) {
    m.emplace_hint(m.end(), std::string(key), std::string(value));
    return;
  }
  auto it = m.lower_bound(key);  // one search: insert at the hint when absent
  if (it != m.end() && it->first == key)
    it->second.assign(value.data(), value.size());
  else
    m.emplace_hint(it, std::string(key), std::string(value));
}

bool MemoryStore::del(Table t, std::string_view key) {
  auto& m = table(t);
  auto it = m.find(key);
  if (it == m.end()) return false;
  m.erase(it);
  return true;
}

void MemoryStore::scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const {
  const auto& m = table(t);
  auto it = from.empty() ? m.lower_bound(prefix) : m.lower_bound(from);
  for (; it != m.end(); ++it) {
    std::string_view k = it->first;
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!visit(k, it->second)) break;
  }
}

void MemoryStore::clear() {
  for (auto& m : tables_) m.clear();
}

void copy_store(const Store& from, Store& to) {
  to.clear();
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    from.scan(t, {}, [&](std::string_view k, std::string_view v) {
      to.put(t, k, v);
      return true;
    });
  }
}

}  // namespace opsledger
