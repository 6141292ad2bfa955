#include "engine/audit.h"

#include <optional>

#include "engine/event_log.h"
#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/apply.h"

namespace opsledger {
namespace {

std::string seq_str(std::uint64_t seq) { return std::to_string(seq); }

// The first table whose contents differ between the two stores, or nullopt.
std::optional<Table> first_differing_table(const Store& a, const Store& b) {
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    MemoryStore x, y;
    a.scan(t, {}, [&](std::string_view k, std::string_view v) {
      x.table(t).put(k, v);
      return true;
    });
    b.scan(t, {}, [&](std::string_view k, std::string_view v) {
      y.table(t).put(k, v);
      return true;
    });
    if (!(x == y)) return t;
  }
  return std::nullopt;
}

}  // namespace

VerifyResult verify_database(lmdb::Txn& txn, const Dbis& dbis, const Progress& progress) {
  VerifyResult r;
  try {
    ChainCheck chain = verify_chain(txn, dbis, progress);
    r.events = chain.last_seq;
    if (!chain.ok) {
      r.verdict = "FAILED: seq " + seq_str(chain.bad_seq) + ": " + chain.problem;
      return r;
    }
    LmdbStore live(txn, dbis);
    std::uint64_t applied = last_applied_seq(live);
    if (applied != chain.last_seq) {
      r.verdict = "FAILED: seq " + seq_str(std::min(applied, chain.last_seq) + 1) +
                  ": the projections were applied up to seq " + seq_str(applied) + " but the log ends at seq " +
                  seq_str(chain.last_seq);
      return r;
    }
    // One replay from genesis, pausing at each snapshot's seq to compare digests.
    std::string first_bad_snapshot;
    MemoryStore rebuilt;
    std::uint64_t at = 0;
    for (std::uint64_t s : snapshot_seqs(txn, dbis)) {
      ++r.snapshots;
      std::string problem;
      auto snap = load_snapshot(txn, dbis, s, problem);
      if (snap) {
        at = replay_into(txn, dbis, rebuilt, at, s);
        if (state_digest(rebuilt) != snap->digest)
          problem = "its digest differs from a replay of the log to seq " + seq_str(s);
      }
      if (!problem.empty() && first_bad_snapshot.empty())
        first_bad_snapshot = "snapshot at seq " + seq_str(s) + ": " + problem;
    }
    replay_into(txn, dbis, rebuilt, at, chain.last_seq, progress);
    std::string live_digest = state_digest(live);
    r.digest_hex = to_hex(live_digest);
    if (live_digest != state_digest(rebuilt)) {
      auto t = first_differing_table(live, rebuilt);
      r.verdict = "FAILED: seq " + seq_str(chain.last_seq) + ": projection " +
                  std::string(t ? table_name(*t) : std::string_view("?")) + " differs from a rebuild of the log";
      return r;
    }
    if (!first_bad_snapshot.empty()) {
      r.verdict = "FAILED: " + first_bad_snapshot;
      return r;
    }
    r.ok = true;
    r.verdict = "OK: " + seq_str(chain.last_seq) + " events, chain intact, projections equal a rebuild (digest " +
                r.digest_hex + "), " + seq_str(r.snapshots) + " snapshot" + (r.snapshots == 1 ? "" : "s") +
                " consistent";
    return r;
  } catch (const std::exception& e) {
    r.ok = false;
    r.verdict = std::string("FAILED: ") + e.what();
    return r;
  }
}

ReplayResult replay_state(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t until_seq, bool use_snapshots,
                          const Warn& warn, const Progress& progress) {
  ReplayResult res;
  if (until_seq == 0) return res;
  if (use_snapshots) {
    if (auto snap = nearest_snapshot(txn, dbis, until_seq, warn)) {
      res.state = std::move(snap->state);
      res.snapshot_seq = snap->seq;
    }
  }
  res.seq = replay_into(txn, dbis, res.state, res.snapshot_seq, until_seq, progress);
  return res;
}

std::uint64_t seq_at_recorded_time(const lmdb::Txn& txn, const Dbis& dbis, TimeUs t) {
  auto recorded_at = [&](std::uint64_t seq) {
    auto bytes = read_event(txn, dbis.events, seq);
    if (!bytes) throw DecodeError("seq " + seq_str(seq) + ": event missing");
    return decode_envelope(*bytes).recorded_at_us;
  };
  // Invariant: recorded_at(lo) <= t (lo 0: before the log), recorded_at(hi + 1) > t.
  std::uint64_t lo = 0, hi = read_tail(txn, dbis.events).seq;
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (recorded_at(mid) <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

}  // namespace opsledger
