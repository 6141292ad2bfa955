// opsledger export --db DIR [--from-seq A] [--to-seq B]: every event from A to B (both
// inclusive; default the whole log) as one JSON line: seq, hash, prev_hash, type, version,
// at, recorded_at, request_id, actor, payload. The chain is checked on the way: a line
// whose hash does not recompute or does not link to the line before is still exported as
// stored, with a warning on stderr, and the exit status is 2.
#include <boost/json.hpp>

#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "engine/event_log.h"
#include "engine/render_json.h"
#include "events/bytes.h"

namespace opsledger::cli {

int run_export(int argc, char** argv) {
  Args args(argc, argv, {"db", "from-seq", "to-seq"}, {});
  if (args.help()) {
    std::printf(
        "usage: opsledger export --db DIR [--from-seq A] [--to-seq B]\n\n"
        "Writes every event from seq A to seq B (inclusive; default: the whole log) as one\n"
        "JSON line with seq, hash, prev_hash, type, version, at, recorded_at, request_id,\n"
        "actor and the decoded payload. Appends nothing.\n\n"
        "exit status: 0 ok, 2 the log is damaged in the range (warnings on stderr),\n"
        "1 cannot open or write, 64 usage\n");
    return kExitOk;
  }
  auto db = args.get("db");
  auto from = args.get_u64("from-seq");
  auto to = args.get_u64("to-seq");
  if (!args.ok() || !db) {
    std::fprintf(stderr, "opsledger export: %s\n", args.ok() ? "--db DIR is required" : args.error().c_str());
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger export: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  bool damaged = false;
  auto warn = [&](std::uint64_t seq, const std::string& what) {
    damaged = true;
    std::fprintf(stderr, "opsledger export: warning: seq %llu: %s\n", static_cast<unsigned long long>(seq),
                 what.c_str());
  };
  try {
    lmdb::Txn txn(*open.env, false);
    std::uint64_t first = from.value_or(1) == 0 ? 1 : from.value_or(1);
    std::uint64_t expect = first;
    std::string prev_hash;  // raw; empty when unknown (first line of a range that is not genesis)
    if (first == 1) {
      prev_hash.assign(kHashSize, '\0');
    } else if (auto before = read_event(txn, open.dbis.events, first - 1)) {
      prev_hash = decode_envelope(*before).hash;
    }
    lmdb::Cursor c(txn, open.dbis.events);
    std::string line;
    for (bool more = c.seek(be64(first)); more; more = c.next()) {
      std::uint64_t seq = get_be64(c.key());
      if (to && seq > *to) break;
      if (seq != expect) warn(expect, "event missing (next present is seq " + std::to_string(seq) + ")");
      expect = seq + 1;
      Envelope env;
      try {
        env = decode_envelope(c.value());
        line = boost::json::serialize(export_record(seq, c.value()));
      } catch (const std::exception& e) {
        warn(seq, std::string("does not decode, export stops here: ") + e.what());
        break;
      }
      if (!envelope_hash_ok(c.value())) warn(seq, "hash does not match the envelope bytes");
      if (!prev_hash.empty() && env.prev_hash != prev_hash) warn(seq, "prev_hash does not match the previous event");
      prev_hash = env.hash;
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
        std::fprintf(stderr, "opsledger export: cannot write\n");
        return kExitEngineFailure;
      }
    }
    if (std::fflush(stdout) != 0) {
      std::fprintf(stderr, "opsledger export: cannot write\n");
      return kExitEngineFailure;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsledger export: %s\n", e.what());
    return kExitEngineFailure;
  }
  return damaged ? kExitRejected : kExitOk;
}

}  // namespace opsledger::cli
