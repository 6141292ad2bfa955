#include "tests/cli_process.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace opsledger::test {

pid_t spawn_cli(const std::vector<std::string>& args) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> argv{const_cast<char*>(OPSLEDGER_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(OPSLEDGER_CLI, argv.data());
    _exit(127);
  }
  return pid;
}

int run_cli(const std::vector<std::string>& args) {
  pid_t pid = spawn_cli(args);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cli_verify(const std::string& dir) { return run_cli({"verify", "--db", dir}); }

}  // namespace opsledger::test
