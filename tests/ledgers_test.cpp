// The failure triage ledger and the legacy run history (SPEC sections 10 and 11), the CSV
// reader and row mapping behind `opsledger import-legacy`, and the bulk import itself.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/csv_reader.h"
#include "cli/legacy_csv.h"
#include "tests/test_support.h"

using namespace opsledger::test;
namespace json = boost::json;
namespace cli = opsledger::cli;

namespace {

const std::vector<std::string> kCategories = {
    "surface-or-report-baseline-drift",        "fixture-contract-drift",
    "provider-verification-runtime-regression", "dedupe-concurrency-contract-drift",
    "out-of-scope-existing-debt",              "resolved-or-not-needed"};
const std::vector<std::string> kSeams = {"provider-neutrality-surface", "shared-startable-fixtures",
                                         "verification-start-contract", "provider-dispatch-concurrency",
                                         "verification-report-summary"};

json::object classify(std::string_view group, std::string_view seam = "verification-start-contract",
                      std::string_view category = "fixture-contract-drift", std::string_view fix = "no",
                      std::string_view status = "open") {
  return {{"cmd", "classify_failure_group"},
          {"group", group},
          {"seam", seam},
          {"category", category},
          {"observed_failure", "start answers 500 when the fixture has no connection"},
          {"candidate_owner", "platform team"},
          {"fix_in_scope", fix},
          {"follow_up", ""},
          {"status", status}};
}

json::object legacy(std::string_view kind, std::uint64_t legacy_id, std::uint64_t ws = 1, std::uint64_t tenant = 10) {
  return {{"cmd", "import_legacy_run"},
          {"kind", kind},
          {"legacy_id", legacy_id},
          {"workspace_id", ws},
          {"tenant_id", tenant},
          {"status", "completed"},
          {"started_at", "2025-03-01T10:00:00Z"},
          {"completed_at", "2025-03-01T10:05:00Z"},
          {"counts", json::object{{"total", 12}, {"succeeded", 11}, {"failed", 1}}}};
}

json::object resolve(std::string_view kind, std::uint64_t legacy_id) {
  return {{"cmd", "resolve_legacy"}, {"kind", kind}, {"legacy_id", legacy_id}};
}

// Sends a command that must be rejected with `code` naming `field`, and appends nothing.
void expect_rejected(TestDb& db, const json::object& cmd, std::string_view code, std::string_view field) {
  std::uint64_t before = db.seq();
  std::string digest = db.digest();
  auto a = db.send(cmd);
  INFO(json::serialize(cmd) << " -> " << json::serialize(a));
  CHECK(error_code(a) == code);
  CHECK(error_field(a) == field);
  CHECK(db.seq() == before);
  CHECK(db.digest() == digest);
}

json::object without(json::object o, std::string_view key) {
  o.erase(key);
  return o;
}

json::object with(json::object o, std::string_view key, json::value v) {
  o[key] = std::move(v);
  return o;
}

std::uint64_t accepted_run(TestDb& db, std::string_view request_id) {
  auto a = db.send(start_cmd(request_id));
  REQUIRE(a.at("decision") == "accepted");
  return a.at("run_id").to_number<std::uint64_t>();
}

// A second workspace (2) with tenant 20 and a ready connection 200; user 7 is its operator.
void seed_fabrikam(TestDb& db) {
  for (const json::object& c : {
           json::object{{"cmd", "register_workspace"}, {"workspace_id", 2}, {"name", "Fabrikam"}},
           json::object{{"cmd", "register_tenant"}, {"workspace_id", 2}, {"tenant_id", 20}, {"name", "Fabrikam US"}},
           json::object{{"cmd", "grant_membership"}, {"workspace_id", 2}, {"user_id", 7}, {"role", "operator"}},
           json::object{{"cmd", "register_provider_connection"}, {"workspace_id", 2}, {"tenant_id", 20},
                        {"provider_connection_id", 200}, {"provider", "microsoft"}, {"display_name", "Fabrikam Graph"}},
           json::object{{"cmd", "set_default_provider_connection"}, {"tenant_id", 20}, {"provider_connection_id", 200}},
           json::object{{"cmd", "update_provider_connection"}, {"provider_connection_id", 200}, {"consent", "granted"},
                        {"credentials", "usable"}, {"permissions", "ok"}},
       }) {
    auto a = db.send(c);
    INFO(json::serialize(c) << " -> " << json::serialize(a));
    REQUIRE(a.at("ok").as_bool());
  }
}

std::vector<cli::CsvRecord> records(std::string_view text) { return cli::parse_csv(text); }

std::vector<std::string> values(const cli::CsvRecord& r) {
  std::vector<std::string> v;
  for (const auto& f : r.fields) v.push_back(f.value);
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Failure triage ledger (SPEC section 10)

TEST_CASE("classify_failure_group records a group and triage lists it", "[ledgers][triage]") {
  TestDb db;
  std::uint64_t before = db.seq();
  auto a = db.send(classify("verification.start"));
  REQUIRE(a.at("ok").as_bool());
  CHECK(a.at("seq").to_number<std::uint64_t>() == before + 1);
  auto t = db.send({{"cmd", "triage"}});
  REQUIRE(t.at("ok").as_bool());
  CHECK(t.find("seq") == t.end());
  const auto& groups = t.at("groups").as_array();
  REQUIRE(groups.size() == 1);
  const auto& g = groups[0].as_object();
  CHECK(g.at("group") == "verification.start");
  CHECK(g.at("seam") == "verification-start-contract");
  CHECK(g.at("category") == "fixture-contract-drift");
  CHECK(g.at("fix_in_scope") == "no");
  CHECK(g.at("status") == "open");
  CHECK(g.at("classifications") == 1);
  CHECK(db.seq() == before + 1);  // triage appends nothing
}

TEST_CASE("triage is empty on a new database", "[ledgers][triage]") {
  TestDb db;
  auto t = db.send({{"cmd", "triage"}});
  REQUIRE(t.at("ok").as_bool());
  CHECK(t.at("groups").as_array().empty());
}

TEST_CASE("every pinned category and seam is accepted", "[ledgers][triage]") {
  TestDb db;
  std::uint64_t n = 0;
  for (const auto& seam : kSeams)
    for (const auto& category : kCategories)
      for (auto fix : {"yes", "no", "only_if_runtime_owner_proven"}) {
        CAPTURE(seam, category, fix);
        auto a = db.send(classify("g", seam, category, fix));  // each one a reclassification
        CHECK(a.at("ok").as_bool());
        CHECK(a.contains("seq"));
        ++n;
      }
  auto g = db.send({{"cmd", "triage"}}).at("groups").as_array().at(0).as_object();
  CHECK(g.at("classifications") == n);
  CHECK(g.at("seam").as_string() == kSeams.back());
  CHECK(g.at("category").as_string() == kCategories.back());
  CHECK(g.at("fix_in_scope") == "only_if_runtime_owner_proven");
}

TEST_CASE("reclassifying a group appends an event with before and after", "[ledgers][triage]") {
  TestDb db;
  auto first = with(classify("dedupe.race"), "request_id", "c1");
  REQUIRE(db.send(first).at("ok").as_bool());
  auto second = with(classify("dedupe.race", "provider-dispatch-concurrency", "dedupe-concurrency-contract-drift",
                              "only_if_runtime_owner_proven", "investigating"),
                     "request_id", "c2");
  auto a = db.send(second);
  REQUIRE(a.at("ok").as_bool());

  auto e1 = db.send({{"cmd", "explain"}, {"for_request_id", "c1"}}).at("event").as_object();
  CHECK(e1.at("type") == "failure_group_classified");
  CHECK(!e1.at("payload").as_object().contains("before"));

  auto e2 = db.send({{"cmd", "explain"}, {"for_request_id", "c2"}}).at("event").as_object();
  const auto& payload = e2.at("payload").as_object();
  CHECK(payload.at("before").at("seam") == "verification-start-contract");
  CHECK(payload.at("before").at("category") == "fixture-contract-drift");
  CHECK(payload.at("before").at("fix_in_scope") == "no");
  CHECK(payload.at("before").at("status") == "open");
  CHECK(payload.at("after").at("seam") == "provider-dispatch-concurrency");
  CHECK(payload.at("after").at("category") == "dedupe-concurrency-contract-drift");
  CHECK(payload.at("after").at("fix_in_scope") == "only_if_runtime_owner_proven");
  CHECK(payload.at("after").at("status") == "investigating");

  // A third, free-text-only change is a reclassification too.
  auto third = with(with(second, "request_id", "c3"), "follow_up", "ticket 42");
  REQUIRE(db.send(third).at("ok").as_bool());
  auto g = db.send({{"cmd", "triage"}}).at("groups").as_array().at(0).as_object();
  CHECK(g.at("classifications") == 3);
  CHECK(g.at("follow_up") == "ticket 42");
  CHECK(g.at("status") == "investigating");
  CHECK(replay_digest(db.dir()) == db.digest());
}

TEST_CASE("an identical classification appends nothing and does not count", "[ledgers][triage]") {
  TestDb db;
  REQUIRE(db.send(classify("fixtures")).at("ok").as_bool());
  std::uint64_t seq = db.seq();
  std::string digest = db.digest();
  auto again = db.send(classify("fixtures"));
  CHECK(again.at("ok").as_bool());
  CHECK(!again.contains("seq"));
  CHECK(db.seq() == seq);
  CHECK(db.digest() == digest);
  CHECK(db.send({{"cmd", "triage"}}).at("groups").as_array().at(0).at("classifications") == 1);
}

TEST_CASE("triage lists groups in bytewise name order", "[ledgers][triage]") {
  TestDb db;
  for (auto name : {"zeta", "Alpha", "beta", "alpha", "alpha.2"}) REQUIRE(db.send(classify(name)).at("ok").as_bool());
  std::vector<std::string> names;
  auto triage = db.send({{"cmd", "triage"}});
  for (const auto& g : triage.at("groups").as_array()) names.emplace_back(g.at("group").as_string());
  CHECK(names == std::vector<std::string>{"Alpha", "alpha", "alpha.2", "beta", "zeta"});
}

TEST_CASE("classify_failure_group rejects every malformed field and appends nothing", "[ledgers][triage]") {
  TestDb db;
  auto ok = classify("g");
  for (auto key : {"group", "seam", "category", "observed_failure", "candidate_owner", "fix_in_scope", "follow_up",
                   "status"}) {
    CAPTURE(key);
    expect_rejected(db, without(ok, key), "missing_field", key);
    expect_rejected(db, with(ok, key, 5), "invalid_field", key);
  }
  expect_rejected(db, with(ok, "seam", "provider-neutrality"), "invalid_field", "seam");
  expect_rejected(db, with(ok, "seam", "Provider-Neutrality-Surface"), "invalid_field", "seam");
  expect_rejected(db, with(ok, "category", "fixture_contract_drift"), "invalid_field", "category");
  expect_rejected(db, with(ok, "category", ""), "invalid_field", "category");
  expect_rejected(db, with(ok, "fix_in_scope", "maybe"), "invalid_field", "fix_in_scope");
  expect_rejected(db, with(ok, "fix_in_scope", true), "invalid_field", "fix_in_scope");
  expect_rejected(db, with(ok, "group", ""), "invalid_field", "group");
  expect_rejected(db, with(ok, "group", json::string(std::string(257, 'g'))), "invalid_field", "group");
  expect_rejected(db, with(ok, "at", "yesterday"), "invalid_field", "at");
  expect_rejected(db, with(ok, "actor", json::object{{"kind", "robot"}, {"name", "x"}}), "invalid_field", "actor.kind");
  expect_rejected(db, with(ok, "severity", "high"), "unknown_field", "severity");
  expect_rejected(db, with(ok, "request_id", ""), "invalid_field", "request_id");
  expect_rejected(db, {{"cmd", "triage"}, {"group", "g"}}, "unknown_field", "group");
  CHECK(db.send({{"cmd", "triage"}}).at("groups").as_array().empty());
}

TEST_CASE("classification free text may be empty and a 256-byte group is accepted", "[ledgers][triage]") {
  TestDb db;
  auto c = classify(std::string(256, 'g'));
  for (auto key : {"observed_failure", "candidate_owner", "follow_up", "status"}) c[key] = "";
  auto a = db.send(c);
  CHECK(a.at("ok").as_bool());
  auto g = db.send({{"cmd", "triage"}}).at("groups").as_array().at(0).as_object();
  CHECK(g.at("status") == "");
}

TEST_CASE("classify_failure_group honours request_id and records its actor", "[ledgers][triage]") {
  TestDb db;
  auto c = with(with(classify("g"), "request_id", "r-1"), "actor", user(7, "Ada"));
  auto first = db.send(c);
  REQUIRE(first.at("ok").as_bool());
  std::uint64_t seq = db.seq();
  CHECK(db.send(c) == first);
  CHECK(db.seq() == seq);
  expect_rejected(db, with(with(classify("g", "shared-startable-fixtures"), "request_id", "r-1"), "actor", user(7, "Ada")),
                  "request_id_reused", "request_id");
  auto ev = db.send({{"cmd", "explain"}, {"for_request_id", "r-1"}}).at("event").as_object();
  CHECK(ev.at("actor").at("user_id") == 7);
}

// ---------------------------------------------------------------------------------------
// Legacy run history (SPEC section 11)

TEST_CASE("an imported legacy run resolves to its history", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t before = db.seq();
  auto a = db.send(legacy("inventory_sync", 4711));
  REQUIRE(a.at("ok").as_bool());
  CHECK(a.at("seq").to_number<std::uint64_t>() == before + 1);
  auto r = db.send(resolve("inventory_sync", 4711));
  REQUIRE(r.at("ok").as_bool());
  CHECK(!r.contains("operation_run_id"));
  const auto& h = r.at("history").as_object();
  CHECK(h.at("kind") == "inventory_sync");
  CHECK(h.at("legacy_id") == 4711);
  CHECK(h.at("workspace_id") == 1);
  CHECK(h.at("tenant_id") == 10);
  CHECK(h.at("status") == "completed");
  CHECK(h.at("started_at") == "2025-03-01T10:00:00Z");
  CHECK(h.at("completed_at") == "2025-03-01T10:05:00Z");
  CHECK(h.at("counts").at("total") == 12);
  CHECK(h.at("counts").at("succeeded") == 11);
  CHECK(h.at("counts").at("failed") == 1);
  CHECK(h.at("counts").at("deleted") == 0);
  CHECK(db.seq() == before + 1);  // resolve appends nothing
  // The same id under another kind is another record.
  expect_rejected(db, resolve("entra_group_sync", 4711), "not_found", "legacy_id");
}

TEST_CASE("a legacy run mapped to a canonical run resolves to that run", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t run = accepted_run(db, "s1");
  auto a = db.send(with(legacy("backup_schedule_run", 9), "operation_run_id", run));
  REQUIRE(a.at("ok").as_bool());
  auto r = db.send(resolve("backup_schedule_run", 9));
  REQUIRE(r.at("ok").as_bool());
  CHECK(r.at("operation_run_id") == run);
  CHECK(!r.contains("history"));
}

TEST_CASE("each legacy kind has its own key space", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  for (auto kind : {"inventory_sync", "entra_group_sync", "backup_schedule_run"}) {
    auto c = legacy(kind, 1);
    c["status"] = std::string("status of ") + kind;
    REQUIRE(db.send(c).at("ok").as_bool());
  }
  for (auto kind : {"inventory_sync", "entra_group_sync", "backup_schedule_run"})
    CHECK(db.send(resolve(kind, 1)).at("history").at("status").as_string() == std::string("status of ") + kind);
}

TEST_CASE("a legacy record is imported once", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  auto c = legacy("entra_group_sync", 77);
  REQUIRE(db.send(c).at("ok").as_bool());
  std::uint64_t seq = db.seq();
  std::string digest = db.digest();

  SECTION("identical again changes nothing") {
    auto again = db.send(c);
    CHECK(again.at("ok").as_bool());
    CHECK(!again.contains("seq"));
    // counts given as explicit zeros are the same counts
    auto zeros = c;
    zeros["counts"].as_object()["deleted"] = 0;
    CHECK(db.send(zeros).at("ok").as_bool());
    CHECK(db.seq() == seq);
    CHECK(db.digest() == digest);
  }
  SECTION("different is legacy_run_conflict") {
    expect_rejected(db, with(c, "status", "failed"), "legacy_run_conflict", "legacy_id");
    expect_rejected(db, with(c, "completed_at", "2025-03-01T10:06:00Z"), "legacy_run_conflict", "legacy_id");
    expect_rejected(db, with(c, "counts", json::object{{"total", 13}}), "legacy_run_conflict", "legacy_id");
    std::uint64_t run = accepted_run(db, "s1");
    expect_rejected(db, with(c, "operation_run_id", run), "legacy_run_conflict", "legacy_id");
    CHECK(db.send(resolve("entra_group_sync", 77)).at("history").at("status") == "completed");
  }
}

TEST_CASE("import_legacy_run rejects every malformed field and appends nothing", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  auto ok = legacy("inventory_sync", 5);
  for (auto key : {"kind", "legacy_id", "workspace_id", "tenant_id", "status", "started_at", "completed_at", "counts"}) {
    CAPTURE(key);
    expect_rejected(db, without(ok, key), "missing_field", key);
  }
  expect_rejected(db, with(ok, "kind", "directory_sync"), "invalid_field", "kind");
  expect_rejected(db, with(ok, "kind", 1), "invalid_field", "kind");
  for (auto key : {"legacy_id", "workspace_id", "tenant_id", "operation_run_id"}) {
    CAPTURE(key);
    expect_rejected(db, with(ok, key, 0), "invalid_field", key);
    expect_rejected(db, with(ok, key, -3), "invalid_field", key);
    expect_rejected(db, with(ok, key, "5"), "invalid_field", key);
    expect_rejected(db, with(ok, key, 1.5), "invalid_field", key);
  }
  expect_rejected(db, with(ok, "status", nullptr), "invalid_field", "status");
  expect_rejected(db, with(ok, "started_at", "2025-03-01 10:00"), "invalid_field", "started_at");
  expect_rejected(db, with(ok, "completed_at", 1740823500), "invalid_field", "completed_at");
  expect_rejected(db, with(ok, "completed_at", "2025-03-01T09:59:59Z"), "invalid_field", "completed_at");
  expect_rejected(db, with(ok, "counts", json::array{}), "invalid_field", "counts");
  expect_rejected(db, with(ok, "counts", json::object{{"total", -1}}), "invalid_field", "counts.total");
  expect_rejected(db, with(ok, "counts", json::object{{"total", "3"}}), "invalid_field", "counts.total");
  expect_rejected(db, with(ok, "counts", json::object{{"items", 3}}), "unknown_count_key", "counts.items");
  expect_rejected(db, with(ok, "run_id", 1), "unknown_field", "run_id");
  expect_rejected(db, with(ok, "actor", user(7)), "unknown_field", "actor");
  expect_rejected(db, with(ok, "at", "soon"), "invalid_field", "at");
  // Decided, not validation: the directory and the mapped run.
  expect_rejected(db, with(ok, "workspace_id", 99), "unknown_workspace", "workspace_id");
  expect_rejected(db, with(ok, "tenant_id", 99), "unknown_tenant", "tenant_id");
  expect_rejected(db, with(ok, "operation_run_id", 99), "run_not_found", "operation_run_id");
  expect_rejected(db, resolve("inventory_sync", 5), "not_found", "legacy_id");
}

TEST_CASE("import_legacy_run: a tenant of another workspace and a run of another tenant are refused",
          "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  seed_fabrikam(db);
  auto a = db.send(with(start_cmd("f1", "inventory.sync", user(7), 20), "workspace_id", 2));
  REQUIRE(a.at("decision") == "accepted");
  std::uint64_t run = a.at("run_id").to_number<std::uint64_t>();
  expect_rejected(db, legacy("inventory_sync", 5, 1, 20), "unknown_tenant", "tenant_id");
  expect_rejected(db, with(legacy("inventory_sync", 5, 1, 10), "operation_run_id", run), "run_not_found",
                  "operation_run_id");
  // The same run is a valid target for a record of its own tenant.
  CHECK(db.send(with(legacy("inventory_sync", 5, 2, 20), "operation_run_id", run)).at("ok").as_bool());
  // Completed runs stay valid targets.
  CHECK(db.send({{"cmd", "complete_run"}, {"run_id", run}, {"outcome", "failed"}}).at("ok").as_bool());
  CHECK(db.send(with(legacy("inventory_sync", 6, 2, 20), "operation_run_id", run)).at("ok").as_bool());
}

TEST_CASE("import_legacy_run: a workspace-scoped run of the same workspace is a valid target", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  seed_fabrikam(db);
  REQUIRE(db.send({{"cmd", "define_operation_type"}, {"type", "custom.workspace_report"}, {"label", "Workspace report"},
                   {"identity_policy", "while_active"}, {"identity_fields", json::array{}}, {"provider_backed", false},
                   {"readiness_exempt", false}, {"capability", "inventory.sync"}, {"system_allowed", true},
                   {"expected_duration_s", 60}, {"stale_after_s", 180}})
              .at("ok")
              .as_bool());
  auto a = db.send({{"cmd", "start"}, {"request_id", "w1"}, {"actor", system_actor()}, {"workspace_id", 1},
                    {"type", "custom.workspace_report"}, {"context", json::object{}}});
  REQUIRE(a.at("decision") == "accepted");
  std::uint64_t run = a.at("run_id").to_number<std::uint64_t>();
  CHECK(db.send(with(legacy("inventory_sync", 5), "operation_run_id", run)).at("ok").as_bool());
  CHECK(db.send(resolve("inventory_sync", 5)).at("operation_run_id") == run);
  expect_rejected(db, with(legacy("inventory_sync", 6, 2, 20), "operation_run_id", run), "run_not_found",
                  "operation_run_id");
}

TEST_CASE("import_legacy_run: an equal start and completion time is accepted", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  auto c = with(legacy("inventory_sync", 5), "completed_at", "2025-03-01T11:00:00+01:00");
  auto a = db.send(c);
  REQUIRE(a.at("ok").as_bool());
  CHECK(db.send(resolve("inventory_sync", 5)).at("history").at("completed_at") == "2025-03-01T10:00:00Z");
}

TEST_CASE("resolve_legacy rejects malformed fields and hides records from outsiders", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  REQUIRE(db.send(legacy("inventory_sync", 5)).at("ok").as_bool());
  auto ok = resolve("inventory_sync", 5);
  expect_rejected(db, without(ok, "kind"), "missing_field", "kind");
  expect_rejected(db, without(ok, "legacy_id"), "missing_field", "legacy_id");
  expect_rejected(db, with(ok, "kind", "inventory.sync"), "invalid_field", "kind");
  expect_rejected(db, with(ok, "legacy_id", 0), "invalid_field", "legacy_id");
  expect_rejected(db, with(ok, "workspace_id", 1), "unknown_field", "workspace_id");
  expect_rejected(db, resolve("inventory_sync", 6), "not_found", "legacy_id");
  // Isolation (SPEC section 4): an outsider gets exactly the answer of a record never imported.
  auto outsider = db.send(with(ok, "actor", user(8, "Eve")));
  auto never = db.send(with(resolve("inventory_sync", 6), "actor", user(8, "Eve")));
  CHECK(error_code(outsider) == "not_found");
  CHECK(outsider.at("error").at("code") == never.at("error").at("code"));
  CHECK(outsider.at("error").at("field") == never.at("error").at("field"));
  CHECK(db.send(with(ok, "actor", user(7, "Ada"))).at("ok").as_bool());
  CHECK(db.send(with(ok, "actor", system_actor())).at("ok").as_bool());
}

TEST_CASE("lifecycle commands on imported legacy runs answer read_only_run", "[ledgers][legacy]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t run = accepted_run(db, "s1");
  REQUIRE(db.send(legacy("inventory_sync", 5)).at("ok").as_bool());
  REQUIRE(db.send(with(legacy("backup_schedule_run", 6), "operation_run_id", run)).at("ok").as_bool());
  for (auto [kind, id] : {std::pair{"inventory_sync", 5}, std::pair{"backup_schedule_run", 6}}) {
    CAPTURE(kind, id);
    json::object target{{"legacy_kind", kind}, {"legacy_id", id}};
    auto cmd = [&](std::string_view name) {
      json::object c = target;
      c["cmd"] = name;
      return c;
    };
    expect_rejected(db, cmd("begin_run"), "read_only_run", "legacy_id");
    expect_rejected(db, with(cmd("record_progress"), "counts", json::object{{"total", 1}}), "read_only_run", "legacy_id");
    expect_rejected(db, with(cmd("complete_run"), "outcome", "failed"), "read_only_run", "legacy_id");
    expect_rejected(db, with(cmd("cancel_run"), "actor", user(7)), "read_only_run", "legacy_id");
  }
  // A legacy record never imported is not a run; malformed targets are validation errors.
  expect_rejected(db, {{"cmd", "begin_run"}, {"legacy_kind", "inventory_sync"}, {"legacy_id", 6}}, "run_not_found",
                  "legacy_id");
  expect_rejected(db, {{"cmd", "begin_run"}, {"legacy_kind", "inventory_sync"}}, "missing_field", "legacy_id");
  expect_rejected(db, {{"cmd", "begin_run"}, {"legacy_kind", "inventory"}, {"legacy_id", 5}}, "invalid_field",
                  "legacy_kind");
  expect_rejected(db, {{"cmd", "begin_run"}, {"legacy_kind", "inventory_sync"}, {"legacy_id", 5}, {"run_id", run}},
                  "unknown_field", "run_id");
  // The canonical run a legacy record maps to is not read-only.
  CHECK(db.send({{"cmd", "begin_run"}, {"run_id", run}}).at("ok").as_bool());
}

TEST_CASE("ledger events replay to the live digest", "[ledgers][replay]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t run = accepted_run(db, "s1");
  db.send(classify("b"));
  db.send(classify("a"));
  db.send(classify("b", "verification-report-summary", "resolved-or-not-needed", "yes", "closed"));
  db.send(legacy("inventory_sync", 1));
  db.send(with(legacy("entra_group_sync", 2), "operation_run_id", run));
  std::string live = db.digest();
  db.reopen();
  CHECK(db.digest() == live);
  CHECK(replay_digest(db.dir()) == live);
}

// ---------------------------------------------------------------------------------------
// The CSV reader (cli/csv_reader.h)

TEST_CASE("csv: plain and quoted and multi-line fields", "[ledgers][csv]") {
  auto r = records("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",,\"\"\nlast,row,no-newline");
  REQUIRE(r.size() == 4);
  for (const auto& x : r) CHECK(x.error.empty());
  CHECK(values(r[0]) == std::vector<std::string>{"a", "b", "c"});
  CHECK(values(r[1]) == std::vector<std::string>{"1", "x, y", "say \"hi\""});
  CHECK(values(r[2]) == std::vector<std::string>{"two\nlines", "", ""});
  CHECK(!r[2].fields[1].quoted);
  CHECK(r[2].fields[2].quoted);
  CHECK(values(r[3]) == std::vector<std::string>{"last", "row", "no-newline"});
  CHECK(r[0].line == 1);
  CHECK(r[1].line == 2);
  CHECK(r[2].line == 3);
  CHECK(r[3].line == 5);
}

TEST_CASE("csv: BOM and blank lines and trailing separators", "[ledgers][csv]") {
  auto r = records("\xEF\xBB\xBFh1,h2\n\n\r\n,\n x , y \n");
  REQUIRE(r.size() == 3);
  CHECK(values(r[0]) == std::vector<std::string>{"h1", "h2"});
  CHECK(values(r[1]) == std::vector<std::string>{"", ""});
  CHECK(r[1].line == 4);
  CHECK(values(r[2]) == std::vector<std::string>{" x ", " y "});
  CHECK(records("").empty());
  CHECK(records("\n\r\n\n").empty());
  CHECK(records("\xEF\xBB\xBF").empty());
}

TEST_CASE("csv: malformed records are reported and reading resumes on the next line", "[ledgers][csv]") {
  struct Case {
    std::string text;
    std::string error_part;
  };
  auto c = GENERATE(values<Case>({
      {"ok\nab\"c,d\nnext\n", "a quote inside an unquoted field"},
      {"ok\n\"ab\"c,d\nnext\n", "a character after a closing quote"},
      {"ok\na\rb,c\nnext\n", "a carriage return outside quotes"},
  }));
  CAPTURE(c.text);
  auto r = records(c.text);
  REQUIRE(r.size() == 3);
  CHECK(r[0].error.empty());
  CHECK(r[1].error.find(c.error_part) != std::string::npos);
  CHECK(r[1].error.find("(line 2)") != std::string::npos);
  CHECK(r[1].fields.empty());
  CHECK(r[1].line == 2);
  CHECK(values(r[2]) == std::vector<std::string>{"next"});
  CHECK(r[2].line == 3);
}

TEST_CASE("csv: an unclosed quote consumes the rest and is reported", "[ledgers][csv]") {
  auto r = records("a,b\n1,\"open\n2,3\n");
  REQUIRE(r.size() == 2);
  CHECK(r[1].error.find("opened on line 2 is not closed") != std::string::npos);
  CHECK(r[1].fields.empty());
}

TEST_CASE("csv: a record longer than the bound is malformed and memory stays bounded", "[ledgers][csv]") {
  std::string big(cli::kCsvRecordBytesMax + 10, 'x');
  auto r = records("h\n" + big + "\nafter\n" + std::string(cli::kCsvRecordBytesMax, 'y') + "\n");
  REQUIRE(r.size() == 4);
  CHECK(r[1].error.find("longer than 65536 bytes") != std::string::npos);
  CHECK(values(r[2]) == std::vector<std::string>{"after"});
  CHECK(r[3].error.empty());  // exactly at the bound is fine
  CHECK(r[3].fields.at(0).value.size() == cli::kCsvRecordBytesMax);
}

TEST_CASE("csv: the reader never crashes on arbitrary bytes", "[ledgers][csv]") {
  // A deterministic byte soup biased towards the characters the grammar cares about.
  const char alphabet[] = {'"', ',', '\n', '\r', 'a', '\0', '\xEF', '\xBB', '\xBF', ' '};
  std::uint64_t x = 88172645463325252ULL;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    std::size_t n = round % 64;
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      text.push_back(alphabet[x % sizeof alphabet]);
    }
    CAPTURE(text);
    std::size_t seen = 0;
    cli::CsvReader reader(text);
    cli::CsvRecord rec;
    while (reader.next(rec)) {
      ++seen;
      REQUIRE(seen <= text.size() + 1);  // every record consumes input
      CHECK((rec.error.empty() || rec.fields.empty()));
    }
    CHECK(reader.position() == text.size());
  }
}

