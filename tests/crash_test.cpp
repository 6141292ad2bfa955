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

#include "engine/engine_impl.h"
#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "projections/records.h"
#include "snapshots/snapshot.h"
#include "tests/cli_process.h"
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
  ApplyChild child = spawn_apply(dir);
  pid_t pid = child.pid;
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
      if (write(child.to_child, line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
    }
  });
  std::string buf;
  std::vector<Acked> acked;
  // Odd rounds count the kill delay from the spawn (the kill may land while the database
  // opens); even rounds from the first answer (bounded wait), so a loaded machine still
  // kills writers in the middle of acknowledged work.
  auto now = std::chrono::steady_clock::now;
  auto deadline = now() + kill_after;
  bool from_first_answer = round % 2 == 0;
  auto first_answer_limit = now() + std::chrono::seconds(20);
  while (now() < deadline || (from_first_answer && buf.empty() && now() < first_answer_limit)) {
    pollfd p{child.from_child, POLLIN, 0};
    if (poll(&p, 1, 1) > 0) {
      char chunk[65536];
      ssize_t n = read(child.from_child, chunk, sizeof chunk);
      if (n <= 0) break;
      if (from_first_answer && buf.empty()) deadline = now() + kill_after;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // The child is dead and reaped, and it held the pipe's only read end, so a write the
  // writer is in, or starts, fails with EPIPE (crash_loop ignores SIGPIPE) and it stops. It is joined before its pipe is closed (a
  // descriptor closed while another thread may still write to it could be reused meanwhile:
  // found by ThreadSanitizer).
  writer.join();
  close(child.to_child);
  close(child.from_child);
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

// Workspace 1, tenant 10, user 7 (operator) and ready connection 100, plus `workspaces`
// more workspaces (enough state that a snapshot takes a while to write).
void seed_crash_fixture(const std::string& dir, int workspaces) {
  std::unique_ptr<Engine> e;
  REQUIRE(Engine::open(dir, test_options(), e).is_ok());
  for (auto c : {R"({"cmd":"register_workspace","workspace_id":1,"name":"Contoso"})",
                 R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":10,"name":"EU"})",
                 R"({"cmd":"grant_membership","workspace_id":1,"user_id":7,"role":"operator"})",
                 R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":10,"provider_connection_id":100,"provider":"m","display_name":"d"})",
                 R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":100})",
                 R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"granted","credentials":"usable"})"})
    REQUIRE(json::parse(e->execute(c)).as_object().at("ok").as_bool());
  std::vector<std::string> lines;
  for (int i = 0; i < workspaces; ++i)
    lines.push_back(R"({"cmd":"register_workspace","workspace_id":)" + std::to_string(100 + i) + R"(,"name":"bulk"})");
  std::vector<std::string_view> views(lines.begin(), lines.end());
  for (const auto& a : e->execute_batch(views)) REQUIRE(a.rfind("{\"ok\":true", 0) == 0);
}

void crash_loop(int rounds) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  seed_crash_fixture(dir.path(), 0);
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

// ---- kills during snapshot writing ----------------------------------------------------

// Appends what `fd` has within `timeout_ms` to `buf`; false at its end.
bool read_ready(int fd, std::string& buf, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return true;
  char chunk[65536];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n <= 0) return false;
  buf.append(chunk, static_cast<std::size_t>(n));
  return true;
}

// A durable writer in a forked child with automatic snapshots every `every` events: it
// executes commands one at a time and writes "request_id answer" per line to a pipe.
// Meanwhile `opsledger snapshot` (with `--keep 2` in even rounds; the writer keeps 0, 1 or 2
// by the round) is started at a random moment and killed at another (both
// moments counted from the writer's first answer). Both are killed with SIGKILL; returns
// the answers the writer had written.
std::vector<Acked> snapshotting_writer_and_kill(const std::string& dir, int round, std::uint64_t every,
                                                std::mt19937_64& rng) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  pid_t writer = fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    close(out[0]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);  // the engine warns there when a snapshot fails
    Options o;
    o.snapshot_every_events = every;
    o.snapshots_kept = static_cast<std::uint64_t>(round % 3);  // 0 (all), 1 or 2: retention under kills too
    std::unique_ptr<Engine> e;
    if (!Engine::open(dir, o, e).is_ok()) _exit(3);
    // Snapshots are written on the engine's own thread while the writer goes on. In odd
    // rounds the writer waits for each, as a caller of wait_for_snapshots would (the one
    // due at open, left by the round before, included), so that kills also land in the
    // middle of snapshots of a writer that waits and snapshots are stored in the short
    // windows (the first in a process took up to 100 ms on the 2-core machine under load)...
    bool waits = round % 2 == 1;
    if (waits) {
      e->wait_for_snapshots();
      // ... and stores its snapshots (about 100 KB) in pieces of 16 KiB, a commit each, so
      // that kills also land between the pieces (the worker is idle: it may be set now).
      e->impl().snapshot_piece_bytes = 16384;
    }
    for (int i = 0;; ++i) {
      std::string rid = "s" + std::to_string(round) + "-" + std::to_string(i);
      json::object c = i % 2 ? start_cmd(rid, i % 4 == 1 ? "inventory.sync" : "directory_groups.sync")
                             : json::object{{"cmd", "register_workspace"}, {"request_id", rid},
                                            {"workspace_id", 1000000 + round * 100000 + i}, {"name", "w"}};
      std::string line = rid + " " + e->execute(json::serialize(c)) + "\n";
      if (write(out[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
      if (waits) e->wait_for_snapshots();
    }
  }
  close(out[1]);
  std::string buf;
  // The clocks start at the writer's first answer, not at the fork: under load (the
  // sanitizer build beside other tests) opening the engine alone can outlast the whole
  // window, and a round whose writer never wrote tests nothing.
  for (auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       buf.empty() && std::chrono::steady_clock::now() < give_up;)
    if (!read_ready(out[0], buf, 10)) break;
  auto t0 = std::chrono::steady_clock::now();
  auto snapshot_at = t0 + std::chrono::microseconds(rng() % 40000);
  auto snapshot_kill_at = snapshot_at + std::chrono::microseconds(rng() % 40000);
  auto writer_kill_at = t0 + std::chrono::microseconds(5000 + rng() % 80000);
  pid_t snapshotter = -1;
  bool snapshotter_done = false;
  for (auto now = t0; now < writer_kill_at || (snapshotter > 0 && !snapshotter_done && now < snapshot_kill_at);
       now = std::chrono::steady_clock::now()) {
    if (snapshotter < 0 && now >= snapshot_at)
      snapshotter = round % 2 ? spawn_cli({"snapshot", "--db", dir}) : spawn_cli({"snapshot", "--db", dir, "--keep", "2"});
    if (snapshotter > 0 && !snapshotter_done && now >= snapshot_kill_at) {
      kill(snapshotter, SIGKILL);
      waitpid(snapshotter, nullptr, 0);
      snapshotter_done = true;
    }
    if (now >= writer_kill_at) continue;
    if (!read_ready(out[0], buf, 1)) break;
  }
  kill(writer, SIGKILL);
  int status = 0;
  waitpid(writer, &status, 0);
  if (snapshotter > 0 && !snapshotter_done) {
    kill(snapshotter, SIGKILL);
    waitpid(snapshotter, nullptr, 0);
  }
  close(out[0]);
  std::vector<Acked> acked;
  std::size_t start = 0;
  for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = buf.substr(start, nl - start);
    auto sp = line.find(' ');
    auto a = json::parse(line.substr(sp + 1)).as_object();
    INFO(line);
    REQUIRE(a.at("ok").as_bool());
    acked.push_back({line.substr(0, sp), a.at("seq").to_number<std::uint64_t>()});
  }
  return acked;
}

std::size_t snapshot_count(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  return snapshot_seqs(txn, dbis).size();
}

void snapshot_crash_loop(int rounds) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  seed_crash_fixture(dir.path(), 3000);
  std::mt19937_64 rng(11);
  std::size_t total_acked = 0;
  for (int round = 1; round <= rounds; ++round) {
    CAPTURE(round);
    auto acked = snapshotting_writer_and_kill(dir.path(), round, 4 + rng() % 8, rng);
    total_acked += acked.size();
    check_after_crash(dir.path(), acked);
    CHECK(cli_verify(dir.path()) == 0);  // chain, projections and every snapshot
    CHECK(run_cli({"snapshot", "--db", dir.path(), "--keep", "2", "--prune-only"}) == 0);  // as an operator would
    CHECK(snapshot_count(dir.path()) <= 2);
  }
  CHECK(total_acked > 0);
  CHECK(snapshot_count(dir.path()) > 0);
  {
    // The last round's writer was killed: a snapshot at its tail is due, taken on opening.
    Options o;
    o.snapshot_every_events = 1;
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), o, e).is_ok());
    e->wait_for_snapshots();
    std::uint64_t tail = e->last_seq();
    e.reset();
    lmdb::Env env(dir.path(), lmdb::Env::Options{});
    lmdb::Txn txn(env, false);
    Dbis dbis = open_dbis(txn, false);
    auto seqs = snapshot_seqs(txn, dbis);
    REQUIRE(!seqs.empty());
    CHECK(seqs.back() == tail);
  }
  CHECK(cli_verify(dir.path()) == 0);
  CHECK(check_invariants_along_log(dir.path()) == "");
}

