// Audit: snapshots, verify, rebuild, replay, export, tail and the demo (SPEC 2, 12, 13).
// The CLI is driven as a separate process (OPSLEDGER_CLI) where it is the subject; the
// library functions are called directly where the property is about them.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "engine/audit.h"
#include "engine/command_context.h"
#include "engine/engine_impl.h"
#include "engine/render_json.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "snapshots/snapshot.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

extern char** environ;

namespace {

// ---------------------------------------------------------------------------------------
// Running the CLI

struct CliResult {
  int status = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliResult run_cli(const std::string& args) {
  TempDir io;
  std::string cmd = std::string(OPSLEDGER_CLI) + " " + args + " >" + io.sub("out") + " 2>" + io.sub("err") + " </dev/null";
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(io.sub("out"));
  r.err = slurp(io.sub("err"));
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

json::object parse_object(const std::string& text) { return json::parse(text).as_object(); }

// ---------------------------------------------------------------------------------------
// A database whose engine can be closed (for direct LMDB damage) and reopened.

class Db {
 public:
  explicit Db(Options options = test_options()) : options_(std::move(options)) { open(); }
  void open() {
    engine_.reset();
    REQUIRE(Engine::open(dir_.path(), options_, engine_).is_ok());
  }
  void close() { engine_.reset(); }
  Engine& engine() { return *engine_; }
  const std::string& dir() const { return dir_.path(); }
  json::object send(const json::object& c) { return parse_object(engine_->execute(json::serialize(c))); }
  json::object must(const json::object& c) {
    auto a = send(c);
    INFO(json::serialize(c) << " -> " << json::serialize(a));
    REQUIRE(a.at("ok").as_bool());
    return a;
  }
  std::string digest() { return std::string(send({{"cmd", "state_digest"}}).at("digest").as_string()); }
  std::uint64_t seq() { return engine_->last_seq(); }

 private:
  TempDir dir_;
  Options options_;
  std::unique_ptr<Engine> engine_;
};

// Directly edits the closed database in `dir`.
void with_write_txn(const std::string& dir, const std::function<void(lmdb::Txn&, const Dbis&)>& f) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, true);
  Dbis dbis = open_dbis(txn, false);
  f(txn, dbis);
  txn.commit();
}

// Reads the open engine's database through its own environment (never a second one in
// this process while the engine is open).
template <class F>
auto with_read_txn(Engine& engine, F&& f) {
  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  return f(txn, impl.dbis);
}

void seed(Db& db, const std::function<void()>& after = [] {}) {
  auto must = [&](const json::object& c) {
    db.must(c);
    after();
  };
  must({{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "Contoso"}});
  must({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 10}, {"name", "Contoso EU"}});
  must({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 11}, {"name", "Contoso US"}});
  must({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 7}, {"role", "manager"}});
  must({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 8}, {"role", "readonly"}});
  for (int pc : {100, 110}) {
    must({{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", pc == 100 ? 10 : 11},
             {"provider_connection_id", pc}, {"provider", "microsoft"}, {"display_name", "Graph"}});
    must({{"cmd", "set_default_provider_connection"}, {"tenant_id", pc == 100 ? 10 : 11},
             {"provider_connection_id", pc}});
  }
  must({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"consent", "granted"},
           {"credentials", "usable"}, {"permissions", "ok"}});
}

// A mixed stream of decisions and run transitions. Calls `after` after every command.
// Request ids are prefixed with `tag` so that several plays on one database are distinct.
void play(Db& db, int rounds, const std::function<void()>& after = [] {}, const std::string& tag = "req") {
  const char* types[] = {"inventory.sync", "directory_groups.sync", "directory_role_definitions.sync"};
  for (int i = 0; i < rounds; ++i) {
    std::string rid = tag + "-" + std::to_string(i);
    auto a = db.send(start_cmd(rid, types[i % 3], user(7, "Max"), i % 4 == 3 ? 11 : 10));
    after();
    db.send(start_cmd(rid + "-ro", "inventory.sync", user(8, "Rita")));  // forbidden
    after();
    if (a.at("decision") == "accepted") {
      auto run = a.at("run_id").to_number<std::uint64_t>();
      db.must({{"cmd", "begin_run"}, {"run_id", run}});
      after();
      if (i % 2 == 0) {
        db.must({{"cmd", "record_progress"}, {"run_id", run}, {"counts", {{"total", 10}, {"processed", 4}}}});
        after();
      }
      db.must({{"cmd", "complete_run"}, {"run_id", run}, {"outcome", i % 5 == 0 ? "failed" : "succeeded"},
               {"counts", {{"succeeded", 10}}}});
      after();
    }
  }
}

std::string hex_digest_of(const Store& s) { return to_hex(state_digest(s)); }

}  // namespace