// ---------------------------------------------------------------------------------------
// CSV rows as import_legacy_run commands (cli/legacy_csv.h)

namespace {

const char* kHeader = "kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at";

cli::LegacyHeader header_of(std::string_view line) {
  auto r = records(line);
  REQUIRE(r.size() == 1);
  return cli::parse_legacy_header(r[0]);
}

}  // namespace

TEST_CASE("legacy csv header: required and optional and count columns", "[ledgers][csv]") {
  auto h = header_of(std::string(kHeader) + ",operation_run_id,total,counts.failed");
  REQUIRE(h.error.empty());
  REQUIRE(h.columns.size() == 10);
  CHECK(h.columns[7].key == "operation_run_id");
  CHECK(h.columns[8].key == "counts.total");
  CHECK(h.columns[9].key == "counts.failed");
  CHECK(h.columns[9].count);
}

TEST_CASE("legacy csv header: unusable headers name their fault", "[ledgers][csv]") {
  struct Case {
    std::string line;
    std::string error_part;
  };
  auto c = GENERATE(values<Case>({
      {std::string(kHeader) + ",notes", "unknown column \"notes\""},
      {std::string(kHeader) + ",counts.items", "unknown_count_key"},
      {std::string(kHeader) + ",Total", "unknown column \"Total\""},
      {std::string(kHeader) + ",total,counts.total", "repeats the field counts.total"},
      {std::string(kHeader) + ",kind", "repeats the field kind"},
      {"kind,legacy_id,workspace_id,tenant_id,status,started_at", "no column \"completed_at\""},
      {"legacy_id,workspace_id,tenant_id,status,started_at,completed_at", "no column \"kind\""},
      {"kind,\"legacy_id", "the header row is malformed"},
  }));
  CAPTURE(c.line);
  auto h = header_of(c.line);
  CHECK(h.error.find(c.error_part) != std::string::npos);
}

