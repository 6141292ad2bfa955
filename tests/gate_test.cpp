// The start gate: decision order, dedupe policies, scope busy, isolation (SPEC 4–7).
#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace opsledger::test;
namespace json = boost::json;

TEST_CASE("the worked example of SPEC section 15 decides as specified", "[gate]") {
  TestDb db;
  seed_contoso(db);
  auto r2 = db.send(start_cmd("r2"));
  REQUIRE(r2.at("decision") == "accepted");
  auto r3 = db.send(start_cmd("r3"));
  CHECK(r3.at("decision") == "deduped");
  CHECK(r3.at("run_id") == r2.at("run_id"));
  auto r4 = db.send(start_cmd("r4", "directory_groups.sync"));
  CHECK(r4.at("decision") == "scope_busy");
  CHECK(r4.at("run_id") == r2.at("run_id"));
  auto again = db.send(start_cmd("r2"));
  CHECK(again == r2);
  auto eve = db.send(start_cmd("r5", "inventory.sync", user(8, "Eve")));
  CHECK(eve.at("decision") == "not_found");
}

TEST_CASE("live digest equals a replay from genesis", "[gate][replay]") {
  TestDb db;
  seed_contoso(db);
  db.send(start_cmd("a"));
  db.send(start_cmd("b", "directory_groups.sync"));
  std::string live = db.digest();
  std::uint64_t seq = db.seq();
  CHECK(replay_digest(db.dir()) == live);
  CHECK(replay_digest(db.dir(), seq) == live);
}

namespace {

json::object update_pc(std::uint64_t pc, json::object fields) {
  fields["cmd"] = "update_provider_connection";
  fields["provider_connection_id"] = pc;
  return fields;
}

std::string decision(const json::object& a) { return std::string(a.at("decision").as_string()); }
std::string reason(const json::object& a) {
  auto it = a.find("reason_code");
  return it == a.end() ? "" : std::string(it->value().as_string());
}

json::object start_ctx(std::string_view rid, std::string_view type, json::object context, json::object actor = user(7),
                       std::uint64_t tenant = 10) {
  auto c = start_cmd(rid, type, std::move(actor), tenant);
  c["context"] = std::move(context);
  return c;
}

}  // namespace

TEST_CASE("readiness blocks in the spec's order", "[gate][readiness]") {
  TestDb db;
  seed_contoso(db, "owner");
  SECTION("no default and no explicit connection") {
    db.send({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 11}, {"name", "T11"}});
    auto a = db.send(start_cmd("x", "inventory.sync", user(7), 11));
    CHECK(decision(a) == "blocked");
    CHECK(reason(a) == "provider_connection_missing");
    CHECK(a.at("seq").is_number());  // the refusal is on the log
  }
  SECTION("an explicit connection of another tenant is indistinguishable from none") {
    db.send({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 11}, {"name", "T11"}});
    auto c = start_cmd("x", "inventory.sync", user(7), 11);
    c["provider_connection_id"] = 100;
    auto a = db.send(c);
    CHECK(reason(a) == "provider_connection_missing");
    CHECK_FALSE(a.contains("provider_connection_id"));
  }
  SECTION("disabled before consent, consent before credentials, credentials before permissions") {
    db.send(update_pc(100, {{"enabled", false}, {"consent", "missing"}, {"credentials", "missing"},
                            {"permissions", "denied"}}));
    CHECK(reason(db.send(start_cmd("a"))) == "provider_connection_disabled");
    db.send(update_pc(100, {{"enabled", true}}));
    CHECK(reason(db.send(start_cmd("b"))) == "provider_consent_missing");
    db.send(update_pc(100, {{"consent", "granted"}}));
    CHECK(reason(db.send(start_cmd("c"))) == "provider_credentials_unusable");
    db.send(update_pc(100, {{"credentials", "unusable"}}));
    CHECK(reason(db.send(start_cmd("d"))) == "provider_credentials_unusable");
    db.send(update_pc(100, {{"credentials", "usable"}}));
    auto e = db.send(start_cmd("e"));
    CHECK(reason(e) == "provider_permission_denied");
    CHECK(e.at("provider_connection_id") == 100);
    CHECK(!e.at("message").as_string().empty());
    CHECK(!e.at("next_step").as_string().empty());
    db.send(update_pc(100, {{"permissions", "ok"}}));
    CHECK(decision(db.send(start_cmd("f"))) == "accepted");
  }
  SECTION("provider verification is exempt from consent, credentials and permissions only") {
    db.send(update_pc(100, {{"consent", "missing"}, {"credentials", "unusable"}, {"permissions", "denied"}}));
    CHECK(decision(db.send(start_cmd("v1", "provider.verification"))) == "accepted");
    db.send(update_pc(100, {{"enabled", false}}));
    CHECK(reason(db.send(start_cmd("v2", "provider.verification"))) == "provider_connection_disabled");
  }
}

