// Fault injection (SPEC sections 2 and 14; docs/reliability.md): a full filesystem, a
// capped map, EIO on commit, a reader left open while writers continue, and processes
// that die holding a read transaction. After every fault: a clear error, nothing
// half-applied, the engine keeps serving, and the database verifies.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "engine/engine_impl.h"
#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/envelope.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"

extern char** environ;

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

// `opsledger apply` as a child process, one command at a time: send() writes a line and
// waits for its answer line.
class ApplyProcess {
 public:
  ApplyProcess(const std::string& dir, const std::vector<std::string>& extra_env) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env.emplace_back(*e);
    // A preloaded shim comes before the sanitizer runtime in a sanitizer build.
    const char* asan = std::getenv("ASAN_OPTIONS");
    env.push_back(std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0");
    for (const auto& e : extra_env) env.push_back(e);
    ApplyChild child = spawn_apply(dir, &env);
    pid_ = child.pid;
    in_ = child.to_child;
    out_ = child.from_child;
  }
  ~ApplyProcess() {
    if (pid_ > 0) finish();
  }
  std::string send(const std::string& line) {
    std::string l = line + "\n";
    REQUIRE(write(in_, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string answer = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return answer;
      }
      char chunk[4096];
      ssize_t n = read(out_, chunk, sizeof chunk);
      REQUIRE(n > 0);
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::string send(const json::object& c) { return send(json::serialize(c)); }
  // Closes stdin and returns the exit status.
  int finish() {
    close(in_);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(out_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
};

json::object parsed(const std::string& answer) { return json::parse(answer).as_object(); }

json::object workspace(std::uint64_t id, const std::string& request_id, std::size_t name_bytes = 1) {
  return {{"cmd", "register_workspace"}, {"request_id", request_id}, {"workspace_id", id},
          {"name", std::string(name_bytes, 'n')}};
}

// How many events carry `request_id` (the log holds each command at most once).
int events_with_request(const std::string& dir, const std::string& request_id) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  int n = 0;
  lmdb::Cursor c(txn, dbis.events);
  for (bool more = c.first(); more; more = c.next()) n += decode_envelope(c.value()).request_id == request_id;
  return n;
}

std::uint64_t answer_seq(const std::string& answer) { return parsed(answer).at("seq").to_number<std::uint64_t>(); }
std::string answer_code(const std::string& answer) { return error_code(parsed(answer)); }

// ---- LMDB's reader table ------------------------------------------------------------

// Opens `dir` with the raw LMDB API (no reader check), begins a read transaction and
// exits without ending it, as a crashed process would: its reader slot stays behind.
void die_holding_read_txn(const std::string& dir) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) || mdb_env_set_maxreaders(env, 256) ||
      mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644))
    _exit(2);
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn)) _exit(3);
  _exit(0);
}

void fork_and_die_holding_read_txn(const std::string& dir) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) die_holding_read_txn(dir);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

int count_reader(const char* msg, void* ctx) {
  // mdb_reader_list: a header line, then one line per slot in use (pid thread txnid).
  if (std::strstr(msg, "pid") == nullptr && std::strstr(msg, "no active readers") == nullptr) ++*static_cast<int*>(ctx);
  return 0;
}

int readers_in_table(MDB_env* env) {
  int n = 0;
  mdb_reader_list(env, count_reader, &n);
  return n;
}

std::size_t last_page(lmdb::Env& env) {
  MDB_envinfo info;
  mdb_env_info(env.get(), &info);
  return info.me_last_pgno;
}

// A process that holds a read transaction open until told to end it.
class LongReader {
 public:
  explicit LongReader(const std::string& dir) {
    int ready[2], go[2];
    REQUIRE(pipe(ready) == 0);
    REQUIRE(pipe(go) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(ready[0]);
      close(go[1]);
      MDB_env* env = nullptr;
      MDB_txn* txn = nullptr;
      if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) || mdb_env_set_maxreaders(env, 256) ||
          mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644) || mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn))
        _exit(2);
      char c = 'r';
      if (write(ready[1], &c, 1) != 1) _exit(3);
      if (read(go[0], &c, 1) < 0) _exit(4);  // EOF or a byte: end the transaction
      mdb_txn_abort(txn);
      mdb_env_close(env);
      _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    go_ = go[1];
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
  }
  void close_reader() {
    if (pid_ < 0) return;
    close(go_);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  ~LongReader() { close_reader(); }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

// One command per commit: the connection update rewrites the same records every time,
// so nearly every page a commit touches is a copy of one the previous commit wrote.
void churn(Engine& e, int commits, int& counter) {
  for (int i = 0; i < commits; ++i, ++counter) {
    json::object c{{"cmd", "update_provider_connection"}, {"provider_connection_id", 100},
                   {"max_concurrent_runs", 1 + counter % 50}};
    REQUIRE(parsed(e.execute(json::serialize(c))).at("ok").as_bool());
  }
}

}  // namespace