TEST_CASE("legacy csv rows: cells become typed fields and empty unquoted cells are absent", "[ledgers][csv]") {
  auto r = records(std::string(kHeader) + ",operation_run_id,total,deleted\n"
                   "inventory_sync,5,1,10,\"\",2025-01-01T00:00:00Z,2025-01-01T00:01:00Z,,7,-2\n"
                   "inventory_sync,x1,1,10,,2025-01-01T00:00:00Z,2025-01-01T00:01:00Z,99999999999999999999,,\n");
  REQUIRE(r.size() == 3);
  auto h = cli::parse_legacy_header(r[0]);
  REQUIRE(h.error.empty());
  auto row = cli::legacy_row_command(h, r[1]);
  REQUIRE(row.error_code.empty());
  auto cmd = json::parse(row.command).as_object();
  CHECK(cmd.at("cmd") == "import_legacy_run");
  CHECK(cmd.at("legacy_id") == 5);
  CHECK(cmd.at("status") == "");  // quoted empty: an empty string
  CHECK(!cmd.contains("operation_run_id"));
  CHECK(cmd.at("counts").at("total") == 7);
  CHECK(cmd.at("counts").at("deleted") == -2);  // passed on for the engine to reject
  auto row2 = cli::legacy_row_command(h, r[2]);
  REQUIRE(row2.error_code.empty());
  auto cmd2 = json::parse(row2.command).as_object();
  CHECK(cmd2.at("legacy_id") == "x1");
  CHECK(!cmd2.contains("status"));  // unquoted empty: absent
  CHECK(cmd2.at("operation_run_id") == "99999999999999999999");
  CHECK(cmd2.at("counts").as_object().empty());
}

