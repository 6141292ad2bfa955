// Measurements that run in a child process of their own (`opsledger_bench --child MODE
// ARGS…`), so that each has its own peak resident memory (its VmHWM, reported by itself) and starts
// cold in its own address space. The child prints one JSON object on stdout.
//
// Modes:
//   scan DIR                   raw cursor scan of the `events` database (the limit)
//   decode DIR                 scan + decode every envelope and payload, no apply
//   rebuild-memory DIR [SEQ]   replay_into a MemoryStore, to SEQ (default: the end)
//   rebuild-lmdb DIR OUT       replay_into a fresh LMDB environment in OUT, durable at the end
//   open DIR LINE              Engine::open (durable) then execute LINE: time to first answer
//   sqlite-apply FILE          the SQLite peer of the pipe workload: JSON lines on stdin,
//                              transactions of 1,000 lines, one answer line per input line
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench.h"

namespace opsledger::bench {

// A process run to its end: its exit status and the kernel's accounting of it.
struct ProcessRun {
  int exit_code = -1;       // -1: killed by a signal or not started
  // Peak resident memory of the process itself (its VmHWM, sampled every 10 ms while it
  // runs): wait4's ru_maxrss is useless here, because Linux carries the spawning process's
  // peak across exec into the child's.
  double peak_rss_kb = 0;
  double wall_seconds = 0;  // from spawn to exit, as the parent saw it
  double user_seconds = 0;
  double sys_seconds = 0;
  std::string error;        // the spawn failed
};

// Runs `argv` with `stdin_bytes` written to its standard input as fast as the pipe takes
// them (then closed; no input when null), handing its standard output to `on_stdout` chunk
// by chunk; its standard error goes to ours.
ProcessRun run_process(const std::vector<std::string>& argv, const std::string* stdin_bytes,
                       const std::function<void(std::string_view)>& on_stdout);

struct ChildResult {
  boost::json::object out;  // the child's JSON
  ProcessRun run;
  std::string error;        // non-empty when the child failed
};

// Runs the harness itself as a child with `args` (after --child).
ChildResult run_child(const RunConfig& cfg, const std::vector<std::string>& args);

}  // namespace opsledger::bench
