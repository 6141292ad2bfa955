// The failure triage ledger (SPEC section 10) and the legacy run history (section 11):
// two small read-mostly ledgers on the same log. docs/ledgers.md documents every choice.
//
// Triage: one record per failure group (table `triage`, keyed by the group name, so a
// scan is name order). A classification that changes anything appends
// FailureGroupClassified with the entry before and after; an identical one appends nothing.
//
// Legacy history: one record per (kind, legacy_id) (table `legacy_runs`), imported once.
// Lifecycle commands that name a legacy record answer read_only_run
// (engine/commands_lifecycle.cpp).
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "engine/access.h"
#include "engine/commands.h"
#include "engine/render_json.h"
#include "engine/counts_field.h"
#include "events/json_values.h"
#include "projections/records.h"

namespace opsledger {
namespace json = boost::json;

namespace {

// The pinned vocabularies of SPEC section 10, exactly as written there.
constexpr std::array<std::string_view, 6> kTriageCategories = {
    "surface-or-report-baseline-drift",        "fixture-contract-drift",
    "provider-verification-runtime-regression", "dedupe-concurrency-contract-drift",
    "out-of-scope-existing-debt",              "resolved-or-not-needed"};
constexpr std::array<std::string_view, 5> kTriageSeams = {
    "provider-neutrality-surface", "shared-startable-fixtures", "verification-start-contract",
    "provider-dispatch-concurrency", "verification-report-summary"};

// A group name is the key of its record: non-empty and bounded.
constexpr std::size_t kGroupBytesMax = 256;

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& names) {
  std::string s;
  for (auto n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

template <std::size_t N>
std::string pinned_text(Fields& f, std::string_view key, const std::array<std::string_view, N>& allowed) {
  std::string v = f.text(key);
  if (!f.failed() && std::find(allowed.begin(), allowed.end(), v) == allowed.end())
    f.fail("invalid_field", "not one of the pinned values: " + joined(allowed), key);
  return v;
}

}  // namespace

json::object legacy_to_json(const LegacyRecord& r) {
  json::object o{{"kind", name_of(r.kind)},
                 {"legacy_id", r.legacy_id},
                 {"workspace_id", r.workspace_id},
                 {"tenant_id", r.tenant_id},
                 {"status", r.status},
                 {"started_at", format_time(r.started_at)},
                 {"completed_at", format_time(r.completed_at)},
                 {"counts", counts_to_json(r.counts)}};
  o["operation_run_id"] = r.operation_run_id ? json::value(*r.operation_run_id) : json::value(nullptr);
  return o;
}

namespace {

bool same_record(const LegacyRecord& r, const LegacyRunImported& e) {
  return r.workspace_id == e.workspace_id && r.tenant_id == e.tenant_id && r.status == e.status &&
         r.started_at == e.started_at_us && r.completed_at == e.completed_at_us && r.counts == e.counts &&
         r.operation_run_id == e.operation_run_id;
}

// The first field in which an existing record differs from a new import (for the message).
std::string_view first_difference(const LegacyRecord& r, const LegacyRunImported& e) {
  if (r.workspace_id != e.workspace_id) return "workspace_id";
  if (r.tenant_id != e.tenant_id) return "tenant_id";
  if (r.status != e.status) return "status";
  if (r.started_at != e.started_at_us) return "started_at";
  if (r.completed_at != e.completed_at_us) return "completed_at";
  if (r.counts != e.counts) return "counts";
  return "operation_run_id";
}

}  // namespace

Answer cmd_classify_failure_group(CommandContext& ctx, Fields& f) {
  TriageEntry entry;
  entry.group = f.text("group");
  if (!f.failed() && entry.group.empty()) f.fail("invalid_field", "a group name must not be empty", "group");
  if (!f.failed() && entry.group.size() > kGroupBytesMax)
    f.fail("invalid_field", "a group name may hold at most 256 bytes", "group");
  entry.seam = pinned_text(f, "seam", kTriageSeams);
  entry.category = pinned_text(f, "category", kTriageCategories);
  entry.observed_failure = f.text("observed_failure");
  entry.candidate_owner = f.text("candidate_owner");
  entry.fix_in_scope = f.enumv<FixInScope>("fix_in_scope");
  entry.follow_up = f.text("follow_up");
  entry.status = f.text("status");
  auto at = f.opt_time("at");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  FailureGroupClassified ev;
  ev.entry = std::move(entry);
  if (auto rec = load<TriageRecord>(ctx.store(), Table::triage, ev.entry.group)) {
    if (rec->entry == ev.entry) return Answer::success();  // the same classification: nothing to record
    ev.before = rec->entry;
  }
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), actor.value_or(Actor{})));
}