// ---------------------------------------------------------------------------------------

TEST_CASE("the live digest after every N events equals a replay's digest at that seq", "[audit][snapshot]") {
  constexpr std::uint64_t kEvery = 7;
  Options options = test_options();
  options.snapshot_every_events = kEvery;
  Db db(options);
  std::map<std::uint64_t, std::string> live;  // seq -> live digest after that event
  // Waiting for the snapshot worker after every command makes each crossing's snapshot
  // one of the state right after the commit that crossed.
  auto record = [&] {
    db.engine().wait_for_snapshots();
    live[db.seq()] = db.digest();
  };
  record();  // the seeded events
  seed(db, record);
  play(db, 30, record);
  REQUIRE(live.size() > 40);

  with_read_txn(db.engine(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    auto snaps = snapshot_seqs(txn, dbis);
    REQUIRE(snaps.size() >= 5);
    for (auto s : snaps) {
      CAPTURE(s);
      std::string problem;
      auto snap = load_snapshot(txn, dbis, s, problem);
      REQUIRE(snap);
      // the worker was waited for after every command: each snapshot is of the state
      // right after the commit that crossed a multiple of N
      CHECK(live.count(s));
      if (live.count(s)) CHECK(to_hex(snap->digest) == live[s]);
    }
    for (const auto& [seq, digest] : live) {
      if (seq % kEvery != 0) continue;
      CAPTURE(seq);
      CHECK(hex_digest_of(replay_state(txn, dbis, seq, false).state) == digest);
      auto with = replay_state(txn, dbis, seq, true);
      CHECK(hex_digest_of(with.state) == digest);
      // it started from the nearest snapshot at or before seq
      std::uint64_t nearest = 0;
      for (auto s : snaps)
        if (s <= seq) nearest = s;
      CHECK(with.snapshot_seq == nearest);
    }
    return 0;
  });
}

TEST_CASE("a snapshot encoded in one pass is the one encoded with its digest given", "[audit][snapshot]") {
  Db db;
  seed(db);
  play(db, 6);
  with_read_txn(db.engine(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    EncodedSnapshot one_pass = encode_committed(txn, dbis);
    LmdbStore live(txn, dbis);
    LogTail tail = read_tail(txn, dbis.events);
    std::string digest = state_digest(live);
    CHECK(one_pass.written.seq == tail.seq);
    CHECK(to_hex(one_pass.written.digest) == to_hex(digest));
    CHECK(one_pass.written.bytes == one_pass.bytes.size());
    CHECK(one_pass.bytes == encode_snapshot(tail.seq, tail.hash, digest, live));  // byte for byte
    std::string problem;
    auto decoded = decode_snapshot(tail.seq, one_pass.bytes, problem);
    INFO(problem);
    REQUIRE(decoded);
    CHECK(decoded->digest == digest);
    return 0;
  });
}

TEST_CASE("automatic snapshots change no answer", "[audit][snapshot]") {
  Options with = test_options();
  with.snapshot_every_events = 3;
  Db a(with), b(test_options());
  std::vector<json::object> answers_a, answers_b;
  seed(a);
  seed(b);
  for (int i = 0; i < 12; ++i) {
    answers_a.push_back(a.send(start_cmd("r" + std::to_string(i), i % 2 ? "inventory.sync" : "directory_groups.sync")));
    answers_b.push_back(b.send(start_cmd("r" + std::to_string(i), i % 2 ? "inventory.sync" : "directory_groups.sync")));
  }
  CHECK(answers_a == answers_b);
  CHECK(a.digest() == b.digest());
  auto count = [](Db& db) {
    db.engine().wait_for_snapshots();
    return with_read_txn(db.engine(), [](lmdb::Txn& t, const Dbis& d) { return snapshot_seqs(t, d).size(); });
  };
  CHECK(count(a) > 0);
  CHECK(count(b) == 0);
}

TEST_CASE("replay with and without snapshots agree, at every point", "[audit][replay][cli]") {
  Options options = test_options();
  options.snapshot_every_events = 10;
  Db db(options);
  seed(db);
  play(db, 12);
  std::uint64_t last = db.seq();
  db.close();
  REQUIRE(run_cli("snapshot --db " + db.dir()).status == 0);
  for (std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{24}, std::uint64_t{31}, last / 2,
                            last - 1, last}) {
    CAPTURE(seq);
    auto with = run_cli("replay --db " + db.dir() + " --until-seq " + std::to_string(seq));
    auto without = run_cli("replay --db " + db.dir() + " --until-seq " + std::to_string(seq) + " --no-snapshots");
    REQUIRE(with.status == 0);
    REQUIRE(without.status == 0);
    CHECK(with.out == without.out);
    CHECK(with.err.empty());
    auto o = parse_object(with.out);
    CHECK(o.at("seq").to_number<std::uint64_t>() == seq);
    // (replay_digest's 0 means "to the end"; the state at seq 0 is the empty state)
    std::string expected = seq == 0 ? to_hex(state_digest(MemoryStore{})) : replay_digest(db.dir(), seq);
    CHECK(o.at("digest").as_string() == expected.c_str());
    CHECK(o.at("state").as_object().size() == kTableCount);
  }
}

