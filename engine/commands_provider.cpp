// Provider connection commands (SPEC section 5). A user actor needs provider.manage.
#include "engine/access.h"
#include "engine/commands.h"
#include "projections/records.h"

namespace opsledger {

Answer cmd_register_provider_connection(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id tenant = f.id("tenant_id");
  Id pc = f.id("provider_connection_id");
  auto provider = f.text("provider");
  auto display_name = f.text("display_name");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_admin_actor(ctx, actor, ws, tenant, "provider.manage", "tenant_id")) return *denied;
  if (!ctx.store().has(Table::workspaces, key_id(ws)))
    return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
  auto t = load<TenantRecord>(ctx.store(), Table::tenants, key_id(tenant));
  if (!t || t->workspace_id != ws)
    return Answer::error("unknown_tenant", "tenant " + std::to_string(tenant) + " does not exist in workspace " + std::to_string(ws),
                         "tenant_id");
  if (auto existing = load<ConnectionRecord>(ctx.store(), Table::connections, key_id(pc))) {
    if (existing->workspace_id == ws && existing->tenant_id == tenant && existing->provider == provider &&
        existing->display_name == display_name)
      return Answer::success();
    return Answer::error("invalid_field", "provider connection " + std::to_string(pc) + " is already registered differently",
                         "provider_connection_id");
  }
  ProviderConnectionRegistered ev{ws, tenant, pc, provider, display_name};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_set_default_provider_connection(CommandContext& ctx, Fields& f) {
  Id tenant = f.id("tenant_id");
  Id pc = f.id("provider_connection_id");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  auto t = load<TenantRecord>(ctx.store(), Table::tenants, key_id(tenant));
  if (auto denied = check_admin_actor(ctx, actor, t ? std::optional<Id>(t->workspace_id) : std::nullopt, tenant,
                                      "provider.manage", "tenant_id"))
    return *denied;
  if (!t) return Answer::error("unknown_tenant", "tenant " + std::to_string(tenant) + " does not exist", "tenant_id");
  auto conn = load<ConnectionRecord>(ctx.store(), Table::connections, key_id(pc));
  if (!conn || conn->tenant_id != tenant)
    return Answer::error("unknown_provider_connection",
                         "provider connection " + std::to_string(pc) + " does not exist for tenant " + std::to_string(tenant),
                         "provider_connection_id");
  if (load_u64(ctx.store(), Table::tenant_defaults, key_id(tenant)) == pc) return Answer::success();
  DefaultProviderConnectionSet ev{tenant, pc};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_update_provider_connection(CommandContext& ctx, Fields& f) {
  ProviderConnectionUpdated ev;
  ev.provider_connection_id = f.id("provider_connection_id");
  ev.consent = f.opt_enum<Consent>("consent");
  ev.credentials = f.opt_enum<Credentials>("credentials");
  ev.permissions = f.opt_enum<Permissions>("permissions");
  ev.enabled = f.opt_boolean("enabled");
  if (auto n = f.opt_uint("max_concurrent_runs", 1, 1000000)) ev.max_concurrent_runs = static_cast<std::uint32_t>(*n);
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  auto conn = load<ConnectionRecord>(ctx.store(), Table::connections, key_id(ev.provider_connection_id));
  if (auto denied = check_admin_actor(ctx, actor, conn ? std::optional<Id>(conn->workspace_id) : std::nullopt,
                                      conn ? std::optional<Id>(conn->tenant_id) : std::nullopt, "provider.manage",
                                      "provider_connection_id"))
    return *denied;
  if (!conn)
    return Answer::error("unknown_provider_connection",
                         "provider connection " + std::to_string(ev.provider_connection_id) + " does not exist",
                         "provider_connection_id");
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

}  // namespace opsledger
