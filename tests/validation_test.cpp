// SPEC section 3: every fault of every command gets its pinned code and field, appends
// nothing, changes nothing, and the engine keeps serving.
#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace opsledger::test;
namespace json = boost::json;

namespace {

struct Bad {
  std::string line;
  std::string code;
  std::string field;  // "" when the spec names none
};

const std::string A7 = R"("actor":{"kind":"user","user_id":7,"name":"Ada"})";

std::vector<Bad> bad_lines() {
  std::string s = R"({"cmd":"start","request_id":"v1",)" + A7 + R"(,"workspace_id":1,"tenant_id":10,)";
  return {
      // framing
      {"{not json}", "invalid_json", ""},
      {"[1,2]", "invalid_json", ""},
      {"\"cmd\"", "invalid_json", ""},
      {R"({"cmd":"stats"} x)", "invalid_json", ""},
      {std::string(33, '[') + std::string(33, ']'), "invalid_json", ""},
      {R"({"cmd":"stats","a":)" + std::string(40, '[') + std::string(40, ']') + "}", "invalid_json", ""},
      {"\xc3\x28", "invalid_utf8", ""},
      {"{\"cmd\":\"stats\",\"x\":\"\xed\xa0\x80\"}", "invalid_utf8", ""},
      {R"({"cmd":"register_workspace","workspace_id":3,"name":")" + std::string(66000, 'y') + "\"}", "line_too_long", ""},
      {R"({"workspace_id":3})", "missing_field", "cmd"},
      {R"({"cmd":7})", "invalid_field", "cmd"},
      {R"({"cmd":"rename_workspace"})", "unknown_command", "cmd"},
      {R"({"cmd":"stats","request_id":""})", "invalid_field", "request_id"},
      {R"({"cmd":"stats","request_id":")" + std::string(129, 'r') + "\"}", "invalid_field", "request_id"},
      {R"({"cmd":"stats","request_id":"tab\there"})", "invalid_field", "request_id"},
      {R"({"cmd":"stats","extra":1})", "unknown_field", "extra"},
      // directory
      {R"({"cmd":"register_workspace","name":"x"})", "missing_field", "workspace_id"},
      {R"({"cmd":"register_workspace","workspace_id":-1,"name":"x"})", "invalid_field", "workspace_id"},
      {R"({"cmd":"register_workspace","workspace_id":1.5,"name":"x"})", "invalid_field", "workspace_id"},
      {R"({"cmd":"register_workspace","workspace_id":18446744073709551616,"name":"x"})", "invalid_field", "workspace_id"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":5})", "invalid_field", "name"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":"x","at":"yesterday"})", "invalid_field", "at"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":"x","at":"2026-02-30T00:00:00Z"})", "invalid_field", "at"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":"x","actor":{"kind":"robot","name":"r"}})", "invalid_field", "actor.kind"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":"x","actor":{"kind":"user","name":"r"}})", "missing_field", "actor.user_id"},
      {R"({"cmd":"register_workspace","workspace_id":2,"name":"x","actor":{"kind":"system","name":"r","user_id":1}})", "unknown_field", "actor.user_id"},
      {R"({"cmd":"register_tenant","workspace_id":1,"name":"x"})", "missing_field", "tenant_id"},
      {R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":"30","name":"x"})", "invalid_field", "tenant_id"},
      {R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":0,"name":"x"})", "invalid_field", "tenant_id"},
      {R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":30,"name":"x","region":"eu"})", "unknown_field", "region"},
      {R"({"cmd":"register_tenant","workspace_id":4,"tenant_id":30,"name":"x"})", "unknown_workspace", "workspace_id"},
      {R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":10,"name":"renamed"})", "invalid_field", "tenant_id"},
      {R"({"cmd":"grant_membership","workspace_id":1,"user_id":1,"role":"admin"})", "invalid_field", "role"},
      {R"({"cmd":"grant_membership","workspace_id":1,"user_id":1})", "missing_field", "role"},
      {R"({"cmd":"grant_membership","workspace_id":1,"user_id":1,"role":"owner","tenant_ids":[0]})", "invalid_field", "tenant_ids"},
      {R"({"cmd":"grant_membership","workspace_id":1,"user_id":1,"role":"owner","tenant_ids":5})", "invalid_field", "tenant_ids"},
      {R"({"cmd":"grant_membership","workspace_id":1,"user_id":1,"role":"owner","tenant_ids":[99]})", "unknown_tenant", "tenant_ids"},
      {R"({"cmd":"grant_membership","workspace_id":9,"user_id":1,"role":"owner"})", "unknown_workspace", "workspace_id"},
      {R"({"cmd":"revoke_membership","workspace_id":1})", "missing_field", "user_id"},
      {R"({"cmd":"revoke_membership","workspace_id":9,"user_id":7})", "unknown_workspace", "workspace_id"},
      // provider connections
      {R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":10,"provider_connection_id":101,"provider":"microsoft"})", "missing_field", "display_name"},
      {R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":99,"provider_connection_id":101,"provider":"m","display_name":"d"})", "unknown_tenant", "tenant_id"},
      {R"({"cmd":"register_provider_connection","workspace_id":9,"tenant_id":10,"provider_connection_id":101,"provider":"m","display_name":"d"})", "unknown_workspace", "workspace_id"},
      {R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":555})", "unknown_provider_connection", "provider_connection_id"},
      {R"({"cmd":"set_default_provider_connection","tenant_id":99,"provider_connection_id":100})", "unknown_tenant", "tenant_id"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":31,"enabled":true})", "unknown_provider_connection", "provider_connection_id"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"maybe"})", "invalid_field", "consent"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"credentials":"ok"})", "invalid_field", "credentials"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"permissions":"granted"})", "invalid_field", "permissions"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"enabled":"yes"})", "invalid_field", "enabled"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"max_concurrent_runs":0})", "invalid_field", "max_concurrent_runs"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"max_concurrent_runs":1000001})", "invalid_field", "max_concurrent_runs"},
      {R"({"cmd":"update_provider_connection","provider_connection_id":100,"colour":"red"})", "unknown_field", "colour"},
      // catalog
      {R"({"cmd":"define_operation_type","type":"x.sync","label":"X","identity_policy":"sometimes","capability":"inventory.sync"})", "invalid_field", "identity_policy"},
      {R"({"cmd":"define_operation_type","type":"x.sync","label":"X","identity_policy":"strict","capability":"nothing"})", "invalid_field", "capability"},
      {R"({"cmd":"define_operation_type","type":"x.sync","label":"X","identity_policy":"strict","capability":"inventory.sync","identity_fields":["colour"]})", "invalid_field", "identity_fields"},
      {R"({"cmd":"define_operation_type","type":"","label":"X","identity_policy":"strict","capability":"inventory.sync"})", "invalid_field", "type"},
      {R"({"cmd":"define_operation_type","label":"X","identity_policy":"strict","capability":"inventory.sync"})", "missing_field", "type"},
      // start
      {R"({"cmd":"start",)" + A7 + R"(,"workspace_id":1,"type":"inventory.sync","context":{}})", "missing_field", "request_id"},
      {s + R"("type":"inventory.refresh","context":{}})", "unknown_operation_type", "type"},
      {s + R"("type":"inventory.sync"})", "missing_field", "context"},
      {s + R"("type":"inventory.sync","context":[]})", "invalid_field", "context"},
      {s + R"("type":"inventory.sync","context":{"blob":")" + std::string(17000, 'b') + R"("}})", "invalid_field", "context"},
      {s + R"("type":"backup_schedule.run_now","nonce":"n1","context":{"backup_schedule_id":"six"}})", "invalid_field", "context.backup_schedule_id"},
      {s + R"("type":"backup_schedule.run_now","context":{"backup_schedule_id":6}})", "missing_field", "nonce"},
      {s + R"("type":"backup_schedule.run_now","nonce":"","context":{"backup_schedule_id":6}})", "invalid_field", "nonce"},
      {s + R"("type":"backup_schedule.run_now","nonce":"n","context":{}})", "missing_field", "context.backup_schedule_id"},
      {s + R"("type":"backup_schedule.scheduled","context":{"backup_schedule_id":6,"scheduled_for":"soon"}})", "invalid_field", "context.scheduled_for"},
      {s + R"("type":"backup_schedule.scheduled","context":{"backup_schedule_id":6}})", "missing_field", "context.scheduled_for"},
      {s + R"("type":"restore.execute","context":{"restore_run_id":0}})", "invalid_field", "context.restore_run_id"},
      {s + R"("type":"inventory.sync","context":{"target_scope":"all"}})", "invalid_field", "context.target_scope"},
      {s + R"("type":"inventory.sync","context":{},"priority":1})", "unknown_field", "priority"},
      {R"({"cmd":"start","request_id":"v2","workspace_id":1,"type":"inventory.sync","context":{}})", "missing_field", "actor"},
      {R"({"cmd":"start","request_id":"v2","actor":{"kind":"user","user_id":0,"name":"x"},"workspace_id":1,"type":"inventory.sync","context":{}})", "invalid_field", "actor.user_id"},
      // lifecycle
      {R"({"cmd":"begin_run"})", "missing_field", "run_id"},
      {R"({"cmd":"begin_run","run_id":999})", "run_not_found", "run_id"},
      {R"({"cmd":"begin_run","legacy_kind":"inventory_sync","legacy_id":5})", "run_not_found", "legacy_id"},
      {R"({"cmd":"begin_run","legacy_kind":"import","legacy_id":5})", "invalid_field", "legacy_kind"},
      {R"({"cmd":"record_progress","run_id":1,"counts":{"total":-1}})", "invalid_field", "counts.total"},
      {R"({"cmd":"record_progress","run_id":1,"counts":{"bananas":1}})", "unknown_count_key", "counts.bananas"},
      {R"({"cmd":"record_progress","run_id":1,"counts":[1]})", "invalid_field", "counts"},
      {R"({"cmd":"record_progress","run_id":1,"failures":[{"code":"E"}]})", "missing_field", "failures.0.message"},
      {R"({"cmd":"record_progress","run_id":1,"failures":["oops"]})", "invalid_field", "failures.0"},
      {R"({"cmd":"complete_run","run_id":1,"outcome":"pending"})", "invalid_field", "outcome"},
      {R"({"cmd":"complete_run","run_id":1,"outcome":"great"})", "invalid_field", "outcome"},
      {R"({"cmd":"complete_run","run_id":1,"report":{"checks":[{"key":"k","status":"meh","blocking":true}]}})", "invalid_field", "report.checks.0.status"},
      {R"({"cmd":"complete_run","run_id":1,"report":{"checks":[{"key":"k","status":"pass"}]}})", "missing_field", "report.checks.0.blocking"},
      {R"({"cmd":"complete_run","run_id":1,"report":{}})", "missing_field", "report.checks"},
      {R"({"cmd":"complete_run","run_id":1,"outcome":"succeeded","report":{"checks":[{"key":"k","status":"fail","blocking":true}]}})", "outcome_inconsistent_with_report", "outcome"},
      {R"({"cmd":"cancel_run","run_id":1})", "missing_field", "actor"},
      {R"({"cmd":"expire_stale_runs"})", "missing_field", "at"},
      {R"({"cmd":"expire_stale_runs","at":"now"})", "invalid_field", "at"},
      // queries
      {R"({"cmd":"get_run","run_id":1})", "missing_field", "actor"},
      {R"({"cmd":"list_runs","workspace_id":1,)" + A7 + "}", "missing_field", "limit"},
      {R"({"cmd":"list_runs","workspace_id":1,"limit":0,)" + A7 + "}", "invalid_field", "limit"},
      {R"({"cmd":"list_runs","workspace_id":1,"limit":5,"status":"done",)" + A7 + "}", "invalid_field", "status"},
      {R"({"cmd":"history","run_id":77})", "run_not_found", "run_id"},
      {R"({"cmd":"explain"})", "missing_field", "for_request_id"},
      {R"({"cmd":"notifications"})", "missing_field", "user_id"},
      {R"({"cmd":"state_digest","deep":true})", "unknown_field", "deep"},
  };
}

}  // namespace