TEST_CASE("replay --until TIME cuts the log at recorded_at", "[audit][replay][cli]") {
  Db db;  // the test clock: one second per engine reading
  seed(db);
  play(db, 6);
  db.close();
  // recorded_at of every event, from export
  auto exported = run_cli("export --db " + db.dir());
  REQUIRE(exported.status == 0);
  std::vector<std::pair<std::uint64_t, std::string>> recorded;
  for (auto& line : lines_of(exported.out)) {
    auto o = parse_object(line);
    recorded.emplace_back(o.at("seq").to_number<std::uint64_t>(), std::string(o.at("recorded_at").as_string()));
  }
  REQUIRE(recorded.size() > 30);
  SECTION("at an event's recorded time: that event and every earlier one") {
    auto [seq, at] = recorded[30];
    // events recorded in the same second all belong to that instant
    std::uint64_t expected = seq;
    for (auto& [s, t] : recorded)
      if (t == at) expected = std::max(expected, s);
    auto r = run_cli("replay --db " + db.dir() + " --until " + at);
    REQUIRE(r.status == 0);
    auto by_seq = run_cli("replay --db " + db.dir() + " --until-seq " + std::to_string(expected));
    CHECK(parse_object(r.out).at("seq").to_number<std::uint64_t>() == expected);
    CHECK(r.out == by_seq.out);
  }
  SECTION("before the first event: the empty state at seq 0") {
    auto r = run_cli("replay --db " + db.dir() + " --until 2000-01-01T00:00:00Z");
    REQUIRE(r.status == 0);
    auto o = parse_object(r.out);
    CHECK(o.at("seq").to_number<std::uint64_t>() == 0);
    CHECK(o.at("digest").as_string() == to_hex(state_digest(MemoryStore{})).c_str());
  }
  SECTION("after the last event: the state at the end") {
    auto r = run_cli("replay --db " + db.dir() + " --until 2999-01-01T00:00:00Z");
    REQUIRE(r.status == 0);
    CHECK(parse_object(r.out).at("seq").to_number<std::uint64_t>() == recorded.back().first);
  }
}

TEST_CASE("replay renders every table's records decoded", "[audit][replay][cli]") {
  Db db;
  seed(db);
  play(db, 3);
  db.close();
  auto last = lines_of(run_cli("export --db " + db.dir()).out).size();
  auto r = run_cli("replay --db " + db.dir() + " --until-seq " + std::to_string(last));
  REQUIRE(r.status == 0);
  auto state = parse_object(r.out).at("state").as_object();
  CHECK(state.at("workspaces").as_array().at(0).as_object().at("name") == "Contoso");
  auto& tenants = state.at("tenants").as_array();
  CHECK(tenants.size() == 2);
  CHECK(tenants.at(0).as_object().at("tenant_id") == 10);
  auto& members = state.at("memberships").as_array();
  CHECK(members.at(0).as_object().at("role") == "manager");
  auto& conns = state.at("connections").as_array();
  CHECK(conns.at(0).as_object().at("consent") == "granted");
  CHECK(conns.at(1).as_object().at("consent") == "missing");
  CHECK(state.at("catalog").as_array().size() == 9);
  auto& runs = state.at("runs").as_array();
  REQUIRE(!runs.empty());
  CHECK(runs.at(0).as_object().at("run_id") == 1);
  CHECK(runs.at(0).as_object().at("status") == "completed");
  CHECK(state.at("resource_types").as_array().size() == 13);
  CHECK(state.at("scopes").as_array().at(0).as_object().at("scope_key") == "default.intune_core");
  // nothing fell back to the raw rendering
  CHECK(r.out.find("undecodable") == std::string::npos);
}

