// Automatic snapshots on the engine's snapshot thread (engine/snapshot_worker.h): the worker
// on its own, then the engine answering while a snapshot reads, closing in the middle of
// one, and the map growing under one.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/event_log.h"
#include "events/bytes.h"
#include "engine/replay.h"
#include "events/sha256.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

// Long enough that only a hang reaches it; the tests never wait for it otherwise.
constexpr auto kHang = std::chrono::seconds(60);

// Signalled once, waited for by the other side.
struct Flag {
  std::promise<void> promise;
  std::shared_future<void> future = promise.get_future().share();
  std::atomic<bool> set{false};
  void signal() {
    if (!set.exchange(true)) promise.set_value();
  }
  bool wait() const { return future.wait_for(kHang) == std::future_status::ready; }
};

bool wait_for_stop(const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + kHang;
  while (!stop.load()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Snapshots {
  std::vector<std::uint64_t> seqs;
  std::uint64_t tail = 0;
};

// The engine must be idle (no command in flight) and its snapshot worker idle or held in
// its read (a worker storing may remap the map under a read that does not hold the commit
// slot).
Snapshots snapshots_of(Engine& engine) {
  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  return {snapshot_seqs(txn, impl.dbis), read_tail(txn, impl.dbis.events).seq};
}

// The snapshot at `seq` loads soundly and holds the state a replay of the log to `seq` gives.
void check_snapshot(Engine& engine, std::uint64_t seq) {
  CAPTURE(seq);
  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  std::string problem;
  auto snap = load_snapshot(txn, impl.dbis, seq, problem);
  INFO(problem);
  REQUIRE(snap);
  MemoryStore replayed;
  replay_into(txn, impl.dbis, replayed, 0, seq);
  CHECK(to_hex(snap->digest) == to_hex(state_digest(replayed)));
}

Options every(std::uint64_t n) {
  Options o = test_options();
  o.snapshot_every_events = n;
  return o;
}

// Sends starts until the log's tail crosses the next multiple of `n`; returns the tail.
std::uint64_t cross_next_multiple(TestDb& db, std::uint64_t n, int& request) {
  std::uint64_t start = db.engine().last_seq();
  for (;;) {
    db.send(start_cmd("r" + std::to_string(request++), "inventory.sync"));
    std::uint64_t tail = db.engine().last_seq();
    if (tail / n > start / n) return tail;
  }
}

// An engine (contoso seeded) whose first automatic snapshot after setup is held in its read
// transaction until something makes it give up (a close, a pause before a remap); later
// snapshots run freely.
struct HeldSnapshot {
  std::uint64_t every_n;
  TestDb db;
  Flag entered;
  std::atomic<bool> saw_stop{false};
  std::atomic<int> reads{0};
  int request = 0;
  std::uint64_t crossed = 0;        // the tail after the commit that asked for it
  std::size_t snapshots_before = 0;  // stored before it

  HeldSnapshot(std::uint64_t n, Options o) : every_n(n), db(o) {
    seed_contoso(db);
    db.engine().wait_for_snapshots();
    snapshots_before = snapshots_of(db.engine()).seqs.size();
    db.engine().impl().snapshot_read_begun = [this](const std::atomic<bool>& stop) {
      if (reads.fetch_add(1) > 0) return;
      entered.signal();
      saw_stop = wait_for_stop(stop);
    };
    crossed = cross_next_multiple(db, every_n, request);
    REQUIRE(entered.wait());
  }
};

// `opsledger apply --db DIR` as another process: feeds it `lines`, returns its answers once
// it has exited.
std::string apply_in_another_process(const std::string& dir, const std::string& lines) {
  ApplyChild child = spawn_apply(dir);
  REQUIRE(child.pid > 0);
  REQUIRE(write(child.to_child, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
  close(child.to_child);
  std::string answers;
  char chunk[65536];
  for (ssize_t n; (n = read(child.from_child, chunk, sizeof chunk)) > 0;) answers.append(chunk, n);
  close(child.from_child);
  int status = 0;
  REQUIRE(waitpid(child.pid, &status, 0) == child.pid);
  REQUIRE(WIFEXITED(status));
  return answers;
}

Options small_map(Options o) {
  o.initial_map_size_bytes = std::size_t{1} << 20;
  return o;
}

}  // namespace

TEST_CASE("snapshot worker: requests made while a snapshot is written are merged into one more",
          "[snapshot][worker]") {
  Flag entered, release;
  std::atomic<int> calls{0};
  SnapshotWorker w([&](const std::atomic<bool>&) {
    if (calls.fetch_add(1) == 0) {
      entered.signal();
      REQUIRE(release.wait());
    }
    return true;
  });
  w.request();
  REQUIRE(entered.wait());
  w.request();
  w.request();
  w.request();
  release.signal();
  w.wait_idle();
  CHECK(calls == 2);
  w.wait_idle();  // idle: returns at once
  CHECK(calls == 2);
}

TEST_CASE("snapshot worker: a pause makes the snapshot in progress give up; it is taken again after",
          "[snapshot][worker]") {
  Flag entered;
  std::atomic<int> calls{0}, written{0};
  std::atomic<bool> saw_stop{false};
  SnapshotWorker w([&](const std::atomic<bool>& stop) {
    if (calls.fetch_add(1) == 0) {
      entered.signal();
      saw_stop = wait_for_stop(stop);
      return false;
    }
    ++written;
    return true;
  });
  w.request();
  REQUIRE(entered.wait());
  {
    auto paused = w.pause();
    CHECK(saw_stop);
    w.request();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(calls == 1);  // none starts while paused, though asked for
  }
  w.wait_idle();
  CHECK(calls == 2);
  CHECK(written == 1);
}

TEST_CASE("snapshot worker: closing stops the snapshot in progress", "[snapshot][worker]") {
  Flag entered;
  std::atomic<bool> saw_stop{false};
  std::atomic<int> calls{0};
  {
    SnapshotWorker w([&](const std::atomic<bool>& stop) {
      ++calls;
      entered.signal();
      saw_stop = wait_for_stop(stop);
      return false;
    });
    w.request();
    REQUIRE(entered.wait());
  }
  CHECK(saw_stop);
  CHECK(calls == 1);  // not taken again on the way out
}

TEST_CASE("snapshot worker: a failed snapshot is reported and the next request is served", "[snapshot][worker]") {
  std::atomic<int> calls{0};
  SnapshotWorker w([&](const std::atomic<bool>&) -> bool {
    if (calls.fetch_add(1) == 0) throw std::runtime_error("disk on fire (a test's failure)");
    return true;
  });
  w.request();
  w.wait_idle();
  CHECK(calls == 1);  // a failure is not retried by itself
  w.request();
  w.wait_idle();
  CHECK(calls == 2);
}

TEST_CASE("commands are answered while an automatic snapshot reads the state", "[snapshot][worker]") {
  constexpr std::uint64_t kEvery = 5;
  TestDb db(every(kEvery));
  seed_contoso(db);
  db.engine().wait_for_snapshots();
  Flag entered, answered;
  std::atomic<bool> answered_in_time{false};
  std::atomic<int> reads{0};
  db.engine().impl().snapshot_read_begun = [&](const std::atomic<bool>&) {
    if (reads.fetch_add(1) > 0) return;
    entered.signal();
    answered_in_time = answered.wait();  // a snapshot that held the engine would time out here
  };
  int request = 0;
  std::uint64_t crossed = cross_next_multiple(db, kEvery, request);
  REQUIRE(entered.wait());
  // The snapshot's read transaction is open and held: these are decided, committed and
  // answered meanwhile.
  for (int i = 0; i < 12; ++i) {
    auto a = db.send(start_cmd("during-" + std::to_string(i), "directory_groups.sync"));
    CHECK(a.at("ok").as_bool());
  }
  std::uint64_t after = db.engine().last_seq();
  CHECK(after >= crossed + 12);
  answered.signal();
  db.engine().wait_for_snapshots();
  CHECK(answered_in_time);
  auto s = snapshots_of(db.engine());
  CAPTURE(s.seqs);
  // The snapshot is of the state its read began at: right after the crossing, not after
  // the commands answered while it read (the second crossing may have its own).
  REQUIRE(std::find(s.seqs.begin(), s.seqs.end(), crossed) != s.seqs.end());
  check_snapshot(db.engine(), crossed);
  CHECK(db.digest() == replay_digest(db.dir()));
}

TEST_CASE("a snapshot stopped by closing the engine is taken after it opens again", "[snapshot][worker]") {
  HeldSnapshot h(6, every(6));
  std::uint64_t tail = h.db.engine().last_seq();
  h.db.reopen();  // closes (stopping the snapshot), then opens without the hook
  CHECK(h.saw_stop);
  h.db.engine().wait_for_snapshots();
  auto s = snapshots_of(h.db.engine());
  CAPTURE(s.seqs);
  CHECK(s.tail == tail);
  // the stopped one was never stored; the one taken on opening is of the tail
  REQUIRE(s.seqs.size() == h.snapshots_before + 1);
  CHECK(s.seqs.back() == tail);
  check_snapshot(h.db.engine(), tail);
}

TEST_CASE("a snapshot is due at open only when a multiple lies after the newest one", "[snapshot][worker]") {
  TempDir dir;
  auto open = [&](std::uint64_t n) {
    Options o = every(n);
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), o, e).is_ok());
    e->wait_for_snapshots();
    return e;
  };
  auto append = [](Engine& e, int i) {
    json::object c{{"cmd", "register_workspace"}, {"workspace_id", 100 + i}, {"name", "w"}};
    auto a = json::parse(e.execute(json::serialize(c))).as_object();
    REQUIRE(a.at("ok").as_bool());
  };
  std::uint64_t tail = 0;
  {
    auto e = open(0);  // no automatic snapshots
    tail = e->last_seq();
  }
  REQUIRE(tail > 4);
  REQUIRE(run_cli({"snapshot", "--db", dir.path()}) == 0);  // a snapshot at the tail
  const std::uint64_t n = tail - 1;                       // its last multiple lies before it
  {
    auto e = open(n);
    auto s = snapshots_of(*e);
    CHECK(s.seqs == std::vector<std::uint64_t>{tail});  // none due
  }
  {
    // Commands past the next multiple (2n) without automatic snapshots, then open with n.
    auto e = open(0);
    for (int i = 0; e->last_seq() < 2 * n; ++i) append(*e, i);
    tail = e->last_seq();
  }
  auto e = open(n);
  auto s = snapshots_of(*e);
  CAPTURE(s.seqs);
  REQUIRE(s.seqs.size() == 2);
  CHECK(s.seqs.back() == tail);
  check_snapshot(*e, tail);
}

