// Several threads and several processes on one database never produce two active runs with
// one scope and identity, nor more active runs on a connection than it allows (SPEC 14).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "tests/invariants.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

// Workspace 1, tenants 10..14 each with a ready default connection (max 2), operator 7.
void seed_five_tenants(Engine& e) {
  auto send = [&](const json::object& c) {
    auto a = json::parse(e.execute(json::serialize(c))).as_object();
    REQUIRE(a.at("ok").as_bool());
  };
  send({{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "W"}});
  send({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 7}, {"role", "manager"}});
  for (int t = 10; t < 15; ++t) {
    send({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", t}, {"name", "T"}});
    send({{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", t},
          {"provider_connection_id", t * 10}, {"provider", "m"}, {"display_name", "d"}});
    send({{"cmd", "set_default_provider_connection"}, {"tenant_id", t}, {"provider_connection_id", t * 10}});
    send({{"cmd", "update_provider_connection"}, {"provider_connection_id", t * 10}, {"consent", "granted"},
          {"credentials", "usable"}, {"max_concurrent_runs", 2}});
  }
}

// One worker's random clicks and completions; returns how many answers it got.
int click(Engine& e, std::uint64_t seed, int n, const std::string& tag) {
  static const char* types[] = {"inventory.sync", "directory_groups.sync", "directory_role_definitions.sync",
                                "restore.execute"};
  std::mt19937_64 rng(seed);
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    json::object c{{"cmd", "start"},
                   {"request_id", tag + "-" + std::to_string(i)},
                   {"actor", {{"kind", "user"}, {"user_id", 7}, {"name", "u"}}},
                   {"workspace_id", 1},
                   {"tenant_id", 10 + rng() % 5},
                   {"type", types[rng() % 4]},
                   {"context", {{"restore_run_id", 1 + rng() % 2}}}};
    auto a = json::parse(e.execute(json::serialize(c))).as_object();
    if (a.at("ok").as_bool()) ++answered;
    if (a.at("ok").as_bool() && a.at("decision") == "accepted" && rng() % 2) {
      auto id = a.at("run_id");
      e.execute(json::serialize(json::object{{"cmd", "begin_run"}, {"run_id", id}}));
      e.execute(json::serialize(json::object{{"cmd", "complete_run"}, {"run_id", id}}));
    }
  }
  return answered;
}

}  // namespace

TEST_CASE("threads sharing one engine keep the gate's invariants", "[concurrency][threads]") {
  TestDb db;
  seed_five_tenants(db.engine());
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] { answered += click(db.engine(), 100 + t, 150, "t" + std::to_string(t)); });
  for (auto& th : threads) th.join();
  CHECK(answered == 8 * 150);
  CHECK(check_invariants_along_log(db.dir()) == "");
  CHECK(replay_digest(db.dir()) == db.digest());
}

TEST_CASE("processes sharing one database keep the gate's invariants", "[concurrency][processes]") {
  TempDir dir;
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
    seed_five_tenants(*e);
  }
  const int kProcs = 4;
  auto statuses = run_in_processes(kProcs, [&](int p) {
    std::unique_ptr<Engine> e;
    if (!Engine::open(dir.path(), test_options(Durability::durable), e).is_ok()) return 1;
    std::vector<std::thread> threads;
    std::atomic<int> answered{0};
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        answered += click(*e, 1000 + p * 10 + t, 60, "p" + std::to_string(p) + "t" + std::to_string(t));
      });
    for (auto& th : threads) th.join();
    return answered == 120 ? 0 : 2;
  });
  CHECK(statuses == std::vector<int>(kProcs, 0));
  CHECK(check_invariants_along_log(dir.path()) == "");
  std::unique_ptr<Engine> e;
  REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
  auto d = json::parse(e->execute(R"({"cmd":"state_digest"})")).as_object();
  CHECK(replay_digest(dir.path()) == d.at("digest").as_string());
  auto stats = json::parse(e->execute(R"({"cmd":"stats"})")).as_object();
  CHECK(stats.at("requests").to_number<int>() >= kProcs * 120);
}