TEST_CASE("replay and the other subcommands reject bad arguments", "[audit][cli]") {
  Db db;
  seed(db);
  db.close();
  const std::string d = " --db " + db.dir();
  SECTION("replay") {
    CHECK(run_cli("replay" + d).status == 64);                                      // no point
    CHECK(run_cli("replay" + d + " --until-seq 3 --until 2026-01-01T00:00:00Z").status == 64);  // two points
    CHECK(run_cli("replay" + d + " --until-seq x").status == 64);
    CHECK(run_cli("replay" + d + " --until yesterday").status == 64);
    CHECK(run_cli("replay --until-seq 3").status == 64);
    auto beyond = run_cli("replay" + d + " --until-seq 100000");
    CHECK(beyond.status == 2);
    CHECK(beyond.out.empty());
    CHECK(beyond.err.find("beyond the end of the log") != std::string::npos);
  }
  SECTION("every audit subcommand: unknown options, missing --db, a directory without a database") {
    TempDir empty;
    for (std::string sub : {"verify", "rebuild", "snapshot", "replay --until-seq 1", "export", "tail"}) {
      CAPTURE(sub);
      CHECK(run_cli(sub + d + " --bogus").status == 64);
      auto missing = run_cli(sub + " --db " + empty.sub("nothing-here"));
      CHECK(missing.status == 1);
      CHECK(missing.err.find("no opsledger database") != std::string::npos);
      CHECK(!std::filesystem::exists(empty.sub("nothing-here")));  // never created
      CHECK(run_cli(sub + " --help").status == 0);
    }
    CHECK(run_cli("tail" + d + " --interval-ms 0").status == 64);
    CHECK(run_cli("export" + d + " --from-seq -1").status == 64);
  }
}

TEST_CASE("a damaged snapshot changes no answer and is reported", "[audit][snapshot][cli]") {
  Db db;
  seed(db);
  play(db, 6);
  db.close();
  auto snap = run_cli("snapshot --db " + db.dir());
  REQUIRE(snap.status == 0);
  std::uint64_t at = parse_object(snap.out).at("seq").to_number<std::uint64_t>();
  // more events after the snapshot
  db.open();
  play(db, 2, [] {}, "later");
  std::uint64_t last = db.seq();
  db.close();
  const std::string until = " --until-seq " + std::to_string(last);
  auto clean = run_cli("replay --db " + db.dir() + until);
  REQUIRE(clean.status == 0);
  REQUIRE(clean.err.empty());
  REQUIRE(run_cli("verify --db " + db.dir()).status == 0);

  std::string original;
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    std::string_view v;
    REQUIRE(txn.get(dbis.snapshots, be64(at), v));
    original.assign(v);
  });
  auto store_snapshot = [&](const std::string& bytes) {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { txn.put(dbis.snapshots, be64(at), bytes); });
  };

  std::string damaged = original;
  std::string expect_problem;
  SECTION("a flipped byte in the archive") {
    std::size_t pos = GENERATE(44, 100, 1000, 2000);
    CAPTURE(pos);
    REQUIRE(pos < damaged.size());
    damaged[damaged.size() - pos] ^= 0x5a;
    expect_problem = "checksum";
  }
  SECTION("a flipped byte in the header's checksum") {
    damaged[20] ^= 0x01;
    expect_problem = "checksum";
  }
  SECTION("an unknown format version") {
    damaged[8] = 99;
    expect_problem = "unknown snapshot format version 99";
  }
  SECTION("truncated") {
    damaged.resize(damaged.size() / 2);
    expect_problem = "checksum";
  }
  SECTION("not a snapshot at all") {
    damaged = "garbage";
    expect_problem = "not a snapshot";
  }
  SECTION("a self-consistent snapshot whose state is not the log's") {
    // Decode the real one, change a workspace name, re-encode with a matching digest and
    // checksum: only a replay of the log can tell.
    std::string problem;
    auto s = decode_snapshot(at, original, problem);
    REQUIRE(s);
    s->state.put(Table::workspaces, key_id(1), "Evil Corp");
    damaged = encode_snapshot(at, s->chain_hash, state_digest(s->state), s->state);
    expect_problem = "its digest differs from a replay of the log";
  }
  store_snapshot(damaged);

  auto verify = run_cli("verify --db " + db.dir());
  CHECK(verify.status == 2);
  CHECK(verify.out.find("FAILED: snapshot at seq " + std::to_string(at) + ": ") != std::string::npos);
  CHECK(verify.out.find(expect_problem) != std::string::npos);

  if (expect_problem != "its digest differs from a replay of the log") {
    auto replay = run_cli("replay --db " + db.dir() + until);
    CHECK(replay.status == 0);
    CHECK(replay.out == clean.out);
    CHECK(replay.err.find("snapshot at seq " + std::to_string(at) + " skipped") != std::string::npos);
    CHECK(replay.err.find(expect_problem) != std::string::npos);
  }
}

