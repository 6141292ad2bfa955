// The batch's in-memory layer over the hot projection tables (engine/batch_store.h), and
// the start answers written directly as text (engine/answers.cpp).
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli_process.h"
#include "engine/batch_store.h"
#include "events/bytes.h"
#include "projections/memory_store.h"
#include "projections/records.h"
#include "test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

// A Store that counts the calls reaching it.
class CountingStore final : public Store {
 public:
  bool get(Table t, std::string_view key, std::string& out) const override {
    ++gets;
    return inner.get(t, key, out);
  }
  void put(Table t, std::string_view key, std::string_view value) override {
    ++puts;
    order.emplace_back(key);
    inner.put(t, key, value);
  }
  bool del(Table t, std::string_view key) override {
    ++dels;
    return inner.del(t, key);
  }
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const override {
    inner.scan(t, prefix, visit, from);
  }
  void clear() override { inner.clear(); }

  MemoryStore inner;
  mutable int gets = 0;
  int puts = 0, dels = 0;
  std::vector<std::string> order;
};

std::vector<std::string> keys_of(const Store& s, Table t) {
  std::vector<std::string> keys;
  s.scan(t, "", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  return keys;
}

}  // namespace

TEST_CASE("batch store: held tables are read once and written once, at the flush", "[batch_store]") {
  CountingStore base;
  base.inner.put(Table::catalog, "inventory.sync", "def");
  BatchStore s(base);
  std::string v;
  REQUIRE(s.get(Table::catalog, "inventory.sync", v));
  CHECK(v == "def");
  REQUIRE(s.get(Table::catalog, "inventory.sync", v));
  CHECK_FALSE(s.get(Table::catalog, "missing", v));
  CHECK_FALSE(s.get(Table::catalog, "missing", v));
  CHECK(base.gets == 2);  // one per key, absent keys included

  for (int i = 1; i <= 100; ++i) s.put(Table::meta, "last_seq", std::to_string(i));
  s.put(Table::meta, "next_run_id", "7");
  CHECK(base.puts == 0);
  REQUIRE(s.get(Table::meta, "last_seq", v));
  CHECK(v == "100");
  s.flush();
  CHECK(base.puts == 2);
  CHECK(base.order == std::vector<std::string>{"last_seq", "next_run_id"});  // key order
  CHECK(base.inner.get(Table::meta, "last_seq", v));
  CHECK(v == "100");
  s.flush();  // nothing left to write
  CHECK(base.puts == 2);
}

TEST_CASE("batch store: deletes of held keys reach the base at the flush", "[batch_store]") {
  CountingStore base;
  base.inner.put(Table::conn_active_count, "a", "1");
  BatchStore s(base);
  CHECK(s.del(Table::conn_active_count, "a"));
  CHECK_FALSE(s.del(Table::conn_active_count, "a"));
  CHECK_FALSE(s.has(Table::conn_active_count, "a"));
  CHECK(base.inner.has(Table::conn_active_count, "a"));
  s.put(Table::conn_active_count, "b", "2");
  CHECK(s.del(Table::conn_active_count, "b"));  // put and deleted within the batch
  s.flush();
  CHECK_FALSE(base.inner.has(Table::conn_active_count, "a"));
  CHECK_FALSE(base.inner.has(Table::conn_active_count, "b"));
}

TEST_CASE("batch store: other tables and keys LMDB cannot store go straight to the base", "[batch_store]") {
  CountingStore base;
  BatchStore s(base);
  s.put(Table::runs, "r", "x");
  CHECK(base.puts == 1);
  std::string long_key(600, 'k');
  s.put(Table::catalog, long_key, "x");
  CHECK(base.puts == 2);
  std::string v;
  CHECK(s.get(Table::catalog, long_key, v));
  CHECK(base.gets == 1);
  CHECK(s.del(Table::catalog, long_key));
  CHECK(base.dels == 1);
  CHECK_FALSE(BatchStore::held(Table::catalog, ""));
  CHECK_FALSE(BatchStore::held(Table::catalog, long_key));
  CHECK(BatchStore::held(Table::catalog, std::string(511, 'k')));
  CHECK_FALSE(BatchStore::held(Table::runs, "r"));
}

