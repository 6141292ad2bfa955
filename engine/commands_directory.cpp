// Directory and authorization commands (SPEC section 4).
#include <algorithm>

#include "engine/access.h"
#include "engine/commands.h"
#include "projections/records.h"

namespace opsledger {

// The common prelude of directory, provider and catalog commands: an optional actor
// whose capability is checked when present (the embedding service itself sends none).
std::optional<Answer> check_admin_actor(CommandContext& ctx, const std::optional<Actor>& actor, Id ws,
                                        std::string_view capability) {
  return check_admin_actor(ctx, actor, ws, std::nullopt, capability, "workspace_id");
}

std::optional<Answer> check_admin_actor(CommandContext& ctx, const std::optional<Actor>& actor,
                                        std::optional<Id> ws, std::optional<Id> tenant,
                                        std::string_view capability, std::string_view field) {
  if (!actor || actor->kind != ActorKind::user) return std::nullopt;
  Access access = ws ? check_access(ctx.store(), *actor, *ws, tenant, capability) : Access::not_found;
  switch (access) {
    case Access::ok: return std::nullopt;
    case Access::not_found: return Answer::error("not_found", "not found", field);
    case Access::forbidden: return Answer::error("forbidden", "the actor lacks the " + std::string(capability) + " capability", "actor");
  }
  return std::nullopt;
}

Answer cmd_register_workspace(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  auto name = f.text("name");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  std::string existing;
  if (ctx.store().get(Table::workspaces, key_id(ws), existing)) {
    if (existing == name) return Answer::success();
    return Answer::error("invalid_field", "workspace " + std::to_string(ws) + " is already registered with another name",
                         "workspace_id");
  }
  return answer_for(WorkspaceRegistered{ws, name},
                    ctx.append(WorkspaceRegistered{ws, name}, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_register_tenant(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id tenant = f.id("tenant_id");
  auto name = f.text("name");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_admin_actor(ctx, actor, ws, "members.manage")) return *denied;
  if (!ctx.store().has(Table::workspaces, key_id(ws)))
    return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
  if (auto t = load<TenantRecord>(ctx.store(), Table::tenants, key_id(tenant))) {
    if (t->workspace_id == ws && t->name == name) return Answer::success();
    return Answer::error("invalid_field",
                         "tenant " + std::to_string(tenant) + " is already registered" +
                             (t->workspace_id == ws ? " with another name" : " in another workspace"),
                         "tenant_id");
  }
  TenantRegistered ev{ws, tenant, name};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_grant_membership(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id user = f.id("user_id");
  auto role = f.enumv<Role>("role");
  auto tenants_json = f.array("tenant_ids", false);
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  std::vector<Id> tenant_ids;
  if (tenants_json) {
    for (const auto& v : *tenants_json) {
      if (v.is_int64() && v.get_int64() > 0)
        tenant_ids.push_back(static_cast<Id>(v.get_int64()));
      else if (v.is_uint64() && v.get_uint64() > 0)
        tenant_ids.push_back(v.get_uint64());
      else {
        f.fail("invalid_field", "every tenant id must be an integer from 1 to 2^64-1", "tenant_ids");
        break;
      }
    }
  }
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_admin_actor(ctx, actor, ws, "members.manage")) return *denied;
  if (!ctx.store().has(Table::workspaces, key_id(ws)))
    return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
  std::sort(tenant_ids.begin(), tenant_ids.end());
  tenant_ids.erase(std::unique(tenant_ids.begin(), tenant_ids.end()), tenant_ids.end());
  for (Id t : tenant_ids) {
    auto rec = load<TenantRecord>(ctx.store(), Table::tenants, key_id(t));
    if (!rec || rec->workspace_id != ws)
      return Answer::error("unknown_tenant", "tenant " + std::to_string(t) + " does not exist in workspace " + std::to_string(ws),
                           "tenant_ids");
  }
  MembershipGranted ev{ws, user, role, tenants_json == nullptr, tenant_ids};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_revoke_membership(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id user = f.id("user_id");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_admin_actor(ctx, actor, ws, "members.manage")) return *denied;
  if (!ctx.store().has(Table::workspaces, key_id(ws)))
    return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
  if (!ctx.store().has(Table::memberships, key_ids(ws, user))) return Answer::success();  // nothing to revoke
  MembershipRevoked ev{ws, user};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

}  // namespace opsledger
