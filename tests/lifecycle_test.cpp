// The run lifecycle, failures, reports, stale expiry, notifications and queries (SPEC 8, 12).
#include <catch2/catch.hpp>

#include "engine/run_lifecycle.h"
#include "engine/sanitize.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

json::object run_of(TestDb& db, const json::value& run_id, std::uint64_t user_id = 7) {
  auto a = db.send({{"cmd", "get_run"}, {"run_id", run_id}, {"actor", user(user_id)}});
  REQUIRE(a.at("ok").as_bool());
  return a.at("run").as_object();
}

}  // namespace

TEST_CASE("the lifecycle machine allows exactly the spec's transitions", "[lifecycle][msm]") {
  using S = RunStatus;
  CHECK(run_transition(S::queued, RunInput::begin) == S::running);
  CHECK(run_transition(S::running, RunInput::begin) == std::nullopt);
  CHECK(run_transition(S::completed, RunInput::begin) == std::nullopt);
  CHECK(run_transition(S::queued, RunInput::progress) == S::queued);
  CHECK(run_transition(S::running, RunInput::progress) == S::running);
  CHECK(run_transition(S::completed, RunInput::progress) == std::nullopt);
  for (auto o : {Outcome::failed, Outcome::blocked, Outcome::cancelled})
    CHECK(run_transition(S::queued, RunInput::complete, o) == S::completed);
  CHECK(run_transition(S::queued, RunInput::complete, Outcome::succeeded) == std::nullopt);
  CHECK(run_transition(S::queued, RunInput::complete, Outcome::partially_succeeded) == std::nullopt);
  for (auto o : {Outcome::succeeded, Outcome::partially_succeeded, Outcome::failed, Outcome::blocked, Outcome::cancelled})
    CHECK(run_transition(S::running, RunInput::complete, o) == S::completed);
  CHECK(run_transition(S::running, RunInput::complete, Outcome::pending) == std::nullopt);
  CHECK(run_transition(S::completed, RunInput::complete, Outcome::failed) == std::nullopt);
}

TEST_CASE("a run goes queued → running → completed with its counts and times", "[lifecycle]") {
  TestDb db;
  seed_contoso(db);
  auto a = db.send(start_cmd("r"));
  auto id = a.at("run_id");
  auto q = run_of(db, id);
  CHECK(q.at("status") == "queued");
  CHECK(q.at("outcome") == "pending");
  CHECK(q.at("started_at").is_null());
  CHECK(q.at("request_id") == "r");
  CHECK(q.at("label") == "Inventory sync");
  CHECK(q.at("initiator").as_object().at("user_id") == 7);
  CHECK(q.at("provider_connection_id") == 100);
  CHECK(q.at("run_identity_hash").as_string().size() == 64);
  for (auto key : {"run_id", "workspace_id", "tenant_id", "type", "label", "status", "outcome", "initiator",
                   "provider_connection_id", "run_identity_hash", "request_id", "context", "summary_counts",
                   "failures", "failures_dropped", "report", "created_at", "started_at", "completed_at"})
    CHECK(q.contains(key));
  CHECK(error_code(db.send({{"cmd", "complete_run"}, {"run_id", id}, {"outcome", "succeeded"}})) ==
        "invalid_transition");
  CHECK(db.send({{"cmd", "begin_run"}, {"run_id", id}, {"at", "2026-04-20T07:00:00Z"}}).at("ok").as_bool());
  CHECK(error_code(db.send({{"cmd", "begin_run"}, {"run_id", id}})) == "invalid_transition");
  db.send({{"cmd", "record_progress"}, {"run_id", id}, {"counts", {{"total", 10}, {"processed", 4}}}});
  db.send({{"cmd", "record_progress"}, {"run_id", id}, {"counts", {{"processed", 6}, {"succeeded", 9}}}});
  CHECK(db.send({{"cmd", "complete_run"}, {"run_id", id}, {"counts", {{"failed", 1}}}}).at("ok").as_bool());
  auto c = run_of(db, id);
  CHECK(c.at("status") == "completed");
  CHECK(c.at("outcome") == "succeeded");
  CHECK(c.at("started_at") == "2026-04-20T07:00:00Z");
  auto counts = c.at("summary_counts").as_object();
  CHECK(counts.at("total") == 10);
  CHECK(counts.at("processed") == 10);
  CHECK(counts.at("succeeded") == 9);
  CHECK(counts.at("failed") == 1);
  CHECK(counts.at("deleted") == 0);
  auto again = db.send({{"cmd", "complete_run"}, {"run_id", id}, {"outcome", "succeeded"}});
  CHECK(error_code(again) == "invalid_transition");
  CHECK(again.at("error").as_object().at("message") == "run 1 is completed");
  CHECK(error_code(db.send({{"cmd", "record_progress"}, {"run_id", id}})) == "invalid_transition");
}

