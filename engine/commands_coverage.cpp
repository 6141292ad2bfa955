// Coverage v2 kernel commands (SPEC section 9): the resource type registry, supported
// scopes, managed environments, coverage observations, the claim guard and the
// eligibility query. The guard itself and the eligibility upkeep live in
// projections/claims.cpp; these handlers validate, check ownership and record.
//
// Actors (docs/coverage.md): the registry and the scopes are platform-wide, so a user
// actor — a member of some workspace — may not change them (forbidden); the embedding
// service (no actor) or a system actor may. Environments and observations belong to a
// workspace: a user actor needs coverage.manage there. Claims and the eligibility query
// need operations.view. A user actor outside the workspace gets not_found, exactly as for
// a workspace that does not exist.
#include <boost/json.hpp>

#include <algorithm>

#include "engine/access.h"
#include "engine/commands.h"
#include "projections/claims.h"
#include "projections/records.h"

namespace opsledger {
namespace json = boost::json;

namespace {

constexpr std::size_t kKeyBytesMax = 128;         // canonical_type, scope_key
constexpr std::size_t kScopeTypesMax = 256;       // canonical_types per scope

// Keys (canonical types, scope keys) are 1–128 printable ASCII characters without spaces:
// they are table keys and must never hold a NUL or a control byte.
bool valid_key(std::string_view s) {
  if (s.empty() || s.size() > kKeyBytesMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

constexpr std::string_view kKeyRule = "must be 1 to 128 printable ASCII characters without spaces";

std::string key_field(Fields& f, std::string_view key) {
  auto v = f.text(key);
  if (!f.failed() && !valid_key(v)) f.fail("invalid_field", kKeyRule, key);
  return v;
}

std::optional<std::string> opt_key_field(Fields& f, std::string_view key) {
  auto v = f.opt_text(key);
  if (v && !f.failed() && !valid_key(*v)) f.fail("invalid_field", kKeyRule, key);
  return v;
}

// A non-empty list of distinct canonical types, at most kScopeTypesMax, order kept.
std::vector<std::string> type_list_field(Fields& f, std::string_view key) {
  std::vector<std::string> out;
  const json::array* arr = f.array(key, true);
  if (!arr) return out;
  if (arr->empty()) {
    f.fail("invalid_field", "must list at least one canonical type", key);
    return out;
  }
  if (arr->size() > kScopeTypesMax) {
    f.fail("invalid_field", "may list at most " + std::to_string(kScopeTypesMax) + " canonical types", key);
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& v = (*arr)[i];
    if (!v.is_string() || !valid_key(v.get_string())) {
      f.fail("invalid_field", "entry " + std::to_string(i) + " " + std::string(kKeyRule), key);
      return {};
    }
    std::string t(v.get_string());
    if (std::find(out.begin(), out.end(), t) != out.end()) {
      f.fail("invalid_field", "lists " + t + " more than once", key);
      return {};
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Registry and scopes are platform-wide: no workspace member may change them.
std::optional<Answer> check_platform_actor(const std::optional<Actor>& actor) {
  if (actor && actor->kind == ActorKind::user)
    return Answer::error("forbidden",
                         "the resource type registry and the supported scopes are platform-wide: only the embedding "
                         "service or a system actor may change them",
                         "actor");
  return std::nullopt;
}

// The workspace prelude. A user actor: reach and capability (not_found / forbidden; a
// missing workspace is not_found, indistinguishable from another's). No actor or a system
// actor: unknown_workspace when it does not exist.
std::optional<Answer> check_workspace(CommandContext& ctx, const std::optional<Actor>& actor, Id ws,
                                      std::string_view capability) {
  if (actor && actor->kind == ActorKind::user) {
    switch (check_access(ctx.store(), *actor, ws, std::nullopt, capability)) {
      case Access::ok: return std::nullopt;
      case Access::not_found: return Answer::error("not_found", "not found", "workspace_id");
      case Access::forbidden:
        return Answer::error("forbidden", "the actor lacks the " + std::string(capability) + " capability", "actor");
    }
  }
  if (!ctx.store().has(Table::workspaces, key_id(ws)))
    return Answer::error("unknown_workspace", "workspace " + std::to_string(ws) + " does not exist", "workspace_id");
  return std::nullopt;
}

// An environment outside the named workspace is as unknown as one that does not exist.
std::optional<Answer> check_environment(CommandContext& ctx, Id ws, Id env) {
  auto rec = load<EnvironmentRecord>(ctx.store(), Table::environments, key_id(env));
  if (!rec || rec->workspace_id != ws)
    return Answer::error("unknown_managed_environment",
                         "managed environment " + std::to_string(env) + " does not exist in workspace " +
                             std::to_string(ws),
                         "managed_environment_id");
  return std::nullopt;
}

bool type_registered(const Store& s, std::string_view type) {
  bool any = false;
  std::string prefix(type);
  prefix.push_back('\0');
  s.scan(Table::resource_types, prefix, [&](std::string_view k, std::string_view) {
    any = k.size() == prefix.size() + 1;
    return !any;
  });
  return any;
}

}  // namespace

Answer cmd_register_resource_type(CommandContext& ctx, Fields& f) {
  ResourceTypeDef d;
  d.canonical_type = key_field(f, "canonical_type");
  d.source_class = f.enumv<SourceClass>("source_class");
  d.workload = f.enumv<Workload>("workload");
  d.resource_class = f.enumv<ResourceClass>("resource_class");
  d.support_state = f.enumv<SupportState>("support_state");
  d.restore_tier = f.enumv<RestoreTier>("restore_tier");
  d.display_name = f.text("display_name");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_platform_actor(actor)) return *denied;
  auto before = load<ResourceTypeDef>(ctx.store(), Table::resource_types,
                                      key_resource_type(d.canonical_type, d.source_class));
  if (before && *before == d) return Answer::success();  // identical: nothing to record
  ResourceTypeRegistered ev{d, before};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_define_supported_scope(CommandContext& ctx, Fields& f) {
  ScopeDef d;
  d.scope_key = key_field(f, "scope_key");
  d.canonical_types = type_list_field(f, "canonical_types");
  d.minimum_level = f.enumv<CoverageLevel>("minimum_level");
  d.allow_fallback = f.boolean("allow_fallback");
  d.include_beta = f.boolean("include_beta");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_platform_actor(actor)) return *denied;
  for (const auto& t : d.canonical_types)
    if (!type_registered(ctx.store(), t))
      return Answer::error("unknown_resource_type", "resource type " + t + " is not registered", "canonical_types");
  auto before = load<ScopeDef>(ctx.store(), Table::scopes, d.scope_key);
  if (before && *before == d) return Answer::success();  // identical: nothing to record
  SupportedScopeDefined ev{d, before};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_register_managed_environment(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id env = f.id("managed_environment_id");
  auto name = f.text("name");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_workspace(ctx, actor, ws, "coverage.manage")) return *denied;
  if (auto existing = load<EnvironmentRecord>(ctx.store(), Table::environments, key_id(env))) {
    if (existing->workspace_id == ws && existing->name == name) return Answer::success();
    return Answer::error("invalid_field",
                         "managed environment " + std::to_string(env) + " is already registered" +
                             (existing->workspace_id == ws ? " with another name" : " in another workspace"),
                         "managed_environment_id");
  }
  ManagedEnvironmentRegistered ev{ws, env, name};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_record_coverage(CommandContext& ctx, Fields& f) {
  CoverageRecorded ev;
  ev.workspace_id = f.id("workspace_id");
  ev.managed_environment_id = f.id("managed_environment_id");
  // Coverage is owned by workspace plus environment, never by a tenant.
  if (f.raw("tenant_id", false))
    f.fail("tenant_id_not_allowed", "coverage belongs to a workspace and a managed environment, not to a tenant",
           "tenant_id");
  ev.canonical_type = key_field(f, "canonical_type");
  ev.source_class = f.enumv<SourceClass>("source_class");
  ev.level = f.enumv<CoverageLevel>("level");
  ev.evidence_state = f.enumv<EvidenceState>("evidence_state");
  ev.identity_state = f.enumv<IdentityState>("identity_state");
  ev.provider_connection_id = f.opt_id("provider_connection_id");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_workspace(ctx, actor, ev.workspace_id, "coverage.manage")) return *denied;
  if (auto unknown = check_environment(ctx, ev.workspace_id, ev.managed_environment_id)) return *unknown;
  if (!type_registered(ctx.store(), ev.canonical_type))
    return Answer::error("unknown_resource_type", "resource type " + ev.canonical_type + " is not registered",
                         "canonical_type");
  if (!ctx.store().has(Table::resource_types, key_resource_type(ev.canonical_type, ev.source_class)))
    return Answer::error("unknown_resource_type",
                         "resource type " + ev.canonical_type + " is not registered for source class " +
                             std::string(name_of(ev.source_class)),
                         "source_class");
  if (ev.provider_connection_id) {
    auto conn = load<ConnectionRecord>(ctx.store(), Table::connections, key_id(*ev.provider_connection_id));
    if (!conn)
      return Answer::error("unknown_provider_connection",
                           "provider connection " + std::to_string(*ev.provider_connection_id) + " does not exist",
                           "provider_connection_id");
    if (conn->workspace_id != ev.workspace_id)
      return Answer::error("provider_connection_scope_mismatch",
                           "provider connection " + std::to_string(*ev.provider_connection_id) +
                               " belongs to another workspace",
                           "provider_connection_id");
  }
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_evaluate_claim(CommandContext& ctx, Fields& f) {
  ClaimEvaluated ev;
  ev.workspace_id = f.id("workspace_id");
  ev.managed_environment_id = f.id("managed_environment_id");
  ev.scope_key = opt_key_field(f, "scope_key");
  ev.level = f.enumv<CoverageLevel>("level");
  ev.audience = f.enumv<Audience>("audience");
  ev.kind = f.enumv<ClaimKind>("kind");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto denied = check_workspace(ctx, actor, ev.workspace_id, "operations.view")) return *denied;
  if (auto unknown = check_environment(ctx, ev.workspace_id, ev.managed_environment_id)) return *unknown;
  auto result = evaluate_claim(ctx.store(), ClaimInput{ev.managed_environment_id, ev.scope_key, ev.level,
                                                       ev.audience, ev.kind});
  ev.claim_state = result.claim_state;
  ev.reasons = std::move(result.reasons);
  ev.complete = result.complete;
  ev.covered = result.covered;
  ev.denominator = result.denominator;
  ev.missing = std::move(result.missing);
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_claim_eligibility(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  Id env = f.id("managed_environment_id");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto denied = check_workspace(ctx, actor, ws, "operations.view")) return *denied;
  if (auto unknown = check_environment(ctx, ws, env)) return *unknown;
  json::object eligibility;
  ctx.store().scan(Table::scopes, {}, [&](std::string_view scope_key, std::string_view) {
    auto lvl = stored_eligibility(ctx.store(), env, scope_key);
    eligibility[scope_key] = lvl ? json::value(name_of(*lvl)) : json::value(nullptr);
    return true;
  });
  Answer a = Answer::success();
  a.body["eligibility"] = std::move(eligibility);
  return a;
}

}  // namespace opsledger
