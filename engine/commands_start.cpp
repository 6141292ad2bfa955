// The operation catalog and the start gate (SPEC sections 6–7).
//
// start: validate the whole command (shape, catalog type, identity fields, nonce rule),
// then decide in the spec's order — not_found/forbidden, blocked (readiness), deduped,
// scope_busy, accepted — and record the decision, whatever it is, as one StartDecided.
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <memory>

#include "engine/access.h"
#include "engine/commands.h"
#include "engine/run_identity.h"
#include "engine/start_request.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "projections/records.h"

namespace opsledger {
namespace json = boost::json;

namespace {

constexpr std::size_t kContextBytesMax = 16 * 1024;

constexpr std::array<std::string_view, 3> kContextObjectKeys = {"target_scope", "selection", "idempotency"};

// The index of an id key in kContextIdKeys, or kContextIdKeys.size().
std::size_t id_key_index(std::string_view k) {
  return static_cast<std::size_t>(std::find(kContextIdKeys.begin(), kContextIdKeys.end(), k) - kContextIdKeys.begin());
}
bool is_id_key(std::string_view k) { return id_key_index(k) < kContextIdKeys.size(); }
bool is_identity_field(std::string_view k) { return is_id_key(k) || k == "scheduled_for"; }

std::optional<Id> as_id(const json::value& v) {
  if (v.is_int64() && v.get_int64() > 0) return static_cast<Id>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() > 0) return v.get_uint64();
  return std::nullopt;
}

// Type-checks the known context keys (other keys are carried as given) and returns the
// context's canonical JSON, which is what the 16 KiB bound applies to.
std::string check_context(Fields& f, const json::object& ctx) {
  std::string canonical = canonical_json(ctx);
  if (canonical.size() > kContextBytesMax) {
    f.fail("invalid_field", "must be at most 16 KiB", "context");
    return canonical;
  }
  for (const auto& kv : ctx) {
    std::string_view k = kv.key();
    std::string field = "context." + std::string(k);
    if (is_id_key(k) && !as_id(kv.value())) {
      f.fail("invalid_field", "must be an integer from 1 to 2^64-1", field);
    } else if (k == "scheduled_for" && !(kv.value().is_string() && parse_time(kv.value().get_string()))) {
      f.fail("invalid_field", "must be an RFC 3339 time", field);
    } else if (std::find(kContextObjectKeys.begin(), kContextObjectKeys.end(), k) != kContextObjectKeys.end() &&
               !kv.value().is_object()) {
      f.fail("invalid_field", "must be a JSON object", field);
    }
  }
  return canonical;
}

struct Resolved {
  std::optional<Id> pc;
  std::shared_ptr<const ConnectionRecord> conn;
};

Resolved resolve_connection(const Store& s, Id ws, std::optional<Id> tenant, std::optional<Id> explicit_pc) {
  Resolved r;
  std::optional<Id> candidate = explicit_pc;
  if (!candidate && tenant) candidate = load_u64(s, Table::tenant_defaults, key_id(*tenant));
  if (!candidate) return r;
  auto conn = load_shared<ConnectionRecord>(s, Table::connections, key_id(*candidate));
  if (!conn || conn->workspace_id != ws || (tenant && conn->tenant_id != *tenant)) return r;
  r.pc = candidate;
  r.conn = conn;
  return r;
}

// The first blocking readiness reason, or "" when ready (SPEC section 5 order).
std::string_view blocking_reason(const Resolved& r, bool readiness_exempt) {
  if (!r.conn) return "provider_connection_missing";
  if (!r.conn->enabled) return "provider_connection_disabled";
  if (readiness_exempt) return {};
  if (r.conn->consent != Consent::granted) return "provider_consent_missing";
  if (r.conn->credentials != Credentials::usable) return "provider_credentials_unusable";
  if (r.conn->permissions != Permissions::ok) return "provider_permission_denied";
  return {};
}

std::string minute_of(std::string_view rfc3339) {
  TimeUs t = *parse_time(rfc3339);
  constexpr TimeUs minute = 60LL * 1000000;
  TimeUs floored = t >= 0 ? t / minute * minute : -((-t + minute - 1) / minute) * minute;
  return format_time(floored);
}

// The identity fields' canonical JSON (keys sorted bytewise; ids as integers, the minute
// as a string), from what the parsing thread read off the context.
std::string identity_fields_json(const OperationTypeDef& def, const StartRequest& r, std::optional<Id> pc) {
  std::vector<std::pair<std::string_view, std::string>> fields;
  fields.reserve(def.identity_fields.size());
  for (const auto& name : def.identity_fields) {
    std::string value;
    if (name == "provider_connection_id") {
      if (!pc) continue;
      value = std::to_string(*pc);
    } else if (name == "scheduled_for") {
      if (!r.scheduled_minute) continue;
      append_json_string(value, *r.scheduled_minute);
    } else if (std::size_t i = id_key_index(name); i < kContextIdKeys.size() && r.context_ids[i]) {
      value = std::to_string(*r.context_ids[i]);
    } else {
      continue;
    }
    fields.emplace_back(name, std::move(value));
  }
  std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "{";
  std::string_view last;
  for (const auto& [name, value] : fields) {
    if (out.size() > 1 && name == last) continue;  // a name listed twice is one field
    if (out.size() > 1) out += ',';
    append_json_string(out, name);
    out += ':';
    out += value;
    last = name;
  }
  out += '}';
  return out;
}

// Whether the context holds identity field `name` (its value checked by check_context).
bool has_identity_field(const StartRequest& r, std::string_view name) {
  if (name == "scheduled_for") return r.scheduled_minute.has_value();
  std::size_t i = id_key_index(name);
  return i < kContextIdKeys.size() ? r.context_ids[i].has_value() : r.context->contains(name);
}

// Reads the identity candidates off a sound context (read_start, on the parsing thread).
void read_identity_candidates(StartRequest& r) {
  for (const auto& kv : *r.context) {
    std::string_view k = kv.key();
    if (std::size_t i = id_key_index(k); i < kContextIdKeys.size())
      r.context_ids[i] = as_id(kv.value());
    else if (k == "scheduled_for")
      r.scheduled_minute = minute_of(kv.value().get_string());
  }
}

}  // namespace