TEST_CASE("legacy csv rows: wrong field counts and malformed records and bad UTF-8 are rejected", "[ledgers][csv]") {
  auto r = records(std::string(kHeader) + "\n"
                   "inventory_sync,5,1,10\n"
                   "inventory_sync,5,1,10,ok,a,b,extra\n"
                   "inventory_sync,5\",1,10,ok,a,b\n"
                   "inventory_sync,5,1,10,\xC3\x28,a,b\n");
  REQUIRE(r.size() == 5);
  auto h = cli::parse_legacy_header(r[0]);
  auto few = cli::legacy_row_command(h, r[1]);
  CHECK(few.error_code == "malformed_csv");
  CHECK(few.error_message.find("the row has 4 fields, the header 7") != std::string::npos);
  CHECK(cli::legacy_row_command(h, r[2]).error_code == "malformed_csv");
  auto quote = cli::legacy_row_command(h, r[3]);
  CHECK(quote.error_code == "malformed_csv");
  CHECK(quote.error_message.find("line 4") != std::string::npos);
  auto utf8 = cli::legacy_row_command(h, r[4]);
  CHECK(utf8.error_code == "invalid_utf8");
  CHECK(utf8.error_field == "status");
}

// ---------------------------------------------------------------------------------------
// opsledger import-legacy (the CLI)

