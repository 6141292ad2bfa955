// Every event type the log holds. An event is a plain struct with its type code and the
// schema version it is written at; the cereal encoding lives in events/event_codec.cpp
// (one translation unit), the JSON rendering in events/event_json.cpp.
//
// Type codes are stable forever: a new event type takes a new code, a changed payload takes
// a new version of its type and the codec keeps reading every older version.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/domain.h"

namespace opsledger {

enum class EventType : std::uint16_t {
  workspace_registered = 1,
  tenant_registered = 2,
  membership_granted = 3,
  membership_revoked = 4,
  provider_connection_registered = 5,
  default_provider_connection_set = 6,
  provider_connection_updated = 7,
  operation_type_defined = 8,
  start_decided = 9,
  run_started = 10,
  run_progress_recorded = 11,
  run_completed = 12,
  stale_runs_expired = 13,
  resource_type_registered = 14,
  supported_scope_defined = 15,
  managed_environment_registered = 16,
  coverage_recorded = 17,
  claim_evaluated = 18,
  failure_group_classified = 19,
  legacy_run_imported = 20,
};

#define OPSLEDGER_EVENT(NAME, VERSION)                             \
  static constexpr EventType kType = EventType::NAME;              \
  static constexpr std::uint16_t kVersion = VERSION;               \
  static constexpr std::string_view kName = #NAME;

struct WorkspaceRegistered {
  OPSLEDGER_EVENT(workspace_registered, 1)
  Id workspace_id = 0;
  std::string name;
  bool operator==(const WorkspaceRegistered&) const = default;
};

struct TenantRegistered {
  OPSLEDGER_EVENT(tenant_registered, 1)
  Id workspace_id = 0;
  Id tenant_id = 0;
  std::string name;
  bool operator==(const TenantRegistered&) const = default;
};

struct MembershipGranted {
  OPSLEDGER_EVENT(membership_granted, 1)
  Id workspace_id = 0;
  Id user_id = 0;
  Role role = Role::readonly;
  bool all_tenants = true;
  std::vector<Id> tenant_ids;  // sorted, unique; meaningful when !all_tenants
  bool operator==(const MembershipGranted&) const = default;
};

struct MembershipRevoked {
  OPSLEDGER_EVENT(membership_revoked, 1)
  Id workspace_id = 0;
  Id user_id = 0;
  bool operator==(const MembershipRevoked&) const = default;
};

struct ProviderConnectionRegistered {
  OPSLEDGER_EVENT(provider_connection_registered, 1)
  Id workspace_id = 0;
  Id tenant_id = 0;
  Id provider_connection_id = 0;
  std::string provider;
  std::string display_name;
  bool operator==(const ProviderConnectionRegistered&) const = default;
};

struct DefaultProviderConnectionSet {
  OPSLEDGER_EVENT(default_provider_connection_set, 1)
  Id tenant_id = 0;
  Id provider_connection_id = 0;
  bool operator==(const DefaultProviderConnectionSet&) const = default;
};

struct ProviderConnectionUpdated {
  OPSLEDGER_EVENT(provider_connection_updated, 1)
  Id provider_connection_id = 0;
  std::optional<Consent> consent;
  std::optional<Credentials> credentials;
  std::optional<Permissions> permissions;
  std::optional<bool> enabled;
  std::optional<std::uint32_t> max_concurrent_runs;
  bool operator==(const ProviderConnectionUpdated&) const = default;
};

struct OperationTypeDefined {
  OPSLEDGER_EVENT(operation_type_defined, 1)
  OperationTypeDef def;
  bool operator==(const OperationTypeDefined&) const = default;
};

// Readiness of the resolved connection as the gate saw it (for explain).
struct ReadinessSeen {
  bool resolved = false;
  Id provider_connection_id = 0;
  Consent consent = Consent::missing;
  Credentials credentials = Credentials::missing;
  Permissions permissions = Permissions::ok;
  bool enabled = true;
  std::uint32_t max_concurrent_runs = 1;
  std::uint32_t active_runs = 0;
  bool operator==(const ReadinessSeen&) const = default;
};

// One start request and the gate's decision. For `accepted` it also creates run `run_id`.
struct StartDecided {
  OPSLEDGER_EVENT(start_decided, 1)
  Id workspace_id = 0;
  std::optional<Id> tenant_id;
  std::string type;
  std::string label;
  Decision decision = Decision::not_found;
  std::string reason_code;  // empty for accepted
  Id run_id = 0;            // the new run (accepted), the active one (deduped, scope_busy)
  std::optional<Id> provider_connection_id;  // the resolved connection, when one resolved
  std::string run_identity_hash;             // hex; empty when not computed
  IdentityPolicy identity_policy = IdentityPolicy::while_active;
  std::string context_json;  // the context as recorded on the run (canonical JSON)
  std::string nonce;
  ReadinessSeen readiness;
  bool operator==(const StartDecided&) const = default;
};

struct RunStarted {
  OPSLEDGER_EVENT(run_started, 1)
  Id run_id = 0;
  bool operator==(const RunStarted&) const = default;
};

struct RunProgressRecorded {
  OPSLEDGER_EVENT(run_progress_recorded, 1)
  Id run_id = 0;
  Counts counts;
  std::vector<Failure> failures;
  bool operator==(const RunProgressRecorded&) const = default;
};

struct RunCompleted {
  OPSLEDGER_EVENT(run_completed, 1)
  Id run_id = 0;
  Outcome outcome = Outcome::succeeded;
  CompletionCause cause = CompletionCause::completed;
  Counts counts;
  std::vector<Failure> failures;
  std::optional<Report> report;
  bool operator==(const RunCompleted&) const = default;
};

struct StaleRunsExpired {
  OPSLEDGER_EVENT(stale_runs_expired, 1)
  TimeUs at_us = 0;
  std::vector<Id> run_ids;  // ascending
  bool operator==(const StaleRunsExpired&) const = default;
};

struct ResourceTypeRegistered {
  OPSLEDGER_EVENT(resource_type_registered, 1)
  ResourceTypeDef def;
  std::optional<ResourceTypeDef> before;  // present: a classification change
  bool operator==(const ResourceTypeRegistered&) const = default;
};

struct SupportedScopeDefined {
  OPSLEDGER_EVENT(supported_scope_defined, 1)
  ScopeDef def;
  std::optional<ScopeDef> before;  // present: a scope change
  bool operator==(const SupportedScopeDefined&) const = default;
};

struct ManagedEnvironmentRegistered {
  OPSLEDGER_EVENT(managed_environment_registered, 1)
  Id workspace_id = 0;
  Id managed_environment_id = 0;
  std::string name;
  bool operator==(const ManagedEnvironmentRegistered&) const = default;
};

struct CoverageRecorded {
  OPSLEDGER_EVENT(coverage_recorded, 1)
  Id workspace_id = 0;
  Id managed_environment_id = 0;
  std::string canonical_type;
  SourceClass source_class = SourceClass::tcm;
  CoverageLevel level = CoverageLevel::none;
  EvidenceState evidence_state = EvidenceState::none;
  IdentityState identity_state = IdentityState::unresolved;
  std::optional<Id> provider_connection_id;
  bool operator==(const CoverageRecorded&) const = default;
};

struct ClaimEvaluated {
  OPSLEDGER_EVENT(claim_evaluated, 1)
  Id workspace_id = 0;
  Id managed_environment_id = 0;
  std::optional<std::string> scope_key;
  CoverageLevel level = CoverageLevel::none;
  Audience audience = Audience::customer;
  ClaimKind kind = ClaimKind::coverage;
  ClaimState claim_state = ClaimState::blocked;
  std::vector<std::string> reasons;
  bool complete = false;
  std::uint64_t covered = 0;
  std::uint64_t denominator = 0;
  std::vector<std::string> missing;
  bool operator==(const ClaimEvaluated&) const = default;
};

struct FailureGroupClassified {
  OPSLEDGER_EVENT(failure_group_classified, 1)
  TriageEntry entry;
  std::optional<TriageEntry> before;
  bool operator==(const FailureGroupClassified&) const = default;
};

struct LegacyRunImported {
  OPSLEDGER_EVENT(legacy_run_imported, 1)
  LegacyKind kind = LegacyKind::inventory_sync;
  Id legacy_id = 0;
  Id workspace_id = 0;
  Id tenant_id = 0;
  std::string status;
  TimeUs started_at_us = 0;
  TimeUs completed_at_us = 0;
  Counts counts;
  std::optional<Id> operation_run_id;
  bool operator==(const LegacyRunImported&) const = default;
};

#undef OPSLEDGER_EVENT

using Event = std::variant<WorkspaceRegistered, TenantRegistered, MembershipGranted, MembershipRevoked,
                           ProviderConnectionRegistered, DefaultProviderConnectionSet,
                           ProviderConnectionUpdated, OperationTypeDefined, StartDecided, RunStarted,
                           RunProgressRecorded, RunCompleted, StaleRunsExpired, ResourceTypeRegistered,
                           SupportedScopeDefined, ManagedEnvironmentRegistered, CoverageRecorded,
                           ClaimEvaluated, FailureGroupClassified, LegacyRunImported>;

EventType event_type(const Event& e);
std::uint16_t event_version(const Event& e);
std::string_view event_type_name(std::uint16_t type);  // "" when unknown

// cereal PortableBinary payload. decode throws DecodeError for an unknown type, an unknown
// (newer) version, or bytes that do not decode.
std::string encode_payload(const Event& e);
Event decode_payload(std::uint16_t type, std::uint16_t version, std::string_view bytes);
// The same event decoded into `out`, reusing what it holds (its strings' and vectors'
// memory) when it holds an event of that type: a replay's reader decodes millions of
// events into a few thousand slots. `out` equals decode_payload's result; after a throw
// it holds some valid event.
void decode_payload_into(std::uint16_t type, std::uint16_t version, std::string_view bytes, Event& out);

// The payload as a JSON object, for export, history and explain.
boost::json::object event_to_json(const Event& e);

}  // namespace opsledger
