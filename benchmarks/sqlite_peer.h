// The SQLite peer: the platform's own schema and its insert-or-find, in SQLite 3 with WAL
// and synchronous=FULL (every commit durable).
//
//   operation_runs  one row per run; a partial unique index on
//                   (tenant_id, run_identity_hash) WHERE status IN ('queued','running')
//                   makes "one active run per identity" the database's job.
//   start_requests  one audit row per start request (request_id unique), with its
//                   decision and the run it names.
//
// Insert-or-find, per request: INSERT … ON CONFLICT (the partial index) DO NOTHING
// RETURNING id; when nothing was inserted, SELECT the active run; then INSERT the audit row.
// The peer parses the same JSON line and computes the same run_identity_hash as the
// engine, but checks neither membership nor provider readiness: it does strictly less
// deciding than the engine.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/fleet.h"

namespace opsledger::bench {

class SqlitePeer {
 public:
  // Opens (creating the schema when `create`) the database file at `path`.
  SqlitePeer(const std::string& path, bool create);
  ~SqlitePeer();
  SqlitePeer(const SqlitePeer&) = delete;
  SqlitePeer& operator=(const SqlitePeer&) = delete;

  // What one request was answered: accepted (a new run) or deduped onto run_id.
  struct Decided {
    bool accepted = false;
    std::int64_t run_id = 0;
  };

  // Decides every line in one transaction (BEGIN IMMEDIATE … COMMIT): one durable commit.
  // With `out`, each line's decision is appended to it.
  void decide_batch(std::span<const std::string> lines, Tally& tally);
  void decide_batch(std::span<const std::string_view> lines, Tally& tally, std::vector<Decided>* out = nullptr);
  // Decides one line in its own transaction.
  void decide_one(std::string_view line, Tally& tally);

 private:
  void exec(const char* sql);
  Decided decide(std::string_view line, Tally& tally);
  template <class Lines>
  void in_transaction(const Lines& lines, Tally& tally, std::vector<Decided>* out);
  sqlite3_stmt* prepare(const char* sql);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_run_ = nullptr;
  sqlite3_stmt* find_run_ = nullptr;
  sqlite3_stmt* insert_request_ = nullptr;
};

}  // namespace opsledger::bench