TEST_CASE("a full filesystem answers storage_full, writes nothing, and writes resume when space is freed",
          "[fault][storage]") {
  TempDir dir;
  std::string mnt = dir.sub("mnt");
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0) {
    WARN("SKIPPED: cannot mount a 2 MiB tmpfs (" << std::strerror(errno)
                                                << "; needs root or CAP_SYS_ADMIN); the capped-map test covers storage_full");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  std::string db = mnt + "/db";
  {
    Options o = test_options(Durability::durable);  // fsync is a no-op on tmpfs, but the path is the real one
    o.initial_map_size_bytes = 16 << 20;            // larger than the filesystem: the disk fills first
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(db, o, e).is_ok());
    std::string code;
    std::uint64_t seq_before = 0;
    std::string digest_before;
    int i = 1;
    for (; i < 10000 && code.empty(); ++i) {
      seq_before = e->last_seq();
      digest_before = std::string(parsed(e->execute(R"({"cmd":"state_digest"})")).at("digest").as_string());
      std::string answer = e->execute(json::serialize(workspace(i, "fill-" + std::to_string(i), 4000)));
      code = answer_code(answer);
      if (!code.empty()) UNSCOPED_INFO(answer);
    }
    REQUIRE(code == "storage_full");
    CHECK(e->last_seq() == seq_before);  // nothing half-applied
    auto digest = parsed(e->execute(R"({"cmd":"state_digest"})"));
    CHECK(digest.at("digest") == json::value(digest_before));  // reads keep being served
    CHECK(answer_code(e->execute(json::serialize(workspace(i, "again", 4000)))) == "storage_full");
    // Free space (here: grow the filesystem); the same engine writes again.
    REQUIRE(mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=64m") == 0);
    auto a = parsed(e->execute(json::serialize(workspace(i, "after", 4000))));
    CHECK(a.at("ok").as_bool());
    CHECK(a.at("seq").to_number<std::uint64_t>() == seq_before + 1);
  }
  CHECK(cli_verify(db) == 0);
  CHECK(events_with_request(db, "again") == 0);
  CHECK(events_with_request(db, "after") == 1);
}

TEST_CASE("a capped map answers storage_full; raising the cap lets writes resume and verify passes",
          "[fault][storage]") {
  TempDir dir;
  Options o = test_options();
  o.initial_map_size_bytes = 256 * 1024;
  o.max_map_size_bytes = 512 * 1024;
  std::uint64_t seq_before = 0;
  int i = 1;
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), o, e).is_ok());
    std::string code;
    for (; i < 1000 && code.empty(); ++i) {
      seq_before = e->last_seq();
      code = answer_code(e->execute(json::serialize(workspace(i, "w" + std::to_string(i), 8000))));
    }
    REQUIRE(code == "storage_full");
    CHECK(e->last_seq() == seq_before);
  }
  CHECK(cli_verify(dir.path()) == 0);
  o.max_map_size_bytes = 4 << 20;  // the operator raises the cap and restarts
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), o, e).is_ok());
    for (int k = 0; k < 20; ++k, ++i) {
      auto a = parsed(e->execute(json::serialize(workspace(i, "w" + std::to_string(i), 8000))));
      REQUIRE(a.at("ok").as_bool());
      CHECK(a.at("seq").to_number<std::uint64_t>() == seq_before + 1 + static_cast<std::uint64_t>(k));
    }
  }
  CHECK(cli_verify(dir.path()) == 0);
  CHECK(replay_digest(dir.path()).size() == 64);
}

TEST_CASE("EIO on commit answers io_error, applies nothing, and the engine keeps serving", "[fault][eio]") {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  const std::string db = dir.sub("db"), control = dir.sub("fault");
  auto set_fault = [&](const char* mode) { std::ofstream(control, std::ios::trunc) << mode; };
  set_fault("none");
  ApplyProcess apply(db, {std::string("LD_PRELOAD=") + OPSLEDGER_IO_FAULT_SHIM, "OPSLEDGER_FAULT_FILE=" + control});
  REQUIRE(parsed(apply.send(workspace(1, "first"))).at("ok").as_bool());
  std::uint64_t id = 2;
  for (const char* mode : {"pages", "sync", "meta"}) {
    CAPTURE(mode);
    auto before = parsed(apply.send(R"({"cmd":"state_digest"})"));
    std::string rid = std::string("during-") + mode;
    set_fault(mode);
    std::string failed = apply.send(workspace(id, rid));
    CHECK(answer_code(failed) == "io_error");
    CHECK(parsed(failed).at("error").at("message").as_string().find("Input/output error") != std::string::npos);
    // Reads need no commit: they are served during the fault, and see nothing of the
    // failed command.
    auto during = parsed(apply.send(R"({"cmd":"state_digest"})"));
    CHECK(during.at("ok").as_bool());
    CHECK(during.at("seq") == before.at("seq"));
    CHECK(during.at("digest") == before.at("digest"));
    CHECK(answer_code(apply.send(workspace(id + 1, rid + "-2"))) == "io_error");
    set_fault("none");
    // The same request again is a new command: nothing of the failed attempt was recorded.
    std::string retried = apply.send(workspace(id, rid));
    INFO(retried);
    REQUIRE(parsed(retried).at("ok").as_bool());
    CHECK(answer_seq(retried) == before.at("seq").to_number<std::uint64_t>() + 1);
    id += 2;
  }
  CHECK(apply.finish() == 1);  // some command met an engine failure: exit status 1
  CHECK(cli_verify(db) == 0);
  for (const char* mode : {"pages", "sync", "meta"}) {
    CHECK(events_with_request(db, std::string("during-") + mode) == 1);
    CHECK(events_with_request(db, std::string("during-") + mode + "-2") == 0);
  }
}