TEST_CASE("failures are sanitised and at most 50 are kept", "[lifecycle][failures]") {
  CHECK(sanitize_message("call failed: Authorization: Bearer abc.DEF-123 rejected") ==
        "call failed: Authorization: Bearer [redacted] rejected");
  CHECK(sanitize_message("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x leaked") ==
        "token [redacted] leaked");
  CHECK(sanitize_message("url?client_secret=s3cr3t&x=1 password=hunter2, done") ==
        "url?client_secret=[redacted]&x=1 password=[redacted], done");
  CHECK(sanitize_message(std::string(600, 'a')).size() <= kFailureMessageBytesMax + 3);

  TestDb db;
  seed_contoso(db);
  auto id = db.send(start_cmd("r")).at("run_id");
  db.send({{"cmd", "begin_run"}, {"run_id", id}});
  json::array failures;
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);  // (built apart: GCC 12's -Wrestrict misfires on "lit" + string)
    failures.push_back({{"code", std::string("E").append(n)}, {"message", std::string("Bearer tok").append(n)}});
  }
  db.send({{"cmd", "record_progress"}, {"run_id", id}, {"failures", failures}});
  db.send({{"cmd", "complete_run"}, {"run_id", id}, {"outcome", "partially_succeeded"}, {"failures", failures}});
  auto run = run_of(db, id);
  CHECK(run.at("failures").as_array().size() == 50);
  CHECK(run.at("failures_dropped") == 30);
  CHECK(run.at("failures").as_array()[0].as_object().at("message") == "Bearer [redacted]");
  CHECK(run.at("outcome") == "partially_succeeded");
}

TEST_CASE("a verification report derives its summary and outcome and re-derives readiness", "[lifecycle][report]") {
  TestDb db;
  seed_contoso(db, "owner");
  auto verify = [&](std::string rid, json::array checks, json::object extra = {}) {
    auto id = db.send(start_cmd(rid, "provider.verification")).at("run_id");
    db.send({{"cmd", "begin_run"}, {"run_id", id}});
    json::object c{{"cmd", "complete_run"}, {"run_id", id}, {"report", {{"checks", checks}}}};
    for (auto& kv : extra) c[kv.key()] = kv.value();
    return std::make_pair(id, db.send(c));
  };
  auto [id1, a1] = verify("v1", {{{"key", "consent"}, {"status", "fail"}, {"reason_code", "provider_consent_missing"},
                                  {"blocking", true}},
                                 {{"key", "graph"}, {"status", "warn"}, {"blocking", false}},
                                 {{"key", "x"}, {"status", "skip"}, {"blocking", false}}});
  REQUIRE(a1.at("ok").as_bool());
  auto run = run_of(db, id1);
  CHECK(run.at("outcome") == "failed");
  auto summary = run.at("report").as_object().at("summary").as_object();
  CHECK(summary.at("total") == 3);
  CHECK(summary.at("fail") == 1);
  CHECK(summary.at("warn") == 1);
  CHECK(summary.at("skip") == 1);
  CHECK(summary.at("blocking_fail") == 1);
  // the report set consent missing, credentials usable, permissions ok
  auto blocked = db.send(start_cmd("inv1"));
  CHECK(blocked.at("reason_code") == "provider_consent_missing");
  auto [id2, a2] = verify("v2", {{{"key", "graph"}, {"status", "warn"}, {"blocking", false}}});
  CHECK(run_of(db, id2).at("outcome") == "partially_succeeded");
  CHECK(db.send(start_cmd("inv2")).at("decision") == "accepted");
  auto [id3, a3] = verify("v3", {{{"key", "perm"}, {"status", "fail"}, {"reason_code", "provider_permission_denied"},
                                  {"blocking", false}}},
                          {{"outcome", "failed"}});
  CHECK(error_code(a3) == "outcome_inconsistent_with_report");
  CHECK(run_of(db, id3).at("status") == "running");  // nothing applied
}

