// opsledger_bench: the engine side by side with the approach it replaces (SQLite,
// PostgreSQL) and with the limit of its own storage (raw LMDB), reported as ratios.
//
// Every workload fills a Section: one or more cases, each with the engine's measurement
// first and then each peer's and the limit's, all of the same work; the report prints the
// ratio engine/x for each. Targets from the benchmarks issue are checked and printed, never
// asserted: a benchmark measures, it does not pass or fail.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace opsledger::bench {

struct RunConfig {
  bool quick = false;
  bool smoke = false;  // tiny sizes, seconds: only proves the harness runs end to end
  bool json = false;
  std::set<std::string> only;  // empty: every workload
  std::string data_dir;        // where temporary databases go (default: $TMPDIR)
  std::string keep_dir;        // when set, W3's generated log is kept and reused here
  std::string self_exe;        // for child processes
  std::string cli_exe;         // the opsledger tool, for the pipe workload
  std::string json_out;        // also write the JSON report to this file
  std::vector<std::size_t> w1_batches;  // W1's batch sizes; empty: the mode's (1, 16, 256, 4,096)
  // Diagnosis only: the engine of W1, W2 and PIPE commits without fsync, to separate its CPU
  // bound from its disk bound. Such rows say "nosync" and are no comparison with the peers.
  bool engine_nosync = false;
  std::string engine_name(const std::string& base) const { return engine_nosync ? base + " (nosync)" : base; }
  bool wants(const std::string& id) const { return only.empty() || only.count(id) > 0; }
};

// One system's figure for one case. `value` is in `unit`; `higher_is_better` says how to
// read it. Extra figures (latencies, peak memory, counts) go in `details`, in order.
struct Measure {
  std::string system;  // "engine", "sqlite", "postgresql", "lmdb-limit", …
  std::string role;    // "engine", "peer" or "limit"
  double value = 0;
  std::string unit;
  bool higher_is_better = true;
  std::vector<std::pair<std::string, double>> details;
  std::string note;     // e.g. "skipped: PostgreSQL could not be started"
  bool skipped = false;
  bool fault = false;   // the harness or a system misbehaved: the figure is not to be trusted

  // The detail named `key`, when present.
  std::optional<double> detail(std::string_view key) const {
    for (const auto& [k, v] : details)
      if (k == key) return v;
    return std::nullopt;
  }
};

struct Case {
  std::string name;
  std::vector<Measure> measures;  // the engine's first
  std::string note;
  bool fault = false;  // e.g. the systems disagreed on the decisions: a bug
};

struct Target {
  std::string what;       // "W1 batch 4096: engine/sqlite"
  double threshold = 0;   // the value must be >= (or <= when !at_least) this
  bool at_least = true;
  std::optional<double> value;  // nullopt: not measured in this run
  std::string unit;
};

struct Section {
  std::string id;     // "W1"
  std::string title;
  std::string setup;  // one paragraph: what was run
  std::vector<Case> cases;
  std::vector<Target> targets;
  std::vector<std::string> notes;
};

// Monotonic stopwatch.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A small deterministic generator (splitmix64): the same seed gives the same workload on
// every machine, so the engine and its peers see identical requests.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::uint64_t s_;
};

// A fresh directory under the configured data dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir(const RunConfig& cfg, const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Percentile (0..100) of unsorted samples (sorted in place).
double percentile(std::vector<double>& samples, double pct);

// Describes the machine for the report: nproc, CPU model, memory, the data dir's disk.
std::vector<std::pair<std::string, std::string>> machine_description(const RunConfig& cfg);

void print_text(const std::vector<Section>& sections, const RunConfig& cfg);
// The faults recorded in the sections (empty when the run is sound).
std::vector<std::string> faults_of(const std::vector<Section>& sections);
void print_json(const std::vector<Section>& sections, const RunConfig& cfg, std::FILE* to = stdout);

// Progress to stderr (stdout carries only the report).
void progress(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The workloads. Each returns its section; a workload that cannot run at all says why in
// its notes instead of throwing.
Section run_w1(const RunConfig& cfg);
Section run_w2(const RunConfig& cfg);
Section run_w3_w4(const RunConfig& cfg, Section& w4);
Section run_w5(const RunConfig& cfg);
Section run_pipe(const RunConfig& cfg);

// Child-process entry (W3/W4 memory and open measurements): `opsledger_bench --child ...`.
int child_main(int argc, char** argv);

}  // namespace opsledger::bench
