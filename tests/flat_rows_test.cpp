// The flat rows a BatchStore holds for the big hot tables (engine/flat_rows.h), against a
// std::map model, and the BatchStore paths around them.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <random>
#include <string>

#include "engine/batch_store.h"
#include "engine/flat_rows.h"
#include "events/bytes.h"
#include "projections/memory_store.h"
#include "projections/records.h"

using namespace opsledger;

namespace {

std::string value_of(const FlatRows::Row& row) { return {row.value, FlatRows::kValueSize}; }

}  // namespace

TEST_CASE("flat rows: finds what was inserted through growth, lists changed rows in key order, clears",
          "[flat_rows]") {
  for (std::size_t key_size : {std::size_t{8}, std::size_t{73}}) {
    CAPTURE(key_size);
    FlatRows rows(key_size);
    std::map<std::string, std::string> model;
    std::mt19937_64 rng(key_size);
    auto random_key = [&] {
      std::string k(key_size, '\0');
      for (auto& c : k) c = static_cast<char>(rng() % 4);  // few distinct bytes: many shared prefixes
      return k;
    };
    for (int round = 0; round < 2; ++round) {
      std::map<std::string, std::string> changed;
      for (int i = 0; i < 20000; ++i) {
        std::string k = random_key();
        std::string v = be64(rng());
        FlatRows::Row* row = rows.find(k);
        REQUIRE((row != nullptr) == (model.count(k) == 1));
        if (row) {
          CHECK(value_of(*row) == model[k]);
          CHECK(rows.key_of(*row) == k);
        } else {
          FlatRows::Row fresh{};
          row = &rows.insert(k, fresh);
        }
        if (rng() % 3 == 0) {
          std::memcpy(row->value, v.data(), FlatRows::kValueSize);
          row->present = true;
          rows.mark_dirty(*row);
          changed[k] = v;
        } else if (!model.count(k)) {
          v = std::string(FlatRows::kValueSize, '\0');
        } else {
          v = model[k];
        }
        model[k] = v;
      }
      CHECK(rows.size() == model.size());
      REQUIRE(rows.has_dirty() == !changed.empty());
      auto dirty = rows.dirty();
      REQUIRE(dirty.size() == changed.size());
      auto it = changed.begin();
      for (const FlatRows::Row* row : dirty) {
        CHECK(rows.key_of(*row) == it->first);
        CHECK(value_of(*row) == it->second);
        CHECK(row->dirty);
        ++it;
      }
      rows.clean();
      CHECK_FALSE(rows.has_dirty());
      CHECK(rows.dirty().empty());
    }
    rows.clear();
    CHECK(rows.size() == 0);
    CHECK(rows.find(model.begin()->first) == nullptr);
    FlatRows::Row again{};
    again.present = true;
    rows.insert(model.begin()->first, again);
    REQUIRE(rows.find(model.begin()->first) != nullptr);
    CHECK(rows.find(model.begin()->first)->present);
  }
}

TEST_CASE("batch store: identities and last touches are held as flat rows, written once at the flush",
          "[batch_store][flat_rows]") {
  // The flat tables' key sizes are the keys' own.
  REQUIRE(key_identity(ScopeKind::tenant, 10, std::string(64, 'a')).size() == kIdentityKeySize);
  REQUIRE(key_id(7).size() == kIdKeySize);
  MemoryStore base;
  std::string identity(73, 'i'), other_identity(73, 'j');
  base.put(Table::active_identity, identity, be64(5));
  BatchStore s(base);
  std::string v;
  REQUIRE(s.get(Table::active_identity, identity, v));
  CHECK(get_be64(v) == 5);
  CHECK_FALSE(s.get(Table::active_identity, other_identity, v));  // absence is held too
  s.put(Table::active_identity, other_identity, be64(6));
  CHECK(s.del(Table::active_identity, identity));
  CHECK_FALSE(s.del(Table::active_identity, identity));
  for (std::uint64_t seq = 10; seq < 20; ++seq) s.put(Table::run_last_touch, be64(1), be64(seq));
  CHECK(s.dirty());
  CHECK(base.has(Table::active_identity, identity));  // nothing reached the base yet
  CHECK_FALSE(base.has(Table::run_last_touch, be64(1)));
  s.flush();
  CHECK_FALSE(s.dirty());
  CHECK_FALSE(base.has(Table::active_identity, identity));
  REQUIRE(base.get(Table::active_identity, other_identity, v));
  CHECK(get_be64(v) == 6);
  REQUIRE(base.get(Table::run_last_touch, be64(1), v));
  CHECK(get_be64(v) == 19);
  // A scan sees the held changes.
  s.put(Table::run_last_touch, be64(2), be64(30));
  int seen = 0;
  s.scan(Table::run_last_touch, "", [&](std::string_view, std::string_view) {
    ++seen;
    return true;
  });
  CHECK(seen == 2);
}

TEST_CASE("batch store: rows of a flat table that do not fit its shape are not held flat, and nothing shadows them",
          "[batch_store][flat_rows]") {
  MemoryStore base;
  std::string identity(73, 'i');
  base.put(Table::active_identity, "short", "x");
  base.put(Table::active_identity, std::string(73, 'k'), "not eight bytes");
  BatchStore s(base);
  std::string v;
  REQUIRE(s.get(Table::active_identity, "short", v));  // another key size: held as any other row
  CHECK(v == "x");
  CHECK(s.held_rows() == 1);
  REQUIRE(s.get(Table::active_identity, std::string(73, 'k'), v));  // another value size: not held
  CHECK(v == "not eight bytes");
  CHECK(s.held_rows() == 1);
  s.put(Table::active_identity, identity, be64(1));
  REQUIRE(s.get(Table::active_identity, identity, v));
  // A value of another size for a held key: the held row is written and dropped first.
  s.put(Table::active_identity, identity, "longer value");
  CHECK(s.held_rows() == 0);
  REQUIRE(s.get(Table::active_identity, identity, v));
  CHECK(v == "longer value");
  REQUIRE(base.get(Table::active_identity, identity, v));
  CHECK(v == "longer value");
  CHECK(s.del(Table::active_identity, std::string(73, 'k')));
  CHECK_FALSE(base.has(Table::active_identity, std::string(73, 'k')));
}
