#include "benchmarks/pg_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace opsledger::bench {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

constexpr const char* kSchema = R"sql(
CREATE TABLE operation_runs (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id      BIGINT NOT NULL,
  tenant_id         BIGINT,
  type              TEXT NOT NULL,
  status            TEXT NOT NULL,
  outcome           TEXT NOT NULL,
  run_identity_hash TEXT NOT NULL,
  initiator_user_id BIGINT,
  context           TEXT NOT NULL,
  created_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX operation_runs_active_identity
  ON operation_runs (tenant_id, run_identity_hash) WHERE status IN ('queued', 'running');
CREATE TABLE start_requests (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id        TEXT NOT NULL UNIQUE,
  workspace_id      BIGINT NOT NULL,
  tenant_id         BIGINT,
  user_id           BIGINT,
  type              TEXT NOT NULL,
  run_identity_hash TEXT NOT NULL,
  decision          TEXT NOT NULL,
  run_id            BIGINT,
  created_at        TIMESTAMPTZ NOT NULL
);
)sql";

// Insert-or-find and the audit row in one statement. When the ON CONFLICT waited for a
// concurrent insert of the same identity, the statement's snapshot cannot see that run and
// nothing is returned: the client runs the statement again.
constexpr const char* kDecide = R"sql(
WITH ins AS (
  INSERT INTO operation_runs (workspace_id, tenant_id, type, status, outcome, run_identity_hash,
                              initiator_user_id, context, created_at)
  VALUES ($1, $2, $3, 'queued', 'pending', $4, $5, $6, now())
  ON CONFLICT (tenant_id, run_identity_hash) WHERE status IN ('queued', 'running') DO NOTHING
  RETURNING id),
run AS (
  SELECT id, 'accepted' AS decision FROM ins
  UNION ALL
  SELECT id, 'deduped' FROM operation_runs
   WHERE tenant_id = $2 AND run_identity_hash = $4 AND status IN ('queued', 'running')
     AND NOT EXISTS (SELECT 1 FROM ins))
INSERT INTO start_requests (request_id, workspace_id, tenant_id, user_id, type, run_identity_hash,
                            decision, run_id, created_at)
SELECT $7, $1, $2, $5, $3, $4, decision, id, now() FROM run LIMIT 1
RETURNING decision
)sql";

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 600) s = "…" + s.substr(s.size() - 600);
  return s;
}

}  // namespace

PgServer::~PgServer() { stop(); }

bool PgServer::run(const std::string& command, std::string& why) {
  int rc = std::system(command.c_str());
  if (rc != 0) {
    why = "`" + command + "` failed (status " + std::to_string(rc) + ")";
    return false;
  }
  return true;
}

bool PgServer::start(const RunConfig& cfg, std::string& why) {
  std::string bin = kPgBin;
  if (!fs::exists(bin + "/initdb") || !fs::exists(bin + "/pg_ctl")) {
    why = "PostgreSQL 15 server binaries not found in " + bin;
    return false;
  }
  std::string tmpl = cfg.data_dir + "/opsledger-bench-pg-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    why = "cannot create a directory under " + cfg.data_dir;
    return false;
  }
  dir_ = tmpl;
  if (geteuid() == 0) {
    // PostgreSQL refuses to run as root: run it as `postgres` (or `nobody`).
    const passwd* pw = getpwnam("postgres");
    if (!pw) pw = getpwnam("nobody");
    if (!pw) {
      why = "running as root and neither the postgres nor the nobody user exists";
      stop();
      return false;
    }
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      why = "cannot chown " + dir_ + " to " + pw->pw_name;
      stop();
      return false;
    }
    as_user_ = std::string("runuser -u ") + pw->pw_name + " -- ";
  }
  int port = free_loopback_port();
  if (port == 0) {
    why = "no free port on 127.0.0.1";
    stop();
    return false;
  }
  std::string data = dir_ + "/data";
  if (!run(as_user_ + bin + "/initdb -D '" + data + "' -U bench -A trust -E UTF8 --locale=C --no-sync >'" + dir_ +
               "/initdb.log' 2>&1",
           why)) {
    why += ": " + tail_of(dir_ + "/initdb.log");
    stop();
    return false;
  }
  std::string opts = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port) +
                     " -c unix_socket_directories=" + dir_ + " -c max_connections=100";
  running_ = true;  // from here on, stop() asks pg_ctl to stop whatever did start
  if (!run(as_user_ + bin + "/pg_ctl -D '" + data + "' -l '" + dir_ + "/server.log' -w -t 60 -o '" + opts +
               "' start >'" + dir_ + "/pg_ctl.log' 2>&1",
           why)) {
    why += ": " + tail_of(dir_ + "/server.log");
    stop();
    return false;
  }
  conninfo_ = "host=" + dir_ + " port=" + std::to_string(port) + " dbname=postgres user=bench";
  try {
    PgClient c(conninfo_, false);
    c.exec(kSchema);
  } catch (const std::exception& e) {
    why = e.what();
    stop();
    return false;
  }
  return true;
}

void PgServer::truncate() {
  PgClient c(conninfo_, false);
  c.exec("TRUNCATE operation_runs, start_requests RESTART IDENTITY");
  c.exec("CHECKPOINT");
}

void PgServer::stop() {
  if (dir_.empty()) return;
  if (running_) {
    std::string ignored;
    run(as_user_ + kPgBin + "/pg_ctl -D '" + dir_ + "/data' -m fast -w -t 60 stop >>'" + dir_ +
            "/pg_ctl.log' 2>&1",
        ignored);
    running_ = false;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  dir_.clear();
}

PgClient::PgClient(const std::string& conninfo, bool prepare_decide) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("PostgreSQL connect: " + m);
  }
  if (!prepare_decide) return;
  PGresult* r = PQprepare(conn_, "decide", kDecide, 0, nullptr);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string m = ok ? "" : PQerrorMessage(conn_);
  PQclear(r);
  if (!ok) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("PostgreSQL prepare: " + m);
  }
}

PgClient::~PgClient() {
  if (conn_) PQfinish(conn_);
}

void PgClient::exec(const char* sql) {
  PGresult* r = PQexec(conn_, sql);
  auto st = PQresultStatus(r);
  std::string m = PQerrorMessage(conn_);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error("PostgreSQL: " + m);
}

void PgClient::decide(std::string_view line, Tally& tally) {
  StartRequest q = parse_start(line);
  std::string ws = std::to_string(q.workspace_id), tenant = std::to_string(q.tenant_id),
              user = std::to_string(q.user_id);
  const char* params[7] = {ws.c_str(),   tenant.c_str(),          q.type.c_str(),      q.identity_hash.c_str(),
                           user.c_str(), q.context_json.c_str(), q.request_id.c_str()};
  for (int attempt = 0; attempt < 100; ++attempt) {
    PGresult* r = PQexecPrepared(conn_, "decide", 7, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::string m = PQerrorMessage(conn_);
      PQclear(r);
      throw std::runtime_error("PostgreSQL decide: " + m);
    }
    if (PQntuples(r) == 1) {
      std::string_view d = PQgetvalue(r, 0, 0);
      if (d == "accepted")
        ++tally.accepted;
      else
        ++tally.deduped;
      PQclear(r);
      return;
    }
    PQclear(r);  // raced with a concurrent insert of the same identity: decide again
  }
  throw std::runtime_error("PostgreSQL decide: no decision after 100 attempts");
}

}  // namespace opsledger::bench