TEST_CASE("a reader left open pins freed pages; once it closes, the file stops growing", "[fault][readers]") {
  TestDb db;  // nosync: the page accounting is the same in durable mode
  seed_contoso(db);
  Engine& e = db.engine();
  lmdb::Env& env = *e.impl().env;
  int counter = 0;
  churn(e, 300, counter);  // steady state: the free list holds what a commit needs
  constexpr int kCommits = 400;
  std::size_t p0 = last_page(env);
  std::size_t open_growth = 0, closed_growth = 0;
  {
    LongReader reader(db.dir());
    churn(e, kCommits, counter);
    open_growth = last_page(env) - p0;
    reader.close_reader();
    std::size_t p1 = last_page(env);
    churn(e, kCommits, counter);
    churn(e, kCommits, counter);
    closed_growth = last_page(env) - p1;
  }
  CAPTURE(open_growth, closed_growth);
  // While the reader is open, every commit's copied pages stay allocated: the file grows
  // by several pages per commit. Once it closes, those pages are reused and the file
  // grows only by what the log itself adds (an event is far smaller than a page).
  CHECK(open_growth >= static_cast<std::size_t>(kCommits));
  CHECK(closed_growth * 10 < open_growth);
  CHECK(replay_digest(db.dir()) == db.digest());
}

TEST_CASE("a process that dies holding a read transaction: the next open clears it, writers proceed",
          "[fault][readers]") {
  TempDir dir;
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
  }
  // This process keeps the environment open (raw, no reader check) so that the lock
  // table survives the dead reader; otherwise the next opener would reset it anyway.
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  REQUIRE(mdb_env_set_maxdbs(env, 64) == 0);
  REQUIRE(mdb_env_set_maxreaders(env, 256) == 0);
  REQUIRE(mdb_env_open(env, dir.path().c_str(), MDB_NOTLS, 0644) == 0);
  fork_and_die_holding_read_txn(dir.path());
  CHECK(readers_in_table(env) == 1);  // the dead process's slot is still there
  // The next open (here: `opsledger apply` in a new process) clears it, and writes.
  {
    ApplyProcess apply(dir.path(), {});
    CHECK(parsed(apply.send(workspace(1, "after-dead-reader"))).at("ok").as_bool());
    CHECK(readers_in_table(env) == 0);
    CHECK(apply.finish() == 0);
  }
  mdb_env_close(env);
  CHECK(cli_verify(dir.path()) == 0);
}

TEST_CASE("a running engine clears readers of dead processes when the reader table is full", "[fault][readers]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t seq = db.engine().last_seq();
  // 256 processes (the table's size) each die holding a read transaction while this
  // engine stays open: every slot is taken by a dead reader.
  for (int i = 0; i < 256; ++i) fork_and_die_holding_read_txn(db.dir());
  // A read transaction needs a slot: MDB_READERS_FULL, mdb_reader_check, retry.
  CHECK(db.engine().last_seq() == seq);
  CHECK(db.send(start_cmd("after-full-table")).at("decision") == "accepted");
  CHECK(db.engine().last_seq() == seq + 1);
}

TEST_CASE("a running engine clears a dead process's reader before growing the map", "[fault][readers]") {
  Options o = test_options();
  o.initial_map_size_bytes = 2 << 20;
  TestDb db(o);
  seed_contoso(db);
  Engine& e = db.engine();
  lmdb::Env& env = *e.impl().env;
  std::size_t initial = env.map_size();
  // A process dies holding a read transaction while this engine stays open: its slot
  // pins every page freed after it. Without a reader check the map would have to double
  // again and again as the copied pages pile up.
  fork_and_die_holding_read_txn(db.dir());
  int counter = 0;
  churn(e, 3000, counter);
  CHECK(env.map_size() == initial);
  CHECK(replay_digest(db.dir()) == db.digest());
}
