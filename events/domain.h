// The domain's value families: every enum the spec fixes, with its wire names in one table
// each, and the small value types that events and projections share.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opsledger {

using Id = std::uint64_t;
using TimeUs = std::int64_t;  // microseconds since the Unix epoch, UTC

// Each enum E has a names table EnumNames<E>::names, indexed by the enum value.
template <class E>
struct EnumNames;

#define OPSLEDGER_ENUM(E, ...)                                                     \
  enum class E : std::uint8_t { __VA_ARGS__ };                                     \
  template <>                                                                      \
  struct EnumNames<E> {                                                            \
    static const std::vector<std::string_view>& names();                           \
  };

OPSLEDGER_ENUM(Role, owner, manager, operator_, readonly)
OPSLEDGER_ENUM(Consent, granted, missing)
OPSLEDGER_ENUM(Credentials, usable, unusable, missing)
OPSLEDGER_ENUM(Permissions, ok, denied)
OPSLEDGER_ENUM(Decision, accepted, deduped, scope_busy, blocked, not_found, forbidden)
OPSLEDGER_ENUM(RunStatus, queued, running, completed)
OPSLEDGER_ENUM(Outcome, pending, succeeded, partially_succeeded, failed, blocked, cancelled)
OPSLEDGER_ENUM(IdentityPolicy, while_active, nonce, strict)
OPSLEDGER_ENUM(ScopeKind, tenant, workspace)
OPSLEDGER_ENUM(CheckStatus, pass, warn, fail, skip)
OPSLEDGER_ENUM(CompletionCause, completed, cancelled, stale)
OPSLEDGER_ENUM(SourceClass, tcm, graph_v1_fallback, graph_beta_experimental)
OPSLEDGER_ENUM(Workload, intune)
OPSLEDGER_ENUM(ResourceClass, configuration)
OPSLEDGER_ENUM(SupportState, supported, limited, unsupported)
OPSLEDGER_ENUM(CoverageLevel, none, inventoried, content_captured, restore_verified)
OPSLEDGER_ENUM(EvidenceState, none, partial, complete, stale)
OPSLEDGER_ENUM(IdentityState, unresolved, resolved, ambiguous)
OPSLEDGER_ENUM(RestoreTier, none, manual, automated)
OPSLEDGER_ENUM(ClaimState, eligible, blocked)
OPSLEDGER_ENUM(Audience, customer, operator_)
OPSLEDGER_ENUM(ClaimKind, coverage, restore, certification)
OPSLEDGER_ENUM(FixInScope, yes, no, only_if_runtime_owner_proven)
OPSLEDGER_ENUM(LegacyKind, inventory_sync, entra_group_sync, backup_schedule_run)

#undef OPSLEDGER_ENUM

template <class E>
std::string_view name_of(E e) {
  return EnumNames<E>::names().at(static_cast<std::size_t>(e));
}

template <class E>
std::optional<E> parse_enum(std::string_view s) {
  const auto& names = EnumNames<E>::names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

template <class E>
bool enum_in_range(std::uint8_t raw) {
  return raw < EnumNames<E>::names().size();
}

// The fixed count keys, in this order everywhere (SPEC section 8).
inline constexpr std::array<std::string_view, 8> kCountKeys = {
    "total", "processed", "succeeded", "failed", "skipped", "created", "updated", "deleted"};

struct Counts {
  std::array<std::uint64_t, 8> values{};
  bool operator==(const Counts&) const = default;
  void add(const Counts& other) {
    for (std::size_t i = 0; i < values.size(); ++i) values[i] += other.values[i];
  }
};

struct Failure {
  std::string code;
  std::string message;  // sanitised before it is recorded
  std::optional<std::string> item;
  bool operator==(const Failure&) const = default;
};

struct Check {
  std::string key;
  CheckStatus status = CheckStatus::pass;
  std::optional<std::string> reason_code;
  bool blocking = false;
  bool operator==(const Check&) const = default;
};

struct Report {
  std::vector<Check> checks;
  bool operator==(const Report&) const = default;
};

// The catalog entry of an operation type (SPEC section 6).
struct OperationTypeDef {
  std::string type;
  std::string label;
  IdentityPolicy identity_policy = IdentityPolicy::while_active;
  std::vector<std::string> identity_fields;
  bool provider_backed = true;
  bool readiness_exempt = false;
  std::string capability;
  bool system_allowed = false;
  std::uint64_t expected_duration_s = 0;
  std::uint64_t stale_after_s = 0;
  bool operator==(const OperationTypeDef&) const = default;
};

struct ResourceTypeDef {
  std::string canonical_type;
  SourceClass source_class = SourceClass::tcm;
  Workload workload = Workload::intune;
  ResourceClass resource_class = ResourceClass::configuration;
  SupportState support_state = SupportState::supported;
  RestoreTier restore_tier = RestoreTier::none;
  std::string display_name;
  bool operator==(const ResourceTypeDef&) const = default;
};

struct ScopeDef {
  std::string scope_key;
  std::vector<std::string> canonical_types;
  CoverageLevel minimum_level = CoverageLevel::none;
  bool allow_fallback = false;
  bool include_beta = false;
  bool operator==(const ScopeDef&) const = default;
};

struct TriageEntry {
  std::string group;
  std::string seam;
  std::string category;
  std::string observed_failure;
  std::string candidate_owner;
  FixInScope fix_in_scope = FixInScope::no;
  std::string follow_up;
  std::string status;
  bool operator==(const TriageEntry&) const = default;
};

}  // namespace opsledger
