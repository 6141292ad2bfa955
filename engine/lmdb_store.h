// Store over an LMDB write (or read) transaction: the projection tables as named LMDB
// databases "p.<table>", changed in the same transaction as the event append.
#pragma once

#include <array>

#include "engine/lmdb.h"
#include "projections/store.h"

namespace opsledger {

struct Dbis {
  MDB_dbi events = 0;
  MDB_dbi snapshots = 0;
  std::array<MDB_dbi, kTableCount> tables{};
};

// Opens (creating when `create`) every database of the environment.
Dbis open_dbis(lmdb::Txn& txn, bool create);

class LmdbStore final : public Store {
 public:
  LmdbStore(lmdb::Txn& txn, const Dbis& dbis) : txn_(txn), dbis_(dbis) {}
  bool get(Table t, std::string_view key, std::string& out) const override;
  void put(Table t, std::string_view key, std::string_view value) override;
  bool del(Table t, std::string_view key) override;
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from = {}) const override;
  void clear() override;
  MDB_env* env() const { return mdb_txn_env(txn_.get()); }

 private:
  MDB_dbi dbi(Table t) const { return dbis_.tables[static_cast<std::size_t>(t)]; }
  lmdb::Txn& txn_;
  const Dbis& dbis_;
};

}  // namespace opsledger
