// The fuzz targets' committed inputs, replayed in the normal suite (and under the
// sanitizers in build-asan): every seed of tests/fuzz/corpus/TARGET and every input that
// once crashed a target, kept in tests/fuzz/regressions/TARGET, must pass the target's
// checks. The seeds are generated here (OPSLEDGER_WRITE_FUZZ_SEEDS=1) from the golden log,
// a real snapshot and the protocol's own examples, and this file checks that they stay
// meaningful: envelope and snapshot seeds decode, command seeds are accepted.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/engine_impl.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "snapshots/snapshot.h"
#include "tests/fuzz/targets.h"
#include "tests/golden_events.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(OPSLEDGER_SOURCE_DIR) / "tests" / "fuzz";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Input {
  std::string name;
  std::string bytes;
};

std::vector<Input> inputs_in(const fs::path& dir) {
  std::vector<Input> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back({e.path().filename().string(), slurp(e.path())});
  std::sort(out.begin(), out.end(), [](const Input& a, const Input& b) { return a.name < b.name; });
  return out;
}

using Target = std::string (*)(std::string_view);

void replay_all(const std::string& name, Target target) {
  auto seeds = inputs_in(kFuzzDir / "corpus" / name);
  REQUIRE_FALSE(seeds.empty());
  auto regressions = inputs_in(kFuzzDir / "regressions" / name);
  for (const auto* set : {&seeds, &regressions}) {
    for (const auto& in : *set) {
      CAPTURE(name, in.name);
      CHECK(target(in.bytes) == "");
    }
  }
}

// ---- seed generation -----------------------------------------------------------------

const char* const kActor7 = R"({"kind":"user","user_id":7,"name":"Ada"})";

std::string actor7(std::string body) {
  auto p = body.find("@A");
  while (p != std::string::npos) {
    body.replace(p, 2, kActor7);
    p = body.find("@A");
  }
  return body;
}

