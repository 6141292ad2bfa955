// opsledger snapshot --db DIR: writes a snapshot of the live projections at the log's
// last seq into the `snapshots` database (format: snapshots/snapshot.h). Appends nothing
// to the log.
#include <boost/json.hpp>

#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "events/sha256.h"
#include "snapshots/snapshot.h"

namespace opsledger::cli {

int run_snapshot(int argc, char** argv) {
  Args args(argc, argv, {"db"}, {});
  if (args.help()) {
    std::printf(
        "usage: opsledger snapshot --db DIR\n\n"
        "Writes a snapshot of the complete projection state at the log's last seq, with the\n"
        "chain hash and the state digest there. Prints {\"seq\":N,\"digest\":\"...\",\"bytes\":B}.\n\n"
        "exit status: 0 written, 2 the projections lag the log (run verify), 1 cannot open or write\n");
    return kExitOk;
  }
  auto db = args.get("db");
  if (!args.ok() || !db) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", args.ok() ? "--db DIR is required" : args.error().c_str());
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  try {
    SnapshotWritten w = write_snapshot(*open.env, open.dbis);
    boost::json::object out{{"seq", w.seq}, {"digest", to_hex(w.digest)}, {"bytes", w.bytes}};
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return kExitOk;
  } catch (const lmdb::LmdbError& e) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", e.what());
    return kExitEngineFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", e.what());
    return kExitRejected;
  }
}

}  // namespace opsledger::cli