TEST_CASE("batch store: a scan of a held table sees every write of the batch", "[batch_store]") {
  CountingStore base;
  base.inner.put(Table::workspaces, "1", "one");
  base.inner.put(Table::workspaces, "2", "two");
  BatchStore s(base);
  s.put(Table::workspaces, "3", "three");
  CHECK(s.del(Table::workspaces, "1"));
  CHECK(keys_of(s, Table::workspaces) == std::vector<std::string>{"2", "3"});
  // A visitor that writes to a held table while the scan runs: the write is held.
  s.scan(Table::workspaces, "", [&](std::string_view k, std::string_view) {
    s.put(Table::tenants, k, "t");
    return true;
  });
  CHECK(keys_of(s, Table::tenants) == std::vector<std::string>{"2", "3"});
  s.flush();
  CHECK(keys_of(base.inner, Table::tenants) == std::vector<std::string>{"2", "3"});
}

TEST_CASE("batch store: clear forgets what it held", "[batch_store]") {
  CountingStore base;
  BatchStore s(base);
  s.put(Table::meta, "last_seq", "9");
  s.clear();
  CHECK_FALSE(s.has(Table::meta, "last_seq"));
  s.flush();
  CHECK_FALSE(base.inner.has(Table::meta, "last_seq"));
}

TEST_CASE("batch store: past kHeldRowsMax rows it flushes and forgets, and still answers", "[batch_store]") {
  CountingStore base;
  BatchStore s(base);
  const std::size_t n = BatchStore::kHeldRowsMax + 1000;
  for (std::size_t i = 0; i < n; ++i) s.put(Table::run_last_touch, be64(i + 1), be64(2 * i));
  CHECK(s.held_rows() <= BatchStore::kHeldRowsMax);
  CHECK(base.puts == static_cast<int>(BatchStore::kHeldRowsMax));  // the first rows, flushed when it filled
  std::string v;
  for (std::size_t i : {std::size_t{0}, std::size_t{7}, BatchStore::kHeldRowsMax - 1, BatchStore::kHeldRowsMax,
                        n - 1}) {
    REQUIRE(s.get(Table::run_last_touch, be64(i + 1), v));
    CHECK(get_be64(v) == 2 * i);
  }
  s.flush();
  CHECK(base.puts == static_cast<int>(n));
  CHECK(keys_of(base.inner, Table::run_last_touch).size() == n);

  // Full, a read of a row not held is answered by the base and writes nothing.
  s.forget();
  for (std::size_t i = 0; i < BatchStore::kHeldRowsMax; ++i) s.put(Table::meta, be64(i), "m");
  REQUIRE(s.held_rows() == BatchStore::kHeldRowsMax);
  int gets = base.gets;
  REQUIRE(s.get(Table::run_last_touch, be64(1), v));
  CHECK(get_be64(v) == 0);
  CHECK_FALSE(s.get(Table::catalog, "absent", v));
  CHECK_FALSE(s.del(Table::catalog, "absent"));
  CHECK(base.gets == gets + 2);
  CHECK(base.puts == static_cast<int>(n));  // no flush
  CHECK(s.held_rows() == BatchStore::kHeldRowsMax);
}

TEST_CASE("batch store: forget drops held rows, written or not; rebind keeps them", "[batch_store]") {
  CountingStore first, second;
  first.inner.put(Table::active_identity, "id", "run-1");
  BatchStore s(first);
  std::string v;
  REQUIRE(s.get(Table::active_identity, "id", v));
  s.put(Table::meta, "last_seq", "5");
  s.flush();
  // Rebound to another base, the held rows answer without reading it.
  s.rebind(second);
  REQUIRE(s.get(Table::active_identity, "id", v));
  CHECK(v == "run-1");
  CHECK(second.gets == 0);
  s.put(Table::meta, "last_seq", "6");
  CHECK(s.dirty());
  s.forget();
  CHECK_FALSE(s.dirty());
  CHECK(s.held_rows() == 0);
  s.flush();
  CHECK(second.puts == 0);  // the forgotten write never reaches the base
  CHECK_FALSE(s.get(Table::active_identity, "id", v));  // read from the new base now
  CHECK(second.gets == 1);
}

