#include "projections/memory_store.h"

namespace opsledger {

std::string_view table_name(Table t) {
  static constexpr std::string_view names[] = {
      "meta",          "requests",        "workspaces",      "tenants",       "memberships",
      "connections",   "tenant_defaults", "catalog",         "runs",          "active_identity",
      "strict_identity", "conn_active",   "conn_active_count", "active_runs", "workspace_runs",
      "run_touches",   "notifications",   "resource_types",  "scopes",        "environments",
      "coverage",      "eligibility",     "triage",          "legacy_runs",   "run_last_touch",
      "run_state"};
  static_assert(sizeof(names) / sizeof(names[0]) == kTableCount);
  return names[static_cast<std::size_t>(t)];
}

bool MemoryStore::get(Table t, std::string_view key, std::string& out) const {
  auto v = table(t).find(key);
  if (!v) return false;
  out.assign(v->data(), v->size());
  return true;
}

void MemoryStore::put(Table t, std::string_view key, std::string_view value) { table(t).put(key, value); }

bool MemoryStore::del(Table t, std::string_view key) { return table(t).erase(key); }

void MemoryStore::scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const {
  table(t).walk(from.empty() ? prefix : from, [&](std::string_view k, std::string_view v) {
    return k.substr(0, prefix.size()) == prefix && visit(k, v);
  });
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