TEST_CASE("a snapshot whose chain hash is not the log's is skipped", "[audit][snapshot]") {
  Db db;
  seed(db);
  std::uint64_t at = db.seq();
  db.close();
  REQUIRE(run_cli("snapshot --db " + db.dir()).status == 0);
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    std::string_view v;
    REQUIRE(txn.get(dbis.snapshots, be64(at), v));
    std::string problem;
    auto s = decode_snapshot(at, v, problem);
    REQUIRE(s);
    std::string other_hash(32, 'x');
    std::string bytes = encode_snapshot(at, other_hash, s->digest, s->state);
    txn.put(dbis.snapshots, be64(at), bytes);
  });
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    std::vector<std::string> warnings;
    auto found = nearest_snapshot(txn, dbis, at, [&](const std::string& w) { warnings.push_back(w); });
    CHECK(!found);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("chain hash differs") != std::string::npos);
  });
  auto verify = run_cli("verify --db " + db.dir());
  CHECK(verify.status == 2);
  CHECK(verify.out.find("FAILED: snapshot at seq " + std::to_string(at)) != std::string::npos);
}

TEST_CASE("verify catches a flipped byte, a removed event and a truncated tail", "[audit][verify][cli]") {
  Db db;
  seed(db);
  play(db, 5);
  std::uint64_t last = db.seq();
  db.close();
  REQUIRE(last > 40);
  REQUIRE(run_cli("verify --db " + db.dir()).status == 0);
  const std::uint64_t target = 30;

  SECTION("a flipped byte in an event") {
    std::size_t from_end = GENERATE(1, 20, 40, 60, 100);
    CAPTURE(from_end);
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
      std::string_view v;
      REQUIRE(txn.get(dbis.events, be64(target), v));
      std::string bytes(v);
      REQUIRE(from_end <= bytes.size());
      bytes[bytes.size() - from_end] ^= 0x10;
      txn.put(dbis.events, be64(target), bytes);
    });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.rfind("FAILED: seq " + std::to_string(target) + ":", 0) == 0);
  }
  SECTION("the first byte (the envelope format) of an event") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
      std::string_view v;
      REQUIRE(txn.get(dbis.events, be64(target), v));
      std::string bytes(v);
      bytes[0] ^= 0x7f;
      txn.put(dbis.events, be64(target), bytes);
    });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.rfind("FAILED: seq " + std::to_string(target) + ":", 0) == 0);
  }
  SECTION("a removed event in the middle") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { REQUIRE(txn.del(dbis.events, be64(target))); });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.rfind("FAILED: seq " + std::to_string(target) + ": event missing", 0) == 0);
    // replay refuses the gap rather than skipping the event's effects
    auto replay = run_cli("replay --db " + db.dir() + " --until-seq " + std::to_string(last));
    CHECK(replay.status == 2);
    CHECK(replay.err.find("seq " + std::to_string(target) + ": event missing") != std::string::npos);
  }
  SECTION("a truncated tail: the last event deleted, the projections still at its seq") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { REQUIRE(txn.del(dbis.events, be64(last))); });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.rfind("FAILED: seq " + std::to_string(last) + ": the projections were applied up to seq " +
                          std::to_string(last) + " but the log ends at seq " + std::to_string(last - 1),
                      0) == 0);
  }
  SECTION("two events swapped") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
      std::string_view a, b;
      REQUIRE(txn.get(dbis.events, be64(target), a));
      REQUIRE(txn.get(dbis.events, be64(target + 1), b));
      std::string sa(a), sb(b);
      txn.put(dbis.events, be64(target), sb);
      txn.put(dbis.events, be64(target + 1), sa);
    });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.rfind("FAILED: seq " + std::to_string(target) + ":", 0) == 0);
  }
  SECTION("a projection edited behind the engine's back") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
      LmdbStore store(txn, dbis);
      store.put(Table::workspaces, key_id(1), "Evil Corp");
    });
    auto r = run_cli("verify --db " + db.dir());
    CHECK(r.status == 2);
    CHECK(r.out.find("projection workspaces differs") != std::string::npos);
    // and rebuild repairs it
    auto rebuilt = run_cli("rebuild --db " + db.dir());
    CHECK(rebuilt.status == 0);
    CHECK(run_cli("verify --db " + db.dir()).status == 0);
  }
}

TEST_CASE("rebuild gives the same digest, from genesis and from a snapshot", "[audit][rebuild][cli]") {
  Db db;
  seed(db);
  play(db, 8);
  std::string live = db.digest();
  std::uint64_t last = db.seq();
  db.close();
  REQUIRE(run_cli("snapshot --db " + db.dir()).status == 0);
  // the snapshot is not at the tail: rebuild must replay the events after it
  db.open();
  play(db, 2, [] {}, "later");
  live = db.digest();
  last = db.seq();
  db.close();

  for (std::string flags : {"", " --from-snapshot"}) {
    CAPTURE(flags);
    auto r = run_cli("rebuild --db " + db.dir() + flags);
    REQUIRE(r.status == 0);
    auto o = parse_object(r.out);
    CHECK(o.at("seq").to_number<std::uint64_t>() == last);
    CHECK(o.at("digest").as_string() == live.c_str());
    CHECK(run_cli("verify --db " + db.dir()).status == 0);
  }
  db.open();
  CHECK(db.digest() == live);
  CHECK(db.seq() == last);  // rebuild appended nothing
  // the engine keeps deciding on rebuilt projections
  CHECK(db.send(start_cmd("after-rebuild")).at("ok").as_bool());
  db.close();
  CHECK(run_cli("verify --db " + db.dir()).status == 0);
}

