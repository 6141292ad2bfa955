// Replay with the events decoded ahead on a second thread (engine/decode_ahead.h): the same
// state as decoding on the replaying thread, the same errors at the same seq, and no second
// thread where the committed log is not the caller's or its database handles are not shared.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/decode_ahead.h"
#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "projections/memory_store.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

constexpr std::uint64_t kEvents = DecodeAhead::kThreadFrom + 4000;

// A closed database in `dir` of at least kEvents events: starts over a few identities
// (accepted, then deduped onto the active run) and the runs' lifecycles now and then.
std::uint64_t fill(const std::string& dir, std::uint64_t events = kEvents) {
  std::unique_ptr<Engine> engine;
  REQUIRE(Engine::open(dir, test_options(), engine));
  seed_contoso(*engine);
  std::vector<std::string> lines;
  for (std::uint64_t i = 0; i < events; ++i) {
    auto type = i % 3 == 0 ? "inventory.sync" : "directory_groups.sync";
    lines.push_back(json::serialize(start_cmd("r" + std::to_string(i), type)));
  }
  for (std::size_t at = 0; at < lines.size(); at += 1000) {
    std::vector<std::string_view> batch(lines.begin() + static_cast<std::ptrdiff_t>(at),
                                        lines.begin() + static_cast<std::ptrdiff_t>(std::min(at + 1000, lines.size())));
    for (const auto& a : engine->execute_batch(batch)) REQUIRE(json::parse(a).at("ok").as_bool());
  }
  std::uint64_t last = engine->last_seq();
  REQUIRE(last >= events);
  return last;
}

// A closed database of at least kEvents events, and an environment on it.
struct FilledLog {
  TempDir dir;
  std::uint64_t last = fill(dir.path());
  lmdb::Env env{dir.path(), lmdb::Env::Options{}};
};

// The state at `until` replayed in steps too short for a second thread.
std::string stepwise_digest(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t until) {
  MemoryStore s;
  std::uint64_t at = 0;
  while (at < until) at = replay_into(txn, dbis, s, at, std::min(until, at + DecodeAhead::kThreadFrom - 1));
  return state_digest(s);
}

// The database handles, opened in a transaction that commits: only then may another
// transaction (the decoding thread's) use them.
Dbis shared_dbis(lmdb::Env& env) {
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  txn.commit();
  return dbis;
}

// A store that fails (as a corrupt projection does) when it has taken `fail_at` puts.
class FailingStore final : public Store {
 public:
  explicit FailingStore(std::uint64_t fail_at) : fail_at_(fail_at) {}
  bool get(Table t, std::string_view key, std::string& out) const override { return inner_.get(t, key, out); }
  void put(Table t, std::string_view key, std::string_view value) override {
    if (++puts_ == fail_at_) throw DecodeError("the store failed");
    inner_.put(t, key, value);
  }
  bool del(Table t, std::string_view key) override { return inner_.del(t, key); }
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const override {
    inner_.scan(t, prefix, visit, from);
  }
  void clear() override { inner_.clear(); }
  std::uint64_t last_seq() const { return last_applied_seq(inner_); }

 private:
  MemoryStore inner_;
  std::uint64_t fail_at_, puts_ = 0;
};

std::string_view event_bytes(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq) {
  auto b = read_event(txn, dbis.events, seq);
  REQUIRE(b);
  return *b;
}

}  // namespace

TEST_CASE("events decoded ahead are handed over in order, every one, as they decode", "[replay][decode_ahead]") {
  FilledLog log;
  std::uint64_t last = log.last;
  lmdb::Env& env = log.env;
  Dbis dbis = shared_dbis(env);
  lmdb::Txn txn(env, false);
  std::uint64_t from = 100;
  DecodeAhead ahead(txn, dbis.events, from, last, event_bytes(txn, dbis, last));
  REQUIRE(ahead.started());
  std::uint64_t expect = from + 1;
  while (auto* batch = ahead.next()) {
    CHECK_FALSE(batch->empty());
    for (const auto& d : *batch) {
      REQUIRE(d.seq == expect);
      if (d.seq % 997 == 0) {
        auto env_view = decode_envelope_view(event_bytes(txn, dbis, d.seq));
        CHECK(d.event == decode_payload(env_view.event_type, env_view.schema_version, env_view.payload));
        CHECK(d.envelope.hash == env_view.hash);
      }
      ++expect;
    }
  }
  CHECK(expect == last + 1);
  CHECK(ahead.next() == nullptr);
}