TEST_CASE("every malformed or invalid command gets its code and field and appends nothing", "[validation]") {
  TestDb db;
  seed_contoso(db);
  auto run = db.send(start_cmd("base"));
  REQUIRE(run.at("run_id") == 1);
  std::string digest = db.digest();
  std::uint64_t seq = db.seq();
  for (const auto& bad : bad_lines()) {
    CAPTURE(bad.line.substr(0, 200));
    auto a = db.send_text(bad.line);
    CHECK(error_code(a) == bad.code);
    CHECK(error_field(a) == bad.field);
    CHECK(!a.at("error").as_object().at("message").as_string().empty());
  }
  CHECK(db.seq() == seq);
  CHECK(db.digest() == digest);
  // the engine keeps serving
  CHECK(db.send(start_cmd("after")).at("decision") == "deduped");
}

TEST_CASE("a bad line inside a batch rejects only itself", "[validation][batch]") {
  TestDb db;
  seed_contoso(db);
  std::vector<std::string> lines = {json::serialize(start_cmd("b1")), "{oops", json::serialize(start_cmd("b2")),
                                    R"({"cmd":"begin_run","run_id":999})"};
  std::vector<std::string_view> views(lines.begin(), lines.end());
  auto answers = db.engine().execute_batch(views);
  REQUIRE(answers.size() == 4);
  auto a0 = json::parse(answers[0]).as_object();
  auto a2 = json::parse(answers[2]).as_object();
  CHECK(a0.at("decision") == "accepted");
  CHECK(error_code(json::parse(answers[1]).as_object()) == "invalid_json");
  CHECK(a2.at("decision") == "deduped");  // sees the first line's run within the same batch
  CHECK(a2.at("seq").to_number<int>() == a0.at("seq").to_number<int>() + 1);
  CHECK(error_code(json::parse(answers[3]).as_object()) == "run_not_found");
}

