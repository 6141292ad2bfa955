#include "projections/apply.h"

#include <algorithm>

#include "events/bytes.h"
#include "projections/claims.h"
#include "projections/records.h"
#include "projections/run_touches.h"

namespace opsledger {
namespace {

void touch_run(Store& s, Id run_id, const EventMeta& m) { touch_run(s, run_id, m.seq); }

RunRecord must_load_run(const Store& s, Id run_id) {
  auto r = load_run(s, run_id);
  if (!r) throw DecodeError("event names run " + std::to_string(run_id) + " which does not exist");
  return std::move(*r);
}

// The state's fields of run `run_id` (the fixed ones left at their defaults): for the
// transitions that read and change nothing else.
RunRecord must_load_run_state(const Store& s, Id run_id) {
  RunRecord run;
  run.run_id = run_id;
  if (!load_run_state(s, run)) throw DecodeError("event names run " + std::to_string(run_id) + " which does not exist");
  return run;
}

void keep_failures(RunRecord& run, const std::vector<Failure>& failures) {
  for (const auto& f : failures) {
    if (run.failures.size() < kFailuresKeptMax)
      run.failures.push_back(f);
    else
      ++run.failures_dropped;
  }
}

// Frees the run's identity and its connection slot; queues the initiator's notification.
void finish_run(Store& s, RunRecord& run, Outcome outcome, const EventMeta& m) {
  run.status = RunStatus::completed;
  run.outcome = outcome;
  run.completed_at = m.at_us;
  run.last_activity_at = m.at_us;
  ScopeKind kind = run.tenant_id ? ScopeKind::tenant : ScopeKind::workspace;
  Id scope = run.tenant_id ? *run.tenant_id : run.workspace_id;
  if (run.identity_policy != IdentityPolicy::strict) {
    auto key = key_identity(kind, scope, run.run_identity_hash);
    std::string held;
    if (s.get(Table::active_identity, key, held) && get_be64(held) == run.run_id) s.del(Table::active_identity, key);
  }
  if (run.provider_connection_id && run.provider_backed) {
    Id pc = *run.provider_connection_id;
    if (s.del(Table::conn_active, key_ids(pc, run.run_id))) {
      auto n = load_u64(s, Table::conn_active_count, key_id(pc)).value_or(0);
      if (n <= 1)
        s.del(Table::conn_active_count, key_id(pc));
      else
        save_u64(s, Table::conn_active_count, key_id(pc), n - 1);
    }
  }
  s.del(Table::active_runs, key_id(run.run_id));
  if (run.initiator.kind == ActorKind::user)
    save(s, Table::notifications, key_ids(run.initiator.user_id, m.seq),
         NotificationRecord{run.run_id, run.type, outcome, m.at_us});
}

// A completed verification report re-derives its connection's consent, credentials and
// permissions (SPEC section 5).
void feed_verification_report(Store& s, const RunRecord& run, const Report& report) {
  if (run.type != "provider.verification" || !run.provider_connection_id) return;
  auto key = key_id(*run.provider_connection_id);
  auto pc = load<ConnectionRecord>(s, Table::connections, key);
  if (!pc) return;
  auto failed_with = [&](std::string_view code) {
    return std::any_of(report.checks.begin(), report.checks.end(), [&](const Check& c) {
      return c.status == CheckStatus::fail && c.reason_code && *c.reason_code == code;
    });
  };
  pc->consent = failed_with("provider_consent_missing") ? Consent::missing : Consent::granted;
  pc->credentials = failed_with("provider_credentials_unusable") ? Credentials::unusable : Credentials::usable;
  pc->permissions = failed_with("provider_permission_denied") ? Permissions::denied : Permissions::ok;
  save(s, Table::connections, key, *pc);
}

struct Applier {
  Store& s;
  const EventMeta& m;