TEST_CASE("a replay decoded ahead reaches the state a replay on one thread reaches", "[replay][decode_ahead]") {
  FilledLog log;
  std::uint64_t last = log.last;
  lmdb::Env& env = log.env;
  Dbis dbis = shared_dbis(env);
  lmdb::Txn txn(env, false);
  REQUIRE(DecodeAhead(txn, dbis.events, 0, last, event_bytes(txn, dbis, last)).started());

  // Each replay below long enough for the thread starts one.
  std::uint64_t threads = DecodeAhead::threads_started();
  MemoryStore whole;
  CHECK(replay_into(txn, dbis, whole, 0, 0) == last);
  CHECK(DecodeAhead::threads_started() == ++threads);
  CHECK(to_hex(state_digest(whole)) == to_hex(stepwise_digest(txn, dbis, last)));

  std::uint64_t mid = last - 1000;
  MemoryStore to_mid;
  CHECK(replay_into(txn, dbis, to_mid, 0, mid) == mid);
  CHECK(DecodeAhead::threads_started() == ++threads);
  CHECK(last_applied_seq(to_mid) == mid);
  CHECK(to_hex(state_digest(to_mid)) == to_hex(stepwise_digest(txn, dbis, mid)));

  // From a state part of the way: the rest decoded ahead.
  MemoryStore resumed;
  replay_into(txn, dbis, resumed, 0, 500);
  CHECK(replay_into(txn, dbis, resumed, 500, 0) == last);
  CHECK(DecodeAhead::threads_started() == ++threads);
  CHECK(state_digest(resumed) == state_digest(whole));

  // Past the end: to the end, as on one thread.
  MemoryStore past;
  CHECK(replay_into(txn, dbis, past, 0, last + 50) == last);
  CHECK(DecodeAhead::threads_started() == ++threads);
  CHECK(state_digest(past) == state_digest(whole));
}

TEST_CASE("a replay decoded ahead has recorded the last applied seq wherever it reports progress",
          "[replay][decode_ahead]") {
  // The effects are applied event by event and the last applied seq recorded after a batch
  // and before each checkpoint (projections/apply.h): a progress callback, which may flush
  // the store, sees the seq it is told, and so does the caller at the end.
  TempDir dir;
  std::uint64_t last = fill(dir.path(), 2 * lmdb::kReleasePagesEvery + 1000);
  lmdb::Env env{dir.path(), lmdb::Env::Options{}};
  Dbis dbis = shared_dbis(env);
  lmdb::Txn txn(env, false);
  // From seq 500, so that the batches (from 501) end off the checkpoints (multiples of
  // 16,384): the seq must be recorded before the checkpoint, not only after the batch.
  MemoryStore store;
  REQUIRE(replay_into(txn, dbis, store, 0, 500) == 500);
  std::uint64_t threads = DecodeAhead::threads_started();
  std::vector<std::uint64_t> reported;
  auto progress = [&](std::uint64_t done, std::uint64_t) {
    reported.push_back(done);
    CHECK(last_applied_seq(store) == done);
  };
  std::uint64_t until = last - 7;  // inside a batch
  CHECK(replay_into(txn, dbis, store, 500, until, progress) == until);
  CHECK(DecodeAhead::threads_started() == threads + 1);
  CHECK(reported == std::vector<std::uint64_t>{lmdb::kReleasePagesEvery, 2 * lmdb::kReleasePagesEvery, until});
  CHECK(last_applied_seq(store) == until);
  CHECK(to_hex(state_digest(store)) == to_hex(stepwise_digest(txn, dbis, until)));
}

