// A writer killed with SIGKILL at any moment loses no command whose answer it had written,
// and after each kill the database verifies and the next writer continues (SPEC 14).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "tests/invariants.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

struct Acked {
  std::string request_id;
  std::uint64_t seq;
};

// Runs `opsledger apply` (durable) on `dir`, feeds it commands, kills it after `kill_after`
// and returns the answers it had written before dying.
std::vector<Acked> run_and_kill(const std::string& dir, int round, std::chrono::microseconds kill_after) {
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(in[1]);
    close(out[0]);
    execl(OPSLEDGER_CLI, OPSLEDGER_CLI, "apply", "--db", dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::vector<std::string> sent;
  std::thread writer([&] {
    for (int i = 0; i < 100000; ++i) {
      std::string rid = "k" + std::to_string(round) + "-" + std::to_string(i);
      json::object c;
      if (i % 3 == 0)
        c = {{"cmd", "register_workspace"}, {"request_id", rid}, {"workspace_id", round * 100000 + i + 1}, {"name", "w"}};
      else
        c = start_cmd(rid, i % 3 == 1 ? "inventory.sync" : "directory_groups.sync");
      sent.push_back(rid);
      std::string line = json::serialize(c) + "\n";
      if (write(in[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
    }
  });
  std::string buf;
  std::vector<Acked> acked;
  auto deadline = std::chrono::steady_clock::now() + kill_after;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 1) > 0) {
      char chunk[65536];
      ssize_t n = read(out[0], chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(in[1]);  // unblocks the writer
  writer.join();
  close(out[0]);
  // Only complete lines were written by the dead process as answers.
  std::size_t start = 0, i = 0;
  for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1, ++i) {
    auto a = json::parse(buf.substr(start, nl - start)).as_object();
    REQUIRE(a.at("ok").as_bool());
    acked.push_back({sent.at(i), a.at("seq").to_number<std::uint64_t>()});
  }
  return acked;
}

void check_after_crash(const std::string& dir, const std::vector<Acked>& acked) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  auto chain = verify_chain(txn, dbis);
  REQUIRE(chain.ok);
  LmdbStore live(txn, dbis);
  CHECK(last_applied_seq(live) == chain.last_seq);
  for (const auto& a : acked) {
    auto bytes = read_event(txn, dbis.events, a.seq);
    REQUIRE(bytes);
    CHECK(decode_envelope(*bytes).request_id == a.request_id);
  }
  MemoryStore rebuilt;
  replay_into(txn, dbis, rebuilt, 0, 0);
  CHECK(to_hex(state_digest(rebuilt)) == to_hex(state_digest(live)));
}

void crash_loop(int rounds) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
    for (auto c : {R"({"cmd":"register_workspace","workspace_id":1,"name":"Contoso"})",
                   R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":10,"name":"EU"})",
                   R"({"cmd":"grant_membership","workspace_id":1,"user_id":7,"role":"operator"})",
                   R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":10,"provider_connection_id":100,"provider":"m","display_name":"d"})",
                   R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":100})",
                   R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"granted","credentials":"usable"})"})
      REQUIRE(json::parse(e->execute(c)).as_object().at("ok").as_bool());
  }
  std::mt19937_64 rng(7);
  std::size_t total_acked = 0;
  for (int round = 1; round <= rounds; ++round) {
    CAPTURE(round);
    auto acked = run_and_kill(dir.path(), round, std::chrono::microseconds(2000 + rng() % 60000));
    total_acked += acked.size();
    check_after_crash(dir.path(), acked);
  }
  CHECK(total_acked > 0);
  CHECK(check_invariants_along_log(dir.path()) == "");
}

}  // namespace

TEST_CASE("SIGKILL at random moments loses no acknowledged command", "[crash]") { crash_loop(12); }

TEST_CASE("SIGKILL crash loop, hundreds of rounds", "[crash][long]") { crash_loop(300); }