// One file per command kind (the fixture of tests/fuzz/targets.cpp is the database), the
// worked example of SPEC section 15, and a few lines that each hit one validation fault.
std::vector<Input> command_seeds() {
  std::vector<Input> s = {
      {"register_workspace", R"({"cmd":"register_workspace","workspace_id":3,"name":"Northwind","at":"2026-04-20T06:52:38Z"})"},
      {"register_tenant", R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":12,"name":"Contoso APAC","actor":{"kind":"user","user_id":9,"name":"Olga"}})"},
      {"grant_membership", R"({"cmd":"grant_membership","workspace_id":1,"user_id":40,"role":"manager","tenant_ids":[10,11]})"},
      {"revoke_membership", R"({"cmd":"revoke_membership","workspace_id":1,"user_id":8})"},
      {"register_provider_connection", R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":11,"provider_connection_id":101,"provider":"microsoft","display_name":"US"})"},
      {"set_default_provider_connection", R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":100})"},
      {"update_provider_connection", R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"missing","credentials":"unusable","permissions":"denied","enabled":false,"max_concurrent_runs":3})"},
      {"define_operation_type", R"({"cmd":"define_operation_type","type":"policy.sync","label":"Policy sync","identity_policy":"while_active","identity_fields":["policy_id"],"provider_backed":true,"readiness_exempt":false,"capability":"inventory.sync","system_allowed":true,"expected_duration_s":60,"stale_after_s":180})"},
      {"start_inventory", R"({"cmd":"start","request_id":"s1","actor":@A,"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})"},
      {"start_nonce", R"({"cmd":"start","request_id":"s2","actor":@A,"workspace_id":1,"tenant_id":10,"type":"backup_schedule.run_now","nonce":"n1","context":{"backup_schedule_id":4}})"},
      {"start_strict", R"({"cmd":"start","request_id":"s3","actor":{"kind":"system","name":"scheduler"},"workspace_id":1,"tenant_id":10,"type":"backup_schedule.scheduled","context":{"backup_schedule_id":4,"scheduled_for":"2026-04-20T07:00:30.5Z"}})"},
      {"start_restore", R"({"cmd":"start","request_id":"s4","actor":@A,"workspace_id":2,"tenant_id":20,"type":"restore.execute","provider_connection_id":200,"context":{"restore_run_id":9,"target_scope":{"a":[1,2]},"selection":{},"idempotency":{}}})"},
      {"start_workspace", R"({"cmd":"start","request_id":"s5","at":"2026-04-20T06:00:00Z","actor":@A,"workspace_id":1,"type":"onboarding.bootstrap","context":{}})"},
      {"start_hidden", R"({"cmd":"start","request_id":"s6","actor":{"kind":"user","user_id":9,"name":"Eve"},"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})"},
      {"begin_run", R"({"cmd":"begin_run","run_id":1,"at":"2026-04-20T06:53:00Z"})"},
      {"record_progress", R"({"cmd":"record_progress","run_id":2,"counts":{"total":10,"processed":4,"failed":1},"failures":[{"code":"x","message":"Bearer abc.def.ghi password=hunter2","item":"i1"}]})"},
      {"complete_run", R"({"cmd":"complete_run","run_id":2,"report":{"checks":[{"key":"consent","status":"fail","reason_code":"provider_consent_missing","blocking":true},{"key":"perm","status":"warn","blocking":false}]}})"},
      {"complete_queued", R"({"cmd":"complete_run","run_id":1,"outcome":"cancelled","counts":{"total":0}})"},
      {"cancel_run", R"({"cmd":"cancel_run","run_id":1,"actor":@A})"},
      {"cancel_legacy", R"({"cmd":"cancel_run","legacy_kind":"inventory_sync","legacy_id":1,"actor":@A})"},
      {"expire_stale_runs", R"({"cmd":"expire_stale_runs","at":"2026-05-01T00:00:00Z"})"},
      {"classify_failure_group", R"({"cmd":"classify_failure_group","group":"g1","seam":"verification-start-contract","category":"resolved-or-not-needed","observed_failure":"o","candidate_owner":"c","fix_in_scope":"only_if_runtime_owner_proven","follow_up":"f","status":"closed"})"},
      {"triage", R"({"cmd":"triage"})"},
      {"import_legacy_run", R"({"cmd":"import_legacy_run","kind":"backup_schedule_run","legacy_id":2,"workspace_id":1,"tenant_id":10,"status":"failed","started_at":"2025-01-01T00:00:00Z","completed_at":"2025-01-01T01:00:00Z","counts":{"total":1,"failed":1}})"},
      {"resolve_legacy", R"({"cmd":"resolve_legacy","kind":"inventory_sync","legacy_id":1,"actor":@A})"},
      {"get_run", R"({"cmd":"get_run","run_id":1,"actor":@A})"},
      {"list_runs", R"({"cmd":"list_runs","workspace_id":1,"tenant_id":10,"status":"queued","type":"inventory.sync","actor":@A,"limit":10,"after_run_id":0})"},
      {"explain", R"({"cmd":"explain","for_request_id":"seed-1"})"},
      {"history", R"({"cmd":"history","run_id":2})"},
      {"notifications", R"({"cmd":"notifications","user_id":7,"after_seq":0,"limit":5})"},
      {"state_digest", R"({"cmd":"state_digest"})"},
      {"stats", R"({"cmd":"stats"})"},
      {"faults", "not json\n[1,2]\n{\"cmd\":7}\n{}\n{\"cmd\":\"nope\"}\n{\"cmd\":\"begin_run\",\"run_id\":0}\n"
                 "{\"cmd\":\"begin_run\",\"run_id\":1,\"extra\":true}\n{\"cmd\":\"record_progress\",\"run_id\":2,\"counts\":{\"bogus\":1}}\n"
                 "{\"cmd\":\"start\",\"request_id\":\"\",\"workspace_id\":1}\n\xff\xfe\n"
                 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"},
      {"request_id_reuse", R"({"cmd":"begin_run","request_id":"seed-1","run_id":1})"},
      {"replay_same_request", R"({"cmd":"start","request_id":"seed-1","actor":@A,"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})"},
  };
  std::string example =
      R"({"cmd":"register_workspace","workspace_id":4,"name":"Contoso"}
{"cmd":"register_tenant","workspace_id":4,"tenant_id":40,"name":"Contoso EU"}
{"cmd":"grant_membership","workspace_id":4,"user_id":7,"role":"operator"}
{"cmd":"register_provider_connection","workspace_id":4,"tenant_id":40,"provider_connection_id":400,"provider":"microsoft","display_name":"Contoso Graph"}
{"cmd":"set_default_provider_connection","tenant_id":40,"provider_connection_id":400}
{"cmd":"start","request_id":"r1","actor":@A,"workspace_id":4,"tenant_id":40,"type":"inventory.sync","context":{}}
{"cmd":"update_provider_connection","provider_connection_id":400,"consent":"granted","credentials":"usable","permissions":"ok"}
{"cmd":"start","request_id":"r2","actor":@A,"workspace_id":4,"tenant_id":40,"type":"inventory.sync","context":{}}
{"cmd":"start","request_id":"r3","actor":@A,"workspace_id":4,"tenant_id":40,"type":"inventory.sync","context":{}}
{"cmd":"start","request_id":"r4","actor":@A,"workspace_id":4,"tenant_id":40,"type":"directory_groups.sync","context":{}}
{"cmd":"begin_run","run_id":3}
{"cmd":"complete_run","run_id":3,"outcome":"succeeded","counts":{"total":10,"succeeded":10}}
{"cmd":"complete_run","run_id":3,"outcome":"succeeded"}
{"cmd":"start","request_id":"r6","actor":@A,"workspace_id":4,"tenant_id":40,"type":"inventory.sync","context":{}}
{"cmd":"get_run","run_id":4,"actor":@A}
{"cmd":"state_digest"})";
  s.push_back({"example", example});
  for (auto& in : s) in.bytes = actor7(in.bytes);
  return s;
}