TEST_CASE("a short range, or a log the caller has changed, is decoded by the caller", "[replay][decode_ahead]") {
  FilledLog log;
  std::uint64_t last = log.last;
  lmdb::Env& env = log.env;
  {
    // Handles the caller's transaction opened and has not committed: not the thread's to use.
    lmdb::Txn txn(env, false);
    Dbis dbis = open_dbis(txn, false);
    std::uint64_t threads = DecodeAhead::threads_started();
    CHECK_FALSE(DecodeAhead(txn, dbis.events, 0, last, event_bytes(txn, dbis, last)).started());
    MemoryStore s;
    CHECK(replay_into(txn, dbis, s, 0, 0) == last);
    CHECK(DecodeAhead::threads_started() == threads);
  }
  Dbis dbis = shared_dbis(env);
  {
    lmdb::Txn txn(env, false);
    std::uint64_t from = last - DecodeAhead::kThreadFrom + 1;
    DecodeAhead shorter(txn, dbis.events, from, last, event_bytes(txn, dbis, last));
    CHECK_FALSE(shorter.started());
    DecodeAhead just_enough(txn, dbis.events, from - 1, last, event_bytes(txn, dbis, last));
    CHECK(just_enough.started());
  }
  // A write transaction that has appended an event it has not committed: the committed log
  // ends before it, so the event is read from the caller's transaction.
  lmdb::Txn txn(env, true);
  LogAppender appender(txn, dbis.events);
  Envelope e;
  WorkspaceRegistered ws{77, "Uncommitted"};
  e.event_type = static_cast<std::uint16_t>(event_type(Event{ws}));
  e.schema_version = event_version(Event{ws});
  e.at_us = e.recorded_at_us = 1776667958LL * 1000000 + 999;
  e.payload = encode_payload(Event{ws});
  std::uint64_t added = appender.append(e);
  REQUIRE(added == last + 1);
  DecodeAhead ahead(txn, dbis.events, 0, added, event_bytes(txn, dbis, added));
  CHECK_FALSE(ahead.started());
  MemoryStore s;
  CHECK(replay_into(txn, dbis, s, 0, 0) == added);
  std::string name;
  CHECK(s.get(Table::workspaces, be64(77), name));
  CHECK(name == "Uncommitted");
}

TEST_CASE("decoded ahead, an event that does not decode or is missing stops the replay at its seq",
          "[replay][decode_ahead]") {
  FilledLog log;
  std::uint64_t last = log.last;
  lmdb::Env& env = log.env;
  // 5121: the first event of a batch (the worker has nothing of that batch to hand over).
  std::uint64_t bad = GENERATE(std::uint64_t{5000}, std::uint64_t{5120}, std::uint64_t{5121}, std::uint64_t{9999});
  bool gap = GENERATE(false, true);
  Dbis dbis = shared_dbis(env);
  {
    lmdb::Txn txn(env, true);
    if (gap)
      REQUIRE(txn.del(dbis.events, be64(bad)));
    else
      txn.put(dbis.events, be64(bad), "not an envelope");
    txn.commit();
  }
  lmdb::Txn txn(env, false);
  MemoryStore s;
  std::string message;
  try {
    replay_into(txn, dbis, s, 0, 0);
  } catch (const DecodeError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.starts_with("seq " + std::to_string(bad) + ": "));
  CHECK((message.find("event missing") != std::string::npos) == gap);
  // Every event before it applied, none after.
  CHECK(last_applied_seq(s) == bad - 1);
  CHECK(last > bad);
}

TEST_CASE("a rebuild into LMDB in a write transaction is decoded ahead and equals a replay into memory",
          "[replay][decode_ahead]") {
  FilledLog log;
  Dbis dbis = shared_dbis(log.env);
  std::string expected;
  {
    lmdb::Txn txn(log.env, false);
    MemoryStore s;
    replay_into(txn, dbis, s, 0, 0);
    expected = state_digest(s);
  }
  lmdb::Txn txn(log.env, true);
  LmdbStore target(txn, dbis);
  target.clear();
  std::uint64_t threads = DecodeAhead::threads_started();
  CHECK(replay_into_lmdb(txn, dbis, target, 0, 0) == log.last);
  CHECK(DecodeAhead::threads_started() == threads + 1);
  CHECK(to_hex(state_digest(target)) == to_hex(expected));
}

TEST_CASE("a replay that fails while events wait decoded ahead stops the thread and reports the seq",
          "[replay][decode_ahead]") {
  FilledLog log;
  Dbis dbis = shared_dbis(log.env);
  lmdb::Txn txn(log.env, false);
  // Early: the worker is batches ahead, waiting to hand the next one over.
  FailingStore s(GENERATE(std::uint64_t{300}, std::uint64_t{20000}));
  std::uint64_t threads = DecodeAhead::threads_started();
  std::string message;
  try {
    replay_into(txn, dbis, s, 0, 0);
  } catch (const DecodeError& e) {
    message = e.what();
  }
  CHECK(DecodeAhead::threads_started() == threads + 1);
  INFO(message);
  REQUIRE(message.starts_with("seq "));
  CHECK(message.ends_with(": the store failed"));
  std::uint64_t failed_seq = std::stoull(message.substr(4));
  // Stopped inside the failing event: the last applied seq recorded is the end of the batch
  // before its own (projections/apply.h: recorded after each batch), none of this batch.
  CHECK(s.last_seq() < failed_seq);
  CHECK(failed_seq - s.last_seq() <= DecodeAhead::kBatch);
  CHECK(s.last_seq() % DecodeAhead::kBatch == 0);
  CHECK(failed_seq <= log.last);
}
