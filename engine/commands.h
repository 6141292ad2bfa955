// Every command of the protocol and its handler. The dispatcher (engine/dispatch.cpp) has
// already taken `cmd` and `request_id` (set on the context); a handler takes the rest of
// its fields through Fields, calls f.finish(), then ctx.replay(), then decides.
#pragma once

#include <string_view>

#include "engine/command_context.h"
#include "engine/fields.h"

namespace opsledger {

using Handler = Answer (*)(CommandContext& ctx, Fields& f);

struct CommandSpec {
  std::string_view name;
  Handler handle;
};

// nullptr for an unknown command name.
const CommandSpec* find_command(std::string_view name);

// Shared by the admin commands: when a user actor is given, it must reach workspace `ws`
// (else not_found) and hold `capability` (else forbidden). No actor, or a system actor:
// the embedding service is trusted.
std::optional<Answer> check_admin_actor(CommandContext& ctx, const std::optional<Actor>& actor, Id ws,
                                        std::string_view capability);
// The same, called before the command looks anything up, so that an object the actor may
// not see and one that does not exist get the same answer (SPEC section 4): `ws` is the
// workspace the command names or the one its tenant or connection belongs to (nullopt when
// that tenant or connection does not exist), `tenant` the tenant it touches, if any; the
// not_found answer names `field`.
std::optional<Answer> check_admin_actor(CommandContext& ctx, const std::optional<Actor>& actor,
                                        std::optional<Id> ws, std::optional<Id> tenant,
                                        std::string_view capability, std::string_view field);
inline TimeUs at_or_now(const CommandContext& ctx, const std::optional<TimeUs>& at) {
  return at.value_or(ctx.now_us());
}

// Directory and authorization (SPEC section 4) — engine/commands_directory.cpp
Answer cmd_register_workspace(CommandContext&, Fields&);
Answer cmd_register_tenant(CommandContext&, Fields&);
Answer cmd_grant_membership(CommandContext&, Fields&);
Answer cmd_revoke_membership(CommandContext&, Fields&);
// Provider connections (section 5) — engine/commands_provider.cpp
Answer cmd_register_provider_connection(CommandContext&, Fields&);
Answer cmd_set_default_provider_connection(CommandContext&, Fields&);
Answer cmd_update_provider_connection(CommandContext&, Fields&);
// Catalog and start gate (sections 6–7) — engine/commands_start.cpp
Answer cmd_define_operation_type(CommandContext&, Fields&);
Answer cmd_start(CommandContext&, Fields&);
// Run lifecycle (section 8) — engine/commands_lifecycle.cpp
Answer cmd_begin_run(CommandContext&, Fields&);
Answer cmd_record_progress(CommandContext&, Fields&);
Answer cmd_complete_run(CommandContext&, Fields&);
Answer cmd_cancel_run(CommandContext&, Fields&);
Answer cmd_expire_stale_runs(CommandContext&, Fields&);
// Coverage v2 kernel (section 9) — engine/commands_coverage.cpp
Answer cmd_register_resource_type(CommandContext&, Fields&);
Answer cmd_define_supported_scope(CommandContext&, Fields&);
Answer cmd_register_managed_environment(CommandContext&, Fields&);
Answer cmd_record_coverage(CommandContext&, Fields&);
Answer cmd_evaluate_claim(CommandContext&, Fields&);
Answer cmd_claim_eligibility(CommandContext&, Fields&);
// Triage ledger and legacy history (sections 10–11) — engine/commands_ledgers.cpp
Answer cmd_classify_failure_group(CommandContext&, Fields&);
Answer cmd_triage(CommandContext&, Fields&);
Answer cmd_import_legacy_run(CommandContext&, Fields&);
Answer cmd_resolve_legacy(CommandContext&, Fields&);
// Queries (section 12) — engine/commands_queries.cpp
Answer cmd_get_run(CommandContext&, Fields&);
Answer cmd_list_runs(CommandContext&, Fields&);
Answer cmd_explain(CommandContext&, Fields&);
Answer cmd_history(CommandContext&, Fields&);
Answer cmd_notifications(CommandContext&, Fields&);
Answer cmd_state_digest(CommandContext&, Fields&);
Answer cmd_stats(CommandContext&, Fields&);

}  // namespace opsledger