StartRequest read_start(Fields& f, const json::object& command, bool has_request_id) {
  StartRequest r;
  if (!has_request_id) f.fail("missing_field", "start requires a request_id", "request_id");
  r.at = f.opt_time("at");
  r.actor = f.actor();
  r.workspace_id = f.id("workspace_id");
  r.tenant_id = f.opt_id("tenant_id");
  r.type = f.text("type");
  r.provider_connection_id = f.opt_id("provider_connection_id");
  r.nonce = f.opt_text("nonce");
  r.context = f.object("context", true);
  if (f.failed()) {
    r.error = f.finish();
    return r;
  }
  Fields context_fields(command);  // its own record of the first fault
  r.context_json = check_context(context_fields, *r.context);
  r.context_error = context_fields.fault();
  if (!r.context_error) read_identity_candidates(r);
  r.unknown_field = f.finish();
  return r;
}

Answer cmd_start(CommandContext& ctx, Fields& f) {
  return decide_start(ctx, read_start(f, f.object(), !ctx.request_id().empty()));
}

Answer decide_start(CommandContext& ctx, const StartRequest& r) {
  if (r.error) return *r.error;
  auto def = load_shared<OperationTypeDef>(ctx.store(), Table::catalog, r.type);
  if (!def)
    return field_error("unknown_operation_type", "type " + r.type + " is not in the operation catalog", "type");
  if (r.context_error) return *r.context_error;
  for (const auto& name : def->identity_fields)
    if (name != "provider_connection_id" && !has_identity_field(r, name))
      return field_error("missing_field", "identity field of " + r.type + " is absent", "context." + name);
  const auto& nonce = r.nonce;
  if (def->identity_policy == IdentityPolicy::nonce) {
    if (!nonce) return field_error("missing_field", r.type + " takes a nonce per click", "nonce");
    if (nonce->empty()) return field_error("invalid_field", "must be a non-empty string", "nonce");
  }
  if (r.unknown_field) return *r.unknown_field;
  if (auto replayed = ctx.replay()) return *replayed;

  const auto& type = r.type;
  const Actor& actor = r.actor;
  Id ws = r.workspace_id;
  auto tenant = r.tenant_id;
  auto top_pc = r.provider_connection_id;
  auto at = r.at;
  const Store& s = ctx.store();
  // Built in place as an Event: append and answer_for take the variant, and passing them a
  // StartDecided would copy it, strings and all, into a temporary variant for each call.
  Event event(std::in_place_type<StartDecided>);
  StartDecided& ev = std::get<StartDecided>(event);
  ev.workspace_id = ws;
  ev.tenant_id = tenant;
  ev.type = type;
  ev.label = def->label;
  ev.identity_policy = def->identity_policy;
  ev.context_json = r.context_json;
  if (nonce) ev.nonce = *nonce;
  TimeUs when = at_or_now(ctx, at);
  auto record = [&](Decision d, std::string_view reason) {
    ev.decision = d;
    ev.reason_code = std::string(reason);
    return answer_for(event, ctx.append(event, when, actor));
  };

  // 1. isolation and capability
  Access access = check_access(s, actor, ws, tenant, def->capability);
  if (access == Access::ok && actor.kind == ActorKind::system && !def->system_allowed) access = Access::forbidden;
  if (access == Access::not_found) return record(Decision::not_found, "not_found");
  if (access == Access::forbidden) return record(Decision::forbidden, "capability_missing");

  // 2. readiness
  std::optional<Id> explicit_pc = top_pc;
  if (!explicit_pc) explicit_pc = r.context_ids[id_key_index("provider_connection_id")];
  Resolved res;
  if (def->provider_backed) {
    res = resolve_connection(s, ws, tenant, explicit_pc);
    if (res.conn) {
      ev.provider_connection_id = res.pc;
      ev.readiness = ReadinessSeen{true,
                                   *res.pc,
                                   res.conn->consent,
                                   res.conn->credentials,
                                   res.conn->permissions,
                                   res.conn->enabled,
                                   res.conn->max_concurrent_runs,
                                   static_cast<std::uint32_t>(
                                       load_u64(s, Table::conn_active_count, key_id(*res.pc)).value_or(0))};
    }
    auto reason = blocking_reason(res, def->readiness_exempt);
    if (!reason.empty()) return record(Decision::blocked, reason);
  }

  // 3. dedupe
  ScopeKind scope_kind = tenant ? ScopeKind::tenant : ScopeKind::workspace;
  Id scope_id = tenant ? *tenant : ws;
  std::optional<Id> identity_pc = def->provider_backed ? res.pc : explicit_pc;
  ev.run_identity_hash = run_identity_hash(type, scope_kind, scope_id, identity_fields_json(*def, r, identity_pc),
                                           def->identity_policy == IdentityPolicy::nonce ? &*nonce : nullptr);
  auto ikey = key_identity(scope_kind, scope_id, ev.run_identity_hash);
  bool strict = def->identity_policy == IdentityPolicy::strict;
  if (auto held = load_u64(s, strict ? Table::strict_identity : Table::active_identity, ikey)) {
    ev.run_id = *held;
    return record(Decision::deduped, strict ? "run_already_exists" : "run_already_active");
  }

  // 4. connection capacity
  if (def->provider_backed && ev.readiness.active_runs >= ev.readiness.max_concurrent_runs) {
    s.scan(Table::conn_active, key_id(*res.pc), [&](std::string_view k, std::string_view) {
      ev.run_id = get_be64(k, 8);
      return false;
    });
    return record(Decision::scope_busy, "provider_connection_busy");
  }

  // 5. accepted: the run exists before any work is dispatched
  ev.run_id = load_u64(s, Table::meta, kMetaNextRunId).value_or(1);
  if (res.pc) {
    json::object stamped = *r.context;
    stamped["provider_connection_id"] = *res.pc;
    ev.context_json = canonical_json(stamped);
  }
  return record(Decision::accepted, "");
}