TEST_CASE("isolation: not_found for the unseen, forbidden for the incapable", "[gate][isolation]") {
  TestDb db;
  seed_contoso(db);
  db.send({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 11}, {"name", "T11"}});
  db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 20}, {"role", "readonly"}});
  db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 21}, {"role", "manager"},
           {"tenant_ids", json::array{11}}});
  CHECK(decision(db.send(start_cmd("n1", "inventory.sync", user(99)))) == "not_found");
  CHECK(decision(db.send(start_cmd("n2", "inventory.sync", user(7), 12345))) == "not_found");
  CHECK(decision(db.send(start_cmd("n3", "inventory.sync", user(21), 10))) == "not_found");  // tenant not granted
  CHECK(decision(db.send(start_cmd("f1", "inventory.sync", user(20)))) == "forbidden");       // readonly
  CHECK(decision(db.send(start_ctx("f2", "restore.execute", {{"restore_run_id", 1}}))) == "forbidden");
  auto nf = db.send(start_cmd("n4", "inventory.sync", user(99)));
  auto nf2 = db.send(start_cmd("n5", "inventory.sync", user(7), 777));
  // a hidden tenant and a missing one answer alike (apart from seq)
  nf.erase("seq");
  nf2.erase("seq");
  CHECK(nf == nf2);
  CHECK_FALSE(nf.contains("provider_connection_id"));
  CHECK_FALSE(nf.contains("run_id"));
  SECTION("revoking membership hides the workspace again") {
    db.send({{"cmd", "revoke_membership"}, {"workspace_id", 1}, {"user_id", 7}});
    CHECK(decision(db.send(start_cmd("r1"))) == "not_found");
  }
  SECTION("granting again replaces role and tenants") {
    db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 21}, {"role", "operator"}});
    CHECK(decision(db.send(start_cmd("g1", "inventory.sync", user(21), 10))) == "accepted");
  }
  SECTION("system actors skip membership but need system_allowed") {
    CHECK(decision(db.send(start_cmd("s1", "inventory.sync", system_actor()))) == "forbidden");
    CHECK(decision(db.send(start_cmd("s2", "inventory.sync", system_actor(), 999))) == "not_found");
    auto s3 = db.send(start_ctx("s3", "backup_schedule.scheduled",
                                {{"backup_schedule_id", 5}, {"scheduled_for", "2026-04-20T02:00:00Z"}},
                                system_actor()));
    CHECK(decision(s3) == "accepted");
  }
  SECTION("an admin command from a user actor needs the capability") {
    auto a = db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"enabled", false},
                      {"actor", user(7)}});
    CHECK(error_code(a) == "forbidden");
    auto b = db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"enabled", false},
                      {"actor", user(99)}});
    CHECK(error_code(b) == "not_found");
  }
}

