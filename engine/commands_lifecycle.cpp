// Run lifecycle commands (SPEC section 8). The embedding service sends begin_run,
// record_progress and complete_run (no actor); a person cancels with cancel_run.
#include <boost/json.hpp>

#include "engine/access.h"
#include "engine/commands.h"
#include "engine/counts_field.h"
#include "engine/run_lifecycle.h"
#include "engine/sanitize.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "projections/records.h"

namespace opsledger {
namespace json = boost::json;

namespace {

constexpr std::size_t kFailuresPerCommandMax = 1000;

std::vector<Failure> parse_failures(Fields& f) {
  std::vector<Failure> out;
  auto* arr = f.array("failures", false);
  if (!arr) return out;
  if (arr->size() > kFailuresPerCommandMax) {
    f.fail("invalid_field", "at most 1000 failures per command", "failures");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    std::string prefix = "failures." + std::to_string(i);
    if (!(*arr)[i].is_object()) {
      f.fail("invalid_field", "must be an object {code, message, item?}", prefix);
      return out;
    }
    Fields g((*arr)[i].get_object(), f.dotted(prefix) + ".");
    Failure x;
    x.code = g.text("code");
    x.message = sanitize_message(g.text("message"));
    if (auto item = g.opt_text("item")) x.item = sanitize_message(*item);
    if (f.adopt(g.finish())) return out;
    out.push_back(std::move(x));
  }
  return out;
}

std::optional<Report> parse_report(Fields& f) {
  auto* o = f.object("report", false);
  if (!o) return std::nullopt;
  Fields r(*o, f.dotted("report."));
  Report rep;
  auto* checks = r.array("checks", true);
  if (checks) {
    for (std::size_t i = 0; i < checks->size() && !r.failed(); ++i) {
      std::string key = "checks." + std::to_string(i);
      if (!(*checks)[i].is_object()) {
        r.fail("invalid_field", "must be an object {key, status, reason_code?, blocking}", key);
        break;
      }
      Fields c((*checks)[i].get_object(), r.dotted(key) + ".");
      Check ch;
      ch.key = c.text("key");
      ch.status = c.enumv<CheckStatus>("status");
      ch.reason_code = c.opt_text("reason_code");
      ch.blocking = c.boolean("blocking");
      if (r.adopt(c.finish())) break;
      rep.checks.push_back(std::move(ch));
    }
  }
  if (f.adopt(r.finish())) return std::nullopt;
  return rep;
}

Outcome derived_outcome(const Report& r) {
  auto s = summarize(r);
  if (s.blocking_fail > 0) return Outcome::failed;
  if (s.fail > 0 || s.warn > 0) return Outcome::partially_succeeded;
  return Outcome::succeeded;
}

// The run a lifecycle command names: run_id, or a legacy record (read-only history).
struct Target {
  Id run_id = 0;
  std::optional<LegacyKind> legacy_kind;
  Id legacy_id = 0;
};

Target parse_target(Fields& f) {
  Target t;
  t.legacy_kind = f.opt_enum<LegacyKind>("legacy_kind");
  if (t.legacy_kind) {
    t.legacy_id = f.id("legacy_id");
  } else {
    t.run_id = f.id("run_id");
  }
  return t;
}

// Loads the run or answers run_not_found / read_only_run.
std::optional<Answer> load_target(CommandContext& ctx, const Target& t, RunRecord& run) {
  if (t.legacy_kind) {
    if (ctx.store().has(Table::legacy_runs, key_legacy(*t.legacy_kind, t.legacy_id)))
      return Answer::error("read_only_run", "imported legacy runs are read-only history", "legacy_id");
    return Answer::error("run_not_found", "no legacy run " + std::to_string(t.legacy_id), "legacy_id");
  }
  auto r = load_run(ctx.store(), t.run_id);
  if (!r) return Answer::error("run_not_found", "run " + std::to_string(t.run_id) + " does not exist", "run_id");
  run = std::move(*r);
  return std::nullopt;
}

// A person's cancel obeys the isolation rule (SPEC sections 4 and 12): a run or legacy
// record the actor may not see is refused exactly as one that does not exist — the same
// code, message and field — before anything about it (read-only, its state) is said.
std::optional<Answer> refuse_unseen(CommandContext& ctx, const Target& t, const Actor& actor) {
  const Store& s = ctx.store();
  if (t.legacy_kind) {
    auto rec = load<LegacyRecord>(s, Table::legacy_runs, key_legacy(*t.legacy_kind, t.legacy_id));
    if (!rec || check_access(s, actor, rec->workspace_id, rec->tenant_id, {}) == Access::not_found)
      return Answer::error("not_found", "not found", "legacy_id");
    return std::nullopt;
  }
  auto run = load_run(s, t.run_id);
  if (!run || check_access(s, actor, run->workspace_id, run->tenant_id, {}) == Access::not_found)
    return Answer::error("not_found", "not found", "run_id");
  return std::nullopt;
}

Answer refused(const RunRecord& run) {
  return Answer::error("invalid_transition",
                       "run " + std::to_string(run.run_id) + " is " + std::string(name_of(run.status)), "run_id");
}

}  // namespace

Answer cmd_begin_run(CommandContext& ctx, Fields& f) {
  auto target = parse_target(f);
  auto at = f.opt_time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  RunRecord run;
  if (auto e = load_target(ctx, target, run)) return *e;
  if (!run_transition(run.status, RunInput::begin)) return refused(run);
  RunStarted ev{run.run_id};
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), Actor{}));
}

