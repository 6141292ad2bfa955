#include "tests/golden_events.h"

#include "events/bytes.h"

namespace opsledger::test {

std::vector<GoldenEvent> golden_events_v1() {
  const TimeUs t0 = 1776667958000000;  // 2026-04-20T06:52:38Z
  Counts counts;
  for (std::size_t i = 0; i < counts.values.size(); ++i) counts.values[i] = i + 1;
  Report report{{Check{"consent", CheckStatus::fail, std::string("provider_consent_missing"), true},
                 Check{"graph.read", CheckStatus::pass, std::nullopt, false}}};
  OperationTypeDef op{"custom.sync", "Custom sync", IdentityPolicy::strict, {"backup_schedule_id", "scheduled_for"},
                      true, true, "backup.run", true, 60, 180};
  ResourceTypeDef rt{"intune.x", SourceClass::graph_v1_fallback, Workload::intune, ResourceClass::configuration,
                     SupportState::limited, RestoreTier::manual, "X"};
  ScopeDef sc{"scope.a", {"intune.x", "intune.y"}, CoverageLevel::content_captured, true, true};
  TriageEntry tr{"group-a", "verification-start-contract", "fixture-contract-drift", "seen", "owner",
                 FixInScope::only_if_runtime_owner_proven, "next", "open"};

  std::vector<Event> events = {
      WorkspaceRegistered{1, "Contoso"},
      TenantRegistered{1, 10, "Contoso EU"},
      MembershipGranted{1, 7, Role::operator_, false, {10, 11}},
      MembershipRevoked{1, 8},
      ProviderConnectionRegistered{1, 10, 100, "microsoft", "Contoso Graph"},
      DefaultProviderConnectionSet{10, 100},
      ProviderConnectionUpdated{100, Consent::granted, Credentials::unusable, Permissions::denied, false, 4},
      OperationTypeDefined{op},
      StartDecided{1, 10, "inventory.sync", "Inventory sync", Decision::scope_busy, "provider_connection_busy", 3, 100,
                   std::string(64, 'a'), IdentityPolicy::nonce, "{\"k\":1}", "n-1",
                   ReadinessSeen{true, 100, Consent::granted, Credentials::usable, Permissions::ok, true, 2, 2}},
      RunStarted{3},
      RunProgressRecorded{3, counts, {Failure{"E1", "message", std::string("item-1")}}},
      RunCompleted{3, Outcome::partially_succeeded, CompletionCause::completed, counts,
                   {Failure{"E2", "m2", std::nullopt}}, report},
      StaleRunsExpired{t0 + 5, {4, 5}},
      ResourceTypeRegistered{rt, rt},
      SupportedScopeDefined{sc, sc},
      ManagedEnvironmentRegistered{1, 50, "Env"},
      CoverageRecorded{1, 50, "intune.x", SourceClass::tcm, CoverageLevel::restore_verified, EvidenceState::complete,
                       IdentityState::resolved, 100},
      ClaimEvaluated{1, 50, std::string("scope.a"), CoverageLevel::inventoried, Audience::operator_,
                     ClaimKind::certification, ClaimState::blocked, {"beta_certification"}, false, 1, 2, {"intune.y"}},
      FailureGroupClassified{tr, tr},
      LegacyRunImported{LegacyKind::entra_group_sync, 9, 1, 10, "done", t0, t0 + 1, counts, 3},
  };
  std::vector<GoldenEvent> out;
  std::int64_t i = 0;
  for (auto& e : events) {
    GoldenEvent g;
    g.envelope.at_us = t0 + i;
    g.envelope.recorded_at_us = t0 + i + 1;
    g.envelope.actor = (i % 3 == 0) ? Actor{ActorKind::user, 7, "Ada"}
                                    : (i % 3 == 1 ? Actor{ActorKind::system, 0, "sched"} : Actor{});
    if (i % 2 == 0) {
      g.envelope.request_id = "req-" + std::to_string(i);
      g.envelope.request_digest = std::string(32, static_cast<char>(i));
    }
    g.event = e;
    out.push_back(std::move(g));
    ++i;
  }
  return out;
}

std::string build_golden_log(std::vector<GoldenEvent>& events) {
  std::string out;
  std::string prev(32, '\0');
  for (auto& g : events) {
    g.envelope.event_type = static_cast<std::uint16_t>(event_type(g.event));
    g.envelope.schema_version = event_version(g.event);
    g.envelope.payload = encode_payload(g.event);
    g.envelope.prev_hash = prev;
    std::string bytes = encode_envelope(g.envelope);
    prev = g.envelope.hash;
    ByteWriter(out).u32(static_cast<std::uint32_t>(bytes.size()));
    out += bytes;
  }
  return out;
}

}  // namespace opsledger::test
