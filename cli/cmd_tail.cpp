// opsledger tail --db DIR [--after SEQ] [--follow] [--interval-ms N]: the events after SEQ
// as JSON lines (the export format), for services that react to what lands in the log.
// With --follow it keeps polling, one fresh read transaction per poll (so it never pins
// old pages), until SIGINT or SIGTERM, or until its reader goes away (EPIPE or a closed
// pipe on stdout); each of those ends it with status 0.
#include <boost/json.hpp>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>

#include "cli/cli_args.h"
#include "cli/cli_db.h"
#include "cli/subcommands.h"
#include "engine/event_log.h"
#include "engine/render_json.h"
#include "events/bytes.h"

namespace opsledger::cli {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the sleep returns early
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// True when stdout is a pipe or socket whose reader has gone.
bool stdout_closed() {
  pollfd p{1, 0, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

void sleep_ms(std::uint64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  nanosleep(&ts, nullptr);  // interrupted by a signal: fine, the loop checks g_stop
}

enum class Pass { ok, reader_gone, failed };

// Writes every event after `after` that the log holds now; advances `after`.
Pass write_new_events(lmdb::Env& env, const Dbis& dbis, std::uint64_t& after) {
  lmdb::Txn txn(env, false);
  lmdb::Cursor c(txn, dbis.events);
  std::string line;
  for (bool more = c.seek(be64(after + 1)); more && !g_stop; more = c.next()) {
    std::uint64_t seq = get_be64(c.key());
    if (seq != after + 1)
      std::fprintf(stderr, "opsledger tail: warning: seq %llu missing\n", static_cast<unsigned long long>(after + 1));
    line = boost::json::serialize(export_record(seq, c.value()));
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) return errno == EPIPE ? Pass::reader_gone : Pass::failed;
    after = seq;
  }
  if (std::fflush(stdout) != 0) return errno == EPIPE ? Pass::reader_gone : Pass::failed;
  return Pass::ok;
}

}  // namespace

int run_tail(int argc, char** argv) {
  Args args(argc, argv, {"db", "after", "interval-ms"}, {"follow"});
  if (args.help()) {
    std::printf(
        "usage: opsledger tail --db DIR [--after SEQ] [--follow] [--interval-ms N]\n\n"
        "Writes the events after SEQ as JSON lines (the export format). Without --after,\n"
        "starts after the log's current last event, so only new events are shown.\n\n"
        "  --follow          keep polling for new events until SIGINT/SIGTERM or until\n"
        "                    stdout's reader goes away\n"
        "  --interval-ms N   time between polls with --follow (default 200, 1 to 60000)\n\n"
        "exit status: 0 ok, 1 cannot open, read or write, 64 usage\n");
    return kExitOk;
  }
  auto db = args.get("db");
  auto after_opt = args.get_u64("after");
  auto interval = args.get_u64("interval-ms").value_or(200);
  if (args.ok() && (interval < 1 || interval > 60000)) {
    std::fprintf(stderr, "opsledger tail: --interval-ms must be from 1 to 60000\n");
    return kExitUsage;
  }
  if (!args.ok() || !db) {
    std::fprintf(stderr, "opsledger tail: %s\n", args.ok() ? "--db DIR is required" : args.error().c_str());
    return kExitUsage;
  }
  std::string error;
  OpenDb open = open_existing(*db, error);
  if (!open.env) {
    std::fprintf(stderr, "opsledger tail: %s\n", error.c_str());
    return kExitEngineFailure;
  }
  install_handlers();
  try {
    std::uint64_t after = 0;
    if (after_opt) {
      after = *after_opt;
    } else {
      lmdb::Txn txn(*open.env, false);
      after = read_tail(txn, open.dbis.events).seq;
    }
    for (;;) {
      Pass p = write_new_events(*open.env, open.dbis, after);
      // A signal that interrupted a write is a request to stop, not a failure.
      if (p == Pass::reader_gone || g_stop) return kExitOk;
      if (p == Pass::failed) {
        std::fprintf(stderr, "opsledger tail: cannot write\n");
        return kExitEngineFailure;
      }
      if (!args.flag("follow") || g_stop || stdout_closed()) return kExitOk;
      sleep_ms(interval);
      if (g_stop) return kExitOk;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsledger tail: %s\n", e.what());
    return kExitEngineFailure;
  }
}

}  // namespace opsledger::cli
