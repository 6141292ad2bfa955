// JSON rendering of event payloads (export, history, explain). Field names follow the
// protocol's names for the same things.
#include <boost/json.hpp>

#include "events/events.h"
#include "events/json_values.h"

namespace opsledger {
namespace json = boost::json;

namespace {

template <class T>
void opt(json::object& o, std::string_view key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}

json::object render(const WorkspaceRegistered& e) { return {{"workspace_id", e.workspace_id}, {"name", e.name}}; }
json::object render(const TenantRegistered& e) {
  return {{"workspace_id", e.workspace_id}, {"tenant_id", e.tenant_id}, {"name", e.name}};
}
json::object render(const MembershipGranted& e) {
  json::object o{{"workspace_id", e.workspace_id}, {"user_id", e.user_id}, {"role", name_of(e.role)}};
  if (!e.all_tenants) o["tenant_ids"] = ids_to_json(e.tenant_ids);
  return o;
}
json::object render(const MembershipRevoked& e) { return {{"workspace_id", e.workspace_id}, {"user_id", e.user_id}}; }
json::object render(const ProviderConnectionRegistered& e) {
  return {{"workspace_id", e.workspace_id},
          {"tenant_id", e.tenant_id},
          {"provider_connection_id", e.provider_connection_id},
          {"provider", e.provider},
          {"display_name", e.display_name}};
}
json::object render(const DefaultProviderConnectionSet& e) {
  return {{"tenant_id", e.tenant_id}, {"provider_connection_id", e.provider_connection_id}};
}
json::object render(const ProviderConnectionUpdated& e) {
  json::object o{{"provider_connection_id", e.provider_connection_id}};
  if (e.consent) o["consent"] = name_of(*e.consent);
  if (e.credentials) o["credentials"] = name_of(*e.credentials);
  if (e.permissions) o["permissions"] = name_of(*e.permissions);
  opt(o, "enabled", e.enabled);
  opt(o, "max_concurrent_runs", e.max_concurrent_runs);
  return o;
}
json::object render(const OperationTypeDefined& e) { return operation_type_to_json(e.def); }
json::object render(const StartDecided& e) {
  json::object o{{"workspace_id", e.workspace_id}, {"type", e.type}, {"label", e.label},
                 {"decision", name_of(e.decision)}};
  opt(o, "tenant_id", e.tenant_id);
  if (!e.reason_code.empty()) o["reason_code"] = e.reason_code;
  if (e.run_id) o["run_id"] = e.run_id;
  opt(o, "provider_connection_id", e.provider_connection_id);
  if (!e.run_identity_hash.empty()) o["run_identity_hash"] = e.run_identity_hash;
  o["identity_policy"] = name_of(e.identity_policy);
  o["context"] = parse_stored_json(e.context_json);
  if (!e.nonce.empty()) o["nonce"] = e.nonce;
  json::object r{{"resolved", e.readiness.resolved}};
  if (e.readiness.resolved) {
    r["provider_connection_id"] = e.readiness.provider_connection_id;
    r["consent"] = name_of(e.readiness.consent);
    r["credentials"] = name_of(e.readiness.credentials);
    r["permissions"] = name_of(e.readiness.permissions);
    r["enabled"] = e.readiness.enabled;
    r["max_concurrent_runs"] = e.readiness.max_concurrent_runs;
    r["active_runs"] = e.readiness.active_runs;
  }
  o["readiness"] = std::move(r);
  return o;
}
json::object render(const RunStarted& e) { return {{"run_id", e.run_id}}; }
json::object render(const RunProgressRecorded& e) {
  return {{"run_id", e.run_id}, {"counts", counts_to_json(e.counts)}, {"failures", failures_to_json(e.failures)}};
}
json::object render(const RunCompleted& e) {
  json::object o{{"run_id", e.run_id},
                 {"outcome", name_of(e.outcome)},
                 {"cause", name_of(e.cause)},
                 {"counts", counts_to_json(e.counts)},
                 {"failures", failures_to_json(e.failures)}};
  if (e.report) o["report"] = report_to_json(*e.report);
  return o;
}
json::object render(const StaleRunsExpired& e) {
  return {{"at", format_time(e.at_us)}, {"run_ids", ids_to_json(e.run_ids)}};
}
json::object render(const ResourceTypeRegistered& e) {
  json::object o{{"after", resource_type_to_json(e.def)}};
  if (e.before) o["before"] = resource_type_to_json(*e.before);
  return o;
}
json::object render(const SupportedScopeDefined& e) {
  json::object o{{"after", scope_to_json(e.def)}};
  if (e.before) o["before"] = scope_to_json(*e.before);
  return o;
}
json::object render(const ManagedEnvironmentRegistered& e) {
  return {{"workspace_id", e.workspace_id}, {"managed_environment_id", e.managed_environment_id}, {"name", e.name}};
}
json::object render(const CoverageRecorded& e) {
  json::object o{{"workspace_id", e.workspace_id},
                 {"managed_environment_id", e.managed_environment_id},
                 {"canonical_type", e.canonical_type},
                 {"source_class", name_of(e.source_class)},
                 {"level", name_of(e.level)},
                 {"evidence_state", name_of(e.evidence_state)},
                 {"identity_state", name_of(e.identity_state)}};
  opt(o, "provider_connection_id", e.provider_connection_id);
  return o;
}
json::object render(const ClaimEvaluated& e) {
  json::object o{{"workspace_id", e.workspace_id}, {"managed_environment_id", e.managed_environment_id}};
  opt(o, "scope_key", e.scope_key);
  o["level"] = name_of(e.level);
  o["audience"] = name_of(e.audience);
  o["kind"] = name_of(e.kind);
  o["claim_state"] = name_of(e.claim_state);
  o["reasons"] = strings_to_json(e.reasons);
  o["complete"] = e.complete;
  o["covered"] = e.covered;
  o["denominator"] = e.denominator;
  o["missing"] = strings_to_json(e.missing);
  return o;
}
json::object render(const FailureGroupClassified& e) {
  json::object o{{"after", triage_to_json(e.entry)}};
  if (e.before) o["before"] = triage_to_json(*e.before);
  return o;
}
json::object render(const LegacyRunImported& e) {
  json::object o{{"kind", name_of(e.kind)},           {"legacy_id", e.legacy_id},
                 {"workspace_id", e.workspace_id},    {"tenant_id", e.tenant_id},
                 {"status", e.status},                {"started_at", format_time(e.started_at_us)},
                 {"completed_at", format_time(e.completed_at_us)}, {"counts", counts_to_json(e.counts)}};
  opt(o, "operation_run_id", e.operation_run_id);
  return o;
}

}  // namespace

json::object event_to_json(const Event& e) {
  return std::visit([](const auto& v) { return render(v); }, e);
}

}  // namespace opsledger
