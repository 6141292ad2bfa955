// Engine internals shared with the command-line tools (verify, replay, snapshot …): the
// LMDB environment, its databases, and the batch executor with group commit.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/batch_store.h"
#include "engine/dispatch.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/snapshot_worker.h"
#include "events/domain.h"
#include "opsledger/engine.h"
#include "snapshots/snapshot.h"

namespace opsledger {

struct Engine::Impl {
  std::string dir;
  Options options;
  std::unique_ptr<lmdb::Env> env;
  Dbis dbis;

  // Group commit: callers queue; one of them (the leader) runs the queue as one batch.
  struct Pending {
    ParsedLine command;  // parsed by its caller's thread, before it queues
    std::string answer;
    bool done = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending*> queue;
  bool leader_active = false;
  // The snapshot thread waits for the commit slot to store a snapshot: no new batch starts
  // until it has had it (a busy engine would otherwise take the slot, and LMDB's write
  // lock, back each time before that thread wakes).
  bool snapshot_wants_slot = false;
  // Callers waiting for the slot (in execute or CommitSlot); the snapshot thread lets them
  // go first.
  std::size_t slot_waiters = 0;
  std::size_t batch_commands_max = 4096;

  // The hot rows, kept warm from one batch to the next (engine/batch_store.h). They match
  // the database only when the next write transaction's id is `held_rows_txn`: the id
  // right after the batch that last committed them (or that batch's own id when it wrote
  // nothing and was aborted). 0 while a batch runs, so that an attempt that fails halfway
  // leaves them forgotten.
  std::mutex held_rows_mu;
  BatchStore held_rows;
  std::size_t held_rows_txn = 0;

  TimeUs now() const;
  // Runs the commands in one write transaction and one commit (growing the map and
  // retrying when it fills); returns one answer per command.
  std::vector<std::string> run_batch(std::span<const std::string_view> commands);
  // The same for lines parsed beforehand, perhaps on another thread: line(i) gives the
  // i-th of `count`, waiting for it when it is still being parsed (engine/parse_ahead.h).
  using LineAt = std::function<const ParsedLine&(std::size_t)>;
  std::vector<std::string> run_parsed_batch(std::size_t count, const LineAt& line);
  std::vector<std::string> run_parsed_batch(std::span<const ParsedLine* const> commands);
  std::string execute(std::string_view command);
  // Whether doubling the map stays within options.max_map_size_bytes (Env::grow doubles).
  bool map_may_double() const;
  // After MDB_PANIC (a failed meta page write): close and open the environment again.
  void reopen_environment();
  // Asks for an automatic snapshot when [first_seq, last_seq] crossed a multiple of
  // options.snapshot_every_events (engine/engine.cpp).
  void maybe_snapshot(std::uint64_t first_seq, std::uint64_t last_seq) noexcept;
  // The snapshot worker's task: reads and encodes the committed state, then stores it
  // holding the commit slot (growing the map when it is full). False when `stop` made it
  // give up.
  bool take_snapshot(const std::atomic<bool>& stop);
  // Its first half: the committed state read (in a read transaction begun holding the
  // commit slot) and encoded; nullopt when `stop` made it give up.
  std::optional<EncodedSnapshot> encode_snapshot_of_committed(const std::atomic<bool>& stop);
  // Stores unstored_snapshot (take_snapshot's second half); false when `stop` made it give up.
  bool store_unstored_snapshot(const std::atomic<bool>& stop);
  // For tests: called on the worker's thread after each piece of a snapshot is committed.
  // Set it only while the worker is idle.
  std::function<void(std::uint32_t piece)> snapshot_piece_stored;
  // One write transaction of the snapshot worker, holding the commit slot (growing the map
  // when it fills); false when `stop` made it give up before it had the slot. `write`
  // returns whether it changed anything: a transaction that did not is aborted, since LMDB
  // commits nothing for it and gives its id to the next writer's commit.
  bool commit_for_snapshot(const std::atomic<bool>& stop, const std::function<bool(lmdb::Txn&)>& write);
  // Encoded but not stored yet (and how many of its pieces are) when a pause made the
  // worker give up. The worker's only.
  std::optional<EncodedSnapshot> unstored_snapshot;
  std::uint32_t unstored_pieces = 0;
  // A snapshot larger than this is stored in pieces of this size, a commit each.
  std::size_t snapshot_piece_bytes = kSnapshotPieceBytes;
  // Holds the snapshot worker off (and makes a snapshot in progress give up) while the
  // map grows or the environment is reopened; nullopt without automatic snapshots.
  std::optional<SnapshotWorker::Pause> pause_snapshots();
  // Makes every remap of env's map (growing it, adopting another process's size) pause the
  // snapshot worker first, unless the worker remaps itself (it then holds the commit slot).
  void install_remap_guard();
  // For tests: called on the worker's thread once a snapshot's read transaction has begun.
  // Set it only while the worker is idle (after Engine::wait_for_snapshots).
  std::function<void(const std::atomic<bool>& stop)> snapshot_read_begun;

  // Writes the automatic snapshots; null without them. Last: it is stopped and joined
  // before anything it uses is destroyed.
  std::unique_ptr<SnapshotWorker> snapshots;
};

// Holds the engine's commit slot (the group-commit leader role) for its lifetime: no
// batch runs meanwhile, so the map is never grown under a read transaction of this
// process. Used by whole batches and by reads outside a batch.
class CommitSlot {
 public:
  explicit CommitSlot(Engine::Impl& impl) : impl_(impl) {
    std::unique_lock lk(impl_.mu);
    ++impl_.slot_waiters;
    impl_.cv.wait(lk, [&] { return !impl_.leader_active && !impl_.snapshot_wants_slot; });
    --impl_.slot_waiters;
    impl_.leader_active = true;
  }
  ~CommitSlot() {
    std::lock_guard lk(impl_.mu);
    impl_.leader_active = false;
    impl_.cv.notify_all();
  }
  CommitSlot(const CommitSlot&) = delete;
  CommitSlot& operator=(const CommitSlot&) = delete;

 private:
  Engine::Impl& impl_;
};

std::vector<const ParsedLine*> pointers_to(const std::vector<ParsedLine>& lines);

// Creates the database in `dir` when it has none (seeding catalog, registry and scopes).
Status open_environment(const std::string& dir, const Options& options, Engine::Impl& impl);

// The events written at creation: the operation catalog, the resource type registry and
// the default supported scopes (engine/seed.cpp).
void seed_database(class CommandContext& ctx);

}  // namespace opsledger
