// Shared test helpers: a temporary database directory, an engine on it with a fixed clock,
// and a one-call way to send a command and read the answer as JSON.
#pragma once

#include <boost/json.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsledger/engine.h"

namespace opsledger::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A clock that starts at 2026-04-20T06:52:38Z and advances one second per reading.
struct TestClock {
  std::shared_ptr<std::atomic<std::int64_t>> now_us =
      std::make_shared<std::atomic<std::int64_t>>(1776667958LL * 1000000);
  std::int64_t operator()() const { return now_us->fetch_add(1000000); }
};

Options test_options(Durability d = Durability::nosync);

// An engine on a fresh temporary database (nosync, test clock).
class TestDb {
 public:
  explicit TestDb(Options options = test_options());
  Engine& engine() { return *engine_; }
  const std::string& dir() const { return dir_.path(); }
  // Sends one command; returns the answer parsed.
  boost::json::object send(const boost::json::object& command);
  boost::json::object send_text(std::string_view line);
  // Reopens the engine (closes and opens the same directory).
  void reopen();
  std::string digest();          // state_digest's digest
  std::uint64_t seq();           // state_digest's seq

 private:
  TempDir dir_;
  Options options_;
  std::unique_ptr<Engine> engine_;
};

// Fixtures matching SPEC section 15: workspace 1, tenant 10, user 7 (operator),
// connection 100 (ready, default of tenant 10).
void seed_contoso(TestDb& db, std::string_view role = "operator");
void seed_contoso(Engine& engine, std::string_view role = "operator");

// Runs body(p) for every p in [0, n) in n forked children at once; each exits with what
// its body returns (3 when it throws). Returns their exit statuses in order (-1: one did
// not exit normally). Fork with no Engine open in this process.
std::vector<int> run_in_processes(int n, const std::function<int(int)>& body);
boost::json::object user(std::uint64_t id, std::string_view name = "user");
boost::json::object system_actor(std::string_view name = "scheduler");
boost::json::object start_cmd(std::string_view request_id, std::string_view type = "inventory.sync",
                               boost::json::object actor = user(7), std::uint64_t tenant = 10);

// The error code of an answer, or "" when it is ok.
std::string error_code(const boost::json::object& answer);
std::string error_field(const boost::json::object& answer);

// Rebuilds the projections of the database in `dir` from its log in memory and returns the
// hex digest (the engine must be closed or idle).
std::string replay_digest(const std::string& dir, std::uint64_t until_seq = 0);

// A stored snapshot value whose header names `format` (kSnapshotFormatVersion, or another
// to see it refused), holding `archive` under a correct checksum: a forger's value.
std::string sealed_snapshot(std::uint32_t format, std::string_view archive);
// `v` as 8 little-endian bytes (a length in a snapshot's archive, a seq in a fuzz seed).
std::string le64(std::uint64_t v);

}  // namespace opsledger::test
