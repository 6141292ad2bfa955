// Projection layouts (engine/projection_layout.h): a database of an older layout is rebuilt
// when the engine opens it, and the tools that only read refuse it until then.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/projection_layout.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

MDB_dbi requests_dbi(const Dbis& dbis) { return dbis.tables[static_cast<std::size_t>(Table::requests)]; }

std::vector<std::pair<std::string, std::string>> request_rows(lmdb::Txn& txn, const Dbis& dbis) {
  std::vector<std::pair<std::string, std::string>> rows;
  lmdb::Cursor c(txn, requests_dbi(dbis));
  for (bool ok = c.first(); ok; ok = c.next()) rows.emplace_back(c.key(), c.value());
  return rows;
}

unsigned layout_of(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  return projection_layout(txn);
}

}  // namespace

TEST_CASE("a new database records this build's projection layout", "[upgrade]") {
  TestDb db;
  seed_contoso(db);
  CHECK(layout_of(db.dir()) == kProjectionLayout);
  CHECK(cli_verify(db.dir()) == 0);
}

TEST_CASE("a database of projection layout 2 is rebuilt when the engine opens it", "[upgrade]") {
  TestDb db;
  seed_contoso(db);
  auto accepted = db.send(start_cmd("click-1"));
  REQUIRE(accepted.at("decision") == "accepted");
  auto deduped = db.send(start_cmd("click-2"));
  REQUIRE(deduped.at("decision") == "deduped");
  REQUIRE(db.send({{"cmd", "register_workspace"}, {"request_id", "w"}, {"workspace_id", 5}, {"name", "N"}})
              .at("ok")
              .as_bool());
  std::string digest = db.digest();
  std::uint64_t seq = db.seq();

  // Turn the projections into layout 2's: each request row followed by the digest of the
  // request's body, no layout record, and a snapshot of the old state.
  std::size_t requests = 0;
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, true);
    Dbis dbis = open_dbis(txn, false);
    for (const auto& [key, value] : request_rows(txn, dbis)) {
      REQUIRE(value.size() == 8);
      auto bytes = read_event(txn, dbis.events, get_be64(value));
      REQUIRE(bytes);
      txn.put(requests_dbi(dbis), key, value + decode_envelope(*bytes).request_digest);
      ++requests;
    }
    auto layout = txn.find_db("layout");
    REQUIRE(layout);
    txn.drop(*layout, true);
    txn.put(dbis.snapshots, be64(seq), "a snapshot of layout 2");
    REQUIRE(projection_layout(txn) == 2);
    txn.commit();
  }
  REQUIRE(requests >= 3);
  // The command-line tools that only read say what to do, and change nothing.
  CHECK(run_cli({"verify", "--db", db.dir()}) != 0);
  CHECK(layout_of(db.dir()) == 2);

  db.reopen();
  CHECK(db.digest() == digest);
  CHECK(db.seq() == seq);
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, false);
    CHECK(projection_layout(txn) == kProjectionLayout);
    Dbis dbis = open_dbis(txn, false);
    auto rows = request_rows(txn, dbis);
    CHECK(rows.size() == requests);
    for (const auto& [key, value] : rows) CHECK(value.size() == 8);
    lmdb::Cursor c(txn, dbis.snapshots);
    CHECK_FALSE(c.first());  // the old layout's snapshot is gone with it
  }
  CHECK(cli_verify(db.dir()) == 0);

  // A request_id sent again still answers what it was answered, or that it was reused.
  CHECK(db.send(start_cmd("click-1")) == accepted);
  CHECK(db.send(start_cmd("click-2")) == deduped);
  CHECK(error_code(db.send(start_cmd("click-1", "directory_groups.sync"))) == "request_id_reused");
  CHECK(db.seq() == seq);
}