TEST_CASE("the map grows while an automatic snapshot reads the state", "[snapshot][worker][storage]") {
  HeldSnapshot h(4, small_map(every(4)));  // held until the leader, about to grow the map, pauses it
  auto& impl = h.db.engine().impl();
  std::size_t map_before = impl.env->map_size();  // the worker is held: nothing remaps
  // Until the leader grows the map (the map size is not read meanwhile: once released, the
  // worker may grow it too).
  for (std::uint64_t id = 1000; !h.saw_stop && id < 3000; ++id) {
    auto a = h.db.send({{"cmd", "register_workspace"}, {"workspace_id", id}, {"name", std::string(4000, 'n')}});
    REQUIRE(a.at("ok").as_bool());
  }
  h.db.engine().wait_for_snapshots();
  CHECK(impl.env->map_size() > map_before);
  CHECK(h.saw_stop);
  CHECK(h.reads >= 2);  // given up for the growth, then taken again
  auto s = snapshots_of(h.db.engine());
  CAPTURE(h.crossed, s.seqs);
  REQUIRE(!s.seqs.empty());
  CHECK(s.seqs.back() > h.crossed);  // taken again after the growth, of the state then
  check_snapshot(h.db.engine(), s.seqs.back());
}

TEST_CASE("a snapshot stored right after a batch leaves the engine's held rows in place", "[snapshot][worker]") {
  constexpr std::uint64_t kEvery = 5;
  TestDb db(every(kEvery));
  seed_contoso(db);
  db.engine().wait_for_snapshots();
  int request = 0;
  std::uint64_t crossed = cross_next_multiple(db, kEvery, request);
  db.engine().wait_for_snapshots();
  auto s = snapshots_of(db.engine());
  REQUIRE(!s.seqs.empty());
  REQUIRE(s.seqs.back() == crossed);
  auto& impl = db.engine().impl();
  {
    // The held rows match the database when the next write transaction's id is
    // held_rows_txn; a read transaction's id is the last committed one's (the snapshot's).
    lmdb::Txn read(*impl.env, false);
    CHECK(impl.held_rows_txn == read.id() + 1);
  }
  REQUIRE(impl.held_rows.held_rows() > 0);
  std::size_t held = impl.held_rows.held_rows();
  auto a = db.send(start_cmd("r" + std::to_string(request++), "inventory.sync"));
  CHECK(a.at("ok").as_bool());
  CHECK(impl.held_rows.held_rows() >= held);  // kept, not forgotten
  CHECK(db.digest() == replay_digest(db.dir()));
}

