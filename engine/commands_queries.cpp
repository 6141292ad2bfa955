// Queries (SPEC section 12). They append nothing. Those that carry an actor obey the
// isolation rule: what the actor may not see answers not_found, exactly as absence does.
#include <boost/json.hpp>

#include "engine/access.h"
#include "engine/commands.h"
#include "engine/render_json.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "projections/records.h"
#include "projections/run_touches.h"

namespace opsledger {
namespace json = boost::json;

json::object run_to_json(const RunRecord& r) {
  json::object o{{"run_id", r.run_id}, {"workspace_id", r.workspace_id}};
  o["tenant_id"] = r.tenant_id ? json::value(*r.tenant_id) : json::value(nullptr);
  o["type"] = r.type;
  o["label"] = r.label;
  o["status"] = name_of(r.status);
  o["outcome"] = name_of(r.outcome);
  json::object initiator{{"kind", r.initiator.kind == ActorKind::user ? "user" : "system"}, {"name", r.initiator.name}};
  if (r.initiator.kind == ActorKind::user) initiator["user_id"] = r.initiator.user_id;
  o["initiator"] = std::move(initiator);
  o["provider_connection_id"] = r.provider_connection_id ? json::value(*r.provider_connection_id) : json::value(nullptr);
  o["run_identity_hash"] = r.run_identity_hash;
  o["request_id"] = r.request_id;
  o["context"] = parse_stored_json(r.context_json);
  o["summary_counts"] = counts_to_json(r.counts);
  o["failures"] = failures_to_json(r.failures);
  o["failures_dropped"] = r.failures_dropped;
  o["report"] = r.report ? json::value(report_to_json(*r.report)) : json::value(nullptr);
  o["created_at"] = format_time(r.created_at);
  o["started_at"] = r.started_at ? json::value(format_time(*r.started_at)) : json::value(nullptr);
  o["completed_at"] = r.completed_at ? json::value(format_time(*r.completed_at)) : json::value(nullptr);
  return o;
}

json::object event_record_json(std::uint64_t seq, const Envelope& env, const Event& ev) {
  json::object o{{"seq", seq},
                 {"type", event_type_name(env.event_type)},
                 {"version", env.schema_version},
                 {"at", format_time(env.at_us)},
                 {"recorded_at", format_time(env.recorded_at_us)}};
  o["request_id"] = env.request_id.empty() ? json::value(nullptr) : json::value(env.request_id);
  if (env.actor.kind == ActorKind::none) {
    o["actor"] = nullptr;
  } else {
    json::object a{{"kind", env.actor.kind == ActorKind::user ? "user" : "system"}, {"name", env.actor.name}};
    if (env.actor.kind == ActorKind::user) a["user_id"] = env.actor.user_id;
    o["actor"] = std::move(a);
  }
  o["payload"] = event_to_json(ev);
  return o;
}

namespace {

Answer not_found(std::string_view field) { return Answer::error("not_found", "not found", field); }

std::optional<std::pair<Envelope, Event>> read_decoded(CommandContext& ctx, std::uint64_t seq) {
  auto bytes = read_event(ctx.txn(), ctx.dbis().events, seq);
  if (!bytes) return std::nullopt;
  auto env = decode_envelope(*bytes);
  auto ev = decode_payload(env.event_type, env.schema_version, env.payload);
  return std::make_pair(std::move(env), std::move(ev));
}

}  // namespace

Answer cmd_get_run(CommandContext& ctx, Fields& f) {
  Id run_id = f.id("run_id");
  Actor actor = f.actor();
  if (auto e = f.finish()) return *e;
  auto run = load_run(ctx.store(), run_id);
  if (!run || !can_see_run(ctx.store(), actor, *run)) return not_found("run_id");
  Answer a = Answer::success();
  a.body["run"] = run_to_json(*run);
  return a;
}

Answer cmd_list_runs(CommandContext& ctx, Fields& f) {
  Id ws = f.id("workspace_id");
  auto tenant = f.opt_id("tenant_id");
  auto status = f.opt_enum<RunStatus>("status");
  auto type = f.opt_text("type");
  Actor actor = f.actor();
  auto limit = f.opt_uint("limit", 1, 1000);
  if (!f.failed() && !limit) f.fail("missing_field", "required field is absent", "limit");
  auto after = f.opt_uint("after_run_id", 0, UINT64_MAX);
  if (auto e = f.finish()) return *e;
  if (check_access(ctx.store(), actor, ws, tenant, "operations.view") != Access::ok)
    return not_found(tenant ? "tenant_id" : "workspace_id");
  json::array runs;
  std::string prefix = key_id(ws);
  std::string from = key_ids(ws, after.value_or(0) + (after && *after == UINT64_MAX ? 0 : 1));
  ctx.store().scan(
      Table::workspace_runs, prefix,
      [&](std::string_view k, std::string_view) {
        auto run = load_run(ctx.store(), get_be64(k, 8));
        if (!run) return true;
        if (tenant && run->tenant_id != tenant) return true;
        if (status && run->status != *status) return true;
        if (type && run->type != *type) return true;
        if (!can_see_run(ctx.store(), actor, *run)) return true;
        runs.emplace_back(run_to_json(*run));
        return runs.size() < *limit;
      },
      from);
  Answer a = Answer::success();
  a.body["runs"] = std::move(runs);
  return a;
}

Answer cmd_explain(CommandContext& ctx, Fields& f) {
  auto rid = f.text("for_request_id");
  if (auto e = f.finish()) return *e;
  std::optional<std::uint64_t> recorded;
  if (valid_request_id(rid)) recorded = load_request_seq(ctx.store(), rid);
  if (!recorded) return Answer::error("not_found", "no command was recorded with this request_id", "for_request_id");
  std::uint64_t seq = *recorded;
  auto decoded = read_decoded(ctx, seq);
  if (!decoded) throw DecodeError("request record names a missing event");
  auto& [env, ev] = *decoded;
  Answer a = answer_for(ev, seq);
  json::object& body = a.members();
  body["request_id"] = rid;
  body["event"] = event_record_json(seq, env, ev);
  if (auto* s = std::get_if<StartDecided>(&ev)) {
    json::object cause;
    if (s->decision == Decision::deduped || s->decision == Decision::scope_busy) {
      if (auto run = load_run(ctx.store(), s->run_id)) cause["run"] = run_to_json(*run);
    }
    if (s->decision == Decision::blocked || s->decision == Decision::scope_busy)
      cause["readiness"] = event_to_json(ev).at("readiness");
    body["cause"] = std::move(cause);
  }
  return a;
}

Answer cmd_history(CommandContext& ctx, Fields& f) {
  Id run_id = f.id("run_id");
  if (auto e = f.finish()) return *e;
  if (!ctx.store().has(Table::runs, key_id(run_id)))
    return Answer::error("run_not_found", "run " + std::to_string(run_id) + " does not exist", "run_id");
  json::array events;
  for (std::uint64_t seq : run_touch_seqs(ctx.store(), run_id)) {
    auto decoded = read_decoded(ctx, seq);
    if (!decoded) throw DecodeError("run history names a missing event");
    events.emplace_back(event_record_json(seq, decoded->first, decoded->second));
  }
  Answer a = Answer::success();
  a.body["run_id"] = run_id;
  a.body["events"] = std::move(events);
  return a;
}

Answer cmd_notifications(CommandContext& ctx, Fields& f) {
  Id user = f.id("user_id");
  auto after = f.opt_uint("after_seq", 0, UINT64_MAX).value_or(0);
  auto limit = f.opt_uint("limit", 1, 10000).value_or(1000);
  if (auto e = f.finish()) return *e;
  json::array out;
  std::string from = after == UINT64_MAX ? std::string() : key_ids(user, after + 1);
  if (after != UINT64_MAX) {
    ctx.store().scan(
        Table::notifications, key_id(user),
        [&](std::string_view k, std::string_view v) {
          NotificationRecord n;
          decode(v, n);
          out.emplace_back(json::object{{"seq", get_be64(k, 8)},
                                        {"user_id", user},
                                        {"run_id", n.run_id},
                                        {"type", n.type},
                                        {"outcome", name_of(n.outcome)},
                                        {"at", format_time(n.at)}});
          return out.size() < limit;
        },
        from);
  }
  Answer a = Answer::success();
  a.body["notifications"] = std::move(out);
  return a;
}

Answer cmd_state_digest(CommandContext& ctx, Fields& f) {
  if (auto e = f.finish()) return *e;
  Answer a = Answer::success(last_applied_seq(ctx.store()));
  a.body["digest"] = to_hex(state_digest(ctx.store()));
  return a;
}

Answer cmd_stats(CommandContext& ctx, Fields& f) {
  if (auto e = f.finish()) return *e;
  auto count = [&](Table t) {
    std::uint64_t n = 0;
    ctx.store().scan(t, {}, [&](std::string_view, std::string_view) {
      ++n;
      return true;
    });
    return n;
  };
  Answer a = Answer::success();
  a.body["seq"] = ctx.last_seq();
  a.body["runs"] = count(Table::runs);
  a.body["active_runs"] = count(Table::active_runs);
  a.body["requests"] = count(Table::requests);
  a.body["workspaces"] = count(Table::workspaces);
  a.body["tenants"] = count(Table::tenants);
  a.body["provider_connections"] = count(Table::connections);
  a.body["operation_types"] = count(Table::catalog);
  a.body["resource_types"] = count(Table::resource_types);
  a.body["supported_scopes"] = count(Table::scopes);
  a.body["managed_environments"] = count(Table::environments);
  return a;
}

}  // namespace opsledger
