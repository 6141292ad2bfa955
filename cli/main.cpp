// opsledger — the command-line tool. `opsledger SUBCOMMAND --db DIR [options]`.
#include <cstdio>
#include <cstring>
#include <iterator>

#include "cli/subcommands.h"

using namespace opsledger::cli;

namespace {

const Subcommand kSubcommands[] = {
    {"apply", "read JSON-lines commands on stdin, answer each on stdout", run_apply},
    {"verify", "check the hash chain, the projections and the snapshots", run_verify},
    {"rebuild", "drop the projections and rebuild them from the log", run_rebuild},
    {"snapshot", "write a snapshot of the projection state now", run_snapshot},
    {"replay", "the state at a seq or a recorded time, as JSON", run_replay},
    {"export", "every event as a JSON line with its hashes", run_export},
    {"tail", "new events as JSON lines as they land (--follow)", run_tail},
    {"demo", "build a realistic platform, play a day, tell the story, verify", run_demo},
    {"import-legacy", "import a legacy run table (CSV) as read-only history", run_import_legacy},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: opsledger SUBCOMMAND --db DIR [options]\n\nsubcommands:\n");
  for (const auto& s : kSubcommands) std::fprintf(out, "  %-14s %s\n", s.name, s.summary);
  std::fprintf(out, "\n`opsledger SUBCOMMAND --help` describes one subcommand.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return kExitUsage;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(stdout);
    return kExitOk;
  }
  for (const auto& s : kSubcommands)
    if (!std::strcmp(argv[1], s.name)) return s.run(argc - 2, argv + 2);
  std::fprintf(stderr, "opsledger: unknown subcommand %s\n", argv[1]);
  usage(stderr);
  return kExitUsage;
}
