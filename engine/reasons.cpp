#include "engine/reasons.h"

#include <array>

namespace opsledger {

namespace {
constexpr std::array<Reason, 12> kReasons{{
    {"accepted", "accepted", "The operation was accepted and queued.",
     "Follow the run in Monitoring > Operations; you will be notified when it completes."},
    {"run_already_active", "deduped", "The same operation is already queued or running for this scope.",
     "Open the active run instead of starting another; it will finish the same work."},
    {"run_already_exists", "deduped", "This scheduled slot has already been run; a slot runs at most once.",
     "Open the existing run; the next slot will run on schedule."},
    {"provider_connection_busy", "scope_busy",
     "The provider connection is busy with other operations and has no free run slot.",
     "Wait for the active run to finish, then start again."},
    {"not_found", "not_found", "The workspace, tenant or run was not found.",
     "Check the workspace and tenant you selected, or ask a workspace owner for access."},
    {"capability_missing", "forbidden", "Your role does not allow this operation.",
     "Ask a workspace owner or manager to perform it or to grant you a role that includes it."},
    {"provider_connection_missing", "blocked", "No provider connection is available for this tenant.",
     "Register a provider connection for the tenant and set it as the tenant's default."},
    {"provider_connection_disabled", "blocked", "The provider connection is disabled.",
     "Enable the provider connection, or choose another one."},
    {"provider_consent_missing", "blocked", "Admin consent has not been granted for the provider connection.",
     "Grant admin consent for the connection, then run provider verification."},
    {"provider_credentials_unusable", "blocked", "The provider connection's credentials are missing or unusable.",
     "Update the connection's credentials, then run provider verification."},
    {"provider_permission_denied", "blocked", "The provider denied a permission this operation needs.",
     "Grant the missing API permissions to the connection, then run provider verification."},
    {"unknown", "blocked", "The operation could not be started.", "Contact support with the request id."},
}};
}  // namespace

const Reason& reason_for(std::string_view code) {
  for (const auto& r : kReasons)
    if (r.code == code) return r;
  return kReasons.back();
}

}  // namespace opsledger