TEST_CASE("another process growing the map pauses a snapshot that reads the state", "[snapshot][worker][storage]") {
  HeldSnapshot h(4, small_map(every(4)));  // held until this process adopts the larger map
  auto& impl = h.db.engine().impl();
  std::size_t map_before = impl.env->map_size();
  {
    // `opsledger apply` (a 64 MiB map) writes past this engine's 1 MiB map.
    std::string lines;
    for (int i = 0; i < 600; ++i)
      lines += json::serialize(json::object{{"cmd", "register_workspace"},
                                            {"workspace_id", 5000 + i},
                                            {"name", std::string(4000, 'n')}}) +
               "\n";
    std::string answers = apply_in_another_process(h.db.dir(), lines);
    CHECK(std::count(answers.begin(), answers.end(), '\n') == 600);
    CHECK(answers.find("\"ok\":false") == std::string::npos);
  }
  // This engine's next transaction finds the map resized and adopts its size: the
  // snapshot's read transaction must end first.
  auto a = h.db.send(start_cmd("after-growth", "directory_groups.sync"));
  CHECK(a.at("ok").as_bool());
  h.db.engine().wait_for_snapshots();
  CHECK(impl.env->map_size() > map_before);
  CHECK(h.saw_stop);
  CHECK(h.reads >= 2);
  auto s = snapshots_of(h.db.engine());
  REQUIRE(!s.seqs.empty());
  check_snapshot(h.db.engine(), s.seqs.back());
  CHECK(h.db.digest() == replay_digest(h.db.dir()));
}

