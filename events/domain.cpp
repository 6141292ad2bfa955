#include "events/domain.h"

namespace opsledger {

#define OPSLEDGER_NAMES(E, ...)                                         \
  const std::vector<std::string_view>& EnumNames<E>::names() {          \
    static const std::vector<std::string_view> n{__VA_ARGS__};          \
    return n;                                                           \
  }

OPSLEDGER_NAMES(Role, "owner", "manager", "operator", "readonly")
OPSLEDGER_NAMES(Consent, "granted", "missing")
OPSLEDGER_NAMES(Credentials, "usable", "unusable", "missing")
OPSLEDGER_NAMES(Permissions, "ok", "denied")
OPSLEDGER_NAMES(Decision, "accepted", "deduped", "scope_busy", "blocked", "not_found", "forbidden")
OPSLEDGER_NAMES(RunStatus, "queued", "running", "completed")
OPSLEDGER_NAMES(Outcome, "pending", "succeeded", "partially_succeeded", "failed", "blocked", "cancelled")
OPSLEDGER_NAMES(IdentityPolicy, "while_active", "nonce", "strict")
OPSLEDGER_NAMES(ScopeKind, "tenant", "workspace")
OPSLEDGER_NAMES(CheckStatus, "pass", "warn", "fail", "skip")
OPSLEDGER_NAMES(CompletionCause, "completed", "cancelled", "stale")
OPSLEDGER_NAMES(SourceClass, "tcm", "graph_v1_fallback", "graph_beta_experimental")
OPSLEDGER_NAMES(Workload, "intune")
OPSLEDGER_NAMES(ResourceClass, "configuration")
OPSLEDGER_NAMES(SupportState, "supported", "limited", "unsupported")
OPSLEDGER_NAMES(CoverageLevel, "none", "inventoried", "content_captured", "restore_verified")
OPSLEDGER_NAMES(EvidenceState, "none", "partial", "complete", "stale")
OPSLEDGER_NAMES(IdentityState, "unresolved", "resolved", "ambiguous")
OPSLEDGER_NAMES(RestoreTier, "none", "manual", "automated")
OPSLEDGER_NAMES(ClaimState, "eligible", "blocked")
OPSLEDGER_NAMES(Audience, "customer", "operator")
OPSLEDGER_NAMES(ClaimKind, "coverage", "restore", "certification")
OPSLEDGER_NAMES(FixInScope, "yes", "no", "only_if_runtime_owner_proven")
OPSLEDGER_NAMES(LegacyKind, "inventory_sync", "entra_group_sync", "backup_schedule_run")

#undef OPSLEDGER_NAMES

}  // namespace opsledger