TEST_CASE("rebuild refuses a broken log and changes nothing", "[audit][rebuild][cli]") {
  Db db;
  seed(db);
  play(db, 3);
  std::string live = db.digest();
  db.close();
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { REQUIRE(txn.del(dbis.events, be64(20))); });
  auto r = run_cli("rebuild --db " + db.dir());
  CHECK(r.status == 2);
  CHECK(r.err.find("seq 20") != std::string::npos);
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    LmdbStore store(txn, dbis);
    CHECK(to_hex(state_digest(store)) == live);
  });
}

TEST_CASE("snapshot refuses projections that lag the log", "[audit][snapshot][cli]") {
  Db db;
  seed(db);
  std::uint64_t last = db.seq();
  db.close();
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { REQUIRE(txn.del(dbis.events, be64(last))); });
  auto r = run_cli("snapshot --db " + db.dir());
  CHECK(r.status == 2);
  CHECK(r.err.find("run verify") != std::string::npos);
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) { CHECK(snapshot_seqs(txn, dbis).empty()); });
}

namespace {

// One event of every type, appended through the engine where a command exists on this
// branch and straight through CommandContext otherwise. Returns the originals by seq.
std::map<std::uint64_t, Event> append_every_event_type(Db& db) {
  std::map<std::uint64_t, Event> originals;
  seed(db);
  db.must({{"cmd", "revoke_membership"}, {"workspace_id", 1}, {"user_id", 8}});
  db.must({{"cmd", "define_operation_type"}, {"type", "custom.sync"}, {"label", "Custom"},
           {"identity_policy", "while_active"}, {"capability", "inventory.sync"}});
  auto a = db.send(start_cmd("every-1"));
  REQUIRE(a.at("decision") == "accepted");
  auto run = a.at("run_id").to_number<std::uint64_t>();
  db.must({{"cmd", "begin_run"}, {"run_id", run}});
  db.must({{"cmd", "record_progress"}, {"run_id", run}, {"counts", {{"total", 5}}},
           {"failures", json::array{{{"code", "x"}, {"message", "m"}, {"item", "i"}}}}});
  db.must({{"cmd", "complete_run"}, {"run_id", run}, {"report",
           {{"checks", json::array{{{"key", "k"}, {"status", "warn"}, {"blocking", false}}}}}}});
  auto b = db.send(start_cmd("every-2", "directory_groups.sync"));
  REQUIRE(b.at("decision") == "accepted");
  db.must({{"cmd", "expire_stale_runs"}, {"at", "2030-01-01T00:00:00Z"}});

  auto& impl = db.engine().impl();
  lmdb::Txn txn(*impl.env, true);
  LogAppender log(txn, impl.dbis.events);
  CommandContext ctx(txn, impl.dbis, log, 1776667958LL * 1000000 + 999000000);
  Actor sys{ActorKind::system, 0, "test"};
  ResourceTypeDef rt{"intune.device_configuration", SourceClass::tcm, Workload::intune, ResourceClass::configuration,
                     SupportState::limited, RestoreTier::manual, "Device configuration (limited)"};
  ScopeDef scope{"custom.scope", {"intune.device_configuration"}, CoverageLevel::inventoried, true, false};
  TriageEntry entry{"group-a", "provider-neutrality-surface", "fixture-contract-drift", "observed", "owner",
                    FixInScope::only_if_runtime_owner_proven, "follow", "open"};
  TriageEntry later = entry;
  later.status = "closed";
  Counts counts;
  counts.values[0] = 3;
  std::vector<Event> extra = {
      ResourceTypeRegistered{rt, ResourceTypeDef{}},
      SupportedScopeDefined{scope, std::nullopt},
      ManagedEnvironmentRegistered{1, 77, "Env 77"},
      CoverageRecorded{1, 77, "intune.device_configuration", SourceClass::tcm, CoverageLevel::content_captured,
                       EvidenceState::complete, IdentityState::resolved, Id{100}},
      ClaimEvaluated{1, 77, std::string("custom.scope"), CoverageLevel::inventoried, Audience::customer,
                     ClaimKind::coverage, ClaimState::eligible, {}, true, 1, 1, {}},
      FailureGroupClassified{entry, std::nullopt},
      FailureGroupClassified{later, entry},
      LegacyRunImported{LegacyKind::backup_schedule_run, 9, 1, 10, "done", 1000000, 2000000, counts, Id{1}},
  };
  for (const auto& ev : extra) originals[ctx.append(ev, 1776667958LL * 1000000, sys)] = ev;
  txn.commit();
  return originals;
}

}  // namespace