TEST_CASE("cancel_run is a person's cancel, checked against the type's capability", "[lifecycle][cancel]") {
  TestDb db;
  seed_contoso(db);
  db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 20}, {"role", "readonly"}});
  auto id = db.send(start_cmd("r")).at("run_id");
  CHECK(error_code(db.send({{"cmd", "cancel_run"}, {"run_id", id}, {"actor", user(99)}})) == "not_found");
  CHECK(error_code(db.send({{"cmd", "cancel_run"}, {"run_id", id}, {"actor", user(20)}})) == "forbidden");
  // A person's cancel obeys isolation: a missing run is refused as a hidden one is.
  CHECK(error_code(db.send({{"cmd", "cancel_run"}, {"run_id", 999}, {"actor", user(7)}})) == "not_found");
  auto ok = db.send({{"cmd", "cancel_run"}, {"run_id", id}, {"actor", user(7)}});
  CHECK(ok.at("ok").as_bool());
  CHECK(run_of(db, id).at("outcome") == "cancelled");
  CHECK(error_code(db.send({{"cmd", "cancel_run"}, {"run_id", id}, {"actor", user(7)}})) == "invalid_transition");
  CHECK(db.send(start_cmd("r2")).at("decision") == "accepted");  // identity freed
}

TEST_CASE("stale runs expire by their last activity and free identity and connection", "[lifecycle][stale]") {
  TestDb db;
  seed_contoso(db);
  auto c = start_cmd("r");
  c["at"] = "2026-04-20T08:00:00Z";
  auto id = db.send(c).at("run_id");  // inventory.sync: stale after 1800 s
  db.send({{"cmd", "begin_run"}, {"run_id", id}, {"at", "2026-04-20T08:10:00Z"}});
  auto early = db.send({{"cmd", "expire_stale_runs"}, {"at", "2026-04-20T08:40:00Z"}});
  CHECK(early.at("expired").as_array().empty());
  CHECK_FALSE(early.contains("seq"));
  auto late = db.send({{"cmd", "expire_stale_runs"}, {"at", "2026-04-20T08:40:01Z"}});
  CHECK(late.at("expired").as_array() == json::array{id});
  CHECK(late.at("seq").is_number());
  auto run = run_of(db, id);
  CHECK(run.at("outcome") == "failed");
  CHECK(run.at("failures").as_array()[0].as_object().at("code") == "run_stale");
  CHECK(db.send(start_cmd("r2", "directory_groups.sync")).at("decision") == "accepted");  // connection freed
}

TEST_CASE("terminal notifications go to the initiator only", "[lifecycle][notifications]") {
  TestDb db;
  seed_contoso(db);
  db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"max_concurrent_runs", 5}});
  auto mine = db.send(start_cmd("r")).at("run_id");
  auto sys = db.send(start_cmd("s", "backup_schedule.scheduled", system_actor()));
  json::object sc = start_cmd("s", "backup_schedule.scheduled", system_actor());
  sc["context"] = {{"backup_schedule_id", 1}, {"scheduled_for", "2026-04-20T01:00:00Z"}};
  sc["request_id"] = "s2";
  auto sys_id = db.send(sc).at("run_id");
  CHECK(db.send({{"cmd", "notifications"}, {"user_id", 7}, {"after_seq", 0}}).at("notifications").as_array().empty());
  db.send({{"cmd", "begin_run"}, {"run_id", mine}});
  CHECK(db.send({{"cmd", "notifications"}, {"user_id", 7}, {"after_seq", 0}}).at("notifications").as_array().empty());
  auto done = db.send({{"cmd", "complete_run"}, {"run_id", mine}});
  db.send({{"cmd", "begin_run"}, {"run_id", sys_id}});
  db.send({{"cmd", "complete_run"}, {"run_id", sys_id}});
  auto n = db.send({{"cmd", "notifications"}, {"user_id", 7}, {"after_seq", 0}}).at("notifications").as_array();
  REQUIRE(n.size() == 1);
  CHECK(n[0].as_object().at("run_id") == mine);
  CHECK(n[0].as_object().at("outcome") == "succeeded");
  CHECK(n[0].as_object().at("seq") == done.at("seq"));
  CHECK(db.send({{"cmd", "notifications"}, {"user_id", 7}, {"after_seq", done.at("seq")}})
            .at("notifications")
            .as_array()
            .empty());
  CHECK(db.send({{"cmd", "notifications"}, {"user_id", 8}, {"after_seq", 0}}).at("notifications").as_array().empty());
}

