// Store held in memory, one OrderedTable per table (projections/ordered_table.h), for
// replay, rebuild comparison and snapshots.
#pragma once

#include <array>
#include <string>

#include "projections/ordered_table.h"
#include "projections/store.h"

namespace opsledger {

class MemoryStore final : public Store {
 public:
  using TableMap = OrderedTable;

  bool get(Table t, std::string_view key, std::string& out) const override;
  void put(Table t, std::string_view key, std::string_view value) override;
  bool del(Table t, std::string_view key) override;
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from = {}) const override;
  void clear() override;

  const TableMap& table(Table t) const { return tables_[static_cast<std::size_t>(t)]; }
  TableMap& table(Table t) { return tables_[static_cast<std::size_t>(t)]; }
  bool operator==(const MemoryStore& o) const { return tables_ == o.tables_; }

 private:
  std::array<TableMap, kTableCount> tables_;
};

// Copies every table of `from` into `to` (which is cleared first).
void copy_store(const Store& from, Store& to);

}  // namespace opsledger
