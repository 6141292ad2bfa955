// Runs' touch chains (projections/run_touches.h), the `history` query they answer, and the
// upgrade of a layout-1 database (engine/projection_layout.h).
#include <catch2/catch.hpp>

#include <vector>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/projection_layout.h"
#include "events/bytes.h"
#include "projections/memory_store.h"
#include "projections/records.h"
#include "projections/run_touches.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

std::vector<std::uint64_t> history_seqs(TestDb& db, const json::value& run_id) {
  auto a = db.send({{"cmd", "history"}, {"run_id", run_id}});
  REQUIRE(a.at("ok").as_bool());
  std::vector<std::uint64_t> seqs;
  for (const auto& e : a.at("events").as_array()) seqs.push_back(e.at("seq").to_number<std::uint64_t>());
  return seqs;
}

std::uint64_t seq_of(const json::object& answer) {
  REQUIRE(answer.at("ok").as_bool());
  return answer.at("seq").to_number<std::uint64_t>();
}

// Two runs with starts deduped onto the first, a lifecycle, and one event (stale expiry)
// that touches both runs.
struct TwoRuns {
  json::value first, second;
  std::vector<std::uint64_t> first_seqs, second_seqs;
};

TwoRuns play_two_runs(TestDb& db) {
  seed_contoso(db);
  REQUIRE(db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"max_concurrent_runs", 10}})
              .at("ok")
              .as_bool());
  TwoRuns t;
  auto a = db.send(start_cmd("a"));
  t.first = a.at("run_id");
  t.first_seqs.push_back(seq_of(a));
  auto d = db.send(start_cmd("a-again"));
  CHECK(d.at("decision") == "deduped");
  t.first_seqs.push_back(seq_of(d));
  auto b = db.send(start_cmd("b", "directory_groups.sync"));
  REQUIRE(b.at("decision") == "accepted");
  t.second = b.at("run_id");
  t.second_seqs.push_back(seq_of(b));
  t.first_seqs.push_back(seq_of(db.send({{"cmd", "begin_run"}, {"run_id", t.first}})));
  t.first_seqs.push_back(seq_of(db.send({{"cmd", "record_progress"},
                                         {"run_id", t.first},
                                         {"counts", {{"total", 3}, {"processed", 1}}}})));
  auto x = db.send({{"cmd", "expire_stale_runs"}, {"at", "2030-01-01T00:00:00Z"}});
  REQUIRE(x.at("expired").as_array().size() == 2);
  t.first_seqs.push_back(seq_of(x));
  t.second_seqs.push_back(seq_of(x));
  return t;
}

}  // namespace

TEST_CASE("history lists every event that touched a run, oldest first", "[history]") {
  TestDb db;
  TwoRuns t = play_two_runs(db);
  CHECK(history_seqs(db, t.first) == t.first_seqs);
  CHECK(history_seqs(db, t.second) == t.second_seqs);
  auto h = db.send({{"cmd", "history"}, {"run_id", t.first}});
  std::vector<std::string> types;
  for (const auto& e : h.at("events").as_array()) types.emplace_back(e.at("type").as_string());
  CHECK(types == std::vector<std::string>{"start_decided", "start_decided", "run_started", "run_progress_recorded",
                                          "stale_runs_expired"});
  CHECK(error_code(db.send({{"cmd", "history"}, {"run_id", 999}})) == "run_not_found");
  // The chains are projections like any other: a replay rebuilds them exactly.
  CHECK(replay_digest(db.dir()) == db.digest());
}

TEST_CASE("a touch chain records an event once and refuses a broken link", "[history]") {
  MemoryStore s;
  touch_run(s, 7, 3);
  touch_run(s, 7, 3);  // the same event again
  touch_run(s, 8, 3);
  touch_run(s, 7, 9);
  CHECK(run_touch_seqs(s, 7) == std::vector<std::uint64_t>{3, 9});
  CHECK(run_touch_seqs(s, 8) == std::vector<std::uint64_t>{3});
  CHECK(run_touch_seqs(s, 5).empty());
  CHECK(s.table(Table::run_touches).size() == 3);
  CHECK(load_u64(s, Table::run_last_touch, key_id(7)) == 9);

  SECTION("a missing link") {
    REQUIRE(s.del(Table::run_touches, key_ids(3, 7)));
    CHECK_THROWS_AS(run_touch_seqs(s, 7), DecodeError);
  }
  SECTION("a link that does not go back in time") {
    s.put(Table::run_touches, key_ids(9, 7), be64(9));
    CHECK_THROWS_AS(run_touch_seqs(s, 7), DecodeError);
  }
}

TEST_CASE("a database of projection layout 1 is rebuilt when the engine opens it", "[history][upgrade]") {
  TestDb db;
  TwoRuns t = play_two_runs(db);
  std::string digest = db.digest();
  std::uint64_t seq = db.seq();

  // Turn the projections into layout 1's: the history table, no touch chains, and a
  // snapshot of the old state.
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, true);
    Dbis dbis = open_dbis(txn, false);
    MDB_dbi old = txn.open_db("p.run_history", true);
    for (std::uint64_t s : t.first_seqs) txn.put(old, key_ids(t.first.to_number<std::uint64_t>(), s), {});
    txn.drop(dbis.tables[static_cast<std::size_t>(Table::run_touches)], false);
    txn.drop(dbis.tables[static_cast<std::size_t>(Table::run_last_touch)], false);
    txn.put(dbis.snapshots, be64(seq), "a snapshot of layout 1");
    REQUIRE(projection_layout(txn) == 1);
    txn.commit();
  }
  // The command-line tools that only read say what to do, and change nothing.
  CHECK(run_cli({"verify", "--db", db.dir()}) != 0);

  db.reopen();
  CHECK(db.digest() == digest);
  CHECK(db.seq() == seq);
  CHECK(history_seqs(db, t.first) == t.first_seqs);
  CHECK(history_seqs(db, t.second) == t.second_seqs);
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, false);
    CHECK(projection_layout(txn) == kProjectionLayout);
    Dbis dbis = open_dbis(txn, false);
    lmdb::Cursor c(txn, dbis.snapshots);
    CHECK_FALSE(c.first());  // the old layout's snapshot is gone with it
  }
  CHECK(cli_verify(db.dir()) == 0);
}

TEST_CASE("touches stored in LMDB: appended when past the last key, put when not", "[history][lmdb]") {
  TempDir dir;
  lmdb::Env env(dir.path(), lmdb::Env::Options{});
  lmdb::Txn txn(env, true);
  Dbis dbis = open_dbis(txn, true);
  LmdbStore s(txn, dbis);
  touch_run(s, 7, 3);
  touch_run(s, 9, 4);
  touch_run(s, 8, 4);  // the same event touching a smaller run id: not past the last key
  touch_run(s, 2, 4);
  touch_run(s, 7, 5);
  s.put(Table::run_touches, key_ids(5, 7), be64(3));  // the last key again: rewritten in place
  std::vector<std::string> keys;
  s.scan(Table::run_touches, "", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  CHECK(keys == std::vector<std::string>{key_ids(3, 7), key_ids(4, 2), key_ids(4, 8), key_ids(4, 9), key_ids(5, 7)});
  CHECK(run_touch_seqs(s, 7) == std::vector<std::uint64_t>{3, 5});
  CHECK(run_touch_seqs(s, 8) == std::vector<std::uint64_t>{4});
  CHECK(run_touch_seqs(s, 2) == std::vector<std::uint64_t>{4});
}