  void operator()(const WorkspaceRegistered& e) { s.put(Table::workspaces, key_id(e.workspace_id), e.name); }
  void operator()(const TenantRegistered& e) {
    save(s, Table::tenants, key_id(e.tenant_id), TenantRecord{e.workspace_id, e.name});
  }
  void operator()(const MembershipGranted& e) {
    save(s, Table::memberships, key_ids(e.workspace_id, e.user_id),
         MembershipRecord{e.role, e.all_tenants, e.tenant_ids});
  }
  void operator()(const MembershipRevoked& e) { s.del(Table::memberships, key_ids(e.workspace_id, e.user_id)); }
  void operator()(const ProviderConnectionRegistered& e) {
    ConnectionRecord pc;
    pc.workspace_id = e.workspace_id;
    pc.tenant_id = e.tenant_id;
    pc.provider = e.provider;
    pc.display_name = e.display_name;
    save(s, Table::connections, key_id(e.provider_connection_id), pc);
  }
  void operator()(const DefaultProviderConnectionSet& e) {
    save_u64(s, Table::tenant_defaults, key_id(e.tenant_id), e.provider_connection_id);
  }
  void operator()(const ProviderConnectionUpdated& e) {
    auto key = key_id(e.provider_connection_id);
    auto pc = load<ConnectionRecord>(s, Table::connections, key);
    if (!pc) throw DecodeError("update of an unknown provider connection");
    if (e.consent) pc->consent = *e.consent;
    if (e.credentials) pc->credentials = *e.credentials;
    if (e.permissions) pc->permissions = *e.permissions;
    if (e.enabled) pc->enabled = *e.enabled;
    if (e.max_concurrent_runs) pc->max_concurrent_runs = *e.max_concurrent_runs;
    save(s, Table::connections, key, *pc);
  }
  void operator()(const OperationTypeDefined& e) { save(s, Table::catalog, e.def.type, e.def); }

  void operator()(const StartDecided& e) {
    if (e.decision == Decision::deduped || e.decision == Decision::scope_busy) touch_run(s, e.run_id, m);
    if (e.decision != Decision::accepted) return;
    auto def = load<OperationTypeDef>(s, Table::catalog, e.type);
    RunRecord run;
    run.run_id = e.run_id;
    run.workspace_id = e.workspace_id;
    run.tenant_id = e.tenant_id;
    run.type = e.type;
    run.label = e.label;
    run.initiator = m.actor();
    run.provider_connection_id = e.provider_connection_id;
    run.provider_backed = def ? def->provider_backed : true;
    run.run_identity_hash = e.run_identity_hash;
    run.identity_policy = e.identity_policy;
    run.request_id = m.request_id;
    run.context_json = e.context_json;
    run.created_at = m.at_us;
    run.last_activity_at = m.at_us;
    save_run(s, run);
    save_u64(s, Table::meta, kMetaNextRunId, run.run_id + 1);
    ScopeKind kind = e.tenant_id ? ScopeKind::tenant : ScopeKind::workspace;
    Id scope = e.tenant_id ? *e.tenant_id : e.workspace_id;
    auto ikey = key_identity(kind, scope, e.run_identity_hash);
    save_u64(s, e.identity_policy == IdentityPolicy::strict ? Table::strict_identity : Table::active_identity, ikey,
             run.run_id);
    if (run.provider_backed && run.provider_connection_id) {
      Id pc = *run.provider_connection_id;
      s.put(Table::conn_active, key_ids(pc, run.run_id), {});
      save_u64(s, Table::conn_active_count, key_id(pc),
               load_u64(s, Table::conn_active_count, key_id(pc)).value_or(0) + 1);
    }
    s.put(Table::active_runs, key_id(run.run_id), {});
    s.put(Table::workspace_runs, key_ids(run.workspace_id, run.run_id), {});
    touch_run(s, run.run_id, m);
  }