TEST_CASE("a batch at the map's maximum makes a snapshot that reads give up before storage_full",
          "[snapshot][worker][storage]") {
  Options o = small_map(every(4));
  o.max_map_size_bytes = o.initial_map_size_bytes;  // no growth at all
  HeldSnapshot h(4, o);  // its read pins the pages freed since it began
  std::string code;
  for (std::uint64_t id = 1000; code.empty() && id < 3000; ++id) {
    auto a = h.db.send({{"cmd", "register_workspace"}, {"workspace_id", id}, {"name", std::string(4000, 'n')}});
    code = error_code(a);
  }
  CHECK(code == "storage_full");  // the map is full of workspaces in the end
  CHECK(h.saw_stop);               // but the held snapshot was asked to give up first
  h.db.engine().wait_for_snapshots();
}

namespace {

std::size_t piece_rows(Engine& engine) {
  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  lmdb::Cursor c(txn, impl.dbis.snapshots);
  std::size_t n = 0;
  for (bool more = c.first(); more; more = c.next()) n += c.key().size() == 12;
  return n;
}

constexpr std::uint64_t kPiecesEvery = 5;

// An engine (contoso seeded, a snapshot every kPiecesEvery events) that stores snapshots
// in pieces of 1 KiB.
struct PiecesDb {
  TestDb db{every(kPiecesEvery)};
  Engine::Impl& impl = db.engine().impl();
  int request = 0;
  PiecesDb() {
    seed_contoso(db);
    db.engine().wait_for_snapshots();
    impl.snapshot_piece_bytes = 1024;  // the worker is idle
  }
};

}  // namespace

TEST_CASE("a snapshot larger than a piece is stored in pieces and loads as one", "[snapshot][worker]") {
  PiecesDb p;
  auto& db = p.db;
  auto& impl = p.impl;
  {
    // A piece left by a snapshot that never finished (no manifest at its seq).
    lmdb::Txn txn(*impl.env, true);
    txn.put(impl.dbis.snapshots, snapshot_piece_key(3, 0), "left over");
    txn.commit();
  }
  REQUIRE(piece_rows(db.engine()) == 1);
  std::uint64_t crossed = cross_next_multiple(db, kPiecesEvery, p.request);
  db.engine().wait_for_snapshots();
  auto s = snapshots_of(db.engine());
  CAPTURE(s.seqs);
  REQUIRE(!s.seqs.empty());
  REQUIRE(s.seqs.back() == crossed);
  std::size_t pieces = 0;
  {
    lmdb::Txn txn(*impl.env, false);
    std::string_view manifest;
    REQUIRE(txn.get(impl.dbis.snapshots, be64(crossed), manifest));
    CHECK(manifest.size() == 24);  // a manifest, not the value
    for (std::uint32_t i = 0;; ++i) {
      std::string_view part;
      if (!txn.get(impl.dbis.snapshots, snapshot_piece_key(crossed, i), part)) break;
      CHECK(part.size() <= 1024);
      ++pieces;
    }
    std::string_view gone;
    CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(3, 0), gone));  // swept
  }
  CHECK(pieces > 3);
  CHECK(piece_rows(db.engine()) == pieces);
  check_snapshot(db.engine(), crossed);
  {
    // The engine's held rows survived the snapshot's several commits.
    lmdb::Txn read(*impl.env, false);
    CHECK(impl.held_rows_txn == read.id() + 1);
  }
  // Another process (the engine is idle): verify checks every snapshot against its own
  // replay; replay starts from this one.
  CHECK(cli_verify(db.dir()) == 0);
  CHECK(run_cli({"replay", "--db", db.dir(), "--until-seq", std::to_string(crossed)}) == 0);
}

