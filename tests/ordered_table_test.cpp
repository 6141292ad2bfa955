// The in-memory table (projections/ordered_table.h) against std::map as the model: random
// streams of puts, rewrites of other sizes, erases, appends and walks that change the
// table, in the key patterns the projections write (ascending, clustered by prefix,
// random, descending, any bytes), with rows from empty to larger than a leaf.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "events/bytes.h"
#include "projections/memory_store.h"
#include "projections/ordered_table.h"

using namespace opsledger;

namespace {

using Model = std::map<std::string, std::string, std::less<>>;

std::vector<std::pair<std::string, std::string>> rows_of(const OrderedTable& t) {
  std::vector<std::pair<std::string, std::string>> rows;
  t.for_each([&](std::string_view k, std::string_view v) { rows.emplace_back(k, v); });
  return rows;
}

void require_same(const OrderedTable& t, const Model& m) {
  REQUIRE(t.layout_fault() == "");
  REQUIRE(t.size() == m.size());
  REQUIRE(t.empty() == m.empty());
  auto rows = rows_of(t);
  REQUIRE(rows == std::vector<std::pair<std::string, std::string>>(m.begin(), m.end()));
  // walk from "" sees the same rows
  std::vector<std::pair<std::string, std::string>> walked;
  t.walk("", [&](std::string_view k, std::string_view v) {
    walked.emplace_back(k, v);
    return true;
  });
  REQUIRE(walked == rows);
}

class Keys {
 public:
  Keys(int pattern, std::mt19937_64& rng) : pattern_(pattern), rng_(rng) {}
  std::string next() {
    switch (pattern_) {
      case 0:  // ascending seq, as run_touches and events
        return be64(++n_) + be64(rng_() % 50);
      case 1:  // clustered: a prefix then an id, as workspace_runs or coverage
        return be64(rng_() % 12) + be64(rng_() % 400);
      case 2: {  // random text of random length, as request ids
        std::string k(1 + rng_() % 40, 'a');
        for (auto& c : k) c = static_cast<char>('a' + rng_() % 3);
        return k;
      }
      case 3:  // descending
        return be64(1000000 - ++n_);
      default: {  // any bytes, of any length up to 20: high bytes and zeros sort as unsigned
        std::string k(rng_() % 21, '\0');
        for (auto& c : k) c = static_cast<char>(rng_() % 4 == 0 ? 0x80 + rng_() % 3 : rng_() % 3);
        return k;
      }
    }
  }

 private:
  int pattern_;
  std::mt19937_64& rng_;
  std::uint64_t n_ = 0;
};

std::string value_of(std::mt19937_64& rng) {
  std::size_t size;
  switch (rng() % 10) {
    case 0:
      size = 0;
      break;
    case 1:
      size = OrderedTable::kLeafBytes + rng() % 6000;  // larger than a leaf
      break;
    case 2:
      size = 300 + rng() % 1200;
      break;
    default:
      size = rng() % 48;
  }
  return std::string(size, static_cast<char>('A' + rng() % 26));
}

}  // namespace

