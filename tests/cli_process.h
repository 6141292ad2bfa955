// Running the `opsledger` tool from a test: as a child process with its output discarded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace opsledger::test {

// Starts `opsledger ARGS...` with stdout and stderr to /dev/null; returns its pid.
pid_t spawn_cli(const std::vector<std::string>& args);
// Runs it to its end; returns its exit status (-1 when it did not exit normally).
int run_cli(const std::vector<std::string>& args);
// `opsledger verify --db DIR`'s exit status.
int cli_verify(const std::string& dir);

// `opsledger apply --db DIR` as a child: commands are written to `to_child`, answers read
// from `from_child`; its stderr goes to /dev/null.
struct ApplyChild {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};
// `env`, when given, is the child's whole environment; otherwise it inherits this one.
ApplyChild spawn_apply(const std::string& dir, const std::vector<std::string>* env = nullptr);

}  // namespace opsledger::test