Answer cmd_record_progress(CommandContext& ctx, Fields& f) {
  auto target = parse_target(f);
  RunProgressRecorded ev;
  ev.counts = parse_counts_field(f, false);
  ev.failures = parse_failures(f);
  auto at = f.opt_time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  RunRecord run;
  if (auto e = load_target(ctx, target, run)) return *e;
  if (!run_transition(run.status, RunInput::progress)) return refused(run);
  ev.run_id = run.run_id;
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), Actor{}));
}

Answer cmd_complete_run(CommandContext& ctx, Fields& f) {
  auto target = parse_target(f);
  RunCompleted ev;
  auto outcome = f.opt_enum<Outcome>("outcome");
  if (outcome == Outcome::pending) f.fail("invalid_field", "a completed run's outcome cannot be pending", "outcome");
  ev.counts = parse_counts_field(f, false);
  ev.failures = parse_failures(f);
  ev.report = parse_report(f);
  auto at = f.opt_time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (ev.report) {
    Outcome derived = derived_outcome(*ev.report);
    if (outcome && *outcome != derived)
      return Answer::error("outcome_inconsistent_with_report",
                           "the report derives " + std::string(name_of(derived)) + ", not " +
                               std::string(name_of(*outcome)),
                           "outcome");
    outcome = derived;
  }
  ev.outcome = outcome.value_or(Outcome::succeeded);
  RunRecord run;
  if (auto e = load_target(ctx, target, run)) return *e;
  if (!run_transition(run.status, RunInput::complete, ev.outcome)) {
    if (run.status == RunStatus::queued)
      return Answer::error("invalid_transition",
                           "run " + std::to_string(run.run_id) + " is queued; a run that never started can only complete as failed, blocked or cancelled",
                           "run_id");
    return refused(run);
  }
  ev.run_id = run.run_id;
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), Actor{}));
}

Answer cmd_cancel_run(CommandContext& ctx, Fields& f) {
  auto target = parse_target(f);
  Actor actor = f.actor();
  auto at = f.opt_time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  if (auto unseen = refuse_unseen(ctx, target, actor)) return *unseen;
  RunRecord run;
  if (auto e = load_target(ctx, target, run)) return *e;
  auto def = load<OperationTypeDef>(ctx.store(), Table::catalog, run.type);
  std::string capability = def ? def->capability : std::string("operations.view");
  Access access = check_access(ctx.store(), actor, run.workspace_id, run.tenant_id, capability);
  if (access == Access::ok && actor.kind == ActorKind::system && !(def && def->system_allowed))
    access = Access::forbidden;
  if (access == Access::not_found) return Answer::error("not_found", "not found", "run_id");
  if (access == Access::forbidden)
    return Answer::error("forbidden", "the actor lacks the " + capability + " capability", "actor");
  if (!run_transition(run.status, RunInput::complete, Outcome::cancelled)) return refused(run);
  RunCompleted ev;
  ev.run_id = run.run_id;
  ev.outcome = Outcome::cancelled;
  ev.cause = CompletionCause::cancelled;
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor));
}

Answer cmd_expire_stale_runs(CommandContext& ctx, Fields& f) {
  TimeUs at = f.time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  StaleRunsExpired ev;
  ev.at_us = at;
  const Store& s = ctx.store();
  s.scan(Table::active_runs, {}, [&](std::string_view k, std::string_view) {
    auto run = load_run(s, get_be64(k));
    if (!run) return true;
    auto def = load<OperationTypeDef>(s, Table::catalog, run->type);
    std::uint64_t stale_after_s = def ? def->stale_after_s : 3600;
    if (at - run->last_activity_at > static_cast<TimeUs>(stale_after_s) * 1000000) ev.run_ids.push_back(run->run_id);
    return true;
  });
  if (ev.run_ids.empty()) {
    Answer a = Answer::success();
    a.body["expired"] = json::array{};
    return a;
  }
  return answer_for(ev, ctx.append(ev, at, Actor{}));
}

}  // namespace opsledger