namespace {

struct CliResult {
  int status = -1;
  std::vector<json::object> rows;  // stdout's JSON lines
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

// Runs `opsledger ARGS` through the shell; `pipe_from` (a shell command) feeds its stdin.
CliResult run_cli(const TempDir& tmp, const std::string& args, const std::string& pipe_from = "true") {
  std::string out = tmp.sub("cli.out"), err = tmp.sub("cli.err");
  std::string cmd = pipe_from + " | '" + OPSLEDGER_CLI + "' " + args + " > '" + out + "' 2> '" + err + "'";
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.status = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
  r.err = read_file(err);
  r.out = read_file(out);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{') r.rows.push_back(json::parse(line).as_object());
  return r;
}

// A database prepared through the engine, then closed so that the CLI (another process)
// can work on it; reopened to look at the result.
struct CliDb {
  TempDir tmp;
  std::string dir = tmp.sub("db");
  std::unique_ptr<opsledger::Engine> engine;
  std::uint64_t run_id = 0;

  CliDb() {
    open();
    for (const json::object& c : {
             json::object{{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "Contoso"}},
             json::object{{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 10}, {"name", "Contoso EU"}},
             json::object{{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", 10},
                          {"provider_connection_id", 100}, {"provider", "microsoft"}, {"display_name", "Graph"}},
             json::object{{"cmd", "set_default_provider_connection"}, {"tenant_id", 10}, {"provider_connection_id", 100}},
             json::object{{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"consent", "granted"},
                          {"credentials", "usable"}, {"permissions", "ok"}},
         })
      REQUIRE(send(c).at("ok").as_bool());
    auto s = send({{"cmd", "start"}, {"request_id", "s1"}, {"actor", system_actor()}, {"workspace_id", 1},
                   {"tenant_id", 10}, {"type", "backup_schedule.scheduled"},
                   {"context", json::object{{"backup_schedule_id", 3}, {"scheduled_for", "2026-04-20T06:00:00Z"}}}});
    REQUIRE(s.at("decision") == "accepted");
    run_id = s.at("run_id").to_number<std::uint64_t>();
    close();
  }
  void open() { REQUIRE(opsledger::Engine::open(dir, test_options(), engine).is_ok()); }
  void close() { engine.reset(); }
  json::object send(const json::object& c) { return json::parse(engine->execute(json::serialize(c))).as_object(); }
  // seq and digest of the live projections (opens and closes the engine).
  std::pair<std::uint64_t, std::string> state() {
    open();
    auto a = send({{"cmd", "state_digest"}});
    close();
    return {a.at("seq").to_number<std::uint64_t>(), std::string(a.at("digest").as_string())};
  }
  CliResult import(const std::string& csv_path, bool nosync = true) {
    return run_cli(tmp, "import-legacy --db '" + dir + "'" + (nosync ? " --nosync '" : " '") + csv_path + "'");
  }
};

// `rows` generated legacy rows: every kind, quoting in the status, every 97th row mapped
// to the canonical run.
std::string generated_csv(std::uint64_t rows, std::uint64_t run_id) {
  static const char* kinds[] = {"inventory_sync", "entra_group_sync", "backup_schedule_run"};
  std::string csv = "kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at,operation_run_id,total,"
                    "succeeded,counts.failed\r\n";
  csv.reserve(rows * 120);
  for (std::uint64_t i = 1; i <= rows; ++i) {
    csv += kinds[i % 3];
    csv += ',' + std::to_string(i) + ",1,10,";
    csv += i % 5 == 0 ? "\"failed, \"\"timeout\"\"\"" : "succeeded";
    csv += ",2025-0" + std::to_string(1 + i % 9) + "-01T00:00:00Z,2025-0" + std::to_string(1 + i % 9) + "-01T01:00:00Z,";
    if (i % 97 == 0) csv += std::to_string(run_id);
    csv += ',' + std::to_string(i % 1000) + ',' + std::to_string(i % 1000 / 2) + ',' + std::to_string(i % 7);
    csv += "\r\n";
  }
  return csv;
}

void bulk_import_is_idempotent(std::uint64_t rows) {
  CliDb db;
  std::string csv = db.tmp.sub("legacy.csv");
  write_file(csv, generated_csv(rows, db.run_id));
  auto [seq0, digest0] = db.state();

  auto first = db.import(csv);
  INFO(first.err);
  REQUIRE(first.status == 0);
  REQUIRE(first.rows.size() == rows);
  std::uint64_t seq = seq0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    const auto& r = first.rows[i];
    REQUIRE(r.at("row") == i + 1);
    REQUIRE(r.at("outcome") == "imported");
    REQUIRE(r.at("seq") == ++seq);  // one event per row, in file order
  }
  CHECK(first.err.find(std::to_string(rows) + " imported") != std::string::npos);
  auto [seq1, digest1] = db.state();
  CHECK(seq1 == seq0 + rows);
  CHECK(digest1 != digest0);

  auto second = db.import(csv);
  REQUIRE(second.status == 0);
  REQUIRE(second.rows.size() == rows);
  std::uint64_t unchanged = 0;
  for (const auto& r : second.rows) unchanged += r.at("outcome") == "unchanged" && !r.contains("seq");
  CHECK(unchanged == rows);
  CHECK(second.err.find(std::to_string(rows) + " unchanged") != std::string::npos);
  auto [seq2, digest2] = db.state();
  CHECK(seq2 == seq1);
  CHECK(digest2 == digest1);
  CHECK(replay_digest(db.dir) == digest1);

  db.open();
  auto mapped = db.send(resolve("backup_schedule_run", 194));  // 194 % 97 == 0, 194 % 3 == 2
  CHECK(mapped.at("operation_run_id") == db.run_id);
  auto last = db.send(resolve(std::vector<std::string>{"inventory_sync", "entra_group_sync",
                                                       "backup_schedule_run"}[rows % 3],
                              rows));
  CHECK(last.at("history").at("legacy_id") == rows);
  auto quoted = db.send(resolve("entra_group_sync", 10));
  CHECK(quoted.at("history").at("status") == "failed, \"timeout\"");
  CHECK(quoted.at("history").at("counts").at("failed") == 3);
  db.close();
}

}  // namespace

TEST_CASE("import-legacy: 100000 generated rows import once and a second run changes nothing",
          "[ledgers][cli][bulk]") {
  bulk_import_is_idempotent(100000);
}

TEST_CASE("import-legacy: reports every rejection per row and goes on", "[ledgers][cli]") {
  CliDb db;
  std::string header = "kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at,operation_run_id,total\n";
  std::string t0 = "2025-01-01T00:00:00Z", t1 = "2025-01-01T00:10:00Z";
  std::string csv = header +
                    "inventory_sync,1,1,10,ok," + t0 + "," + t1 + ",,5\n" +             // 1 imported
                    "inventory_sync,1,1,10,ok," + t0 + "," + t1 + ",,5\n" +             // 2 unchanged
                    "inventory_sync,1,1,10,changed," + t0 + "," + t1 + ",,5\n" +        // 3 legacy_run_conflict
                    "sync,2,1,10,ok," + t0 + "," + t1 + ",,\n" +                        // 4 invalid_field kind
                    "inventory_sync,0,1,10,ok," + t0 + "," + t1 + ",,\n" +              // 5 invalid_field legacy_id
                    "inventory_sync,3,9,10,ok," + t0 + "," + t1 + ",,\n" +              // 6 unknown_workspace
                    "inventory_sync,4,1,99,ok," + t0 + "," + t1 + ",,\n" +              // 7 unknown_tenant
                    "inventory_sync,5,1,10,ok," + t0 + "," + t1 + ",999,\n" +           // 8 run_not_found
                    "inventory_sync,6,1,10,ok," + t0 + "," + t1 + ",,-4\n" +            // 9 invalid_field counts.total
                    "inventory_sync,7,1,10,ok,2025-13-01T00:00:00Z," + t1 + ",,\n" +    // 10 invalid_field started_at
                    "inventory_sync,8,1,10,ok," + t1 + "," + t0 + ",,\n" +              // 11 invalid_field completed_at
                    "inventory_sync,9,1,10,," + t0 + "," + t1 + ",,\n" +                // 12 missing_field status
                    "inventory_sync,10,1,10,ok," + t0 + "\n" +                          // 13 malformed_csv (fields)
                    "inventory_sync,11,1,10,o\"k," + t0 + "," + t1 + ",,\n" +           // 14 malformed_csv (quote)
                    "inventory_sync,12,1,10,\xFF," + t0 + "," + t1 + ",,\n" +           // 15 invalid_utf8 status
                    "inventory_sync,13,1,10,\"\"," + t0 + "," + t1 + ",,\n" +           // 16 imported, empty status
                    "entra_group_sync,1,1,10,\"multi\nline\"," + t0 + "," + t1 + ",," + std::to_string(1) + "\n";  // 17
  std::string path = db.tmp.sub("rows.csv");
  write_file(path, csv);
  auto r = db.import(path, false);
  INFO(r.err);
  CHECK(r.status == 2);
  REQUIRE(r.rows.size() == 17);
  struct Expect {
    const char* outcome;
    const char* code;
    const char* field;
    std::uint64_t line;
  };
  const Expect expect[] = {
      {"imported", "", "", 2},
      {"unchanged", "", "", 3},
      {"rejected", "legacy_run_conflict", "legacy_id", 4},
      {"rejected", "invalid_field", "kind", 5},
      {"rejected", "invalid_field", "legacy_id", 6},
      {"rejected", "unknown_workspace", "workspace_id", 7},
      {"rejected", "unknown_tenant", "tenant_id", 8},
      {"rejected", "run_not_found", "operation_run_id", 9},
      {"rejected", "invalid_field", "counts.total", 10},
      {"rejected", "invalid_field", "started_at", 11},
      {"rejected", "invalid_field", "completed_at", 12},
      {"rejected", "missing_field", "status", 13},
      {"rejected", "malformed_csv", "", 14},
      {"rejected", "malformed_csv", "", 15},
      {"rejected", "invalid_utf8", "status", 16},
      {"imported", "", "", 17},
      {"imported", "", "", 18},
  };
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const auto& row = r.rows[i];
    CAPTURE(i, json::serialize(row));
    CHECK(row.at("row") == i + 1);
    CHECK(row.at("line") == expect[i].line);
    CHECK(row.at("outcome") == expect[i].outcome);
    CHECK(row.at("ok").as_bool() == (std::string_view(expect[i].code).empty()));
    CHECK(!row.contains("durability"));
    if (*expect[i].code) {
      CHECK(row.at("error").at("code") == expect[i].code);
      auto& e = row.at("error").as_object();
      CHECK((e.contains("field") ? std::string(e.at("field").as_string()) : std::string()) == expect[i].field);
    }
  }
  CHECK(r.err.find("17 rows: 3 imported, 1 unchanged, 13 rejected (3 malformed)") != std::string::npos);
  db.open();
  CHECK(db.send(resolve("inventory_sync", 13)).at("history").at("status") == "");
  CHECK(db.send(resolve("entra_group_sync", 1)).at("history").at("status") == "multi\nline");
  CHECK(db.send(resolve("inventory_sync", 1)).at("history").at("status") == "ok");
  db.close();
}

TEST_CASE("import-legacy: an unusable header imports nothing", "[ledgers][cli]") {
  CliDb db;
  auto [seq0, digest0] = db.state();
  struct Case {
    std::string text;
    std::string message_part;
  };
  auto c = GENERATE(values<Case>({
      {"", "the file is empty"},
      {"\n\n", "the file is empty"},
      {"kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at,notes\ninventory_sync,1,1,10,ok,"
       "2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,x\n",
       "unknown column \"notes\""},
      {"kind,legacy_id,workspace_id,tenant_id,status,started_at\n", "no column \"completed_at\""},
      {"kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at,counts.items\n", "unknown_count_key"},
  }));
  std::string path = db.tmp.sub("bad.csv");
  write_file(path, c.text);
  auto r = db.import(path);
  CAPTURE(c.text, r.err);
  CHECK(r.status == 2);
  CHECK(r.rows.empty());
  CHECK(r.err.find(c.message_part) != std::string::npos);
  CHECK(db.state() == std::make_pair(seq0, digest0));
}

TEST_CASE("import-legacy: usage errors and unreadable files", "[ledgers][cli]") {
  TempDir tmp;
  CHECK(run_cli(tmp, "import-legacy").status == 64);
  CHECK(run_cli(tmp, "import-legacy --db '" + tmp.sub("db") + "'").status == 64);
  CHECK(run_cli(tmp, "import-legacy --db '" + tmp.sub("db") + "' a.csv b.csv").status == 64);
  CHECK(run_cli(tmp, "import-legacy --db '" + tmp.sub("db") + "' --bogus x.csv").status == 64);
  auto missing = run_cli(tmp, "import-legacy --db '" + tmp.sub("db") + "' '" + tmp.sub("missing.csv") + "'");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("cannot read") != std::string::npos);
  auto help = run_cli(tmp, "import-legacy --help");
  CHECK(help.status == 0);
  CHECK(help.out.find("usage: opsledger import-legacy") != std::string::npos);
  auto listed = run_cli(tmp, "--help");
  CHECK(listed.out.find("import-legacy") != std::string::npos);
}

TEST_CASE("import-legacy: nosync is named in every row and the summary", "[ledgers][cli]") {
  CliDb db;
  std::string path = db.tmp.sub("one.csv");
  write_file(path, generated_csv(3, db.run_id));
  auto r = db.import(path, true);
  REQUIRE(r.status == 0);
  REQUIRE(r.rows.size() == 3);
  for (const auto& row : r.rows) CHECK(row.at("durability") == "nosync");
  CHECK(r.err.find("nosync") != std::string::npos);
}

TEST_CASE("import-legacy: reads a file from a pipe", "[ledgers][cli]") {
  CliDb db;
  std::string path = db.tmp.sub("piped.csv");
  write_file(path, generated_csv(10, db.run_id));
  auto r = run_cli(db.tmp, "import-legacy --db '" + db.dir + "' --nosync /dev/stdin", "cat '" + path + "'");
  INFO(r.err);
  CHECK(r.status == 0);
  REQUIRE(r.rows.size() == 10);
  for (const auto& row : r.rows) CHECK(row.at("outcome") == "imported");
}