// ---- kills during rebuild -----------------------------------------------------------------

std::string live_digest(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  LmdbStore live(txn, dbis);
  return to_hex(state_digest(live));
}

// Damages one projection record (what verify must catch and rebuild must repair).
void damage_projection(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, true);
  Dbis dbis = open_dbis(txn, false);
  LmdbStore live(txn, dbis);
  live.put(Table::workspaces, key_id(1), "tampered");
  txn.commit();
}

std::chrono::microseconds timed_rebuild(const std::string& dir) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = spawn_cli({"rebuild", "--db", dir});
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
}

// `opsledger rebuild` killed at a random moment: the projections are the old ones or the
// rebuilt ones, never a mixture (one LMDB write transaction), the log is untouched, and
// the next writer continues. Every other round starts from damaged projections, so "old"
// and "rebuilt" differ: then verify fails until a rebuild completes.
void rebuild_crash_loop(int rounds) {
  TempDir dir;
  seed_crash_fixture(dir.path(), 20000);
  auto full = timed_rebuild(dir.path());
  std::mt19937_64 rng(5);
  int killed_midway = 0;
  for (int round = 1; round <= rounds; ++round) {
    CAPTURE(round);
    const std::string sound = live_digest(dir.path());
    const bool damaged = round % 2 == 0;
    if (damaged) damage_projection(dir.path());
    const std::string before = live_digest(dir.path());
    ChainCheck chain_before;
    {
      lmdb::Env env(dir.path(), lmdb::Env::Options{});
      lmdb::Txn txn(env, false);
      chain_before = verify_chain(txn, open_dbis(txn, false));
    }
    pid_t pid = spawn_cli({"rebuild", "--db", dir.path()});
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % (full.count() * 13 / 10 + 1)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    bool completed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!completed) ++killed_midway;
    std::string after = live_digest(dir.path());
    CAPTURE(damaged, completed);
    CHECK((after == before || after == sound));
    if (completed) CHECK(after == sound);
    {
      lmdb::Env env(dir.path(), lmdb::Env::Options{});
      lmdb::Txn txn(env, false);
      auto chain = verify_chain(txn, open_dbis(txn, false));
      CHECK(chain.ok);
      CHECK(chain.last_seq == chain_before.last_seq);
      CHECK(chain.last_hash == chain_before.last_hash);
    }
    if (after == sound) {
      CHECK(cli_verify(dir.path()) == 0);
    } else {
      CHECK(cli_verify(dir.path()) != 0);  // the damage is still there: verify names it
      timed_rebuild(dir.path());
      CHECK(live_digest(dir.path()) == sound);
      CHECK(cli_verify(dir.path()) == 0);
    }
    // The next writer continues.
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), test_options(Durability::durable), e).is_ok());
    auto a = json::parse(e->execute(R"({"cmd":"register_workspace","workspace_id":)" +
                                    std::to_string(500000 + round) + R"(,"name":"next"})"))
                 .as_object();
    CHECK(a.at("ok").as_bool());
  }
  CHECK(replay_digest(dir.path()) == live_digest(dir.path()));
  CHECK(cli_verify(dir.path()) == 0);
  UNSCOPED_INFO("full rebuild us " << full.count() << "; rebuilds killed before completing: " << killed_midway << " of " << rounds);
}

}  // namespace

TEST_CASE("SIGKILL at random moments loses no acknowledged command", "[crash]") { crash_loop(12); }

TEST_CASE("SIGKILL crash loop, hundreds of rounds", "[crash][long]") { crash_loop(300); }

TEST_CASE("SIGKILL during automatic and command-line snapshots loses nothing, verify passes", "[crash][snapshot]") {
  snapshot_crash_loop(6);
}

TEST_CASE("SIGKILL during snapshots, hundreds of rounds", "[crash][snapshot][long]") { snapshot_crash_loop(200); }

TEST_CASE("SIGKILL during rebuild leaves the old or the rebuilt projections, never a mixture", "[crash][rebuild]") {
  rebuild_crash_loop(4);
}

TEST_CASE("SIGKILL during rebuild, many rounds", "[crash][rebuild][long]") { rebuild_crash_loop(60); }