TEST_CASE("an ordered table holds what std::map holds, in the same order", "[store][ordered_table]") {
  auto pattern = GENERATE(0, 1, 2, 3, 4);
  auto seed = GENERATE(1u, 2u, 3u);
  CAPTURE(pattern, seed);
  std::mt19937_64 rng(seed * 7919 + static_cast<unsigned>(pattern));
  Keys keys(pattern, rng);
  OrderedTable table;
  Model model;
  std::vector<std::string> known;
  for (int step = 0; step < 6000; ++step) {
    CAPTURE(step);
    unsigned op = rng() % 100;
    if (op < 55 || known.empty()) {  // insert a new or existing key
      std::string k = keys.next();
      std::string v = value_of(rng);
      table.put(k, v);
      model[k] = v;
      known.push_back(k);
    } else if (op < 70) {  // rewrite a known key, often with another size, often read first
      std::string k = known[rng() % known.size()];  // a copy: `known` grows below
      std::string v = value_of(rng);
      if (rng() % 2) CHECK(table.find(k).has_value() == (model.count(k) == 1));
      if (rng() % 4 == 0) {  // a change in between: the put must not reuse the read's place
        std::string other = keys.next();
        table.put(other, "between");
        model[other] = "between";
        known.push_back(other);
      }
      table.put(k, v);
      model[k] = v;
    } else if (op < 90) {  // erase a known key (perhaps erased already)
      const std::string& k = known[rng() % known.size()];
      CHECK(table.erase(k) == (model.erase(k) == 1));
    } else if (op < 95) {  // append: only past the last key
      std::string k = keys.next();
      bool past_last = model.empty() || model.rbegin()->first < k;
      CHECK(table.append(k, "appended") == past_last);
      if (past_last) model[k] = "appended";
      known.push_back(k);
    } else {  // find known and unknown keys
      const std::string& k = known[rng() % known.size()];
      auto got = table.find(k);
      auto want = model.find(k);
      REQUIRE(got.has_value() == (want != model.end()));
      if (got) CHECK(*got == want->second);
      CHECK(table.find(k + '\xff').has_value() == (model.count(k + '\xff') == 1));
    }
    if (step % 500 == 0) require_same(table, model);
    if (step % 50 == 0) REQUIRE(table.layout_fault() == "");
  }
  require_same(table, model);

  SECTION("a walk from any key starts at the first key not below it") {
    for (int i = 0; i < 200; ++i) {
      std::string from = keys.next();
      auto want = model.lower_bound(from);
      std::optional<std::string> first;
      table.walk(from, [&](std::string_view k, std::string_view) {
        first = std::string(k);
        return false;
      });
      if (want == model.end())
        CHECK_FALSE(first);
      else
        CHECK(first == want->first);
    }
  }
  SECTION("a walk whose visitor erases and inserts goes on after the key it visited") {
    std::vector<std::string> visited;
    table.walk("", [&](std::string_view k, std::string_view) {
      visited.emplace_back(k);
      std::string key(k);
      // erase this row and the next; insert a row before this one (never visited)
      table.erase(key);
      model.erase(key);
      auto next = model.upper_bound(key);
      if (next != model.end()) {
        table.erase(next->first);
        model.erase(next);
      }
      if (!key.empty() && key.back() != '\0') {
        std::string before = key.substr(0, key.size() - 1) + static_cast<char>(key.back() - 1) + "~";
        if (before < key) {
          table.put(before, "x");
          model[before] = "x";
        }
      }
      return true;
    });
    REQUIRE(std::is_sorted(visited.begin(), visited.end()));
    REQUIRE(std::adjacent_find(visited.begin(), visited.end()) == visited.end());
    require_same(table, model);
  }
  SECTION("copies are equal and independent; clear empties") {
    OrderedTable copy = table;
    CHECK(copy == table);
    copy.put("\x01new key", "v");
    CHECK_FALSE(copy == table);
    require_same(table, model);
    table.clear();
    CHECK(table.empty());
    CHECK(rows_of(table).empty());
    CHECK_FALSE(table.find("\x01new key"));
    table.put("k", "v");
    CHECK(table.find("k") == std::optional<std::string_view>("v"));
  }
}

TEST_CASE("an ordered table erased down to nothing and filled again", "[store][ordered_table]") {
  OrderedTable table;
  Model model;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    table.put(be64(i), std::string(i % 90, 'v'));
    model[be64(i)] = std::string(i % 90, 'v');
  }
  require_same(table, model);
  for (std::uint64_t i = 0; i < 20000; i += 2) {  // every other row, then the rest backwards
    REQUIRE(table.erase(be64(i)));
    model.erase(be64(i));
  }
  require_same(table, model);
  for (std::uint64_t i = 20000; i-- > 0;) {
    CHECK(table.erase(be64(i)) == (i % 2 == 1));
  }
  CHECK(table.empty());
  CHECK(rows_of(table).empty());
  CHECK_FALSE(table.erase(be64(1)));
  for (std::uint64_t i = 0; i < 100; ++i) REQUIRE(table.append(be64(i), "again"));
  CHECK(table.size() == 100);
  CHECK_FALSE(table.append(be64(50), "out of order"));
  CHECK(table.size() == 100);
}

TEST_CASE("a memory store scans a prefix from a key as the LMDB store does", "[store][ordered_table]") {
  MemoryStore s;
  for (std::uint64_t ws = 1; ws <= 3; ++ws)
    for (std::uint64_t run = 1; run <= 500; ++run) s.put(Table::workspace_runs, be64(ws) + be64(run), {});
  std::vector<std::uint64_t> runs;
  s.scan(
      Table::workspace_runs, be64(2),
      [&](std::string_view k, std::string_view) {
        runs.push_back(get_be64(k, 8));
        return true;
      },
      be64(2) + be64(498));
  CHECK(runs == std::vector<std::uint64_t>{498, 499, 500});
  std::size_t all = 0;
  s.scan(Table::workspace_runs, be64(3), [&](std::string_view, std::string_view) {
    ++all;
    return true;
  });
  CHECK(all == 500);
  CHECK(s.table(Table::workspace_runs).size() == 1500);
}

TEST_CASE("a moved-from ordered table is empty and usable; the moved one keeps its rows", "[store][ordered_table]") {
  OrderedTable a;
  for (int i = 0; i < 300; ++i) a.put(be64(static_cast<std::uint64_t>(i)), std::string(40, 'a'));
  REQUIRE(a.find(be64(7)));  // remembered by find: must not leak into the moved-from table
  SECTION("move construction") {
    OrderedTable b(std::move(a));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the documented state
    CHECK(a.size() == 0);
    a.put(be64(7), "moved-from");
    CHECK(a.append(be64(9), "after"));
    CHECK(a.size() == 2);
    CHECK(a.layout_fault() == "");
    CHECK(b.size() == 300);
    CHECK(b.find(be64(7)) == std::optional<std::string_view>(std::string(40, 'a')));
    CHECK(b.layout_fault() == "");
  }
  SECTION("move assignment") {
    OrderedTable b;
    b.put("x", "y");
    b = std::move(a);
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
    a.put(be64(7), std::string(5000, 'm'));  // another size, larger than a leaf
    CHECK(a.size() == 1);
    CHECK(b.size() == 300);
    CHECK_FALSE(b.find("x"));
    CHECK(b.find(be64(7)) == std::optional<std::string_view>(std::string(40, 'a')));
    CHECK(b.layout_fault() == "");
  }
}