Answer cmd_define_operation_type(CommandContext& ctx, Fields& f) {
  OperationTypeDef d;
  d.type = f.text("type");
  d.label = f.text("label");
  d.identity_policy = f.enumv<IdentityPolicy>("identity_policy");
  if (auto* arr = f.array("identity_fields", false)) {
    for (const auto& v : *arr) {
      if (!v.is_string() || !is_identity_field(v.get_string())) {
        f.fail("invalid_field", "each identity field must be one of the known context keys", "identity_fields");
        break;
      }
      d.identity_fields.emplace_back(v.get_string());
    }
  }
  d.provider_backed = f.opt_boolean("provider_backed").value_or(true);
  d.readiness_exempt = f.opt_boolean("readiness_exempt").value_or(false);
  d.capability = f.text("capability");
  d.system_allowed = f.opt_boolean("system_allowed").value_or(false);
  constexpr std::uint64_t kMaxSeconds = 365ULL * 24 * 3600;
  d.expected_duration_s = f.opt_uint("expected_duration_s", 1, kMaxSeconds).value_or(600);
  d.stale_after_s = f.opt_uint("stale_after_s", 1, 3 * kMaxSeconds).value_or(3 * d.expected_duration_s);
  auto at = f.opt_time("at");
  if (!f.failed() && (d.type.empty() || d.type.size() > 128)) f.fail("invalid_field", "must be 1 to 128 characters", "type");
  if (!f.failed() && !is_capability(d.capability)) f.fail("invalid_field", "not a known capability", "capability");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto existing = load<OperationTypeDef>(ctx.store(), Table::catalog, d.type); existing && *existing == d)
    return Answer::success();
  OperationTypeDefined ev{d};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), Actor{}));
}

}  // namespace opsledger
