// The projection state as a fixed set of ordered key-value tables. The apply functions
// (projections/apply.cpp) and the decision code read and write state only through Store,
// so the same code runs against LMDB inside the append transaction (engine/lmdb_store.h)
// and against memory during replay and verification (projections/memory_store.h).
//
// Keys are compared bytewise; integer key parts are big-endian so that byte order is
// numeric order. Iteration is always in key order, which makes the state digest and every
// scan deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace opsledger {

// Every projection table, in digest order. The LMDB database of table T is named "p." +
// table_name(T). Append new tables at the end; never renumber. (Layout 2 replaced the
// `run_history` table, run + seq -> "", by `run_touches` in its place and `run_last_touch`
// at the end; layout 4 added `run_state` at the end. engine/projection_layout.h upgrades a
// database of an older layout when it opens.)
enum class Table : std::uint8_t {
  meta,               // "last_seq", "next_run_id"
  requests,           // request_id -> seq (be64) of the event it recorded
  workspaces,         // ws -> name
  tenants,            // tenant -> TenantRecord
  memberships,        // ws + user -> MembershipRecord
  connections,        // pc -> ConnectionRecord
  tenant_defaults,    // tenant -> pc (be64)
  catalog,            // type -> OperationTypeDef
  runs,               // run -> what its start fixed (RunRecord; its state is in run_state)
  active_identity,    // scope kind + scope id + identity hash -> run (be64)
  strict_identity,    // scope kind + scope id + identity hash -> run (be64)
  conn_active,        // pc + run -> ""
  conn_active_count,  // pc -> count (be64)
  active_runs,        // run -> "" (queued or running)
  workspace_runs,     // ws + run -> ""
  run_touches,        // seq -> run (be64) + the run's previous touch seq (be64, 0: none)
  notifications,      // user + seq -> NotificationRecord
  resource_types,     // canonical_type + 0x00 + source class -> ResourceTypeDef
  scopes,             // scope_key -> ScopeDef
  environments,       // env -> EnvironmentRecord
  coverage,           // env + canonical_type + 0x00 + source class -> ObservationRecord
  eligibility,        // env + scope_key -> level (u8) or absent
  triage,             // group -> TriageRecord
  legacy_runs,        // kind + legacy_id -> LegacyRecord
  run_last_touch,     // run -> seq of the last event that touched it (be64)
  run_state,          // run -> what its transitions change (layout 4; projections/records.h)
  count_              // not a table
};

inline constexpr std::size_t kTableCount = static_cast<std::size_t>(Table::count_);
std::string_view table_name(Table t);

class Store {
 public:
  virtual ~Store() = default;
  // False when absent; `out` is then unchanged.
  virtual bool get(Table t, std::string_view key, std::string& out) const = 0;
  virtual void put(Table t, std::string_view key, std::string_view value) = 0;
  // False when absent.
  virtual bool del(Table t, std::string_view key) = 0;
  // Visits every key starting with `prefix`, in key order, from the first key >= `from`
  // (when `from` is empty, from the start of the prefix); stops when `visit` returns false.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from = {}) const = 0;
  // Removes every key of every table.
  virtual void clear() = 0;

  bool has(Table t, std::string_view key) const {
    std::string ignored;
    return get(t, key, ignored);
  }

  // The record of (t, key) as `decode` makes it from the row's bytes; nullptr when absent.
  // A store that holds rows in memory (engine/batch_store.h) keeps the decoded record with
  // its row until the row changes, so a record that every command reads (a catalog entry,
  // a connection, a membership) is decoded once, not per command; this one decodes it on
  // every call. `type` names the type `decode` makes: one address per type (load_shared in
  // records.h passes both).
  using DecodeRecord = std::shared_ptr<const void> (*)(std::string_view bytes);
  virtual std::shared_ptr<const void> decoded(Table t, std::string_view key, const void* /*type*/,
                                              DecodeRecord decode) const {
    std::string bytes;
    if (!get(t, key, bytes)) return nullptr;
    return decode(bytes);
  }
};

// SHA-256 over every table in Table order: table name, then each key and value,
// length-prefixed (projections/state_digest.h gives the framing). Equal states give equal
// digests on every machine.
std::string state_digest(const Store& store);  // 32 raw bytes

}  // namespace opsledger
