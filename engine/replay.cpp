#include "engine/replay.h"

#include "engine/batch_store.h"
#include "engine/decode_ahead.h"

#include "events/bytes.h"
#include "events/envelope.h"
#include "events/sha256.h"
#include "projections/apply.h"

namespace opsledger {

namespace {
// Called after each event of a scan: every lmdb::kReleasePagesEvery events, drops the
// mapped pages read so far from the resident set and reports progress.
void checkpoint(const lmdb::Txn& txn, std::uint64_t seq, std::uint64_t total, const Progress& progress) {
  if (seq % lmdb::kReleasePagesEvery != 0) return;
  lmdb::release_mapped_pages(mdb_txn_env(txn.get()));
  if (progress) progress(seq, total);
}

std::uint64_t total_events(const lmdb::Txn& txn, const Dbis& dbis) {
  MDB_stat st;
  mdb_stat(txn.get(), dbis.events, &st);
  return st.ms_entries;
}
}  // namespace

ChainCheck verify_chain(const lmdb::Txn& txn, const Dbis& dbis, const Progress& progress) {
  ChainCheck r;
  r.last_hash = std::string(kHashSize, '\0');
  std::uint64_t total = total_events(txn, dbis);
  lmdb::Cursor c(txn, dbis.events);
  std::uint64_t expect = 1;
  for (bool more = c.first(); more; more = c.next(), ++expect) {
    auto fail = [&](std::uint64_t seq, std::string problem) {
      r.ok = false;
      r.bad_seq = seq;
      r.problem = std::move(problem);
      return r;
    };
    if (c.key().size() != 8) return fail(expect, "malformed key");
    std::uint64_t seq = get_be64(c.key());
    if (seq != expect) return fail(expect, "event missing (next present is seq " + std::to_string(seq) + ")");
    EnvelopeView e;
    try {
      e = decode_envelope_view(c.value());
    } catch (const DecodeError& err) {
      return fail(seq, std::string("envelope does not decode: ") + err.what());
    }
    if (e.prev_hash != r.last_hash) return fail(seq, "prev_hash does not match the previous event's hash");
    if (!envelope_hash_ok(c.value())) return fail(seq, "hash does not match the envelope bytes");
    try {
      decode_payload(e.event_type, e.schema_version, e.payload);
    } catch (const DecodeError& err) {
      return fail(seq, std::string("payload does not decode: ") + err.what());
    }
    r.last_seq = seq;
    r.last_hash.assign(e.hash);
    checkpoint(txn, seq, total, progress);
  }
  if (progress) progress(r.last_seq, total);
  return r;
}

std::uint64_t replay_into(const lmdb::Txn& txn, const Dbis& dbis, Store& store, std::uint64_t from_seq,
                          std::uint64_t until_seq, const Progress& progress) {
  std::uint64_t total = total_events(txn, dbis);
  lmdb::Cursor c(txn, dbis.events);
  std::uint64_t last = from_seq;
  // Applies event `seq` by `apply`, naming the seq in a DecodeError, and checkpoints.
  auto step = [&](std::uint64_t seq, const auto& apply) {
    try {
      apply();
    } catch (const DecodeError& e) {
      throw DecodeError("seq " + std::to_string(seq) + ": " + e.what());
    }
    last = seq;
    checkpoint(txn, seq, total, progress);
  };
  // The range's last event as this transaction sees it; decoded ahead on a second thread
  // when it is long enough (engine/decode_ahead.h).
  std::uint64_t end = 0;
  std::string_view end_bytes;
  if (c.last() && c.key().size() == 8) {
    end = get_be64(c.key());
    end_bytes = c.value();
    if (until_seq && until_seq < end) {
      bool found = c.seek(be64(until_seq)) && c.key() == be64(until_seq);
      end = found ? until_seq : 0;
      end_bytes = found ? c.value() : std::string_view();
    }
  }
  if (end > from_seq) {
    DecodeAhead ahead(txn, dbis.events, from_seq, end, end_bytes);
    if (ahead.started()) {
      // The last applied seq is recorded where it is read: before a checkpoint that may
      // call `progress` (which may flush the store), and after each batch, so also when
      // this returns (projections/apply.h).
      while (auto* batch = ahead.next()) {
        for (const auto& d : *batch) {
          step(d.seq, [&] {
            apply_event_effects(store, meta_of(d.seq, d.envelope), d.event);
            if (&d == &batch->back() || d.seq % lmdb::kReleasePagesEvery == 0) record_applied_seq(store, d.seq);
          });
        }
      }
      if (progress) progress(last, total);
      return last;
    }
  }
  for (bool more = c.seek(be64(from_seq + 1)); more; more = c.next()) {
    std::uint64_t seq = get_be64(c.key());
    if (until_seq && seq > until_seq) break;
    // A gap would silently skip an event's effects: refuse it.
    if (seq != last + 1) throw DecodeError("seq " + std::to_string(last + 1) + ": event missing");
    step(seq, [&] { apply_envelope(store, seq, c.value()); });
  }
  if (progress) progress(last, total);
  return last;
}

std::uint64_t replay_into_lmdb(const lmdb::Txn& txn, const Dbis& dbis, LmdbStore& target, std::uint64_t from_seq,
                               std::uint64_t until_seq, const Progress& progress) {
  BatchStore batch(target);
  // The held rows are written every kReleasePagesEvery events, and the target's pages
  // read through its map (by those writes too) dropped then, as the log's are: a flush of
  // every held row at once would read thousands of the target's pages between two
  // releases (`opsledger rebuild`, where the target is the log's own environment, peaked
  // ~170 MiB higher).
  MDB_env* target_env = target.env();
  Progress release_target = [&](std::uint64_t done, std::uint64_t total) {
    batch.flush();
    lmdb::release_mapped_pages(target_env);
    if (progress) progress(done, total);
  };
  std::uint64_t last = replay_into(txn, dbis, batch, from_seq, until_seq, release_target);
  batch.flush();
  return last;
}

}  // namespace opsledger