TEST_CASE("request_id replays the recorded answer and refuses a different body", "[validation][idempotency]") {
  TestDb db;
  seed_contoso(db);
  auto first = db.send(start_cmd("same"));
  std::uint64_t seq = db.seq();
  // the same body with keys in another order is the same command
  auto reordered = db.send_text(
      R"({"context":{},"type":"inventory.sync","tenant_id":10,"workspace_id":1,"actor":{"name":"user","user_id":7,"kind":"user"},"request_id":"same","cmd":"start"})");
  CHECK(reordered == first);
  CHECK(db.seq() == seq);
  auto other = db.send(start_cmd("same", "directory_groups.sync"));
  CHECK(error_code(other) == "request_id_reused");
  CHECK(error_field(other) == "request_id");
  // request ids work on every appending command
  auto w1 = db.send({{"cmd", "register_workspace"}, {"request_id", "w"}, {"workspace_id", 5}, {"name", "N"}});
  auto w2 = db.send({{"cmd", "register_workspace"}, {"request_id", "w"}, {"workspace_id", 5}, {"name", "N"}});
  CHECK(w1 == w2);
  CHECK(w1.at("seq").is_number());
  CHECK(error_code(db.send({{"cmd", "register_workspace"}, {"request_id", "w"}, {"workspace_id", 6}, {"name", "N"}})) ==
        "request_id_reused");
  // a rejected command records nothing: its request_id stays free
  CHECK(error_code(db.send({{"cmd", "begin_run"}, {"request_id", "free"}, {"run_id", 99}})) == "run_not_found");
  CHECK(db.send({{"cmd", "register_workspace"}, {"request_id", "free"}, {"workspace_id", 6}, {"name", "N"}})
            .at("ok")
            .as_bool());
}