TEST_CASE("an engine forgets the rows it holds between batches when another process wrote",
          "[batch_store][processes]") {
  TestDb db;
  seed_contoso(db);
  auto first = db.send(start_cmd("first"));
  REQUIRE(first.at("decision") == "accepted");
  auto run = first.at("run_id");
  REQUIRE(db.send(start_cmd("second")).at("decision") == "deduped");  // its identity is held now

  // Another process runs the run to its end, which frees the identity.
  ApplyChild child = spawn_apply(db.dir());
  std::string lines = json::serialize(json::object{{"cmd", "begin_run"}, {"run_id", run}}) + "\n" +
                      json::serialize(json::object{{"cmd", "complete_run"}, {"run_id", run}}) + "\n";
  REQUIRE(write(child.to_child, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
  close(child.to_child);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(child.from_child, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(child.from_child);
  int status = 0;
  REQUIRE(waitpid(child.pid, &status, 0) == child.pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 2);

  auto third = db.send(start_cmd("third"));
  CHECK(third.at("decision") == "accepted");
  CHECK(third.at("run_id") != run);
  auto history = db.send({{"cmd", "history"}, {"run_id", run}});
  REQUIRE(history.at("ok").as_bool());
  CHECK(history.at("events").as_array().size() == 4);  // start, deduped start, begin, completion
  CHECK(cli_verify(db.dir()) == 0);
}

TEST_CASE("a batch's later commands see its earlier commands' changes to held tables", "[batch_store][gate]") {
  TestDb db;
  seed_contoso(db);
  auto pc = [](std::string_view consent) {
    return json::serialize(json::object{{"cmd", "update_provider_connection"},
                                        {"provider_connection_id", 100},
                                        {"consent", consent}});
  };
  std::vector<std::string> lines = {pc("missing"), json::serialize(start_cmd("s1")), pc("granted"),
                                    json::serialize(start_cmd("s2")), json::serialize(start_cmd("s3")),
                                    R"({"cmd":"state_digest"})"};
  std::vector<std::string_view> views(lines.begin(), lines.end());
  auto answers = db.engine().execute_batch(views);
  auto at = [&](std::size_t i) { return json::parse(answers[i]).as_object(); };
  CHECK(at(1).at("decision") == "blocked");
  CHECK(at(1).at("reason_code") == "provider_consent_missing");
  CHECK(at(3).at("decision") == "accepted");
  CHECK(at(4).at("decision") == "deduped");
  // The digest taken inside the batch is the digest of the log replayed to that point.
  std::uint64_t seq = at(5).at("seq").to_number<std::uint64_t>();
  CHECK(at(5).at("digest").as_string() == replay_digest(db.dir(), seq));
  CHECK(db.digest() == replay_digest(db.dir()));
}

TEST_CASE("start answers are written exactly as boost::json would serialize them", "[batch_store][protocol]") {
  TestDb db;
  seed_contoso(db);
  std::string label = "Sync \"all\" \\ / \b\f\n\r\t \x01\x1f\x7f é ✓ 𝄞";
  auto def = db.send({{"cmd", "define_operation_type"},
                      {"type", "odd.label"},
                      {"label", label},
                      {"identity_policy", "while_active"},
                      {"identity_fields", json::array{}},
                      {"capability", "inventory.sync"}});
  REQUIRE(def.at("ok").as_bool());
  std::vector<std::string> texts;
  auto send = [&](const json::object& c) {
    texts.push_back(db.engine().execute(json::serialize(c)));
    return json::parse(texts.back()).as_object();
  };
  auto a = send(start_cmd("x1", "odd.label"));
  CHECK(a.at("label").as_string() == label);
  send(start_cmd("x2", "odd.label"));                            // deduped
  send(start_cmd("x1", "odd.label"));                            // replayed
  send(start_cmd("x3", "odd.label", user(99)));                  // not_found
  send(start_cmd("x4", "inventory.sync", user(7), 10));          // accepted, another type
  auto blocked = start_cmd("x5");
  blocked["provider_connection_id"] = 100;
  db.send({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"enabled", false}});
  send(blocked);
  for (const auto& t : texts) {
    CAPTURE(t);
    auto parsed = json::parse(t).as_object();
    CHECK(json::serialize(parsed) == t);
    CHECK(parsed.begin()->key() == "ok");
    CHECK(std::next(parsed.begin())->key() == "seq");
    CHECK(parsed.at("durability") == "nosync");
    CHECK((parsed.end() - 1)->key() == "durability");
  }
  CHECK(texts[2] == texts[0]);  // the replay of x1 is its answer again
}

TEST_CASE("batch store: a held row's decoded record is kept until the row changes", "[batch_store]") {
  CountingStore base;
  save(base.inner, Table::tenants, key_id(7), TenantRecord{3, "Contoso"});
  BatchStore s(base);

  auto first = load_shared<TenantRecord>(s, Table::tenants, key_id(7));
  REQUIRE(first);
  CHECK(first->workspace_id == 3);
  CHECK(first->name == "Contoso");
  int gets = base.gets;
  auto again = load_shared<TenantRecord>(s, Table::tenants, key_id(7));
  CHECK(again == first);  // the same object: not decoded again
  CHECK(base.gets == gets);

  // A write replaces it; the record handed out before keeps its value.
  save(s, Table::tenants, key_id(7), TenantRecord{3, "Fabrikam"});
  auto changed = load_shared<TenantRecord>(s, Table::tenants, key_id(7));
  REQUIRE(changed);
  CHECK(changed != first);
  CHECK(changed->name == "Fabrikam");
  CHECK(first->name == "Contoso");
  CHECK(load<TenantRecord>(s, Table::tenants, key_id(7))->name == "Fabrikam");

  // Deleted, then absent: no record.
  s.del(Table::tenants, key_id(7));
  CHECK_FALSE(load_shared<TenantRecord>(s, Table::tenants, key_id(7)));
  CHECK_FALSE(load_shared<TenantRecord>(s, Table::tenants, key_id(8)));

  // Forgotten rows are read (and decoded) from the base again: here the base never saw the
  // held write and delete, so it still has the first value.
  s.forget();
  auto reread = load_shared<TenantRecord>(s, Table::tenants, key_id(7));
  REQUIRE(reread);
  CHECK(reread->name == "Contoso");

  // A store that holds nothing decodes on every call.
  auto a = load_shared<TenantRecord>(base.inner, Table::tenants, key_id(7));
  auto b = load_shared<TenantRecord>(base.inner, Table::tenants, key_id(7));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a != b);
  CHECK(a->name == b->name);
  // A table the batch store does not hold goes to the base each time.
  save(s, Table::notifications, key_ids(7, 1), NotificationRecord{});
  gets = base.gets;
  CHECK(load_shared<NotificationRecord>(s, Table::notifications, key_ids(7, 1)));
  CHECK(load_shared<NotificationRecord>(s, Table::notifications, key_ids(7, 1)));
  CHECK(base.gets == gets + 2);
}

TEST_CASE("batch store: a flat row is decoded from its held value, written or not", "[batch_store]") {
  CountingStore base;
  save_u64(base.inner, Table::run_last_touch, key_id(5), 7);
  BatchStore s(base);
  static char tag;
  auto as_text = +[](std::string_view bytes) -> std::shared_ptr<const void> {
    return std::make_shared<const std::string>(bytes);
  };
  auto text = [&](Table t, std::string_view key) {
    auto d = s.decoded(t, key, &tag, as_text);
    return d ? *static_cast<const std::string*>(d.get()) : std::string("absent");
  };
  CHECK(text(Table::run_last_touch, key_id(5)) == be64(7));
  save_u64(s, Table::run_last_touch, key_id(5), 42);  // held, not flushed
  CHECK(text(Table::run_last_touch, key_id(5)) == be64(42));
  s.del(Table::run_last_touch, key_id(5));
  CHECK(text(Table::run_last_touch, key_id(5)) == "absent");
}
