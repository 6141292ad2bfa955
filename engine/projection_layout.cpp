#include "engine/projection_layout.h"

#include "engine/replay.h"

namespace opsledger {

namespace {
constexpr const char* kLayout1HistoryDb = "p.run_history";
}

bool has_layout1_projections(lmdb::Txn& txn) { return txn.find_db(kLayout1HistoryDb).has_value(); }

void upgrade_projections(lmdb::Txn& txn, const Dbis& dbis) {
  if (auto old = txn.find_db(kLayout1HistoryDb)) txn.drop(*old, true);
  txn.drop(dbis.snapshots, false);
  LmdbStore store(txn, dbis);
  store.clear();
  replay_into_lmdb(txn, dbis, store, 0, 0);
}

}  // namespace opsledger
