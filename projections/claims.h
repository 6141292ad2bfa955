// The coverage claim guard (SPEC section 9): evaluates one claim against the registry,
// the supported scopes and the latest observations, collecting every reason that applies;
// and the incremental upkeep of the eligibility projection (Table::eligibility).
//
// Eligibility of (environment, scope) is the highest level at which a customer claim of
// kind `coverage` is eligible; restore and certification claims add rules on top of it, so
// no customer claim of any kind is eligible at a higher level. It is a function of the
// scope's definition and the environment's latest observations only — the registry's
// classifications (support state, restore tier) enter restore claims alone — so the
// upkeep recomputes exactly the (environment, scope) pairs an event can change:
//   CoverageRecorded(env, type)    → (env, s) for every scope s listing the type;
//   SupportedScopeDefined(scope)   → (e, scope) for every environment e;
//   ResourceTypeRegistered         → none;
//   ManagedEnvironmentRegistered   → none (a new environment has no observations, and
//                                    "no level eligible" is stored as absence).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "events/domain.h"
#include "projections/store.h"

namespace opsledger {

struct ClaimInput {
  Id managed_environment_id = 0;
  std::optional<std::string> scope_key;
  CoverageLevel level = CoverageLevel::none;
  Audience audience = Audience::customer;
  ClaimKind kind = ClaimKind::coverage;
};

struct ClaimResult {
  ClaimState claim_state = ClaimState::blocked;
  std::vector<std::string> reasons;  // in the spec's order
  bool complete = false;
  std::uint64_t covered = 0;
  std::uint64_t denominator = 0;
  std::vector<std::string> missing;  // in the scope's order
};

// Does `scope` count observations from source class `sc`? tcm always, graph_v1_fallback
// only with allow_fallback, graph_beta_experimental only with include_beta.
bool counts_source(const ScopeDef& scope, SourceClass sc);

ClaimResult evaluate_claim(const Store& store, const ClaimInput& in);

// Highest level a customer coverage claim is eligible for, or nullopt (computed from the
// observations, not read from the table).
std::optional<CoverageLevel> eligible_level(const Store& store, Id env, const ScopeDef& scope);

// The stored eligibility of (env, scope_key): nullopt when no level is eligible.
std::optional<CoverageLevel> stored_eligibility(const Store& store, Id env, std::string_view scope_key);

// Incremental upkeep of the eligibility table, called by the apply path.
void refresh_eligibility(Store& store, Id env, const ScopeDef& scope);
void refresh_eligibility_for_scope(Store& store, const ScopeDef& scope);  // every environment
void refresh_eligibility_for_observation(Store& store, Id env, std::string_view canonical_type);

}  // namespace opsledger