std::vector<Input> envelope_seeds() {
  auto golden = golden_events_v1();
  std::string log = build_golden_log(golden);
  std::vector<Input> out;
  ByteReader r(log);
  for (std::size_t i = 0; r.remaining() > 0; ++i) {
    std::string rec(r.raw(r.u32()));
    auto env = decode_envelope(rec);
    std::string name(event_type_name(env.event_type));
    out.push_back({"envelope-" + name, std::string(1, '\0') + rec});
    std::string direct(1, '\1');
    ByteWriter w(direct);
    w.u16(env.event_type);
    w.u16(env.schema_version);
    w.raw(env.payload);
    out.push_back({"payload-" + name, direct});
  }
  return out;
}

// A stored value's header as the engine writes it (format 4): magic, format_version and
// the 16-byte checksum.
constexpr std::size_t kValueHeader = 8 + 4 + 16;

std::vector<Input> snapshot_seeds() {
  TestDb db;
  seed_contoso(db);
  db.send(start_cmd("r1"));
  db.send(start_cmd("r2", "provider.verification"));
  auto& impl = db.engine().impl();
  SnapshotWritten w = write_snapshot(*impl.env, impl.dbis);
  lmdb::Txn txn(*impl.env, false);
  std::string_view value;
  REQUIRE(txn.get(impl.dbis.snapshots, be64(w.seq), value));
  return {{"stored", std::string(1, '\0') + le64(w.seq) + std::string(value)},
          {"archive", std::string(1, '\1') + le64(w.seq) + std::string(value.substr(kValueHeader))}};
}

std::vector<Input> csv_seeds() {
  const std::string header = "kind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at,operation_run_id,total,counts.failed\r\n";
  return {
      {"legacy", header + "inventory_sync,1,1,10,done,2025-01-01T00:00:00Z,2025-01-01T00:10:00Z,1,3,0\r\n"
                          "entra_group_sync,2,1,10,\"failed, \"\"badly\"\"\",2025-01-01T00:00:00Z,2025-01-01T00:10:00Z,,,\r\n"
                          "backup_schedule_run,3,1,10,\"\",2025-01-01T00:00:00Z,2025-01-01T00:10:00Z,,x,-1\r\n"},
      {"bom_lf", "\xEF\xBB\xBFkind,legacy_id,workspace_id,tenant_id,status,started_at,completed_at\n"
                 "inventory_sync,4,1,10,\"multi\nline\",2025-01-01T00:00:00Z,2025-01-01T00:10:00Z\n\n"},
      {"malformed", header + "a\"b,c\r\n\"open,1\r\nx\ry,z\r\n\"closed\"x,1\n"},
      {"bad_utf8", header + "inventory_sync,5,1,10,\xff\xfe,2025-01-01T00:00:00Z,2025-01-01T00:10:00Z,,,\n"},
  };
}

