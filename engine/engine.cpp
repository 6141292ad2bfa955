// The engine: opening (and creating) a database, the batch executor, and group commit.
//
// A batch runs every command in one LMDB write transaction: each command sees the effects
// of the ones before it, a rejected command writes nothing, and the answers are released
// only after the single commit is durable. When the map fills, the batch is aborted, the
// map doubled, and the batch run again from the start; when the disk is full, every
// command of the batch answers storage_full and nothing is written.
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine/batch_store.h"
#include "engine/command_context.h"
#include "engine/dispatch.h"
#include "engine/engine_impl.h"
#include "engine/parse_ahead.h"
#include "engine/projection_layout.h"
#include "events/bytes.h"
#include "opsledger/engine.h"
#include "projections/apply.h"
#include "snapshots/snapshot.h"

namespace opsledger {
namespace fs = std::filesystem;

namespace {

std::string render(const Answer& a) { return a.render(); }

std::string error_line(std::string_view code, std::string_view message) {
  return render(Answer::error(code, message));
}

// LMDB reports a page write cut short by a full disk as EIO ("short write"), not ENOSPC.
// An EIO while the filesystem holding the database has almost no space left is taken
// for a full disk (docs/reliability.md).
constexpr unsigned long long kNearlyFullBytes = 1 << 20;
bool filesystem_nearly_full(const std::string& dir) {
  struct statvfs s;
  if (statvfs(dir.c_str(), &s) != 0) return false;
  unsigned long long blocks = geteuid() == 0 ? s.f_bfree : s.f_bavail;  // root may use the reserve
  return blocks * s.f_frsize < kNearlyFullBytes;
}

}  // namespace

std::vector<const ParsedLine*> pointers_to(const std::vector<ParsedLine>& lines) {
  std::vector<const ParsedLine*> out;
  out.reserve(lines.size());
  for (const auto& l : lines) out.push_back(&l);
  return out;
}

TimeUs Engine::Impl::now() const {
  if (options.clock) return options.clock();
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Options::snapshot_every_events: after a commit that crossed a multiple of N, the worker
// snapshots the committed state on its own thread. The batch's answers never depend on
// it: a failed snapshot is a warning on stderr and the next crossing tries again.
void Engine::Impl::maybe_snapshot(std::uint64_t first_seq, std::uint64_t last_seq) noexcept {
  std::uint64_t every = options.snapshot_every_events;
  if (every == 0 || last_seq / every == first_seq / every || !snapshots) return;
  snapshots->request();
}

namespace {

// The commit slot, taken by the snapshot worker ahead of the batches waiting for it (a busy
// engine would otherwise take it, and LMDB's write lock, back each time before the worker
// wakes): no batch and no read of this process runs while it is held. Given up (held()
// false) when `stop` is set meanwhile: the leader that pauses the worker holds the slot.
class SnapshotSlot {
 public:
  SnapshotSlot(Engine::Impl& impl, const std::atomic<bool>& stop) : impl_(impl) {
    std::unique_lock lk(impl_.mu);
    // Callers already waiting for the slot go first: between two of the worker's commits
    // (a snapshot's pieces) the batch (or read) already waiting gets it, where the worker
    // had taken it back before the woken caller ran.
    while (impl_.slot_waiters > 0 && !impl_.leader_active) {
      if (stop.load()) return;
      impl_.cv.wait_for(lk, std::chrono::milliseconds(1));
    }
    impl_.snapshot_wants_slot = true;
    while (impl_.leader_active) {
      if (stop.load()) {
        impl_.snapshot_wants_slot = false;
        impl_.cv.notify_all();
        return;
      }
      impl_.cv.wait_for(lk, std::chrono::milliseconds(10));
    }
    impl_.snapshot_wants_slot = false;
    impl_.leader_active = true;
    held_ = true;
  }
  ~SnapshotSlot() {
    if (!held_) return;
    std::lock_guard lk(impl_.mu);
    impl_.leader_active = false;
    impl_.cv.notify_all();
  }
  SnapshotSlot(const SnapshotSlot&) = delete;
  SnapshotSlot& operator=(const SnapshotSlot&) = delete;
  bool held() const { return held_; }

 private:
  Engine::Impl& impl_;
  bool held_ = false;
};

}  // namespace

bool Engine::Impl::take_snapshot(const std::atomic<bool>& stop) {
  if (!unstored_snapshot) {
    std::optional<EncodedSnapshot> e = encode_snapshot_of_committed(stop);
    if (!e) return false;
    unstored_snapshot = std::move(e);
    unstored_pieces = 0;
  }
  try {
    if (!store_unstored_snapshot(stop)) return false;  // kept for after the pause
  } catch (...) {
    // A failed store drops the value (its pieces, without a manifest, are swept by the
    // next snapshot stored in pieces): the next crossing encodes the state afresh.
    unstored_snapshot.reset();
    unstored_pieces = 0;
    throw;
  }
  unstored_snapshot.reset();
  return true;
}

bool Engine::Impl::store_unstored_snapshot(const std::atomic<bool>& stop) {
  // Stored holding the slot, so the map may be grown here. One encoded before a pause is
  // kept (with the pieces already stored) and stored after it: it is the state at its seq,
  // whatever was committed since. A value larger than a piece is stored in pieces, a
  // commit each, so that batches run between them (snapshots/snapshot.h, format 2); the
  // manifest comes last, and only once every piece is found in place. Another writer may
  // complete a snapshot at this seq (the same state) or a later one meanwhile, and its sweep
  // takes pieces below a later one: this one is then superseded and given up at its next
  // commit (superseded_pieces), not written again. Pieces found missing otherwise (removed
  // by hand, say) are written again. Two writers storing the same seq at once put the same
  // bytes under the same keys: whichever checks first writes the manifest.
  const EncodedSnapshot& e = *unstored_snapshot;
  std::uint64_t seq = e.written.seq;
  std::size_t piece = std::max<std::size_t>(snapshot_piece_bytes, 1);
  // Older snapshots beyond options.snapshots_kept go in the commit that makes this one
  // seen: never a moment with fewer than K.
  if (e.bytes.size() <= piece)
    return commit_for_snapshot(stop, [&](lmdb::Txn& txn) {
      put_snapshot(txn, dbis, e);
      prune_snapshots(txn, dbis, options.snapshots_kept);
      return true;
    });
  std::size_t count = (e.bytes.size() + piece - 1) / piece;
  if (count > std::numeric_limits<std::uint32_t>::max()) throw std::runtime_error("a snapshot of too many pieces");
  auto pieces = static_cast<std::uint32_t>(count);
  auto bytes_of = [&](std::uint32_t i) { return std::string_view(e.bytes).substr(std::size_t{i} * piece, piece); };
  constexpr int kAttemptsMax = 3;
  bool superseded = false;
  for (int attempt = 0;; ++attempt) {
    for (std::uint32_t i = unstored_pieces; i < pieces; ++i) {
      bool stored = commit_for_snapshot(stop, [&](lmdb::Txn& txn) {
        std::size_t deleted = 0;
        superseded = superseded_pieces(txn, dbis, seq, deleted);
        if (superseded) return deleted > 0;
        txn.put(dbis.snapshots, snapshot_piece_key(seq, i), bytes_of(i));
        return true;
      });
      if (!stored) return false;
      if (superseded) return true;
      unstored_pieces = i + 1;
      if (snapshot_piece_stored) snapshot_piece_stored(i);
    }
    bool complete = true;
    bool committed = commit_for_snapshot(stop, [&](lmdb::Txn& txn) {
      std::size_t deleted = 0;
      superseded = superseded_pieces(txn, dbis, seq, deleted);
      if (superseded) return deleted > 0;
      for (std::uint32_t i = 0; i < pieces && complete; ++i) {
        std::string_view stored;
        // Sizes only: comparing every byte would read the whole value under the slot, and
        // the value's checksum is checked whenever it is loaded.
        complete = txn.get(dbis.snapshots, snapshot_piece_key(seq, i), stored) && stored.size() == bytes_of(i).size();
      }
      if (!complete) return false;
      drop_pieces_of(txn, dbis, seq, pieces);  // beyond its count: an earlier attempt's, cut smaller
      txn.put(dbis.snapshots, be64(seq), snapshot_manifest(e.bytes.size(), pieces));
      drop_unfinished_pieces(txn, dbis);
      prune_snapshots(txn, dbis, options.snapshots_kept);
      return true;
    });
    if (!committed) return false;
    if (complete || superseded) return true;
    if (attempt + 1 >= kAttemptsMax) throw std::runtime_error("its pieces keep being removed while it is stored");
    unstored_pieces = 0;
  }
}

bool Engine::Impl::commit_for_snapshot(const std::atomic<bool>& stop, const std::function<bool(lmdb::Txn&)>& write) {
  SnapshotSlot slot(*this, stop);
  if (!slot.held()) return false;
  if (!env) throw std::runtime_error("the environment is closed after a failure; the next batch reopens it");
  constexpr int kGrowAttemptsMax = 16;
  for (int attempt = 0;; ++attempt) {
    try {
      lmdb::Txn txn(*env, true);
      std::size_t txn_id = txn.id();
      if (!write(txn)) {
        // Not committed: an empty commit takes no transaction id, so the id after it would
        // be the next writer's — another process's commit, which the held rows have not
        // seen, would then look like the engine's own next batch.
        txn.abort();
        return true;
      }
      txn.commit();
      // The snapshot's commit changed no row the batch store holds: when it came right
      // after the engine's last batch, the held rows are still the database's.
      std::lock_guard held(held_rows_mu);
      if (held_rows_txn == txn_id) held_rows_txn = txn_id + 1;
      return true;
    } catch (const lmdb::LmdbError& err) {
      if (!err.map_full() || attempt >= kGrowAttemptsMax) throw;
    }
    env->reader_check();
    if (!map_may_double())
      throw std::runtime_error("the snapshot does not fit under the map's maximum size");
    env->grow();
  }
}

std::optional<EncodedSnapshot> Engine::Impl::encode_snapshot_of_committed(const std::atomic<bool>& stop) {
  std::optional<lmdb::Txn> read;
  {
    // Begun holding the slot: beginning a transaction may adopt the map size another
    // process set, a remap that no transaction of this process may outlive. Afterwards
    // the worker reads without it; a remap by another thread pauses it first.
    SnapshotSlot slot(*this, stop);
    if (!slot.held()) return std::nullopt;
    if (!env) throw std::runtime_error("the environment is closed after a failure; the next batch reopens it");
    read.emplace(*env, false);
  }
  if (snapshot_read_begun) snapshot_read_begun(stop);
  try {
    return encode_committed(*read, dbis, &stop);
  } catch (const SnapshotCancelled&) {
    return std::nullopt;
  }
}

bool Engine::Impl::map_may_double() const {
  return options.max_map_size_bytes == 0 || env->map_size() * 2 <= options.max_map_size_bytes;
}

std::optional<SnapshotWorker::Pause> Engine::Impl::pause_snapshots() {
  if (!snapshots || snapshots->on_worker_thread()) return std::nullopt;
  return snapshots->pause();
}

void Engine::Impl::install_remap_guard() {
  env->set_remap_guard([this](const std::function<void()>& remap) {
    auto paused = pause_snapshots();
    remap();
  });
}

// LMDB marks an environment failed when a meta page write fails (MDB_PANIC on every later
// transaction of this process). Closing and opening it again reads the last committed
// state from the file. Only by the batch leader, with no transaction of this process open
// (the snapshot worker's included: it is paused).
void Engine::Impl::reopen_environment() {
  auto paused = pause_snapshots();
  env.reset();
  lmdb::Env::Options eo;
  eo.map_size_bytes = options.initial_map_size_bytes;
  eo.nosync = options.durability == Durability::nosync;
  env = std::make_unique<lmdb::Env>(dir, eo);
  install_remap_guard();
  lmdb::Txn txn(*env, false);
  dbis = open_dbis(txn, false);
  txn.commit();  // keeps the database handles for the environment
}

std::vector<std::string> Engine::Impl::run_batch(std::span<const std::string_view> commands) {
  ParseAhead parsed(commands);
  return run_parsed_batch(parsed.size(), [&](std::size_t i) -> const ParsedLine& { return parsed.at(i); });
}

std::vector<std::string> Engine::Impl::run_parsed_batch(std::span<const ParsedLine* const> commands) {
  return run_parsed_batch(commands.size(), [&](std::size_t i) -> const ParsedLine& { return *commands[i]; });
}

std::vector<std::string> Engine::Impl::run_parsed_batch(std::size_t count, const LineAt& line) {
  std::vector<std::string> answers(count);
  std::vector<bool> faulted(count, false);
  bool reopened = false;
  bool snapshot_paused = false;
  for (;;) {
    bool restart = false;
    try {
      if (!env) reopen_environment();  // a reopen that failed before
      std::lock_guard held_lock(held_rows_mu);
      lmdb::Txn txn(*env, true);
      LogAppender log(txn, dbis.events);
      LmdbStore lmdb_store(txn, dbis);
      BatchStore& store = held_rows;
      // Another write transaction came between (another process's, a snapshot's, an
      // attempt that failed): the rows held may no longer be the database's.
      if (held_rows_txn != txn.id() || store.held_rows() >= BatchStore::kHeldRowsMax) store.forget();
      held_rows_txn = 0;
      store.rebind(lmdb_store);
      std::uint64_t first_seq = log.tail().seq;
      for (std::size_t i = 0; i < count; ++i) {
        if (faulted[i]) continue;
        const ParsedLine& parsed = line(i);  // outside the try: a parse failure fails the batch
        CommandContext ctx(store, txn, dbis, log, now());
        try {
          Answer a = execute_parsed(ctx, parsed);
          if (options.durability == Durability::nosync) a.mark_nosync();
          answers[i] = std::move(a).render();
        } catch (const std::exception& e) {
          // A storage failure fails the batch. Anything else — a bug, a corrupt projection,
          // a key LMDB cannot store — is this command's fault: drop it and run the batch
          // again without it, so nothing of it is half-applied and the others still run.
          auto* storage = dynamic_cast<const lmdb::LmdbError*>(&e);
          if (storage && storage->code() != MDB_BAD_VALSIZE) throw;
          faulted[i] = true;
          answers[i] = error_line("internal_error", e.what());
          restart = true;
          break;
        }
      }
      if (restart) continue;
      std::uint64_t last_seq = log.tail().seq;
      std::size_t txn_id = txn.id();
      if (last_seq > first_seq) {
        store.flush();
        txn.commit();
        held_rows_txn = txn_id + 1;
      } else {
        txn.abort();
        // Nothing was appended, so nothing held was changed; forget them if it was.
        if (store.dirty())
          store.forget();
        else
          held_rows_txn = txn_id;
      }
      maybe_snapshot(first_seq, last_seq);
      return answers;
    } catch (const lmdb::LmdbError& e) {
      if (e.map_full()) {
        // Pages a dead process's reader still pins cannot be reused: clear such readers
        // before growing (a reader left by a crashed `verify` would otherwise make the
        // map grow for as long as this engine runs).
        if (env->reader_check() > 0) continue;
        if (map_may_double()) {
          env->grow();
          continue;
        }
      }
      if (e.code() == MDB_PANIC && !reopened) {
        // Nothing of this batch was committed: run it again on the reopened environment.
        reopened = true;
        reopen_environment();
        continue;
      }
      bool full = e.map_full() || e.disk_full() || (e.code() == EIO && filesystem_nearly_full(dir));
      if (full && !snapshot_paused && snapshots) {
        // A snapshot's read transaction keeps LMDB from reusing the pages freed since it
        // began: make it give up (it is taken again after) and try once more before
        // answering storage_full.
        snapshot_paused = true;
        auto paused = pause_snapshots();
        continue;
      }
      std::string code = full ? "storage_full" : "io_error";
      for (auto& a : answers) a = error_line(code, e.what());
      return answers;
    }
  }
}

std::string Engine::Impl::execute(std::string_view command) {
  Pending self{parse_line(command), {}, false};
  std::unique_lock lk(mu);
  queue.push_back(&self);
  while (!self.done) {
    if (leader_active || snapshot_wants_slot) {
      ++slot_waiters;
      cv.wait(lk);
      --slot_waiters;
      continue;
    }
    leader_active = true;
    std::vector<Pending*> batch;
    while (!queue.empty() && batch.size() < batch_commands_max) {
      batch.push_back(queue.front());
      queue.pop_front();
    }
    lk.unlock();
    std::vector<const ParsedLine*> lines;
    lines.reserve(batch.size());
    for (auto* p : batch) lines.push_back(&p->command);
    std::vector<std::string> answers;
    try {
      answers = run_parsed_batch(lines);
    } catch (const std::exception& e) {
      answers.assign(batch.size(), error_line("io_error", e.what()));
    }
    lk.lock();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->answer = std::move(answers[i]);
      batch[i]->done = true;
    }
    leader_active = false;
    cv.notify_all();
  }
  return std::move(self.answer);
}

Status open_environment(const std::string& dir, const Options& options, Engine::Impl& impl) {
  if (dir.empty()) return Status::invalid_argument("empty database directory");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir + ": " + ec.message());
  if (!fs::is_directory(dir, ec)) return Status::io_error(dir + " is not a directory");
  impl.dir = dir;
  impl.options = options;
  try {
    lmdb::Env::Options eo;
    eo.map_size_bytes = options.initial_map_size_bytes;
    eo.nosync = options.durability == Durability::nosync;
    impl.env = std::make_unique<lmdb::Env>(dir, eo);
    impl.install_remap_guard();
    for (;;) {
      try {
        {
          // Committed on their own: LMDB shares handles with other transactions only then,
          // and an upgrade's replay reads the log on a thread of its own (engine/decode_ahead.h).
          lmdb::Txn txn(*impl.env, true);
          impl.dbis = open_dbis(txn, true);
          txn.commit();
        }
        lmdb::Txn txn(*impl.env, true);
        unsigned layout = projection_layout(txn);
        if (layout > kProjectionLayout) return Status::corrupt(newer_layout_refusal(layout));
        if (layout != kProjectionLayout) upgrade_projections(txn, impl.dbis);
        LogAppender log(txn, impl.dbis.events);
        if (log.tail().seq == 0) {
          CommandContext ctx(txn, impl.dbis, log, impl.now());
          seed_database(ctx);
        }
        txn.commit();
        return Status::ok();
      } catch (const lmdb::LmdbError& e) {
        if (!e.map_full()) throw;
        impl.env->grow();
      }
    }
  } catch (const lmdb::LmdbError& e) {
    if (e.disk_full()) return Status::storage_full(e.what());
    return Status::io_error(e.what());
  } catch (const DecodeError& e) {
    return Status::corrupt(std::string("cannot read the database: ") + e.what());
  } catch (const std::exception& e) {
    return Status::io_error(e.what());
  }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

namespace {

// A snapshot is due when a multiple of N lies after the newest snapshot and at or before
// the log's tail: its crossing's snapshot was never written (the engine closed, or crashed,
// while writing it; or it failed).
bool snapshot_due(Engine::Impl& impl) {
  std::uint64_t every = impl.options.snapshot_every_events;
  lmdb::Txn txn(*impl.env, false);
  std::uint64_t tail = read_tail(txn, impl.dbis.events).seq;
  std::vector<std::uint64_t> seqs = snapshot_seqs(txn, impl.dbis);
  std::uint64_t newest = seqs.empty() ? 0 : seqs.back();
  return tail / every > newest / every;
}

}  // namespace

Status Engine::open(const std::string& dir, const Options& options, std::unique_ptr<Engine>& out) {
  auto impl = std::make_unique<Impl>();
  Status s = open_environment(dir, options, *impl);
  if (!s) return s;
  if (options.snapshot_every_events > 0) {
    bool due = false;
    try {
      due = snapshot_due(*impl);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "opsledger: cannot tell whether a snapshot is due: %s\n", e.what());
    }
    Impl* p = impl.get();
    try {
      impl->snapshots =
          std::make_unique<SnapshotWorker>([p](const std::atomic<bool>& stop) { return p->take_snapshot(stop); });
    } catch (const std::exception& e) {
      return Status::io_error(std::string("cannot start the snapshot thread: ") + e.what());
    }
    if (due) impl->snapshots->request();
  }
  out.reset(new Engine(std::move(impl)));
  return Status::ok();
}

