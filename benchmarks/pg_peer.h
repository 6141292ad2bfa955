// The PostgreSQL peer: a private PostgreSQL 15 server started by the benchmark (initdb into
// a temporary directory, listening on 127.0.0.1 only at a free port, its unix socket in
// that directory), stopped and removed afterwards. When the benchmark runs as root the
// server runs as the unprivileged `postgres` user (PostgreSQL refuses root).
//
// Schema and insert-or-find as in the SQLite peer (benchmarks/sqlite_peer.h), given its best
// shot: one prepared statement per request, one round trip, one implicit transaction —
// a data-modifying CTE that inserts the run unless the partial unique index holds an
// active one, finds that one otherwise, and writes the audit row. Default durability
// settings (fsync on, synchronous_commit on).
#pragma once

#include <libpq-fe.h>

#include <string>
#include <string_view>

#include "benchmarks/bench.h"
#include "benchmarks/fleet.h"

namespace opsledger::bench {

class PgServer {
 public:
  PgServer() = default;
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // Initialises, starts and loads the schema. False (with the reason in `why`) when
  // PostgreSQL cannot be started here; nothing is left running then.
  bool start(const RunConfig& cfg, std::string& why);
  void stop();
  const std::string& conninfo() const { return conninfo_; }
  // Empties both tables (between runs of the same server).
  void truncate();

 private:
  bool run(const std::string& command, std::string& why);
  std::string dir_;
  std::string as_user_;  // "runuser -u postgres -- " when root
  std::string conninfo_;
  bool running_ = false;
};

class PgClient {
 public:
  // Connects; with `prepare_decide`, prepares the insert-or-find (the schema must exist).
  PgClient(const std::string& conninfo, bool prepare_decide = true);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;
  void decide(std::string_view line, Tally& tally);
  void exec(const char* sql);

 private:
  PGconn* conn_ = nullptr;
};

}  // namespace opsledger::bench
