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
