// opsledger: the embeddable, event-sourced start gate and run ledger.
//
// One Engine per process and database directory; any number of threads may call it at
// once, and several processes may open the same directory (LMDB serialises writers).
// Commands are JSON objects exactly as in the JSON-lines protocol (docs/protocol.md); every
// answer is one JSON object: {"ok":true,...} or {"ok":false,"error":{code,message,field}}.
// Rejections are answers, not Status failures: a Status is only for the engine itself
// (cannot open, I/O error, full disk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opsledger/status.h"

namespace opsledger {

enum class Durability {
  durable,  // every answer follows an fsync'ed commit (default)
  nosync,   // commits are not fsync'ed: tests and benchmarks only; a crash may lose answers
};

struct Options {
  Durability durability = Durability::durable;
  // Initial LMDB map size; the map doubles whenever it fills.
  std::size_t initial_map_size_bytes = std::size_t{64} << 20;
  // 0: grow without limit (until the disk is full). Otherwise growth stops here and a
  // command that needs more space answers storage_full.
  std::size_t max_map_size_bytes = 0;
  // Engine clock in microseconds since the Unix epoch; defaults to the system clock.
  // Only stamped into events, never read by projections.
  std::function<std::int64_t()> clock;
  // Take an automatic snapshot every N events (0: never): after a commit whose seqs
  // crossed a multiple of N, a snapshot of the committed state is written by a thread of
  // the engine's own while commands go on being answered (docs/audit.md). One due when the
  // engine closed (closing makes a snapshot still reading give up) is taken after the next
  // open.
  std::uint64_t snapshot_every_events = 0;
  // Retention: after an automatic snapshot is stored, every snapshot but the newest K is
  // deleted in the same commit (0: keep them all). Replaying to a point before the oldest
  // one kept starts from genesis (docs/audit.md).
  std::uint64_t snapshots_kept = 0;
};

class Engine {
 public:
  // Opens the database in `dir`, creating and seeding it when `dir` is missing or empty.
  // Errors: io_error (cannot create/open), corrupt (not an opsledger database).
  static Status open(const std::string& dir, const Options& options, std::unique_ptr<Engine>& out);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Executes one command (a JSON text) and returns its answer (a JSON text) after the
  // command's event is durable. Thread-safe: concurrent callers share one commit (group
  // commit). A storage failure answers {"ok":false,"error":{"code":"storage_full"|"io_error"}}.
  std::string execute(std::string_view command_json);

  // Executes commands in order in one transaction and one durable commit; answers in order.
  // Each command sees the effects of the ones before it.
  std::vector<std::string> execute_batch(std::span<const std::string_view> commands);

  // Highest seq in the log.
  std::uint64_t last_seq() const;

  // Blocks until the automatic snapshots asked for so far are written or have failed (a
  // failure is reported on stderr); returns at once without snapshot_every_events.
  void wait_for_snapshots();
  const std::string& directory() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsledger
