// Reading and decoding the log on a second thread while a replay applies it.
//
// A replay spends about a third of its time reading events out of LMDB and decoding them
// (envelope and payload), which needs no state: a DecodeAhead does that on a thread of its
// own, with a read transaction of its own, and hands the decoded events over in batches
// while the replaying thread applies the batch before. Events are still applied one at a
// time, in order, by one thread, so the state is the same.
//
// Its read transaction sees the last committed log, which is the caller's log only when
// the caller's transaction has appended nothing uncommitted: the constructor checks that
// the event at the range's end has the same bytes in both (the chain hashes make equal
// last events mean equal logs) and otherwise does not start (started() is false; the
// caller decodes on its own thread). Comparing only the last event suffices because no
// caller rewrites an event: the log is append-only (LogAppender), and a transaction that
// appended has a last event the committed log lacks. Nor does it start when the `events`
// handle was opened by a transaction that has not committed: LMDB shares a handle with
// other transactions only after that (the worker asks mdb_dbi_flags first).
//
// Its read transaction is one more in the process: like the caller's, it must not be open
// while the map is resized (lmdb::Env::grow), so the callers are replays that run with no
// writer growing the map in their process (the tools, an engine's open, the benchmarks).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/lmdb.h"
#include "events/envelope.h"
#include "events/events.h"

namespace opsledger {

class DecodeAhead {
 public:
  // Below this many events a thread costs more than it saves.
  static constexpr std::uint64_t kThreadFrom = 8192;
  // Events handed over at once (the last batch, or one cut short by a failure, may hold
  // fewer).
  static constexpr std::size_t kBatch = 1024;

  struct Decoded {
    std::uint64_t seq = 0;
    EnvelopeView envelope;  // views into this object's read transaction: valid while it lives
    Event event;
  };

  // Decodes events (from_seq, last_seq] of `events` as read by `caller` (whose event at
  // last_seq, `last_bytes`, must stay readable while this object lives). Starts no thread
  // when the range is shorter than kThreadFrom, a thread or a read transaction cannot be
  // had, or the committed log differs from the caller's.
  DecodeAhead(const lmdb::Txn& caller, MDB_dbi events, std::uint64_t from_seq, std::uint64_t last_seq,
              std::string_view last_bytes);
  // Stops the thread (at its next event) and joins it.
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  bool started() const { return started_; }
  // How many DecodeAheads of this process have started their thread (tests, diagnostics).
  static std::uint64_t threads_started();

  // The next batch of decoded events, in seq order, or nullptr after the last. Valid until
  // the next call. Throws what decoding threw (a DecodeError naming the seq) after handing
  // over every event before that seq.
  std::vector<Decoded>* next();

 private:
  static constexpr std::size_t kBatchesAhead = 4;

  void run(MDB_env* env, MDB_dbi events, std::string_view last_bytes) noexcept;
  void decode_all(const lmdb::Txn& txn, MDB_dbi events);
  // Hands a filled batch over (waits while kBatchesAhead are waiting); false when stopped.
  bool hand_over(std::vector<Decoded>&& batch);

  std::uint64_t from_seq_, last_seq_;
  bool started_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool checked_ = false;  // the thread has compared the logs (started_ set)
  bool done_ = false;     // the thread has handed over its last batch (or failed)
  bool stop_ = false;     // the taker is gone: stop decoding and end the transaction
  std::deque<std::vector<Decoded>> ready_;
  std::vector<std::vector<Decoded>> spare_;  // applied batches, for reuse
  std::exception_ptr failure_;
  std::vector<Decoded> current_;  // the batch last returned by next()
  std::thread worker_;
};

}  // namespace opsledger