TEST_CASE("identity policies: while_active, nonce, strict", "[gate][identity]") {
  TestDb db;
  seed_contoso(db);
  db.send(update_pc(100, {{"max_concurrent_runs", 10}}));
  SECTION("while_active dedupes only while active, then a new run") {
    auto a = db.send(start_cmd("a"));
    CHECK(decision(db.send(start_cmd("b"))) == "deduped");
    db.send({{"cmd", "begin_run"}, {"run_id", a.at("run_id")}});
    CHECK(decision(db.send(start_cmd("c"))) == "deduped");
    db.send({{"cmd", "complete_run"}, {"run_id", a.at("run_id")}, {"outcome", "failed"}});
    auto d = db.send(start_cmd("d"));
    CHECK(decision(d) == "accepted");
    CHECK(d.at("run_id") != a.at("run_id"));
  }
  SECTION("nonce: clicks never dedupe each other, a retried click does") {
    auto c1 = start_ctx("n1", "backup_schedule.run_now", {{"backup_schedule_id", 6}});
    c1["nonce"] = "click-1";
    auto c2 = start_ctx("n2", "backup_schedule.run_now", {{"backup_schedule_id", 6}});
    c2["nonce"] = "click-2";
    auto c1b = c1;
    c1b["request_id"] = "n1-retry";
    auto a1 = db.send(c1);
    auto a2 = db.send(c2);
    auto a3 = db.send(c1b);
    CHECK(decision(a1) == "accepted");
    CHECK(decision(a2) == "accepted");
    CHECK(decision(a3) == "deduped");
    CHECK(a3.at("run_id") == a1.at("run_id"));
  }
  SECTION("strict: a scheduled slot runs at most once, even after completion; the minute is the slot") {
    auto s1 = db.send(start_ctx("s1", "backup_schedule.scheduled",
                                {{"backup_schedule_id", 5}, {"scheduled_for", "2026-04-20T02:00:10Z"}}));
    REQUIRE(decision(s1) == "accepted");
    db.send({{"cmd", "begin_run"}, {"run_id", s1.at("run_id")}});
    db.send({{"cmd", "complete_run"}, {"run_id", s1.at("run_id")}});
    auto s2 = db.send(start_ctx("s2", "backup_schedule.scheduled",
                                {{"backup_schedule_id", 5}, {"scheduled_for", "2026-04-20T04:00:59+02:00"}}));
    CHECK(decision(s2) == "deduped");
    CHECK(reason(s2) == "run_already_exists");
    CHECK(s2.at("run_id") == s1.at("run_id"));
    auto s3 = db.send(start_ctx("s3", "backup_schedule.scheduled",
                                {{"backup_schedule_id", 5}, {"scheduled_for", "2026-04-20T02:01:00Z"}}));
    CHECK(decision(s3) == "accepted");
  }
  SECTION("identity fields separate runs; scope is the tenant") {
    auto r1 = db.send(start_ctx("r1", "restore.execute", {{"restore_run_id", 1}}, user(7)));
    CHECK(decision(r1) == "forbidden");  // operators may not restore
    db.send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 7}, {"role", "manager"}});
    CHECK(decision(db.send(start_ctx("r2", "restore.execute", {{"restore_run_id", 1}}))) == "accepted");
    CHECK(decision(db.send(start_ctx("r3", "restore.execute", {{"restore_run_id", 2}}))) == "accepted");
    CHECK(decision(db.send(start_ctx("r4", "restore.execute", {{"restore_run_id", 1}}))) == "deduped");
  }
  SECTION("the identity hash is the documented SHA-256 of canonical JSON") {
    auto a = db.send(start_cmd("h"));
    // python3: sha256(json.dumps({...}, sort_keys=True, separators=(",", ":")))
    // of {"fields":{},"scope_id":10,"scope_kind":"tenant","type":"inventory.sync"}
    CHECK(a.at("run_identity_hash") == "8ccfdf8aeb38dcb3450dbb652cbc4c2f5a0541e5cc59481dda3bcd0abd99964b");
  }
  SECTION("several identity fields, listed unsorted and one twice, hash as one sorted object") {
    auto def = db.send({{"cmd", "define_operation_type"},
                        {"type", "custom.multi"},
                        {"label", "Multi"},
                        {"identity_policy", "strict"},
                        {"identity_fields",
                         {"scheduled_for", "restore_run_id", "provider_connection_id", "backup_set_id", "restore_run_id"}},
                        {"capability", "inventory.sync"}});
    REQUIRE(def.at("ok").as_bool());
    auto a = db.send(start_ctx("m1", "custom.multi",
                               {{"restore_run_id", 3}, {"backup_set_id", 9}, {"scheduled_for", "2026-04-20T04:00:10+02:00"},
                                {"policy_id", 4}}));
    REQUIRE(decision(a) == "accepted");
    // python3: sha256 of the canonical JSON of {"fields":{"backup_set_id":9,
    // "provider_connection_id":100,"restore_run_id":3,"scheduled_for":"2026-04-20T02:00:00Z"},
    // "scope_id":10,"scope_kind":"tenant","type":"custom.multi"}
    CHECK(a.at("run_identity_hash") == "af2530ee897b8225b6abcd2dfde22a42dcee7fda4e59f494c20abd83df8e21bf");
    auto missing = db.send(start_ctx("m2", "custom.multi", {{"restore_run_id", 3}, {"backup_set_id", 9}}));
    CHECK(missing.at("error").at("field") == "context.scheduled_for");
  }
}

