#include "benchmarks/sqlite_peer.h"

#include <chrono>
#include <stdexcept>

#include "events/json_values.h"

namespace opsledger::bench {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS operation_runs (
  id                     INTEGER PRIMARY KEY,
  workspace_id           INTEGER NOT NULL,
  tenant_id              INTEGER,
  type                   TEXT NOT NULL,
  status                 TEXT NOT NULL,
  outcome                TEXT NOT NULL,
  run_identity_hash      TEXT NOT NULL,
  initiator_user_id      INTEGER,
  context                TEXT NOT NULL,
  created_at             TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS operation_runs_active_identity
  ON operation_runs (tenant_id, run_identity_hash) WHERE status IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS start_requests (
  id                INTEGER PRIMARY KEY,
  request_id        TEXT NOT NULL UNIQUE,
  workspace_id      INTEGER NOT NULL,
  tenant_id         INTEGER,
  user_id           INTEGER,
  type              TEXT NOT NULL,
  run_identity_hash TEXT NOT NULL,
  decision          TEXT NOT NULL,
  run_id            INTEGER,
  created_at        TEXT NOT NULL
);
)sql";

std::string now_text() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return format_time(us);
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

SqlitePeer::SqlitePeer(const std::string& path, bool create) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error("sqlite3_open " + path + ": " + sqlite3_errmsg(db_));
  sqlite3_busy_timeout(db_, 60000);
  if (create) {
    exec("PRAGMA journal_mode=WAL");  // persistent: later connections find the file in WAL mode
    exec(kSchema);
  }
  exec("PRAGMA synchronous=FULL");
  insert_run_ = prepare(
      "INSERT INTO operation_runs (workspace_id, tenant_id, type, status, outcome, run_identity_hash, "
      "initiator_user_id, context, created_at) VALUES (?1, ?2, ?3, 'queued', 'pending', ?4, ?5, ?6, ?7) "
      "ON CONFLICT (tenant_id, run_identity_hash) WHERE status IN ('queued', 'running') DO NOTHING "
      "RETURNING id");
  find_run_ = prepare(
      "SELECT id FROM operation_runs WHERE tenant_id = ?1 AND run_identity_hash = ?2 "
      "AND status IN ('queued', 'running')");
  insert_request_ = prepare(
      "INSERT INTO start_requests (request_id, workspace_id, tenant_id, user_id, type, run_identity_hash, "
      "decision, run_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
}

SqlitePeer::~SqlitePeer() {
  sqlite3_finalize(insert_run_);
  sqlite3_finalize(find_run_);
  sqlite3_finalize(insert_request_);
  sqlite3_close(db_);
}

sqlite3_stmt* SqlitePeer::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("sqlite3_prepare: ") + sqlite3_errmsg(db_));
  return s;
}

void SqlitePeer::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite3_exec ") + sql + ": " + m + " (" +
                             std::to_string(sqlite3_extended_errcode(db_)) + ")");
  }
}

SqlitePeer::Decided SqlitePeer::decide(std::string_view line, Tally& tally) {
  StartRequest r = parse_start(line);
  std::string at = now_text();
  sqlite3_int64 run_id = 0;
  bool accepted = false;
  sqlite3_reset(insert_run_);
  sqlite3_bind_int64(insert_run_, 1, static_cast<sqlite3_int64>(r.workspace_id));
  sqlite3_bind_int64(insert_run_, 2, static_cast<sqlite3_int64>(r.tenant_id));
  bind_text(insert_run_, 3, r.type);
  bind_text(insert_run_, 4, r.identity_hash);
  sqlite3_bind_int64(insert_run_, 5, static_cast<sqlite3_int64>(r.user_id));
  bind_text(insert_run_, 6, r.context_json);
  bind_text(insert_run_, 7, at);
  int rc = sqlite3_step(insert_run_);
  if (rc == SQLITE_ROW) {
    run_id = sqlite3_column_int64(insert_run_, 0);
    accepted = true;
    rc = sqlite3_step(insert_run_);
  }
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("insert run: ") + sqlite3_errmsg(db_));
  if (!accepted) {
    sqlite3_reset(find_run_);
    sqlite3_bind_int64(find_run_, 1, static_cast<sqlite3_int64>(r.tenant_id));
    bind_text(find_run_, 2, r.identity_hash);
    if (sqlite3_step(find_run_) != SQLITE_ROW) throw std::runtime_error("conflict without an active run");
    run_id = sqlite3_column_int64(find_run_, 0);
    // A statement left mid-result keeps its read transaction open past COMMIT; the next
    // BEGIN IMMEDIATE would then find its snapshot stale and fail with SQLITE_BUSY.
    sqlite3_reset(find_run_);
  }
  sqlite3_reset(insert_request_);
  bind_text(insert_request_, 1, r.request_id);
  sqlite3_bind_int64(insert_request_, 2, static_cast<sqlite3_int64>(r.workspace_id));
  sqlite3_bind_int64(insert_request_, 3, static_cast<sqlite3_int64>(r.tenant_id));
  sqlite3_bind_int64(insert_request_, 4, static_cast<sqlite3_int64>(r.user_id));
  bind_text(insert_request_, 5, r.type);
  bind_text(insert_request_, 6, r.identity_hash);
  sqlite3_bind_text(insert_request_, 7, accepted ? "accepted" : "deduped", -1, SQLITE_STATIC);
  sqlite3_bind_int64(insert_request_, 8, run_id);
  bind_text(insert_request_, 9, at);
  if (sqlite3_step(insert_request_) != SQLITE_DONE)
    throw std::runtime_error(std::string("insert start_request: ") + sqlite3_errmsg(db_));
  if (accepted)
    ++tally.accepted;
  else
    ++tally.deduped;
  return Decided{accepted, run_id};
}

template <class Lines>
void SqlitePeer::in_transaction(const Lines& lines, Tally& tally, std::vector<Decided>* out) {
  exec("BEGIN IMMEDIATE");
  try {
    for (std::string_view l : lines) {
      Decided d = decide(l, tally);
      if (out) out->push_back(d);
    }
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  exec("COMMIT");
}

void SqlitePeer::decide_batch(std::span<const std::string> lines, Tally& tally) {
  in_transaction(lines, tally, nullptr);
}

void SqlitePeer::decide_batch(std::span<const std::string_view> lines, Tally& tally, std::vector<Decided>* out) {
  in_transaction(lines, tally, out);
}

void SqlitePeer::decide_one(std::string_view line, Tally& tally) {
  in_transaction(std::span<const std::string_view>(&line, 1), tally, nullptr);
}

}  // namespace opsledger::bench
