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

ApplyChild spawn_apply(const std::string& dir, const std::vector<std::string>* env) {
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  std::vector<char*> envp;
  if (env) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(in[1]);
    close(out[0]);
    char* argv[] = {const_cast<char*>(OPSLEDGER_CLI), const_cast<char*>("apply"), const_cast<char*>("--db"),
                    const_cast<char*>(dir.c_str()), nullptr};
    if (env)
      execve(OPSLEDGER_CLI, argv, envp.data());
    else
      execv(OPSLEDGER_CLI, argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  return {pid, in[1], out[0]};
}

}  // namespace opsledger::test
