#include <boost/json.hpp>

#include <exception>

#include "engine/render_json.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "events/sha256.h"

namespace opsledger {
namespace json = boost::json;

namespace {

json::value id_or_null(const std::optional<Id>& v) { return v ? json::value(*v) : json::value(nullptr); }

template <class T>
T decoded(std::string_view bytes) {
  T r;
  decode(bytes, r);
  return r;
}

// "canonical_type\0<source class byte>" as used by resource_types and coverage keys.
void split_type_key(std::string_view k, json::object& o) {
  auto nul = k.find('\0');
  if (nul == std::string_view::npos || nul + 2 != k.size()) throw DecodeError("malformed type key");
  auto sc = static_cast<std::uint8_t>(k[nul + 1]);
  if (!enum_in_range<SourceClass>(sc)) throw DecodeError("source class out of range");
  o["canonical_type"] = std::string(k.substr(0, nul));
  o["source_class"] = name_of(static_cast<SourceClass>(sc));
}

void expect_size(std::string_view s, std::size_t n) {
  if (s.size() != n) throw DecodeError("unexpected length");
}

json::value render_record(const Store& store, Table t, std::string_view k, std::string_view v) {
  switch (t) {
    case Table::meta:
      return json::object{{"key", std::string(k)}, {"value", get_be64(v)}};
    case Table::requests:
      expect_size(v, 8);
      return json::object{{"request_id", std::string(k)}, {"seq", get_be64(v)}};
    case Table::workspaces:
      expect_size(k, 8);
      return json::object{{"workspace_id", get_be64(k)}, {"name", std::string(v)}};
    case Table::tenants: {
      expect_size(k, 8);
      auto r = decoded<TenantRecord>(v);
      return json::object{{"tenant_id", get_be64(k)}, {"workspace_id", r.workspace_id}, {"name", r.name}};
    }
    case Table::memberships: {
      expect_size(k, 16);
      auto r = decoded<MembershipRecord>(v);
      json::object o{{"workspace_id", get_be64(k)}, {"user_id", get_be64(k, 8)}, {"role", name_of(r.role)}};
      o["tenant_ids"] = r.all_tenants ? json::value("all") : json::value(ids_to_json(r.tenant_ids));
      return o;
    }
    case Table::connections: {
      expect_size(k, 8);
      auto r = decoded<ConnectionRecord>(v);
      return json::object{{"provider_connection_id", get_be64(k)},
                          {"workspace_id", r.workspace_id},
                          {"tenant_id", r.tenant_id},
                          {"provider", r.provider},
                          {"display_name", r.display_name},
                          {"consent", name_of(r.consent)},
                          {"credentials", name_of(r.credentials)},
                          {"permissions", name_of(r.permissions)},
                          {"enabled", r.enabled},
                          {"max_concurrent_runs", r.max_concurrent_runs}};
    }
    case Table::tenant_defaults:
      expect_size(k, 8);
      return json::object{{"tenant_id", get_be64(k)}, {"provider_connection_id", get_be64(v)}};
    case Table::catalog:
      return operation_type_to_json(decoded<OperationTypeDef>(v));
    case Table::runs: {
      // The whole run, its `run_state` row's fields included, as a run is shown everywhere.
      expect_size(k, 8);
      RunRecord r;
      decode_run_fixed(v, r);
      if (r.run_id != get_be64(k) || !load_run_state(store, r)) throw DecodeError("run without its state");
      json::object o = run_to_json(r);
      o["identity_policy"] = name_of(r.identity_policy);
      o["provider_backed"] = r.provider_backed;
      o["last_activity_at"] = format_time(r.last_activity_at);
      return o;
    }
    case Table::active_identity:
    case Table::strict_identity: {
      if (k.size() < 9) throw DecodeError("short identity key");
      auto kind = static_cast<std::uint8_t>(k[0]);
      if (!enum_in_range<ScopeKind>(kind)) throw DecodeError("scope kind out of range");
      return json::object{{"scope_kind", name_of(static_cast<ScopeKind>(kind))},
                          {"scope_id", get_be64(k, 1)},
                          {"run_identity_hash", std::string(k.substr(9))},
                          {"run_id", get_be64(v)}};
    }
    case Table::conn_active:
      expect_size(k, 16);
      return json::object{{"provider_connection_id", get_be64(k)}, {"run_id", get_be64(k, 8)}};
    case Table::conn_active_count:
      expect_size(k, 8);
      return json::object{{"provider_connection_id", get_be64(k)}, {"active_runs", get_be64(v)}};
    case Table::active_runs:
      expect_size(k, 8);
      return json::object{{"run_id", get_be64(k)}};
    case Table::workspace_runs:
      expect_size(k, 16);
      return json::object{{"workspace_id", get_be64(k)}, {"run_id", get_be64(k, 8)}};
    case Table::run_touches:
      expect_size(k, 16);
      expect_size(v, 8);
      return json::object{{"seq", get_be64(k)}, {"run_id", get_be64(k, 8)}, {"previous_seq", get_be64(v)}};
    case Table::run_last_touch:
      expect_size(k, 8);
      expect_size(v, 8);
      return json::object{{"run_id", get_be64(k)}, {"seq", get_be64(v)}};
    case Table::notifications: {
      expect_size(k, 16);
      auto r = decoded<NotificationRecord>(v);
      return json::object{{"seq", get_be64(k, 8)},       {"user_id", get_be64(k)},
                          {"run_id", r.run_id},           {"type", r.type},
                          {"outcome", name_of(r.outcome)}, {"at", format_time(r.at)}};
    }
    case Table::resource_types:
      return resource_type_to_json(decoded<ResourceTypeDef>(v));
    case Table::scopes:
      return scope_to_json(decoded<ScopeDef>(v));
    case Table::environments: {
      expect_size(k, 8);
      auto r = decoded<EnvironmentRecord>(v);
      return json::object{{"managed_environment_id", get_be64(k)}, {"workspace_id", r.workspace_id},
                          {"name", r.name}};
    }
    case Table::coverage: {
      auto r = decoded<ObservationRecord>(v);
      json::object o{{"managed_environment_id", get_be64(k)}};
      split_type_key(k.substr(8), o);
      o["level"] = name_of(r.level);
      o["evidence_state"] = name_of(r.evidence_state);
      o["identity_state"] = name_of(r.identity_state);
      o["provider_connection_id"] = id_or_null(r.provider_connection_id);
      o["seq"] = r.seq;
      return o;
    }
    case Table::eligibility: {
      expect_size(v, 1);
      auto level = static_cast<std::uint8_t>(v[0]);
      if (!enum_in_range<CoverageLevel>(level)) throw DecodeError("level out of range");
      return json::object{{"managed_environment_id", get_be64(k)},
                          {"scope_key", std::string(k.substr(8))},
                          {"level", name_of(static_cast<CoverageLevel>(level))}};
    }
    case Table::triage: {
      auto r = decoded<TriageRecord>(v);
      json::object o = triage_to_json(r.entry);
      o["classifications"] = r.classifications;
      return o;
    }
    case Table::legacy_runs: {
      return legacy_to_json(decoded<LegacyRecord>(v));
    }
    case Table::run_state: {
      expect_size(k, 8);
      RunRecord r;
      decode_run_state(v, r);
      // The state's fields as a run shows them (run_to_json), under its run_id.
      json::object whole = run_to_json(r);
      json::object o{{"run_id", get_be64(k)}};
      for (std::string_view field : {"status", "outcome", "summary_counts", "failures", "failures_dropped", "report",
                                     "started_at", "completed_at"})
        o[field] = whole.at(field);
      o["last_activity_at"] = format_time(r.last_activity_at);
      return o;
    }
    case Table::count_:
      break;
  }
  throw DecodeError("no rendering for this table");
}

}  // namespace

json::object export_record(std::uint64_t seq, std::string_view bytes) {
  Envelope env = decode_envelope(bytes);
  Event ev = decode_payload(env.event_type, env.schema_version, env.payload);
  json::object rest = event_record_json(seq, env, ev);
  json::object o{{"seq", seq}, {"hash", to_hex(env.hash)}, {"prev_hash", to_hex(env.prev_hash)}};
  for (auto& kv : rest)
    if (kv.key() != "seq") o[kv.key()] = std::move(kv.value());
  return o;
}

json::object state_to_json(const Store& store) {
  json::object state;
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    json::array rows;
    store.scan(t, {}, [&](std::string_view k, std::string_view v) {
      try {
        rows.push_back(render_record(store, t, k, v));
      } catch (const std::exception&) {
        rows.push_back(json::object{{"key_hex", to_hex(k)}, {"value_hex", to_hex(v)}, {"undecodable", true}});
      }
      return true;
    });
    state[table_name(t)] = std::move(rows);
  }
  return state;
}

}  // namespace opsledger
