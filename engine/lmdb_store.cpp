#include "engine/lmdb_store.h"

#include <string>

namespace opsledger {

Dbis open_dbis(lmdb::Txn& txn, bool create) {
  Dbis d;
  d.events = txn.open_db("events", create);
  d.snapshots = txn.open_db("snapshots", create);
  for (std::size_t i = 0; i < kTableCount; ++i) {
    std::string name = "p.";
    name += table_name(static_cast<Table>(i));
    d.tables[i] = txn.open_db(name.c_str(), create);
  }
  return d;
}

bool LmdbStore::get(Table t, std::string_view key, std::string& out) const {
  std::string_view v;
  if (!txn_.get(dbi(t), key, v)) return false;
  out.assign(v.data(), v.size());
  return true;
}

void LmdbStore::put(Table t, std::string_view key, std::string_view value) {
  // A touch's key starts with its event's seq, the largest yet: appended without a search
  // (a put when it is not past the last key: an event touching several runs).
  if (t == Table::run_touches && txn_.append(dbi(t), key, value)) return;
  txn_.put(dbi(t), key, value);
}

bool LmdbStore::del(Table t, std::string_view key) { return txn_.del(dbi(t), key); }

void LmdbStore::scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const {
  lmdb::Cursor c(txn_, dbi(t));
  std::string_view start = from.empty() ? prefix : from;
  bool more = start.empty() ? c.first() : c.seek(start);
  // Copy each key/value before visiting: the visitor may write to other tables. A long
  // scan (the state digest, an export) releases the pages it has read now and then, as
  // replay does, so its resident memory does not grow with the table.
  std::string k, v;
  std::uint64_t rows = 0;
  while (more) {
    if (c.key().substr(0, prefix.size()) != prefix) break;
    k.assign(c.key());
    v.assign(c.value());
    if (!visit(k, v)) break;
    if (++rows % lmdb::kReleasePagesEvery == 0) lmdb::release_mapped_pages(env());
    more = c.next();
  }
}

void LmdbStore::clear() {
  for (std::size_t i = 0; i < kTableCount; ++i) txn_.drop(dbis_.tables[i], false);
}

}  // namespace opsledger
