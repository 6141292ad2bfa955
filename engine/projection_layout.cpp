#include "engine/projection_layout.h"

#include <string>

#include "engine/replay.h"
#include "events/bytes.h"

namespace opsledger {

namespace {
constexpr const char* kLayoutDb = "layout";
constexpr std::string_view kLayoutKey = "projections";
constexpr const char* kLayout1HistoryDb = "p.run_history";
}  // namespace

unsigned projection_layout(lmdb::Txn& txn) {
  if (txn.find_db(kLayout1HistoryDb)) return 1;
  auto db = txn.find_db(kLayoutDb);
  std::string_view v;
  if (!db || !txn.get(*db, kLayoutKey, v)) return 2;
  unsigned n = 0;
  if (v.empty() || v.size() > 4) throw DecodeError("unreadable projection layout record");
  for (char c : v) {
    if (c < '0' || c > '9') throw DecodeError("unreadable projection layout record");
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

std::string newer_layout_refusal(unsigned layout) {
  return "its projections are of layout " + std::to_string(layout) + ", written by a newer build than this one (layout " +
         std::to_string(kProjectionLayout) + ")";
}

void upgrade_projections(lmdb::Txn& txn, const Dbis& dbis) {
  if (auto old = txn.find_db(kLayout1HistoryDb)) txn.drop(*old, true);
  txn.drop(dbis.snapshots, false);
  LmdbStore store(txn, dbis);
  store.clear();
  replay_into_lmdb(txn, dbis, store, 0, 0);
  txn.put(txn.open_db(kLayoutDb, true), kLayoutKey, std::to_string(kProjectionLayout));
}

}  // namespace opsledger