  void operator()(const RunStarted& e) {
    auto run = must_load_run_state(s, e.run_id);
    run.status = RunStatus::running;
    run.started_at = m.at_us;
    run.last_activity_at = m.at_us;
    save_run_state(s, run);
    touch_run(s, run.run_id, m);
  }
  void operator()(const RunProgressRecorded& e) {
    auto run = must_load_run_state(s, e.run_id);
    run.counts.add(e.counts);
    keep_failures(run, e.failures);
    run.last_activity_at = m.at_us;
    save_run_state(s, run);
    touch_run(s, run.run_id, m);
  }
  void operator()(const RunCompleted& e) {
    auto run = must_load_run(s, e.run_id);
    run.counts.add(e.counts);
    keep_failures(run, e.failures);
    if (e.report) {
      run.report = e.report;
      feed_verification_report(s, run, *e.report);
    }
    finish_run(s, run, e.outcome, m);
    save_run_state(s, run);
    touch_run(s, run.run_id, m);
  }
  void operator()(const StaleRunsExpired& e) {
    for (Id id : e.run_ids) {
      auto run = must_load_run(s, id);
      keep_failures(run, {Failure{"run_stale", "run expired: no activity within its stale_after_s", std::nullopt}});
      finish_run(s, run, Outcome::failed, m);
      save_run_state(s, run);
      touch_run(s, run.run_id, m);
    }
  }

  void operator()(const ResourceTypeRegistered& e) {
    // A classification never changes eligibility (projections/claims.h): nothing to refresh.
    save(s, Table::resource_types, key_resource_type(e.def.canonical_type, e.def.source_class), e.def);
  }
  void operator()(const SupportedScopeDefined& e) {
    save(s, Table::scopes, e.def.scope_key, e.def);
    refresh_eligibility_for_scope(s, e.def);
  }
  void operator()(const ManagedEnvironmentRegistered& e) {
    // Eligibility never reads the environment record, and a new environment has no
    // observations (no level eligible, held as absence): nothing to refresh.
    save(s, Table::environments, key_id(e.managed_environment_id), EnvironmentRecord{e.workspace_id, e.name});
  }
  void operator()(const CoverageRecorded& e) {
    save(s, Table::coverage, key_coverage(e.managed_environment_id, e.canonical_type, e.source_class),
         ObservationRecord{e.level, e.evidence_state, e.identity_state, e.provider_connection_id, m.seq});
    refresh_eligibility_for_observation(s, e.managed_environment_id, e.canonical_type);
  }
  void operator()(const ClaimEvaluated&) {}  // on the log only: every claim ever shown
  void operator()(const FailureGroupClassified& e) {
    auto rec = load<TriageRecord>(s, Table::triage, e.entry.group).value_or(TriageRecord{});
    rec.entry = e.entry;
    ++rec.classifications;
    save(s, Table::triage, e.entry.group, rec);
  }
  void operator()(const LegacyRunImported& e) {
    save(s, Table::legacy_runs, key_legacy(e.kind, e.legacy_id),
         LegacyRecord{e.kind, e.legacy_id, e.workspace_id, e.tenant_id, e.status, e.started_at_us,
                      e.completed_at_us, e.counts, e.operation_run_id});
  }
};

}  // namespace

void apply_event_effects(Store& store, const EventMeta& meta, const Event& event) {
  // The body's digest is not kept here: the event at seq carries it in its envelope, read
  // when a request_id comes again (CommandContext::replay).
  if (!meta.request_id.empty()) store.put(Table::requests, meta.request_id, be64(meta.seq));
  std::visit(Applier{store, meta}, event);
}

void record_applied_seq(Store& store, std::uint64_t seq) { save_u64(store, Table::meta, kMetaLastSeq, seq); }

void apply_event(Store& store, const EventMeta& meta, const Event& event) {
  apply_event_effects(store, meta, event);
  record_applied_seq(store, meta.seq);
}

void apply_envelope(Store& store, std::uint64_t seq, std::string_view bytes) {
  auto env = decode_envelope_view(bytes);
  auto event = decode_payload(env.event_type, env.schema_version, env.payload);
  apply_event(store, meta_of(seq, env), event);
}

std::uint64_t last_applied_seq(const Store& store) { return load_u64(store, Table::meta, kMetaLastSeq).value_or(0); }

}  // namespace opsledger
