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

}  // namespace opsledger::test
