// Helpers for driving the engine and raw LMDB from the workloads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench.h"
#include "benchmarks/fleet.h"
#include "opsledger/engine.h"

namespace opsledger::bench {

// Every benchmark database starts with a map this large, so that no measurement includes
// the engine growing its map (a real deployment grows it once and keeps it).
inline constexpr std::size_t kBenchMapBytes = std::size_t{64} << 30;

// Opens an engine on `dir` and applies the fleet's setup; throws when any setup command
// is rejected.
std::unique_ptr<Engine> open_fleet_engine(const std::string& dir, Durability durability);

// Sends `commands` through execute_batch in batches of `batch_max`; throws on any answer
// that is not ok.
void apply_all_ok(Engine& engine, const std::vector<std::string>& commands, std::size_t batch_max = 4096);

// Runs `process` over consecutive batches of `lines` (at most `batch` each) until all
// `count` lines are done or `seconds_max` has passed (at least one batch always runs).
struct Progressed {
  std::uint64_t done = 0;
  double seconds = 0;
  bool cut_short = false;  // stopped by the time bound before `count`
};
Progressed run_batches(std::span<const std::string_view> lines, std::uint64_t count, std::size_t batch,
                       double seconds_max, const std::function<void(std::span<const std::string_view>)>& process);

// Mean stored size (key + value bytes) of the events in (from_seq, last] of the engine's log.
double mean_event_bytes(Engine& engine, std::uint64_t from_seq);

// The limit: raw durable appends of `record_bytes`-byte records to an `events` database in
// a fresh LMDB environment in `dir`, committed every `batch` records; no decisions.
Progressed raw_lmdb_appends(const std::string& dir, std::uint64_t count, std::size_t batch, std::size_t record_bytes,
                            double seconds_max);

// Peak and current memory of this process from /proc/self/status, in KiB.
struct MemoryFigures {
  std::uint64_t hwm_kb = 0;       // VmHWM: peak resident
  std::uint64_t rss_anon_kb = 0;  // RssAnon: resident anonymous (heap) now
  std::uint64_t rss_file_kb = 0;  // RssFile: resident file-backed (the LMDB map) now
};
MemoryFigures memory_figures();

}  // namespace opsledger::bench
