// The opsledger subcommands. Each takes the arguments after its name, prints its result
// on stdout and diagnostics on stderr, and returns the process exit status.
#pragma once

namespace opsledger::cli {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

int run_apply(int argc, char** argv);
int run_verify(int argc, char** argv);
int run_rebuild(int argc, char** argv);
int run_snapshot(int argc, char** argv);
int run_replay(int argc, char** argv);
int run_export(int argc, char** argv);
int run_tail(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_import_legacy(int argc, char** argv);

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitEngineFailure = 1;
inline constexpr int kExitRejected = 2;  // apply: some lines rejected; verify: database unsound
inline constexpr int kExitUsage = 64;

}  // namespace opsledger::cli