TEST_CASE("a snapshot missing one of its pieces is skipped with a reason", "[snapshot][worker]") {
  PiecesDb p;
  auto& impl = p.impl;
  std::uint64_t crossed = cross_next_multiple(p.db, kPiecesEvery, p.request);
  p.db.engine().wait_for_snapshots();
  {
    lmdb::Txn txn(*impl.env, true);
    REQUIRE(txn.del(impl.dbis.snapshots, snapshot_piece_key(crossed, 1)));
    txn.commit();
  }
  lmdb::Txn txn(*impl.env, false);
  std::string problem;
  CHECK_FALSE(load_snapshot(txn, impl.dbis, crossed, problem));
  CHECK(problem.find("piece 1 of") != std::string::npos);
  std::string warned;
  auto nearest = nearest_snapshot(txn, impl.dbis, crossed, [&](const std::string& w) { warned += w; });
  CHECK(warned.find("snapshot at seq " + std::to_string(crossed) + " skipped: piece 1 of") != std::string::npos);
  if (nearest) CHECK(nearest->seq < crossed);
}

TEST_CASE("pieces removed while a snapshot is stored are written again before its manifest", "[snapshot][worker]") {
  PiecesDb p;
  std::atomic<int> stored{0};
  std::atomic<bool> removed{false};
  p.impl.snapshot_piece_stored = [&](std::uint32_t piece) {  // on the worker's thread
    ++stored;
    if (piece != 1 || removed) return;
    // What another process's sweep would do between two pieces (the snapshot's seq is the
    // tail: nothing is sent while it is stored).
    lmdb::Txn txn(*p.impl.env, true);
    removed = txn.del(p.impl.dbis.snapshots, snapshot_piece_key(p.db.engine().last_seq(), 0));
    txn.commit();
  };
  std::uint64_t crossed = cross_next_multiple(p.db, kPiecesEvery, p.request);
  p.db.engine().wait_for_snapshots();
  REQUIRE(removed);
  std::size_t pieces = piece_rows(p.db.engine());
  CHECK(static_cast<std::size_t>(stored.load()) >= pieces + 2);  // all written again
  check_snapshot(p.db.engine(), crossed);
  {
    // Another writer (the hook) came between the snapshot's commits: the held rows are no
    // longer known to be the database's, and the next batch forgets them.
    lmdb::Txn read(*p.impl.env, false);
    CHECK(p.impl.held_rows_txn != read.id() + 1);
  }
}

TEST_CASE("a snapshot overtaken by a newer one while it is stored is given up, its pieces deleted",
          "[snapshot][worker]") {
  PiecesDb p;
  std::atomic<int> stored{0};
  std::atomic<bool> overtaken{false};
  std::uint64_t newer = 0;
  p.impl.snapshot_piece_stored = [&](std::uint32_t piece) {  // on the worker's thread
    ++stored;
    if (piece != 1 || overtaken) return;
    // What another process does meanwhile: it completes a snapshot at a later seq and, in
    // the same commit, sweeps the pieces below it that no manifest claims.
    lmdb::Txn txn(*p.impl.env, true);
    newer = p.db.engine().last_seq() + 1000;
    txn.put(p.impl.dbis.snapshots, be64(newer), "another process's newer snapshot");
    drop_unfinished_pieces(txn, p.impl.dbis);
    txn.commit();
    overtaken = true;
  };
  std::uint64_t crossed = cross_next_multiple(p.db, kPiecesEvery, p.request);
  p.db.engine().wait_for_snapshots();
  REQUIRE(overtaken);
  auto s = snapshots_of(p.db.engine());
  CAPTURE(s.seqs);
  CHECK(std::find(s.seqs.begin(), s.seqs.end(), crossed) == s.seqs.end());  // no manifest
  CHECK(s.seqs.back() == newer);
  CHECK(piece_rows(p.db.engine()) == 0);  // its pieces: swept by the other writer, or deleted as it gave up
  // Given up at its first commit after it was overtaken (pieces 0 and 1 were stored),
  // nothing written again.
  CHECK(stored == 2);
}

