// The coverage claim guard (SPEC section 9): evaluates one claim against the registry,
// the supported scopes and the latest observations, collecting every reason that applies.
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

ClaimResult evaluate_claim(const Store& store, const ClaimInput& in);

// Highest level a customer coverage claim is eligible for, or nullopt.
std::optional<CoverageLevel> eligible_level(const Store& store, Id env, const ScopeDef& scope);

// Incremental upkeep of the eligibility table (Table::eligibility).
void refresh_eligibility(Store& store, Id env, const ScopeDef& scope);
void refresh_eligibility_for_scope(Store& store, const ScopeDef& scope);          // all environments
void refresh_eligibility_for_type(Store& store, std::string_view canonical_type);  // scopes listing it
void refresh_eligibility_for_observation(Store& store, Id env, std::string_view canonical_type);

}  // namespace opsledger
