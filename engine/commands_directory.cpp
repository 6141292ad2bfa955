// Directory and authorization commands (SPEC section 4).
#include <algorithm>

#include "engine/access.h"
#include "engine/commands.h"
#include "projections/records.h"

namespace opsledger {

namespace {
bool user_actor(const std::optional<Actor>& actor) { return actor && actor->kind == ActorKind::user; }
Answer not_found(std::string_view field) { return Answer::error("not_found", "not found", field); }
}  // namespace

std::optional<Answer> check_admin_actor(CommandContext& ctx, const std::optional<Actor>& actor, Id ws,
                                        std::optional<Id> tenant, std::string_view capability,
                                        std::string_view field) {
  if (!user_actor(actor)) return std::nullopt;
  switch (check_access(ctx.store(), *actor, ws, tenant, capability)) {
    case Access::ok: return std::nullopt;
    case Access::not_found: return not_found(field);
    case Access::forbidden:
      return Answer::error("forbidden", "the actor lacks the " + std::string(capability) + " capability", "actor");
  }
  return std::nullopt;
}

Answer unknown_or_hidden(const std::optional<Actor>& actor, Answer unknown, std::string_view field) {
  return user_actor(actor) ? not_found(field) : std::move(unknown);
}

std::optional<Answer> require_workspace(const Store& s, Id ws) {
  if (s.has(Table::workspaces, key_id(ws))) return std::nullopt;
  return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
}

std::optional<Answer> require_tenant_in(const Store& s, Id ws, Id tenant, std::string_view field) {
  auto t = load<TenantRecord>(s, Table::tenants, key_id(tenant));
  if (t && t->workspace_id == ws) return std::nullopt;
  return Answer::error("unknown_tenant",
                       "tenant " + std::to_string(tenant) + " does not exist in workspace " + std::to_string(ws), field);
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
  if (auto denied = check_admin_actor(ctx, actor, ws, std::nullopt, "members.manage", "workspace_id")) return *denied;
  if (auto e = require_workspace(ctx.store(), ws)) return *e;
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
  if (auto denied = check_admin_actor(ctx, actor, ws, std::nullopt, "members.manage", "workspace_id")) return *denied;
  if (auto e = require_workspace(ctx.store(), ws)) return *e;
  std::sort(tenant_ids.begin(), tenant_ids.end());
  tenant_ids.erase(std::unique(tenant_ids.begin(), tenant_ids.end()), tenant_ids.end());
  for (Id t : tenant_ids)
    if (auto e = require_tenant_in(ctx.store(), ws, t, "tenant_ids")) return *e;
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
  if (auto denied = check_admin_actor(ctx, actor, ws, std::nullopt, "members.manage", "workspace_id")) return *denied;
  if (auto e = require_workspace(ctx.store(), ws)) return *e;
  if (!ctx.store().has(Table::memberships, key_ids(ws, user))) return Answer::success();  // nothing to revoke
  MembershipRevoked ev{ws, user};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

}  // namespace opsledger
