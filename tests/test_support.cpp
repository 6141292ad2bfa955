#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot_checksum.h"

namespace opsledger::test {
namespace json = boost::json;

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "opsledger-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Options test_options(Durability d) {
  Options o;
  o.durability = d;
  o.clock = TestClock{};
  return o;
}

TestDb::TestDb(Options options) : options_(std::move(options)) { reopen(); }

void TestDb::reopen() {
  engine_.reset();
  Status s = Engine::open(dir_.path(), options_, engine_);
  REQUIRE(s.is_ok());
}

json::object TestDb::send_text(std::string_view line) {
  std::string answer = engine_->execute(line);
  json::value v = json::parse(answer);
  REQUIRE(v.is_object());
  return v.as_object();
}

json::object TestDb::send(const json::object& command) { return send_text(json::serialize(command)); }

std::string TestDb::digest() {
  auto a = send({{"cmd", "state_digest"}});
  return std::string(a.at("digest").as_string());
}

std::uint64_t TestDb::seq() {
  auto a = send({{"cmd", "state_digest"}});
  return a.at("seq").to_number<std::uint64_t>();
}

json::object user(std::uint64_t id, std::string_view name) {
  return {{"kind", "user"}, {"user_id", id}, {"name", name}};
}

json::object system_actor(std::string_view name) { return {{"kind", "system"}, {"name", name}}; }

json::object start_cmd(std::string_view request_id, std::string_view type, json::object actor, std::uint64_t tenant) {
  return {{"cmd", "start"}, {"request_id", request_id}, {"actor", std::move(actor)}, {"workspace_id", 1},
          {"tenant_id", tenant}, {"type", type}, {"context", json::object{}}};
}

void seed_contoso(TestDb& db, std::string_view role) { seed_contoso(db.engine(), role); }

void seed_contoso(Engine& engine, std::string_view role) {
  auto ok = [&](const json::object& c) {
    auto a = json::parse(engine.execute(json::serialize(c))).as_object();
    INFO(json::serialize(c) << " -> " << json::serialize(a));
    REQUIRE(a.at("ok").as_bool());
  };
  ok({{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "Contoso"}});
  ok({{"cmd", "register_tenant"}, {"workspace_id", 1}, {"tenant_id", 10}, {"name", "Contoso EU"}});
  ok({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 7}, {"role", role}});
  ok({{"cmd", "register_provider_connection"}, {"workspace_id", 1}, {"tenant_id", 10},
      {"provider_connection_id", 100}, {"provider", "microsoft"}, {"display_name", "Contoso Graph"}});
  ok({{"cmd", "set_default_provider_connection"}, {"tenant_id", 10}, {"provider_connection_id", 100}});
  ok({{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"consent", "granted"},
      {"credentials", "usable"}, {"permissions", "ok"}});
}

std::string error_code(const json::object& a) {
  if (a.at("ok").as_bool()) return "";
  return std::string(a.at("error").as_object().at("code").as_string());
}

std::string error_field(const json::object& a) {
  if (a.at("ok").as_bool()) return "";
  auto& e = a.at("error").as_object();
  auto it = e.find("field");
  return it == e.end() ? "" : std::string(it->value().as_string());
}

std::string replay_digest(const std::string& dir, std::uint64_t until_seq) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  MemoryStore store;
  replay_into(txn, dbis, store, 0, until_seq);
  return to_hex(state_digest(store));
}

std::vector<int> run_in_processes(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> pids;
  bool forked_all = true;
  for (int p = 0; p < n && forked_all; ++p) {
    pid_t pid = fork();
    forked_all = pid >= 0;  // else the children started are still waited for, below
    if (pid == 0) {
      int rc = 3;
      try {
        rc = body(p);
      } catch (...) {
      }
      _exit(rc);
    }
    if (pid > 0) pids.push_back(pid);
  }
  std::vector<int> statuses;
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    statuses.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  REQUIRE(forked_all);
  return statuses;
}

std::string le64(std::uint64_t v) {
  std::string s;
  ByteWriter(s).u64(v);
  return s;
}

std::string sealed_snapshot(std::uint32_t format, std::string_view archive) {
  std::string out;
  ByteWriter w(out);
  w.raw("OPSLSNAP");
  w.u32(format);
  w.raw(snapshot_checksum(archive));
  w.raw(archive);
  return out;
}

}  // namespace opsledger::test