Answer cmd_triage(CommandContext& ctx, Fields& f) {
  if (auto e = f.finish()) return *e;
  json::array groups;
  ctx.store().scan(Table::triage, {}, [&](std::string_view, std::string_view v) {
    TriageRecord rec;
    decode(v, rec);
    json::object g = triage_to_json(rec.entry);
    g["classifications"] = rec.classifications;
    groups.emplace_back(std::move(g));
    return true;
  });
  Answer a = Answer::success();
  a.body["groups"] = std::move(groups);
  return a;
}

Answer cmd_import_legacy_run(CommandContext& ctx, Fields& f) {
  LegacyRunImported ev;
  ev.kind = f.enumv<LegacyKind>("kind");
  ev.legacy_id = f.id("legacy_id");
  ev.workspace_id = f.id("workspace_id");
  ev.tenant_id = f.id("tenant_id");
  ev.status = f.text("status");
  ev.started_at_us = f.time("started_at");
  ev.completed_at_us = f.time("completed_at");
  if (!f.failed() && ev.completed_at_us < ev.started_at_us)
    f.fail("invalid_field", "a run cannot complete before it started", "completed_at");
  ev.counts = parse_counts_field(f, true);
  ev.operation_run_id = f.opt_id("operation_run_id");
  auto at = f.opt_time("at");
  if (auto e = f.finish()) return *e;
  if (auto r = ctx.replay()) return *r;
  const Store& s = ctx.store();
  if (auto e = require_workspace(s, ev.workspace_id)) return *e;
  if (auto e = require_tenant_in(s, ev.workspace_id, ev.tenant_id)) return *e;
  if (ev.operation_run_id) {
    // The canonical run must be one of the same workspace and tenant: a redirect never
    // crosses into another tenant's runs.
    auto run = load_run(s, *ev.operation_run_id);
    if (!run || run->workspace_id != ev.workspace_id || (run->tenant_id && *run->tenant_id != ev.tenant_id))
      return Answer::error("run_not_found",
                           "run " + std::to_string(*ev.operation_run_id) + " does not exist in workspace " +
                               std::to_string(ev.workspace_id) + ", tenant " + std::to_string(ev.tenant_id),
                           "operation_run_id");
  }
  if (auto existing = load<LegacyRecord>(s, Table::legacy_runs, key_legacy(ev.kind, ev.legacy_id))) {
    if (same_record(*existing, ev)) return Answer::success();  // imported before, identically
    return Answer::error("legacy_run_conflict",
                         std::string(name_of(ev.kind)) + " " + std::to_string(ev.legacy_id) +
                             " was already imported with a different " + std::string(first_difference(*existing, ev)),
                         "legacy_id");
  }
  return answer_for(ev, ctx.append(ev, at_or_now(ctx, at), Actor{}));
}

Answer cmd_resolve_legacy(CommandContext& ctx, Fields& f) {
  auto kind = f.enumv<LegacyKind>("kind");
  Id legacy_id = f.id("legacy_id");
  auto actor = f.opt_actor();
  if (auto e = f.finish()) return *e;
  auto rec = load<LegacyRecord>(ctx.store(), Table::legacy_runs, key_legacy(kind, legacy_id));
  // An actor who may not see the record's tenant gets the answer of a record never imported.
  if (!rec || (actor && check_access(ctx.store(), *actor, rec->workspace_id, rec->tenant_id, "operations.view") !=
                            Access::ok))
    return Answer::error("not_found", std::string(name_of(kind)) + " " + std::to_string(legacy_id) + " was never imported",
                         "legacy_id");
  Answer a = Answer::success();
  if (rec->operation_run_id)
    a.body["operation_run_id"] = *rec->operation_run_id;
  else
    a.body["history"] = legacy_to_json(*rec);
  return a;
}

}  // namespace opsledger