TEST_CASE("export round-trips every event type", "[audit][export][cli]") {
  Db db;
  auto originals = append_every_event_type(db);
  std::uint64_t last = db.seq();
  db.close();
  REQUIRE(run_cli("verify --db " + db.dir()).status == 0);

  auto r = run_cli("export --db " + db.dir());
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == last);

  std::set<std::string> types_seen;
  std::string prev_hash(64, '0');
  with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto o = parse_object(lines[i]);
      std::uint64_t seq = o.at("seq").to_number<std::uint64_t>();
      CAPTURE(seq);
      REQUIRE(seq == i + 1);
      std::string_view bytes;
      REQUIRE(txn.get(dbis.events, be64(seq), bytes));
      Envelope env = decode_envelope(bytes);
      Event ev = decode_payload(env.event_type, env.schema_version, env.payload);
      // the chain, as exported
      CHECK(o.at("hash").as_string() == to_hex(env.hash).c_str());
      CHECK(o.at("prev_hash").as_string() == prev_hash.c_str());
      prev_hash = std::string(o.at("hash").as_string());
      // the envelope's fields
      CHECK(o.at("type").as_string() == event_type_name(env.event_type).data());
      CHECK(o.at("version").to_number<std::uint16_t>() == env.schema_version);
      CHECK(parse_time(o.at("at").as_string()) == env.at_us);
      CHECK(parse_time(o.at("recorded_at").as_string()) == env.recorded_at_us);
      if (env.request_id.empty())
        CHECK(o.at("request_id").is_null());
      else
        CHECK(o.at("request_id").as_string() == env.request_id.c_str());
      if (env.actor.kind == ActorKind::none) {
        CHECK(o.at("actor").is_null());
      } else {
        CHECK(o.at("actor").as_object().at("name").as_string() == env.actor.name.c_str());
      }
      // the payload is the stored event's, and for the events built here, the original's
      CHECK(o.at("payload") == json::value(event_to_json(ev)));
      if (originals.count(seq)) {
        CHECK(ev == originals.at(seq));
        CHECK(o.at("payload") == json::value(event_to_json(originals.at(seq))));
      }
      types_seen.insert(std::string(o.at("type").as_string()));
    }
  });
  std::set<std::string> every_type;
  for (std::uint16_t t = 1; !event_type_name(t).empty(); ++t) every_type.insert(std::string(event_type_name(t)));
  CHECK(every_type.size() == std::variant_size_v<Event>);
  CHECK(types_seen == every_type);

  SECTION("a range") {
    auto part = run_cli("export --db " + db.dir() + " --from-seq 10 --to-seq 12");
    REQUIRE(part.status == 0);
    auto pl = lines_of(part.out);
    REQUIRE(pl.size() == 3);
    CHECK(pl[0] == lines[9]);
    CHECK(pl[2] == lines[11]);
  }
  SECTION("a damaged event is exported as stored and reported") {
    with_write_txn(db.dir(), [&](lmdb::Txn& txn, const Dbis& dbis) {
      std::string_view v;
      REQUIRE(txn.get(dbis.events, be64(5), v));
      std::string bytes(v);
      bytes[bytes.size() - 1] ^= 1;  // the stored hash
      txn.put(dbis.events, be64(5), bytes);
    });
    auto damaged = run_cli("export --db " + db.dir());
    CHECK(damaged.status == 2);
    CHECK(lines_of(damaged.out).size() == last);
    CHECK(damaged.err.find("seq 5: hash does not match") != std::string::npos);
  }
}

