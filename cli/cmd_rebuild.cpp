// opsledger rebuild --db DIR [--from-snapshot]: drops every projection table and rebuilds
// it from the log with the live engine's apply path, in one write transaction (readers
// and other writers never see a half-rebuilt state; a failure leaves the old projections).
// The chain is verified first: a broken log is not rebuilt from.
#include <boost/json.hpp>

#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "engine/replay.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "snapshots/snapshot.h"

namespace opsledger::cli {
namespace {

struct Rebuilt {
  std::uint64_t seq = 0;
  std::string digest_hex;
  std::uint64_t snapshot_seq = 0;
};

// Loads a verified snapshot's tables into the (empty) LMDB tables, in key order.
void restore_tables(lmdb::Txn& txn, const Dbis& dbis, const MemoryStore& state) {
  for (std::size_t i = 0; i < kTableCount; ++i)
    state.table(static_cast<Table>(i)).for_each([&](std::string_view k, std::string_view v) {
      txn.put(dbis.tables[i], k, v, MDB_APPEND);
    });
}

Rebuilt rebuild_once(lmdb::Env& env, const Dbis& dbis, bool from_snapshot, TermProgress& progress) {
  lmdb::Txn txn(env, true);
  ChainCheck chain = verify_chain(txn, dbis, progress.callback());
  progress.end();
  if (!chain.ok)
    throw std::runtime_error("refusing to rebuild from a broken log: seq " + std::to_string(chain.bad_seq) + ": " +
                             chain.problem);
  LmdbStore store(txn, dbis);
  store.clear();
  Rebuilt r;
  if (from_snapshot) {
    auto warn = [](const std::string& w) { std::fprintf(stderr, "opsledger rebuild: warning: %s\n", w.c_str()); };
    if (auto snap = nearest_snapshot(txn, dbis, chain.last_seq, warn)) {
      restore_tables(txn, dbis, snap->state);
      r.snapshot_seq = snap->seq;
    }
  }
  r.seq = replay_into_lmdb(txn, dbis, store, r.snapshot_seq, chain.last_seq, progress.callback());
  progress.end();
  r.digest_hex = to_hex(state_digest(store));
  txn.commit();
  return r;
}

}  // namespace

int run_rebuild(int argc, char** argv) {
  Args args(argc, argv, {"db"}, {"from-snapshot"});
  if (args.help()) {
    std::printf(
        "usage: opsledger rebuild --db DIR [--from-snapshot]\n\n"
        "Verifies the hash chain, drops every projection table and rebuilds it from the log\n"
        "with the same apply functions the live engine uses, in one write transaction.\n"
        "Prints {\"seq\":N,\"digest\":\"...\"}. Progress goes to stderr on a terminal.\n\n"
        "  --db DIR          database directory\n"
        "  --from-snapshot   start from the newest sound snapshot instead of genesis\n\n"
        "exit status: 0 rebuilt, 2 the log is broken (nothing changed), 1 cannot open or write\n");
    return kExitOk;
  }
  auto db = args.get("db");
  if (!args.ok() || !db) {
    std::fprintf(stderr, "opsledger rebuild: %s\n", args.ok() ? "--db DIR is required" : args.error().c_str());
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger rebuild: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  TermProgress progress("rebuild");
  for (int attempt = 0;; ++attempt) {
    try {
      Rebuilt r = rebuild_once(*open.env, open.dbis, args.flag("from-snapshot"), progress);
      boost::json::object out{{"seq", r.seq}, {"digest", r.digest_hex}};
      if (r.snapshot_seq) std::fprintf(stderr, "rebuild: started from the snapshot at seq %llu\n",
                                       static_cast<unsigned long long>(r.snapshot_seq));
      std::printf("%s\n", boost::json::serialize(out).c_str());
      return kExitOk;
    } catch (const lmdb::LmdbError& e) {
      progress.end();
      if (e.map_full() && attempt < 16) {
        open.env->grow();
        continue;
      }
      std::fprintf(stderr, "opsledger rebuild: %s\n", e.what());
      return kExitEngineFailure;
    } catch (const std::exception& e) {
      progress.end();
      std::fprintf(stderr, "opsledger rebuild: %s\n", e.what());
      return kExitRejected;
    }
  }
}

}  // namespace opsledger::cli