void write_seeds(const std::string& target, const std::vector<Input>& seeds) {
  fs::path dir = kFuzzDir / "corpus" / target;
  fs::create_directories(dir);
  for (const auto& in : seeds) std::ofstream(dir / in.name, std::ios::binary) << in.bytes;
  WARN(seeds.size() << " seeds written to " << dir.string());
}

}  // namespace

TEST_CASE("fuzz seeds are generated from the golden log, a snapshot and the protocol examples", "[fuzz]") {
  auto commands = command_seeds();
  auto envelopes = envelope_seeds();
  auto snapshots = snapshot_seeds();
  auto csvs = csv_seeds();
  if (std::getenv("OPSLEDGER_WRITE_FUZZ_SEEDS")) {
    write_seeds("command_lines", commands);
    write_seeds("envelope", envelopes);
    write_seeds("snapshot", snapshots);
    write_seeds("csv", csvs);
  }
  // The committed seeds are the generated ones (the snapshot seeds hold engine-clock
  // times and are only checked to decode, below).
  for (const auto& [target, seeds] : {std::pair{"command_lines", &commands}, {"envelope", &envelopes}, {"csv", &csvs}})
    for (const auto& in : *seeds) {
      CAPTURE(target, in.name);
      CHECK(slurp(kFuzzDir / "corpus" / target / in.name) == in.bytes);
    }
  // Envelope seeds decode and snapshot seeds load: the fuzzer starts from sound inputs.
  for (const auto& in : inputs_in(kFuzzDir / "corpus" / "envelope")) {
    std::string_view rest = std::string_view(in.bytes).substr(1);
    if (in.bytes[0] == '\0') CHECK_NOTHROW(decode_envelope(rest));
  }
  for (const auto& in : inputs_in(kFuzzDir / "corpus" / "snapshot")) {
    if (in.bytes[0] != '\0') continue;
    std::string problem;
    ByteReader r(std::string_view(in.bytes).substr(1, 8));
    std::uint64_t seq = r.u64();
    CHECK(decode_snapshot(seq, std::string_view(in.bytes).substr(9), problem));
    CHECK(problem == "");
  }
}

TEST_CASE("fuzz corpus and crash inputs: the command path", "[fuzz]") { replay_all("command_lines", fuzz::command_lines); }
TEST_CASE("fuzz corpus and crash inputs: the envelope decoder", "[fuzz]") { replay_all("envelope", fuzz::envelope); }
TEST_CASE("fuzz corpus and crash inputs: the snapshot loader", "[fuzz]") { replay_all("snapshot", fuzz::snapshot); }
TEST_CASE("fuzz corpus and crash inputs: the CSV reader", "[fuzz]") { replay_all("csv", fuzz::csv); }

// What the fuzzers found, as plain checks that fail without the fix in any build (the
// crash inputs above only fail under UBSan).
TEST_CASE("fuzz finding: a payload bool byte other than 0 or 1 is a DecodeError", "[fuzz][log]") {
  // events/event_codec.cpp loads a bool as a byte and checks it.
  std::string t = encode_payload(MembershipGranted{1, 7, Role::operator_, true, {}});
  std::string f = encode_payload(MembershipGranted{1, 7, Role::operator_, false, {}});
  REQUIRE(t.size() == f.size());
  std::size_t at = 0;
  while (at < t.size() && t[at] == f[at]) ++at;
  REQUIRE(at < t.size());
  const auto type = static_cast<std::uint16_t>(EventType::membership_granted);
  for (int b : {2, 0x24, 0xff}) {
    std::string bad = t;
    bad[at] = static_cast<char>(b);
    CAPTURE(b);
    CHECK_THROWS_AS(decode_payload(type, 1, bad), DecodeError);
  }
  CHECK(std::get<MembershipGranted>(decode_payload(type, 1, t)).all_tenants);
  CHECK_FALSE(std::get<MembershipGranted>(decode_payload(type, 1, f)).all_tenants);
}

