// Isolation and the capability registry (SPEC section 4). One place decides what an actor
// may see and do: not_found for anything outside its membership (indistinguishable from
// absence), forbidden for a member without the capability.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "events/domain.h"
#include "events/envelope.h"
#include "projections/records.h"
#include "projections/store.h"

namespace opsledger {

// The capability registry: role → capabilities.
bool role_has(Role role, std::string_view capability);
const std::vector<std::string_view>& capabilities_of(Role role);
bool is_capability(std::string_view capability);

enum class Access { ok, not_found, forbidden };

// Can `actor` reach workspace `ws` (and `tenant`, when given) and hold `capability`?
// A system actor skips membership: not_found only when the workspace or tenant does not
// exist (or the tenant is in another workspace); the capability is the caller's to check.
// An empty capability checks reach only.
Access check_access(const Store& s, const Actor& actor, Id ws, std::optional<Id> tenant, std::string_view capability);

// May `actor` see `run` (operations.view on its workspace and tenant)?
bool can_see_run(const Store& s, const Actor& actor, const RunRecord& run);

}  // namespace opsledger
