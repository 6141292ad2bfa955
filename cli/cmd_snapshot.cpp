// opsledger snapshot --db DIR [--keep K [--prune-only]]: writes a snapshot of the live
// projections at the log's last seq into the `snapshots` database (format:
// snapshots/snapshot.h) and, with --keep, deletes all but the newest K snapshots in the
// same commit; --prune-only deletes without writing. Appends nothing to the log.
#include <boost/json.hpp>

#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "events/sha256.h"
#include "snapshots/snapshot.h"

namespace opsledger::cli {

int run_snapshot(int argc, char** argv) {
  Args args(argc, argv, {"db", "keep"}, {"prune-only"});
  if (args.help()) {
    std::printf(
        "usage: opsledger snapshot --db DIR [--keep K [--prune-only]]\n\n"
        "Writes a snapshot of the complete projection state at the log's last seq, with the\n"
        "chain hash and the state digest there. Prints {\"seq\":N,\"digest\":\"...\",\"bytes\":B}.\n\n"
        "  --keep K       then delete every snapshot but the newest K (K >= 1), in the same\n"
        "                 commit; adds \"pruned\":[seqs] to the output\n"
        "  --prune-only   with --keep: write no snapshot, only delete; prints {\"pruned\":[seqs]}\n\n"
        "Replaying to a point before the oldest snapshot kept starts from genesis.\n\n"
        "exit status: 0 written, 2 the projections lag the log (run verify), 1 cannot open or write\n");
    return kExitOk;
  }
  auto db = args.get("db");
  std::optional<std::uint64_t> keep;
  if (args.ok() && args.get("keep")) keep = args.get_u64("keep");
  std::string usage;
  if (!args.ok()) usage = args.error();
  else if (!db) usage = "--db DIR is required";
  else if (keep && *keep == 0) usage = "--keep must be at least 1 (the newest snapshot is never deleted)";
  else if (args.flag("prune-only") && !keep) usage = "--prune-only needs --keep K";
  if (!usage.empty()) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", usage.c_str());
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger snapshot: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  auto pruned_json = [](const std::vector<std::uint64_t>& seqs) {
    boost::json::array a;
    for (auto seq : seqs) a.push_back(seq);
    return a;
  };
  try {
    if (args.flag("prune-only")) {
      lmdb::Txn txn(*open.env, true);
      auto pruned = prune_snapshots(txn, open.dbis, static_cast<std::size_t>(*keep));
      txn.commit();
      std::printf("%s\n", boost::json::serialize(boost::json::object{{"pruned", pruned_json(pruned)}}).c_str());
      return kExitOk;
    }
    SnapshotWritten w = write_snapshot(*open.env, open.dbis, keep ? static_cast<std::size_t>(*keep) : 0);
    boost::json::object out{{"seq", w.seq}, {"digest", to_hex(w.digest)}, {"bytes", w.bytes}};
    if (keep) out["pruned"] = pruned_json(w.pruned);
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