TEST_CASE("fuzz finding: a stored context that is not JSON renders as a string, never throws", "[fuzz][log]") {
  // events/json_values.cpp: parse_stored_json. Only a forged log can hold such a context.
  StartDecided ev;
  ev.workspace_id = 1;
  ev.type = "inventory.sync";
  ev.context_json = "{\"a\":";
  auto rendered = event_to_json(Event{ev});
  CHECK(rendered.at("context") == boost::json::value("{\"a\":"));
  ev.context_json = R"({"a":1})";
  CHECK(event_to_json(Event{ev}).at("context").at("a") == 1);
}

TEST_CASE("fuzz finding: a snapshot string longer than the archive is refused before allocating", "[fuzz][audit]") {
  // snapshots/snapshot.cpp reads every string with a bound. The chain hash's length
  // follows the seq in the archive; claim 64 MiB.
  auto seeds = snapshot_seeds();
  std::string value = seeds[0].bytes.substr(9);
  ByteReader r(std::string_view(seeds[0].bytes).substr(1, 8));
  std::uint64_t seq = r.u64();
  std::string archive = value.substr(kValueHeader);
  auto pos = archive.find(le64(seq) + le64(32));
  REQUIRE(pos != std::string::npos);
  std::string claim = le64(std::uint64_t{64} << 20);
  archive.replace(pos + 8, 8, claim);
  std::string stored = sealed_snapshot(kSnapshotFormatVersion, archive);
  std::string problem;
  CHECK_FALSE(decode_snapshot(seq, stored, problem));
  CHECK(problem.find("implausible") != std::string::npos);
}

TEST_CASE("fuzz finding: a start whose type LMDB cannot use as a key is unknown_operation_type, alone", "[fuzz][validation]") {
  // engine/lmdb.cpp: a key that cannot be stored is never present. Before, the lookup
  // failed with MDB_BAD_VALSIZE and every command of the batch answered io_error.
  TestDb db;
  seed_contoso(db);
  for (std::string type : {std::string(), std::string(600, 't')}) {
    CAPTURE(type.size());
    auto bad = start_cmd("bad-" + std::to_string(type.size()), type);
    auto good = start_cmd("good-" + std::to_string(type.size()));
    std::string lines[] = {boost::json::serialize(bad), boost::json::serialize(good)};
    std::string_view views[] = {lines[0], lines[1]};
    auto answers = db.engine().execute_batch(views);
    auto a = boost::json::parse(answers[0]).as_object();
    CHECK(error_code(a) == "unknown_operation_type");
    CHECK(error_field(a) == "type");
    CHECK(boost::json::parse(answers[1]).as_object().at("ok").as_bool());
  }
}

TEST_CASE("fuzz finding: every int64 time renders, the extremes included", "[fuzz][log]") {
  // events/json_values.cpp: format_time negated t, which overflows for INT64_MIN.
  CHECK(format_time(std::numeric_limits<std::int64_t>::min()) == "-290308-12-21T19:59:05.224192Z");
  CHECK(format_time(std::numeric_limits<std::int64_t>::max()) == "294247-01-10T04:00:54.775807Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_time(-1000000) == "1969-12-31T23:59:59Z");
  CHECK(format_time(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("fuzz finding: a snapshot archive with a forged signature length is refused before allocating", "[fuzz][audit]") {
  // snapshots/snapshot.cpp checks Boost's archive signature before Boost reads it.
  auto seeds = snapshot_seeds();
  std::string value = seeds[0].bytes.substr(9);
  ByteReader r(std::string_view(seeds[0].bytes).substr(1, 8));
  std::uint64_t seq = r.u64();
  std::string archive = value.substr(kValueHeader);
  REQUIRE(archive.substr(0, 8) == le64(22));
  archive.replace(0, 8, le64(std::uint64_t{64} << 20));
  std::string stored = sealed_snapshot(kSnapshotFormatVersion, archive);
  std::string problem;
  CHECK_FALSE(decode_snapshot(seq, stored, problem));
  CHECK(problem == "not a Boost.Serialization binary archive");
}
