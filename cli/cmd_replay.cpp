// opsledger replay --db DIR --until-seq N | --until TIME [--no-snapshots]: the projection
// state after event N (or after the last event recorded at or before TIME), as one JSON
// object {"seq","digest","recorded_at","state"}. Starts from the nearest sound snapshot at
// or before the point and replays the tail; a bad snapshot is a warning on stderr and is
// skipped, so the answer never depends on the snapshots.
#include <boost/json.hpp>
#include <unistd.h>

#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "engine/audit.h"
#include "engine/event_log.h"
#include "engine/render_json.h"
#include "events/json_values.h"
#include "events/sha256.h"

namespace opsledger::cli {
namespace {

void print_help() {
  std::printf(
      "usage: opsledger replay --db DIR (--until-seq N | --until TIME) [--no-snapshots]\n\n"
      "Prints the projection state at a point of the log as one JSON object with top-level\n"
      "seq, digest, recorded_at and state (every table, records decoded).\n\n"
      "  --until-seq N    the state after event N (0: before the first event)\n"
      "  --until TIME     the state after the last event recorded at or before TIME\n"
      "                   (RFC 3339; the log is cut at recorded_at)\n"
      "  --no-snapshots   replay from genesis, ignoring snapshots\n\n"
      "exit status: 0 ok, 2 the point is beyond the log or the log does not decode,\n"
      "1 cannot open, 64 usage\n");
}

}  // namespace

int run_replay(int argc, char** argv) {
  Args args(argc, argv, {"db", "until-seq", "until"}, {"no-snapshots"});
  if (args.help()) {
    print_help();
    return kExitOk;
  }
  auto db = args.get("db");
  auto until_seq = args.get_u64("until-seq");
  auto until_time_text = args.get("until");
  std::optional<TimeUs> until_time;
  if (until_time_text) {
    until_time = parse_time(*until_time_text);
    if (!until_time && args.ok()) {
      std::fprintf(stderr, "opsledger replay: --until must be an RFC 3339 time\n");
      return kExitUsage;
    }
  }
  if (!args.ok() || !db || until_seq.has_value() == until_time_text.has_value()) {
    std::fprintf(stderr, "opsledger replay: %s\n",
                 !args.ok() ? args.error().c_str()
                 : !db      ? "--db DIR is required"
                            : "give exactly one of --until-seq N and --until TIME");
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger replay: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  try {
    lmdb::Txn txn(*open.env, false);
    std::uint64_t last = read_tail(txn, open.dbis.events).seq;
    std::uint64_t seq = until_seq ? *until_seq : seq_at_recorded_time(txn, open.dbis, *until_time);
    if (seq > last) {
      std::fprintf(stderr, "opsledger replay: seq %llu is beyond the end of the log (last seq %llu)\n",
                   static_cast<unsigned long long>(seq), static_cast<unsigned long long>(last));
      return kExitRejected;
    }
    auto warn = [](const std::string& w) { std::fprintf(stderr, "opsledger replay: warning: %s\n", w.c_str()); };
    TermProgress progress("replay");
    ReplayResult r = replay_state(txn, open.dbis, seq, !args.flag("no-snapshots"), warn, progress.callback());
    progress.end();
    if (r.snapshot_seq && isatty(2))
      std::fprintf(stderr, "replay: started from the snapshot at seq %llu\n",
                   static_cast<unsigned long long>(r.snapshot_seq));
    boost::json::object out{{"seq", r.seq}, {"digest", to_hex(state_digest(r.state))}};
    if (auto bytes = read_event(txn, open.dbis.events, r.seq))
      out["recorded_at"] = format_time(decode_envelope(*bytes).recorded_at_us);
    else
      out["recorded_at"] = nullptr;
    out["state"] = state_to_json(r.state);
    std::string text = boost::json::serialize(out);
    text.push_back('\n');
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
      std::fprintf(stderr, "opsledger replay: cannot write the result\n");
      return kExitEngineFailure;
    }
    return kExitOk;
  } catch (const lmdb::LmdbError& e) {
    std::fprintf(stderr, "opsledger replay: %s\n", e.what());
    return kExitEngineFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsledger replay: %s\n", e.what());
    return kExitRejected;
  }
}

}  // namespace opsledger::cli