void Engine::wait_for_snapshots() {
  if (impl_->snapshots) impl_->snapshots->wait_idle();
}

std::string Engine::execute(std::string_view command_json) {
  try {
    return impl_->execute(command_json);
  } catch (const std::exception& e) {
    return error_line("io_error", e.what());
  }
}

std::vector<std::string> Engine::execute_batch(std::span<const std::string_view> commands) {
  try {
    // Parsing starts before the commit slot is ours (other batches commit meanwhile) and
    // goes on while the batch runs.
    ParseAhead parsed(commands);
    CommitSlot slot(*impl_);  // a batch is a group of its own
    return impl_->run_parsed_batch(parsed.size(), [&](std::size_t i) -> const ParsedLine& { return parsed.at(i); });
  } catch (const std::exception& e) {
    return std::vector<std::string>(commands.size(), error_line("io_error", e.what()));
  }
}

std::uint64_t Engine::last_seq() const {
  try {
    // Holding the commit slot: no batch runs, so the map is not grown and the environment
    // is not reopened under this read.
    CommitSlot slot(*impl_);
    if (!impl_->env) return 0;
    lmdb::Txn txn(*impl_->env, false);
    return read_tail(txn, impl_->dbis.events).seq;
  } catch (const std::exception&) {
    return 0;
  }
}

const std::string& Engine::directory() const { return impl_->dir; }

}  // namespace opsledger