TEST_CASE("scope busy names the oldest active run on the connection", "[gate][busy]") {
  TestDb db;
  seed_contoso(db);
  db.send(update_pc(100, {{"max_concurrent_runs", 2}}));
  auto a = db.send(start_cmd("a", "inventory.sync"));
  auto b = db.send(start_cmd("b", "directory_groups.sync"));
  REQUIRE(decision(b) == "accepted");
  auto c = db.send(start_cmd("c", "directory_role_definitions.sync"));
  CHECK(decision(c) == "scope_busy");
  CHECK(reason(c) == "provider_connection_busy");
  CHECK(c.at("run_id") == a.at("run_id"));
  db.send({{"cmd", "begin_run"}, {"run_id", a.at("run_id")}});
  db.send({{"cmd", "complete_run"}, {"run_id", a.at("run_id")}});
  auto d = db.send(start_cmd("d", "directory_role_definitions.sync"));
  CHECK(decision(d) == "accepted");
  auto e = db.send(start_cmd("e", "inventory.sync"));
  CHECK(decision(e) == "scope_busy");
  CHECK(e.at("run_id") == b.at("run_id"));
  // dedupe comes before scope busy
  CHECK(decision(db.send(start_cmd("f", "directory_groups.sync"))) == "deduped");
}

TEST_CASE("workspace-scoped starts need an explicit connection of the workspace", "[gate][scope]") {
  TestDb db;
  seed_contoso(db);
  json::object c = start_cmd("w1");
  c.erase("tenant_id");
  CHECK(reason(db.send(c)) == "provider_connection_missing");
  c["request_id"] = "w2";
  c["provider_connection_id"] = 100;
  auto a = db.send(c);
  CHECK(decision(a) == "accepted");
  auto run = db.send({{"cmd", "get_run"}, {"run_id", a.at("run_id")}, {"actor", user(7)}}).at("run").as_object();
  CHECK(run.at("tenant_id").is_null());
  CHECK(run.at("context").as_object().at("provider_connection_id") == 100);
}

TEST_CASE("admin commands from a user actor answer a missing and a hidden object alike", "[gate][isolation]") {
  TestDb db;
  seed_contoso(db, "owner");
  db.send({{"cmd", "register_workspace"}, {"workspace_id", 2}, {"name", "Fabrikam"}});
  db.send({{"cmd", "register_tenant"}, {"workspace_id", 2}, {"tenant_id", 20}, {"name", "F"}});
  db.send({{"cmd", "register_provider_connection"}, {"workspace_id", 2}, {"tenant_id", 20},
           {"provider_connection_id", 200}, {"provider", "m"}, {"display_name", "d"}});
  auto owner7 = user(7);
  auto pairs = std::vector<std::pair<json::object, json::object>>{
      {{{"cmd", "register_tenant"}, {"workspace_id", 2}, {"tenant_id", 21}, {"name", "x"}, {"actor", owner7}},
       {{"cmd", "register_tenant"}, {"workspace_id", 9}, {"tenant_id", 21}, {"name", "x"}, {"actor", owner7}}},
      {{{"cmd", "grant_membership"}, {"workspace_id", 2}, {"user_id", 5}, {"role", "owner"}, {"actor", owner7}},
       {{"cmd", "grant_membership"}, {"workspace_id", 9}, {"user_id", 5}, {"role", "owner"}, {"actor", owner7}}},
      {{{"cmd", "register_provider_connection"}, {"workspace_id", 2}, {"tenant_id", 20},
        {"provider_connection_id", 201}, {"provider", "m"}, {"display_name", "d"}, {"actor", owner7}},
       {{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", 99},
        {"provider_connection_id", 201}, {"provider", "m"}, {"display_name", "d"}, {"actor", owner7}}},
      {{{"cmd", "set_default_provider_connection"}, {"tenant_id", 20}, {"provider_connection_id", 200},
        {"actor", owner7}},
       {{"cmd", "set_default_provider_connection"}, {"tenant_id", 99}, {"provider_connection_id", 200},
        {"actor", owner7}}},
      {{{"cmd", "update_provider_connection"}, {"provider_connection_id", 200}, {"enabled", false},
        {"actor", owner7}},
       {{"cmd", "update_provider_connection"}, {"provider_connection_id", 999}, {"enabled", false},
        {"actor", owner7}}},
  };
  for (auto& [hidden, missing] : pairs) {
    CAPTURE(json::serialize(hidden));
    auto a = db.engine().execute(json::serialize(hidden));
    auto b = db.engine().execute(json::serialize(missing));
    CHECK(a == b);
    CHECK(error_code(json::parse(a).as_object()) == "not_found");
  }
  // the owner's own workspace still works
  CHECK(db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"enabled", false},
                 {"actor", owner7}})
            .at("ok")
            .as_bool());
}
