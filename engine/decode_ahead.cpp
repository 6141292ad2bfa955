#include "engine/decode_ahead.h"

#include <atomic>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "events/bytes.h"

namespace opsledger {

namespace {
std::atomic<std::uint64_t> g_threads_started{0};
}

std::uint64_t DecodeAhead::threads_started() { return g_threads_started.load(); }

DecodeAhead::DecodeAhead(const lmdb::Txn& caller, MDB_dbi events, std::uint64_t from_seq, std::uint64_t last_seq,
                         std::string_view last_bytes)
    : from_seq_(from_seq), last_seq_(last_seq) {
  if (last_seq <= from_seq || last_seq - from_seq < kThreadFrom) return;
  MDB_env* env = mdb_txn_env(caller.get());
  try {
    worker_ = std::thread([this, env, events, last_bytes] { run(env, events, last_bytes); });
  } catch (const std::system_error&) {
    return;  // no thread to be had: the caller decodes
  }
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return checked_; });
  if (!started_) {
    lk.unlock();
    worker_.join();
    return;
  }
  g_threads_started.fetch_add(1);
}

DecodeAhead::~DecodeAhead() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void DecodeAhead::run(MDB_env* env, MDB_dbi events, std::string_view last_bytes) noexcept {
  std::optional<lmdb::Txn> txn = lmdb::Txn::try_read(env);
  bool same = false;
  try {
    unsigned flags = 0;
    std::string_view v;
    same = txn && mdb_dbi_flags(txn->get(), events, &flags) == MDB_SUCCESS && txn->get(events, be64(last_seq_), v) &&
           v == last_bytes;
  } catch (...) {
    same = false;  // (bad_alloc) the caller decodes
  }
  {
    std::lock_guard lk(mu_);
    started_ = same;
    checked_ = true;
  }
  cv_.notify_all();
  if (!same) return;
  try {
    decode_all(*txn, events);
  } catch (...) {
    std::lock_guard lk(mu_);
    failure_ = std::current_exception();
  }
  std::unique_lock lk(mu_);
  done_ = true;
  cv_.notify_all();
  // The events handed over view this transaction's pages: it ends when the taker is gone.
  cv_.wait(lk, [&] { return stop_; });
}

void DecodeAhead::decode_all(const lmdb::Txn& txn, MDB_dbi events) {
  // An applied batch comes back with its events: they are decoded over (their strings'
  // and vectors' memory reused, events/events.h's decode_payload_into), not freed here and
  // allocated again, which was a fifth of this thread's time.
  auto fresh = [&] {
    std::vector<Decoded> batch;
    {
      std::lock_guard lk(mu_);
      if (!spare_.empty()) {
        batch = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    batch.reserve(kBatch);
    return batch;
  };
  std::vector<Decoded> batch = fresh();
  std::size_t filled = 0;  // batch[0, filled) hold this batch's events; the rest, old ones
  auto hand_over_filled = [&] {
    batch.resize(filled);  // (only the last batch, or one cut short by a failure, is not full)
    filled = 0;
    return hand_over(std::move(batch));
  };
  lmdb::Cursor c(txn, events);
  std::uint64_t expect = from_seq_ + 1;
  try {
    for (bool more = c.seek(be64(expect)); more && expect <= last_seq_; more = c.next(), ++expect) {
      std::uint64_t seq = get_be64(c.key());
      // A gap would silently skip an event's effects: refuse it.
      if (seq != expect) throw DecodeError("seq " + std::to_string(expect) + ": event missing");
      if (filled == batch.size()) batch.emplace_back();
      Decoded& d = batch[filled];
      d.seq = seq;
      try {
        d.envelope = decode_envelope_view(c.value());
        decode_payload_into(d.envelope.event_type, d.envelope.schema_version, d.envelope.payload, d.event);
      } catch (const DecodeError& e) {
        throw DecodeError("seq " + std::to_string(seq) + ": " + e.what());
      }
      if (++filled == kBatch) {
        if (!hand_over_filled()) return;
        batch = fresh();
      }
    }
  } catch (...) {
    // Every event before the one that failed is applied first, as by a replay on one thread.
    if (filled > 0) hand_over_filled();
    throw;
  }
  if (filled > 0) hand_over_filled();
}

bool DecodeAhead::hand_over(std::vector<Decoded>&& batch) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return stop_ || ready_.size() < kBatchesAhead; });
  if (stop_) return false;
  ready_.push_back(std::move(batch));
  lk.unlock();
  cv_.notify_all();
  return true;
}

std::vector<DecodeAhead::Decoded>* DecodeAhead::next() {
  std::unique_lock lk(mu_);
  if (current_.capacity() != 0) spare_.push_back(std::move(current_));
  current_ = {};
  cv_.wait(lk, [&] { return !ready_.empty() || done_; });
  if (!ready_.empty()) {
    current_ = std::move(ready_.front());
    ready_.pop_front();
    lk.unlock();
    cv_.notify_all();
    return &current_;
  }
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  return nullptr;
}

}  // namespace opsledger