TEST_CASE("a database of projection layout 3 is rebuilt when the engine opens it", "[upgrade]") {
  TestDb db;
  seed_contoso(db);
  auto accepted = db.send(start_cmd("click-1"));
  REQUIRE(accepted.at("decision") == "accepted");
  Id run_id = accepted.at("run_id").to_number<Id>();
  std::string digest = db.digest();
  std::uint64_t seq = db.seq();
  json::value run = db.send({{"cmd", "get_run"}, {"run_id", run_id}, {"actor", {{"kind", "user"}, {"user_id", 7}, {"name", "Ada"}}}});
  REQUIRE(run.at("ok").as_bool());

  // Turn the projections into layout 3's: no `p.run_state`, a run in one `runs` row (its
  // bytes do not matter: the upgrade rebuilds every table), the layout record 3, and a
  // snapshot of the old state.
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, true);
    Dbis dbis = open_dbis(txn, false);
    txn.drop(dbis.tables[static_cast<std::size_t>(Table::run_state)], true);
    txn.put(dbis.tables[static_cast<std::size_t>(Table::runs)], be64(run_id), "a run of layout 3");
    txn.put(txn.open_db("layout", false), "projections", "3");
    txn.put(dbis.snapshots, be64(seq), "a snapshot of layout 3");
    REQUIRE(projection_layout(txn) == 3);
    txn.commit();
  }
  // The command-line tools that only read say what to do, and change nothing.
  CHECK(run_cli({"verify", "--db", db.dir()}) != 0);
  CHECK(layout_of(db.dir()) == 3);

  db.reopen();
  CHECK(db.digest() == digest);
  CHECK(db.seq() == seq);
  CHECK(layout_of(db.dir()) == kProjectionLayout);
  {
    lmdb::Env env(db.dir(), lmdb::Env::Options{});
    lmdb::Txn txn(env, false);
    Dbis dbis = open_dbis(txn, false);
    lmdb::Cursor c(txn, dbis.snapshots);
    CHECK_FALSE(c.first());  // the old layout's snapshot is gone with it
  }
  CHECK(cli_verify(db.dir()) == 0);
  CHECK(db.send({{"cmd", "get_run"}, {"run_id", run_id}, {"actor", {{"kind", "user"}, {"user_id", 7}, {"name", "Ada"}}}}) ==
        run);
  CHECK(db.send(start_cmd("click-1")) == accepted);
  CHECK(db.seq() == seq);
}

TEST_CASE("an unreadable layout record is an error, never a guess", "[upgrade]") {
  TempDir dir;
  lmdb::Env env(dir.path(), lmdb::Env::Options{});
  lmdb::Txn txn(env, true);
  MDB_dbi layout = txn.open_db("layout", true);
  txn.put(layout, "projections", "3");
  CHECK(projection_layout(txn) == 3);
  txn.put(layout, "projections", "14");
  CHECK(projection_layout(txn) == 14);
  for (std::string bad : {"", "x", "3a", "-1", "99999"}) {
    INFO(bad);
    if (bad.empty()) {
      // LMDB stores no empty key, but an empty value it does
      txn.put(layout, "projections", std::string_view{});
    } else {
      txn.put(layout, "projections", bad);
    }
    CHECK_THROWS_AS(projection_layout(txn), DecodeError);
  }
}

TEST_CASE("a database of a newer projection layout is refused, never rebuilt into an older one", "[upgrade]") {
  TempDir dir;
  {
    std::unique_ptr<Engine> engine;
    REQUIRE(Engine::open(dir.path(), test_options(), engine));
    seed_contoso(*engine);
  }
  std::string newer = std::to_string(kProjectionLayout + 1);
  {
    lmdb::Env env(dir.path(), lmdb::Env::Options{});
    lmdb::Txn txn(env, true);
    txn.put(txn.open_db("layout", true), "projections", newer);
    txn.commit();
  }
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(dir.path(), test_options(), engine);
  CHECK(s.code() == StatusCode::corrupt);
  CHECK(s.message().find("layout " + newer) != std::string::npos);
  CHECK(run_cli({"verify", "--db", dir.path()}) != 0);
  CHECK(layout_of(dir.path()) == kProjectionLayout + 1);
}