TEST_CASE("queries: list_runs, explain, history obey isolation", "[queries]") {
  TestDb db;
  seed_contoso(db);
  db.send({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 11}, {"name", "T11"}});
  db.send({{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", 11},
           {"provider_connection_id", 110}, {"provider", "m"}, {"display_name", "d"}});
  db.send({{"cmd", "set_default_provider_connection"}, {"tenant_id", 11}, {"provider_connection_id", 110}});
  db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 110}, {"consent", "granted"},
           {"credentials", "usable"}});
  db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 30}, {"role", "operator"},
           {"tenant_ids", json::array{11}}});
  auto r1 = db.send(start_cmd("a"));
  auto r2 = db.send(start_cmd("b", "inventory.sync", user(30), 11));
  auto blocked = db.send(start_cmd("c", "inventory.sync", user(30), 10));
  CHECK(blocked.at("decision") == "not_found");
  auto list7 = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"actor", user(7)}, {"limit", 10}});
  CHECK(list7.at("runs").as_array().size() == 2);
  auto list30 = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"actor", user(30)}, {"limit", 10}});
  REQUIRE(list30.at("runs").as_array().size() == 1);
  CHECK(list30.at("runs").as_array()[0].as_object().at("run_id") == r2.at("run_id"));
  auto page = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"actor", user(7)}, {"limit", 1}});
  REQUIRE(page.at("runs").as_array().size() == 1);
  auto next = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"actor", user(7)}, {"limit", 1},
                       {"after_run_id", page.at("runs").as_array()[0].as_object().at("run_id")}});
  REQUIRE(next.at("runs").as_array().size() == 1);
  CHECK(next.at("runs").as_array()[0].as_object().at("run_id") == r2.at("run_id"));
  auto filtered = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"tenant_id", 10}, {"status", "queued"},
                           {"type", "inventory.sync"}, {"actor", user(7)}, {"limit", 10}});
  CHECK(filtered.at("runs").as_array().size() == 1);
  // hidden tenant and missing tenant answer the same
  auto hidden = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"tenant_id", 10}, {"actor", user(30)}, {"limit", 1}});
  auto missing = db.send({{"cmd", "list_runs"}, {"workspace_id", 1}, {"tenant_id", 99}, {"actor", user(30)}, {"limit", 1}});
  CHECK(hidden == missing);
  CHECK(error_code(hidden) == "not_found");
  CHECK(db.send({{"cmd", "get_run"}, {"run_id", r1.at("run_id")}, {"actor", user(30)}}) ==
        db.send({{"cmd", "get_run"}, {"run_id", 999}, {"actor", user(30)}}));

  auto dup = db.send(start_cmd("d"));
  auto ex = db.send({{"cmd", "explain"}, {"for_request_id", "d"}});
  CHECK(ex.at("decision") == "deduped");
  CHECK(ex.at("cause").as_object().at("run").as_object().at("run_id") == r1.at("run_id"));
  CHECK(ex.at("event").as_object().at("actor").as_object().at("user_id") == 7);
  CHECK(error_code(db.send({{"cmd", "explain"}, {"for_request_id", "nope"}})) == "not_found");
  db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"consent", "missing"}});
  db.send(start_cmd("e", "directory_groups.sync"));
  auto ex2 = db.send({{"cmd", "explain"}, {"for_request_id", "e"}});
  CHECK(ex2.at("reason_code") == "provider_consent_missing");
  CHECK(ex2.at("cause").as_object().at("readiness").as_object().at("consent") == "missing");

  auto h = db.send({{"cmd", "history"}, {"run_id", r1.at("run_id")}});
  auto events = h.at("events").as_array();
  REQUIRE(events.size() == 2);  // its acceptance and the dedupe onto it
  CHECK(events[0].as_object().at("type") == "start_decided");
  CHECK(events[1].as_object().at("seq") == dup.at("seq"));
  auto stats = db.send({{"cmd", "stats"}});
  CHECK(stats.at("runs") == 2);
  CHECK(stats.at("active_runs") == 2);
}