TEST_CASE("a snapshot another writer completes at the same seq while this one is stored is not broken",
          "[snapshot][worker]") {
  PiecesDb p;
  std::atomic<int> stored{0};
  std::atomic<bool> completed{false};
  bool as_pieces = false;
  std::size_t their_pieces = 0;
  SECTION("completed as one value, as opsledger snapshot stores it") { as_pieces = false; }
  SECTION("completed in pieces of the same size, as another engine stores it") { as_pieces = true; }
  p.impl.snapshot_piece_stored = [&](std::uint32_t piece) {  // on the worker's thread
    ++stored;
    if (piece != 0 || completed) return;
    // Another writer read the same tail (the engine sends nothing meanwhile) and completes
    // its snapshot of it first.
    lmdb::Txn txn(*p.impl.env, true);
    EncodedSnapshot theirs = encode_committed(txn, p.impl.dbis);
    if (!as_pieces) {
      put_snapshot(txn, p.impl.dbis, theirs);
    } else {
      std::uint32_t n = 0;
      for (std::size_t at = 0; at < theirs.bytes.size(); at += 1024)
        txn.put(p.impl.dbis.snapshots, snapshot_piece_key(theirs.written.seq, n++),
                std::string_view(theirs.bytes).substr(at, 1024));
      txn.put(p.impl.dbis.snapshots, be64(theirs.written.seq), snapshot_manifest(theirs.bytes.size(), n));
      their_pieces = n;
    }
    txn.commit();
    completed = true;
  };
  std::uint64_t crossed = cross_next_multiple(p.db, kPiecesEvery, p.request);
  p.db.engine().wait_for_snapshots();
  REQUIRE(completed);
  CHECK(stored == 1);  // given up at its next commit, nothing written again
  CHECK(snapshots_of(p.db.engine()).seqs.back() == crossed);
  check_snapshot(p.db.engine(), crossed);  // loads soundly: none of its pieces was taken
  // Pieces of this seq: the other writer's manifest's own (which this one's first piece,
  // the same bytes, became part of), or none beside a value.
  CHECK(piece_rows(p.db.engine()) == their_pieces);
}

TEST_CASE("a snapshot commit that writes nothing does not vouch for the held rows", "[snapshot][worker][processes]") {
  // LMDB commits nothing for a write transaction that changed nothing, and the next
  // writer's commit takes its id. Such a commit by the snapshot thread right after the
  // engine's batch must not keep the batch's held rows: another process's commit that
  // follows would take the id the engine expects of its own next batch.
  PiecesDb p;
  std::uint64_t crossed = 0;
  std::atomic<bool> done{false};
  p.impl.snapshot_piece_stored = [&](std::uint32_t piece) {  // on the worker's thread
    if (piece != 0 || done) return;
    done = true;
    {
      // Another writer completes this snapshot's seq (same state, same pieces) first...
      lmdb::Txn txn(*p.impl.env, true);
      EncodedSnapshot theirs = encode_committed(txn, p.impl.dbis);
      std::uint32_t n = 0;
      for (std::size_t at = 0; at < theirs.bytes.size(); at += 1024)
        txn.put(p.impl.dbis.snapshots, snapshot_piece_key(theirs.written.seq, n++),
                std::string_view(theirs.bytes).substr(at, 1024));
      txn.put(p.impl.dbis.snapshots, be64(theirs.written.seq), snapshot_manifest(theirs.bytes.size(), n));
      txn.commit();
    }
    // ... then the engine commits a batch (touching run 1), so that the snapshot's next
    // commit, which finds itself superseded and writes nothing, comes right after it.
    p.db.engine().execute(json::serialize(start_cmd("during", "inventory.sync")));
  };
  crossed = cross_next_multiple(p.db, kPiecesEvery, p.request);
  p.db.engine().wait_for_snapshots();
  REQUIRE(done);
  // Another process touches run 1 (a deduped start), then the engine does.
  std::string answer =
      apply_in_another_process(p.db.dir(), json::serialize(start_cmd("other-process", "inventory.sync")) + "\n");
  CAPTURE(answer);
  REQUIRE(answer.find("\"ok\":true") != std::string::npos);
  CHECK(p.db.send(start_cmd("after", "inventory.sync")).at("ok").as_bool());
  // The run's touch chain names the other process's touch: the projections equal a rebuild.
  CHECK(cli_verify(p.db.dir()) == 0);
  CHECK(crossed > 0);
}