TEST_CASE("tail --after prints exactly the later events", "[audit][tail][cli]") {
  Db db;
  seed(db);
  play(db, 4);
  std::uint64_t last = db.seq();
  db.close();
  auto all = lines_of(run_cli("export --db " + db.dir()).out);
  REQUIRE(all.size() == last);

  SECTION("without --follow") {
    std::uint64_t after = GENERATE_COPY(std::uint64_t{0}, std::uint64_t{17}, last - 1, last);
    CAPTURE(after);
    auto r = run_cli("tail --db " + db.dir() + " --after " + std::to_string(after));
    REQUIRE(r.status == 0);
    std::vector<std::string> expected(all.begin() + static_cast<std::ptrdiff_t>(after), all.end());
    CHECK(lines_of(r.out) == expected);
  }
  SECTION("without --after: only events that land later, so nothing here") {
    auto r = run_cli("tail --db " + db.dir());
    CHECK(r.status == 0);
    CHECK(r.out.empty());
  }
  SECTION("--follow prints events as they land and ends cleanly on SIGTERM") {
    TempDir io;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, io.sub("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, io.sub("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string after = std::to_string(last - 2);
    std::vector<std::string> argv_s = {OPSLEDGER_CLI, "tail", "--db", db.dir(), "--after", after, "--follow",
                                       "--interval-ms", "20"};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, OPSLEDGER_CLI, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);

    db.open();
    db.must({{"cmd", "register_workspace"}, {"workspace_id", 5}, {"name", "Late"}});
    db.must({{"cmd", "register_workspace"}, {"workspace_id", 6}, {"name", "Later"}});
    std::uint64_t now_last = db.seq();
    db.close();
    // wait (bounded, as a hang guard only) until the follower has written both new events
    for (int i = 0; i < 3000 && lines_of(slurp(io.sub("out"))).size() < 4; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto out = lines_of(slurp(io.sub("out")));
    auto expected = lines_of(run_cli("export --db " + db.dir() + " --from-seq " + std::to_string(last - 1)).out);
    REQUIRE(expected.size() == now_last - last + 2);
    CHECK(out == expected);
  }
  SECTION("--follow ends when its reader goes away") {
    TempDir io;
    std::string cmd = "( timeout 60 " + std::string(OPSLEDGER_CLI) + " tail --db " + db.dir() +
                      " --after 0 --follow --interval-ms 20; echo $? >" + io.sub("rc") + " ) | head -n 1 >" +
                      io.sub("out");
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(lines_of(slurp(io.sub("out"))) == std::vector<std::string>{all[0]});
    CHECK(slurp(io.sub("rc")) == "0\n");  // not 124: it did not need the timeout
  }
}

TEST_CASE("seq_at_recorded_time finds the last event recorded at or before a time", "[audit][replay]") {
  Db db;
  seed(db);
  with_read_txn(db.engine(), [&](lmdb::Txn& txn, const Dbis& dbis) {
    std::uint64_t last = read_tail(txn, dbis.events).seq;
    for (std::uint64_t seq = 1; seq <= last; ++seq) {
      CAPTURE(seq);
      TimeUs t = decode_envelope(*read_event(txn, dbis.events, seq)).recorded_at_us;
      std::uint64_t found = seq_at_recorded_time(txn, dbis, t);
      CHECK(found >= seq);
      CHECK(decode_envelope(*read_event(txn, dbis.events, found)).recorded_at_us == t);
      if (found < last) CHECK(decode_envelope(*read_event(txn, dbis.events, found + 1)).recorded_at_us > t);
      CHECK(seq_at_recorded_time(txn, dbis, t - 1) < seq);
    }
    return 0;
  });
}

TEST_CASE("demo plays its day, tells the story and verifies", "[audit][demo][cli]") {
  TempDir dir;
  const std::string db = dir.sub("demo-db");
  auto r = run_cli("demo --db " + db);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("UNEXPECTED") == std::string::npos);
  for (const char* decision : {"-> accepted", "-> deduped", "-> scope_busy", "-> blocked", "-> not_found",
                               "-> forbidden"})
    CHECK(r.out.find(decision) != std::string::npos);
  for (const char* reason : {"provider_connection_missing", "provider_connection_disabled", "provider_consent_missing",
                             "provider_credentials_unusable", "provider_permission_denied", "run_already_exists"})
    CHECK(r.out.find(reason) != std::string::npos);
  CHECK(r.out.find("Next: ") != std::string::npos);
  CHECK(r.out.find("OK: ") != std::string::npos);
  auto v = run_cli("verify --db " + db);
  CHECK(v.status == 0);
  CHECK(v.out.find("snapshots consistent") != std::string::npos);

  SECTION("a non-empty directory is refused without --fresh, and --fresh gives the same day") {
    auto again = run_cli("demo --db " + db);
    CHECK(again.status == 64);
    CHECK(again.err.find("--fresh") != std::string::npos);
    auto fresh = run_cli("demo --db " + db + " --fresh");
    CHECK(fresh.status == 0);
    CHECK(fresh.out == r.out);  // the story's clock makes the day reproducible
  }
  SECTION("--fresh never wipes a directory that holds anything else") {
    std::filesystem::create_directories(dir.sub("other"));
    std::ofstream(dir.sub("other/keep.txt")) << "precious";
    auto refused = run_cli("demo --db " + dir.sub("other") + " --fresh");
    CHECK(refused.status == 64);
    CHECK(slurp(dir.sub("other/keep.txt")) == "precious");
  }
}
