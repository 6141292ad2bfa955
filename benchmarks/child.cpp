#include "benchmarks/child.h"

#include <boost/json.hpp>
#include <algorithm>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "benchmarks/engine_util.h"
#include "benchmarks/sqlite_peer.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "events/events.h"
#include "engine/event_log.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot.h"

extern char** environ;

namespace opsledger::bench {
namespace json = boost::json;

ProcessRun run_process(const std::vector<std::string>& argv, const std::string* stdin_bytes,
                       const std::function<void(std::string_view)>& on_stdout) {
  ProcessRun r;
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Stopwatch sw;
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    r.error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  // A child that exits early must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::thread writer([&] {
    if (stdin_bytes) {
      const char* p = stdin_bytes->data();
      std::size_t left = stdin_bytes->size();
      while (left > 0) {
        ssize_t n = ::write(in_pipe[1], p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    ::close(in_pipe[1]);
  });
  std::atomic<bool> exited{false};
  std::atomic<std::uint64_t> peak_kb{0};
  std::thread watcher([&] {
    std::string status = "/proc/" + std::to_string(pid) + "/status";
    while (!exited.load()) {
      std::ifstream in(status);
      std::string key;
      std::uint64_t v = 0;
      while (in >> key) {
        if (key == "VmHWM:" && in >> v) {
          if (v > peak_kb.load()) peak_kb = v;
          break;
        }
        in.ignore(1 << 12, '\n');
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(out_pipe[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (on_stdout) on_stdout(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(out_pipe[0]);
  writer.join();
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  r.wall_seconds = sw.seconds();
  exited = true;
  watcher.join();
  r.peak_rss_kb = static_cast<double>(peak_kb.load());
  r.user_seconds = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  r.sys_seconds = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

ChildResult run_child(const RunConfig& cfg, const std::vector<std::string>& args) {
  ChildResult c;
  std::vector<std::string> argv{cfg.self_exe, "--child"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  c.run = run_process(argv, nullptr, [&](std::string_view chunk) { out.append(chunk); });
  if (!c.run.error.empty()) {
    c.error = c.run.error;
    return c;
  }
  if (c.run.exit_code != 0) {
    c.error = "child " + args.at(0) + " exited with status " + std::to_string(c.run.exit_code);
    return c;
  }
  boost::system::error_code ec;
  auto v = json::parse(out, ec);
  if (ec || !v.is_object()) {
    c.error = "child " + args.at(0) + " printed no JSON object: " + out.substr(0, 200);
    return c;
  }
  c.out = v.as_object();
  return c;
}

namespace {

// Opens (creating when `create`) the databases of `env`; committing keeps their handles
// open for later transactions.
Dbis open_handles(lmdb::Env& env, bool create) {
  lmdb::Txn txn(env, create);
  Dbis dbis = open_dbis(txn, create);
  txn.commit();
  return dbis;
}

struct SourceLog {
  explicit SourceLog(const std::string& dir) : env(dir, read_only_options()), dbis(open_handles(env, false)) {}
  static lmdb::Env::Options read_only_options() {
    lmdb::Env::Options o;
    o.read_only = true;
    return o;
  }
  lmdb::Env env;
  Dbis dbis;
};

void emit(json::object o) {
  MemoryFigures m = memory_figures();
  o["hwm_kb"] = m.hwm_kb;
  o["rss_anon_kb"] = m.rss_anon_kb;
  o["rss_file_kb"] = m.rss_file_kb;
  std::cout << json::serialize(o) << std::endl;
}

int child_scan(const std::string& dir) {
  SourceLog src(dir);
  Stopwatch sw;
  lmdb::Txn txn(src.env, false);
  lmdb::Cursor c(txn, src.dbis.events);
  std::uint64_t n = 0, bytes = 0;
  for (bool more = c.first(); more; more = c.next()) {
    ++n;
    bytes += c.key().size() + c.value().size();
  }
  emit({{"seconds", sw.seconds()}, {"events", n}, {"bytes", bytes}});
  return 0;
}

int child_decode(const std::string& dir) {
  SourceLog src(dir);
  Stopwatch sw;
  lmdb::Txn txn(src.env, false);
  lmdb::Cursor c(txn, src.dbis.events);
  std::uint64_t n = 0, payload_bytes = 0;
  for (bool more = c.first(); more; more = c.next()) {
    EnvelopeView e = decode_envelope_view(c.value());  // as replay reads it
    Event ev = decode_payload(e.event_type, e.schema_version, e.payload);
    payload_bytes += e.payload.size() + ev.index();
    ++n;
  }
  emit({{"seconds", sw.seconds()}, {"events", n}, {"payload_bytes", payload_bytes}});
  return 0;
}

int child_rebuild_memory(const std::string& dir, std::uint64_t until_seq) {
  SourceLog src(dir);
  Stopwatch sw;
  lmdb::Txn txn(src.env, false);
  MemoryStore store;
  std::uint64_t last = replay_into(txn, src.dbis, store, 0, until_seq);
  double seconds = sw.seconds();
  std::uint64_t rows = 0;
  json::object tables;  // where the state's memory goes, table by table (non-empty ones)
  for (std::size_t t = 0; t < kTableCount; ++t) {
    auto f = store.table(static_cast<Table>(t)).footprint();
    rows += f.rows;
    if (f.rows == 0) continue;
    tables[table_name(static_cast<Table>(t))] = {{"rows", f.rows},          {"row_bytes", f.row_bytes},
                                                 {"entry_bytes", f.entry_bytes}, {"buffer_bytes", f.buffer_bytes},
                                                 {"offset_bytes", f.offset_bytes}, {"leaves", f.leaves}};
  }
  emit({{"seconds", seconds}, {"events", last}, {"rows", rows}, {"tables", std::move(tables)}});
  return 0;
}

int child_rebuild_lmdb(const std::string& dir, const std::string& out_dir) {
  // A commit per 262,144 events bounds LMDB's dirty pages (held in memory until the commit);
  // `opsledger rebuild` commits once, for atomicity, and holds up to LMDB's cap of them.
  constexpr std::uint64_t kChunkEvents = 1 << 18;
  SourceLog src(dir);
  lmdb::Env::Options o;
  o.map_size_bytes = kBenchMapBytes;
  o.nosync = true;  // one sync at the end makes the rebuilt state durable
  lmdb::Env dst(out_dir, o);
  Dbis ddbis = open_handles(dst, true);
  Stopwatch sw;
  std::uint64_t last = 0;
  {
    lmdb::Txn r(src.env, false);
    MDB_stat st;
    mdb_stat(r.get(), src.dbis.events, &st);
    last = st.ms_entries;
  }
  for (std::uint64_t from = 0; from < last; from += kChunkEvents) {
    lmdb::Txn r(src.env, false);
    lmdb::Txn w(dst, true);
    LmdbStore store(w, ddbis);
    replay_into_lmdb(r, src.dbis, store, from, std::min(from + kChunkEvents, last));  // as opsledger rebuild does
    w.commit();
  }
  double apply_seconds = sw.seconds();
  dst.sync(true);
  emit({{"seconds", sw.seconds()}, {"apply_seconds", apply_seconds}, {"events", last}});
  return 0;
}

// Stores a snapshot of the state at `seq` in the log's `snapshots` database, as an engine
// with Options::snapshot_every_events would have written it there.
int child_snapshot_write(const std::string& dir, std::uint64_t seq) {
  lmdb::Env::Options o;
  o.map_size_bytes = kBenchMapBytes;
  lmdb::Env env(dir, o);
  Dbis dbis = open_handles(env, false);
  Stopwatch sw;
  std::string bytes;
  {
    lmdb::Txn r(env, false);
    MemoryStore state;
    if (replay_into(r, dbis, state, 0, seq) != seq) throw std::runtime_error("the log ends before the snapshot seq");
    auto event = read_event(r, dbis.events, seq);
    bytes = encode_snapshot(seq, decode_envelope(*event).hash, state_digest(state), state);
  }
  // Stored as the engine stores an automatic snapshot larger than a piece: a manifest and
  // pieces (format 2, here even when one piece would hold it), which a replay reads where
  // they lie.
  lmdb::Txn w(env, true);
  drop_pieces_of(w, dbis, seq, 0);  // of an earlier run's snapshot at this seq
  std::uint32_t pieces = 0;
  for (std::size_t at = 0; at < bytes.size(); at += kSnapshotPieceBytes)
    w.put(dbis.snapshots, snapshot_piece_key(seq, pieces++), std::string_view(bytes).substr(at, kSnapshotPieceBytes));
  w.put(dbis.snapshots, be64(seq), snapshot_manifest(bytes.size(), pieces));
  w.commit();
  emit({{"seconds", sw.seconds()}, {"events", seq}, {"snapshot_bytes", bytes.size()}, {"pieces", pieces}});
  return 0;
}

// Replay to `until` the way point-in-time replay does it: the nearest sound snapshot at or
// before it (decoded, its rows hashed to its digest, its chain hash checked), then the events after.
int child_replay_snapshot(const std::string& dir, std::uint64_t until) {
  SourceLog src(dir);
  Stopwatch sw;
  lmdb::Txn txn(src.env, false);
  std::string warnings;
  auto snap = nearest_snapshot(txn, src.dbis, until, [&](const std::string& w) { warnings += w + "; "; });
  if (!snap) throw std::runtime_error("no sound snapshot at or before the point: " + warnings);
  double load_seconds = sw.seconds();
  std::uint64_t last = replay_into(txn, src.dbis, snap->state, snap->seq, until);
  emit({{"seconds", sw.seconds()},
        {"load_seconds", load_seconds},
        {"events", last},
        {"snapshot_seq", snap->seq},
        {"replayed_events", last - snap->seq}});
  return 0;
}

int child_open(const std::string& dir, const std::string& line) {
  Stopwatch sw;
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(dir, Options{}, engine);
  if (!s) {
    std::cerr << "open: " << s.message() << "\n";
    return 1;
  }
  double open_seconds = sw.seconds();
  std::string answer = engine->execute(line);
  double total = sw.seconds();
  if (answer.find("\"decision\"") == std::string::npos) {
    std::cerr << "open: no decision: " << answer << "\n";
    return 1;
  }
  emit({{"seconds", total}, {"open_seconds", open_seconds}, {"decision_seconds", total - open_seconds},
        {"last_seq", engine->last_seq()}});
  return 0;
}

// How long commands wait while an automatic snapshot of a large state is written. Opens
// the engine on `dir` with snapshot_every_events = the log's tail + 1, so the first commit
// asks for a snapshot, then executes `file`'s lines one at a time (durable) until the
// snapshot is stored and one more second has passed (or the lines run out), timing each
// answer. The snapshot runs on the engine's snapshot thread; an engine that wrote it on the
// batch's leader would hold the first answer for all of snapshot_seconds.
int child_snapshot_stall(const std::string& dir, const std::string& file) {
  std::uint64_t tail = 0;
  {
    std::unique_ptr<Engine> probe;
    Status s = Engine::open(dir, Options{}, probe);
    if (!s) throw std::runtime_error("open: " + s.message());
    tail = probe->last_seq();
  }
  Options o;
  o.snapshot_every_events = tail + 1;
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(dir, o, engine);
  if (!s) throw std::runtime_error("open: " + s.message());
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  std::atomic<bool> stored{false};
  double snapshot_seconds = 0;
  std::thread waiter;
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{waiter};
  Stopwatch since_request;
  std::vector<double> during, after;  // answer latencies in ms, while the snapshot ran / after it
  std::size_t slow = 0;               // of `during`, over 100 ms
  double stored_at = 0;
  std::string line;
  while (std::getline(in, line)) {
    Stopwatch one;
    std::string answer = engine->execute(line);
    double ms = one.seconds() * 1000;
    if (answer.rfind("{\"ok\":true", 0) != 0) throw std::runtime_error("refused: " + answer);
    if (!waiter.joinable()) {
      if (engine->last_seq() <= tail) throw std::runtime_error("the first line appended nothing: " + answer);
      since_request = Stopwatch();
      waiter = std::thread([&] {
        engine->wait_for_snapshots();
        snapshot_seconds = since_request.seconds();
        stored = true;
      });
      continue;  // the command that asked for it
    }
    if (!stored) {
      if (ms > 100) ++slow;
      during.push_back(ms);
    } else {
      if (stored_at == 0) stored_at = since_request.seconds();
      after.push_back(ms);
      if (since_request.seconds() > stored_at + 1) break;
    }
  }
  if (waiter.joinable()) waiter.join();
  auto summary = [](std::vector<double> v) {
    json::object o{{"commands", v.size()}};
    if (v.empty()) return o;
    std::sort(v.begin(), v.end());
    o["p50_ms"] = v[v.size() / 2];
    o["p99_ms"] = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    o["max_ms"] = v.back();
    return o;
  };
  emit({{"seconds", since_request.seconds()},
        {"events", tail},
        {"snapshot_seconds", snapshot_seconds},
        {"during_snapshot", summary(during)},
        {"during_over_100_ms", slow},
        {"after_snapshot", summary(after)}});
  return 0;
}

// The SQLite side of the pipe workload: what a platform worker would do with the same
// stream — read lines, decide them in transactions of up to 1,000, answer each line.
int child_sqlite_apply(const std::string& file) {
  constexpr std::size_t kBatch = 1000;
  SqlitePeer peer(file, true);
  std::ios::sync_with_stdio(false);
  std::vector<std::string> batch;
  std::string line, out;
  std::uint64_t decided = 0;
  std::vector<SqlitePeer::Decided> decided_batch;
  auto flush = [&] {
    std::vector<std::string_view> starts;
    for (const auto& l : batch)
      if (l.find(R"("cmd":"start")") != std::string::npos) starts.push_back(l);
    Tally t;
    decided_batch.clear();
    if (!starts.empty()) peer.decide_batch(std::span<const std::string_view>(starts), t, &decided_batch);
    decided += starts.size();
    out.clear();
    std::size_t k = 0;
    for (const auto& l : batch) {
      if (l.find(R"("cmd":"start")") == std::string::npos) {
        out += "{\"ok\":true}\n";  // directory setup: the platform's other tables, not modelled
        continue;
      }
      const auto& d = decided_batch[k++];
      out += d.accepted ? R"({"ok":true,"decision":"accepted","run_id":)" : R"({"ok":true,"decision":"deduped","run_id":)";
      out += std::to_string(d.run_id);
      out += "}\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    batch.clear();
  };
  while (std::getline(std::cin, line)) {
    batch.push_back(line);
    if (batch.size() == kBatch) flush();
  }
  if (!batch.empty()) flush();
  std::fprintf(stderr, "sqlite-apply: %llu starts decided\n", static_cast<unsigned long long>(decided));
  return 0;
}

}  // namespace

int child_main(int argc, char** argv) {
  // argv[0] is the mode.
  try {
    std::string mode = argc > 0 ? argv[0] : "";
    if (mode == "scan" && argc == 2) return child_scan(argv[1]);
    if (mode == "decode" && argc == 2) return child_decode(argv[1]);
    if (mode == "rebuild-memory" && (argc == 2 || argc == 3))
      return child_rebuild_memory(argv[1], argc == 3 ? std::stoull(argv[2]) : 0);
    if (mode == "rebuild-lmdb" && argc == 3) return child_rebuild_lmdb(argv[1], argv[2]);
    if (mode == "open" && argc == 3) return child_open(argv[1], argv[2]);
    if (mode == "snapshot-write" && argc == 3) return child_snapshot_write(argv[1], std::stoull(argv[2]));
    if (mode == "replay-snapshot" && argc == 3) return child_replay_snapshot(argv[1], std::stoull(argv[2]));
    if (mode == "sqlite-apply" && argc == 2) return child_sqlite_apply(argv[1]);
    if (mode == "snapshot-stall" && argc == 3) return child_snapshot_stall(argv[1], argv[2]);
    std::cerr << "opsledger_bench --child: unknown mode or arguments\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "opsledger_bench --child " << (argc > 0 ? argv[0] : "") << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace opsledger::bench