TEST_CASE("the sweep deletes exactly the pieces no manifest claims", "[snapshot][worker]") {
  TestDb db;
  auto& impl = db.engine().impl();
  lmdb::Txn txn(*impl.env, true);
  auto put = [&](const std::string& key, std::string_view value) { txn.put(impl.dbis.snapshots, key, value); };
  put(be64(10), snapshot_manifest(6, 2));  // claims pieces 0 and 1 of seq 10
  put(snapshot_piece_key(10, 0), "abc");
  put(snapshot_piece_key(10, 1), "def");
  put(snapshot_piece_key(10, 2), "beyond its count");
  put(be64(20), "a single value, not a manifest");
  put(snapshot_piece_key(20, 0), "left by a snapshot written again at 20");
  put(snapshot_piece_key(15, 0), "no row at 15, below the newest complete snapshot (20): abandoned");
  put(snapshot_piece_key(30, 0), "no row at 30, above it: perhaps being stored by another process");
  CHECK(drop_unfinished_pieces(txn, impl.dbis) == 3);
  std::string_view v;
  CHECK(txn.get(impl.dbis.snapshots, snapshot_piece_key(10, 0), v));
  CHECK(txn.get(impl.dbis.snapshots, snapshot_piece_key(10, 1), v));
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(10, 2), v));
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(15, 0), v));
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(20, 0), v));
  CHECK(txn.get(impl.dbis.snapshots, snapshot_piece_key(30, 0), v));
  // Once a snapshot completes above it, nobody will finish it.
  put(be64(40), "a single value at 40");
  CHECK(drop_unfinished_pieces(txn, impl.dbis) == 1);
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(30, 0), v));
  CHECK(drop_pieces_of(txn, impl.dbis, 10, 1) == 1);
  CHECK(txn.get(impl.dbis.snapshots, snapshot_piece_key(10, 0), v));
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(10, 1), v));
  // A manifest whose pieces do not add up to its total is a reason to skip it.
  std::string problem;
  CHECK_FALSE(load_snapshot(txn, impl.dbis, 10, problem));
  CHECK(problem.find("piece 1 of 2 is missing") != std::string::npos);
  put(snapshot_piece_key(10, 1), "defg");
  CHECK_FALSE(load_snapshot(txn, impl.dbis, 10, problem));
  CHECK(problem.find("its pieces hold 7 bytes, its manifest says 6") != std::string::npos);
}

TEST_CASE("retention: an automatic snapshot deletes all but the newest K in its own commit",
          "[snapshot][worker][retention]") {
  constexpr std::uint64_t kEvery = 4;
  Options o = every(kEvery);
  o.snapshots_kept = 2;
  TestDb db(o);
  seed_contoso(db);
  int request = 0;
  auto check_kept = [&](bool in_pieces) {
    std::vector<std::uint64_t> crossed;
    for (int i = 0; i < 4; ++i) {
      crossed.push_back(cross_next_multiple(db, kEvery, request));
      db.engine().wait_for_snapshots();
      auto s = snapshots_of(db.engine());
      CAPTURE(s.seqs, crossed);
      REQUIRE(!s.seqs.empty());
      CHECK(s.seqs.size() <= 2);
      CHECK(s.seqs.back() == crossed.back());
      if (i >= 1) CHECK(s.seqs == std::vector<std::uint64_t>{crossed[i - 1], crossed[i]});
    }
    // The pieces of deleted snapshots went with them: only the kept ones' remain.
    std::size_t expected_pieces = 0;
    {
      auto& impl = db.engine().impl();
      lmdb::Txn txn(*impl.env, false);
      for (std::uint64_t seq : snapshot_seqs(txn, impl.dbis)) {
        for (std::uint32_t i = 0;; ++i) {
          std::string_view part;
          if (!txn.get(impl.dbis.snapshots, snapshot_piece_key(seq, i), part)) break;
          ++expected_pieces;
        }
      }
    }
    CHECK(piece_rows(db.engine()) == expected_pieces);
    if (in_pieces) CHECK(expected_pieces > 0);
    for (std::uint64_t seq : snapshots_of(db.engine()).seqs) check_snapshot(db.engine(), seq);
  };
  SECTION("stored as one value") { check_kept(false); }
  SECTION("stored in pieces") {
    db.engine().wait_for_snapshots();
    db.engine().impl().snapshot_piece_bytes = 1024;  // the worker is idle
    check_kept(true);
  }
  // Another process checks every kept snapshot against its own replay.
  CHECK(cli_verify(db.dir()) == 0);
}