TEST_CASE("an ordered table takes keys and rows larger than a leaf", "[store][ordered_table]") {
  OrderedTable table;
  Model model;
  std::mt19937_64 rng(99);
  for (int i = 0; i < 400; ++i) {
    std::string k(1 + rng() % (2 * OrderedTable::kLeafBytes), static_cast<char>('a' + rng() % 26));
    std::string v(rng() % (OrderedTable::kLeafBytes + 100), 'v');
    table.put(k, v);
    model[k] = v;
    if (i % 3 == 0) {
      auto victim = model.begin();
      std::advance(victim, static_cast<long>(rng() % model.size()));
      REQUIRE(table.erase(victim->first));
      model.erase(victim);
    }
  }
  require_same(table, model);
}

// Rows appended in key order and then rewritten larger, as the runs table's are while each
// run goes from queued to running to an outcome: a full leaf lends rows to its neighbours
// before it splits, so the leaves end up mostly full rather than half.
TEST_CASE("rows appended and then rewritten larger keep their leaves mostly full", "[store][ordered_table]") {
  OrderedTable table;
  Model model;
  std::mt19937_64 rng(5);
  auto put = [&](std::uint64_t id, std::size_t size) {
    std::string v(size, static_cast<char>('a' + id % 26));
    table.put(be64(id), v);
    model[be64(id)] = v;
  };
  constexpr std::uint64_t kRows = 20000;
  for (std::uint64_t id = 0; id < kRows + 100; ++id) {
    if (id < kRows) put(id, 120 + rng() % 40);                      // queued
    if (id >= 30 && id - 30 < kRows) put(id - 30, 220 + rng() % 40);  // running
    if (id >= 100) put(id - 100, 330 + rng() % 60);                 // an outcome
  }
  require_same(table, model);
  auto f = table.footprint();
  REQUIRE(f.rows == kRows);
  // Rows in the buffers: 93% here; 60% when a full leaf only splits.
  INFO("rows fill " << f.entry_bytes * 100 / f.buffer_bytes << "% of the leaves' buffers");
  CHECK(f.entry_bytes * 100 >= f.buffer_bytes * 85);
}

// A snapshot's load appends every row in key order (OrderedTable::append): a row that fits
// goes straight into the last leaf, one that does not starts a new leaf (a row larger than
// a leaf gets one of its own), and the leaves end up full.
TEST_CASE("rows appended in key order fill their leaves, larger rows included", "[store][ordered_table]") {
  OrderedTable table;
  Model model;
  std::mt19937_64 rng(11);
  constexpr std::uint64_t kRows = 30000;
  std::vector<std::string> appended;
  for (std::uint64_t id = 0; id < kRows; ++id) {
    std::size_t size = id % 997 == 0 ? OrderedTable::kLeafBytes + rng() % 3000 : rng() % 200;
    std::string v(size, static_cast<char>('a' + id % 26));
    REQUIRE(table.append(be64(id), v));
    model[be64(id)] = v;
    appended.push_back(v);
    if (id % 1000 == 0) REQUIRE(table.layout_fault() == "");
  }
  CHECK_FALSE(table.append(be64(kRows - 1), "again"));  // not past the last key
  CHECK_FALSE(table.append(be64(5), "earlier"));
  require_same(table, model);
  // A find and a put after the appends see them.
  CHECK(table.find(be64(kRows - 1)) == std::optional<std::string_view>(model[be64(kRows - 1)]));
  table.put(be64(kRows - 1), "rewritten");
  model[be64(kRows - 1)] = "rewritten";
  require_same(table, model);
  // The small rows' leaves are full but for less than one row's room.
  auto f = table.footprint();
  INFO("rows fill " << f.entry_bytes * 100 / f.buffer_bytes << "% of the leaves' buffers");
  CHECK(f.entry_bytes * 100 >= f.buffer_bytes * 90);
  // Exactly the leaves that puts of the same rows, then the same rewrite, make: the fast
  // path is put's own end case.
  OrderedTable by_put;
  for (std::uint64_t id = 0; id < kRows; ++id) by_put.put(be64(id), appended[id]);
  by_put.put(be64(kRows - 1), "rewritten");
  auto g = by_put.footprint();
  CHECK(g.leaves == f.leaves);
  CHECK(g.buffer_bytes == f.buffer_bytes);
  CHECK(g.entry_bytes == f.entry_bytes);
  CHECK(by_put.layout_fault() == "");
  CHECK(by_put == table);
}