TEST_CASE("retention: prune_snapshots keeps the newest K, with their pieces, and nothing unfinished",
          "[snapshot][retention]") {
  TestDb db;
  auto& impl = db.engine().impl();
  lmdb::Txn txn(*impl.env, true);
  auto put = [&](const std::string& key, std::string_view value) { txn.put(impl.dbis.snapshots, key, value); };
  put(be64(10), "a single value");
  put(be64(20), snapshot_manifest(6, 2));
  put(snapshot_piece_key(20, 0), "abc");
  put(snapshot_piece_key(20, 1), "def");
  put(be64(30), "another single value");
  put(snapshot_piece_key(40, 0), "a snapshot being stored: no manifest yet");
  CHECK(prune_snapshots(txn, impl.dbis, 0).empty());  // 0 keeps all
  CHECK(prune_snapshots(txn, impl.dbis, 3).empty());
  CHECK(prune_snapshots(txn, impl.dbis, 1) == std::vector<std::uint64_t>{10, 20});
  CHECK(snapshot_seqs(txn, impl.dbis) == std::vector<std::uint64_t>{30});
  std::string_view v;
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(20, 0), v));
  CHECK_FALSE(txn.get(impl.dbis.snapshots, snapshot_piece_key(20, 1), v));
  CHECK(txn.get(impl.dbis.snapshots, snapshot_piece_key(40, 0), v));
}

TEST_CASE("retention: opsledger snapshot --keep and --prune-only", "[snapshot][retention][cli]") {
  TestDb db(every(3));
  seed_contoso(db);
  int request = 0;
  for (int i = 0; i < 3; ++i) {
    cross_next_multiple(db, 3, request);
    db.engine().wait_for_snapshots();
  }
  std::size_t before = snapshots_of(db.engine()).seqs.size();
  REQUIRE(before >= 3);
  std::uint64_t tail = db.engine().last_seq();
  // The engine stays open and idle; the tool runs as another process.
  auto seqs_of = [&] { return snapshots_of(db.engine()).seqs; };
  std::vector<std::uint64_t> all = seqs_of();
  // Bad arguments: usage errors, nothing deleted or written.
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--keep", "0"}) == 64);
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--keep", "two"}) == 64);
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--keep", "-1"}) == 64);
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--prune-only"}) == 64);
  CHECK(seqs_of() == all);
  // --prune-only deletes without writing.
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--keep", "2", "--prune-only"}) == 0);
  CHECK(seqs_of() == std::vector<std::uint64_t>(all.end() - 2, all.end()));
  // --keep 1 writes one at the tail (if none is there) and deletes the rest.
  CHECK(run_cli({"snapshot", "--db", db.dir(), "--keep", "1"}) == 0);
  CHECK(seqs_of() == std::vector<std::uint64_t>{tail});
  CHECK(cli_verify(db.dir()) == 0);
}

TEST_CASE("two processes taking automatic snapshots of one database in pieces leave only sound ones",
          "[snapshot][worker][processes]") {
  // Each process's snapshot thread stores its snapshots in 1 KiB pieces while the other
  // commits and stores its own: neither may sweep the other's pieces while they can still
  // be claimed, nor fail.
  TempDir dir;
  {
    std::unique_ptr<Engine> e;
    REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
    seed_contoso(*e);
  }
  const int kProcs = 2;
  auto statuses = run_in_processes(kProcs, [&](int p) {
    // The worker reports a failed snapshot on stderr: into a file the parent reads.
    std::string err_path = dir.path() + "/stderr-" + std::to_string(p);
    if (!std::freopen(err_path.c_str(), "w", stderr)) return 4;
    std::unique_ptr<Engine> e;
    if (!Engine::open(dir.path(), every(5), e).is_ok()) return 1;
    e->wait_for_snapshots();
    e->impl().snapshot_piece_bytes = 1024;  // the worker is idle
    int answered = 0;
    for (int i = 0; i < 80; ++i) {
      auto a = json::parse(e->execute(json::serialize(start_cmd("p" + std::to_string(p) + "-" + std::to_string(i)))));
      answered += a.as_object().at("ok").as_bool();
    }
    e->wait_for_snapshots();
    e.reset();
    std::fflush(stderr);
    return answered == 80 ? 0 : 2;
  });
  CHECK(statuses == std::vector<int>(kProcs, 0));
  for (int p = 0; p < kProcs; ++p) {
    std::ifstream in(dir.path() + "/stderr-" + std::to_string(p));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CAPTURE(p);
    CHECK(text.find("automatic snapshot failed") == std::string::npos);
  }
  // Every snapshot left is sound (verify checks each against its own replay), and no piece
  // is left that no manifest claims below the newest snapshot.
  CHECK(cli_verify(dir.path()) == 0);
  std::unique_ptr<Engine> e;
  REQUIRE(Engine::open(dir.path(), test_options(), e).is_ok());
  auto s = snapshots_of(*e);
  CHECK(s.seqs.size() >= 2);
  lmdb::Txn txn(*e->impl().env, true);
  CHECK(drop_unfinished_pieces(txn, e->impl().dbis) == 0);
}
