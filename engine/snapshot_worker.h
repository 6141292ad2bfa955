// The thread that writes an engine's automatic snapshots (Options::snapshot_every_events),
// so that no batch waits for one: reading and encoding a large state takes a minute.
//
// request() asks for a snapshot and returns at once; requests made while one is being
// written are merged into one more, taken after it. pause() makes the snapshot in
// progress give up (it is taken again afterwards; Take may keep what it had encoded) and
// keeps another from starting until the pause ends: the engine pauses the worker before
// its map is remapped (grown, or adopted at the size another process set) or its
// environment reopened, which no transaction of the process may outlive.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace opsledger {

class SnapshotWorker {
 public:
  // Writes one snapshot. Polls `stop`, and returns false when it gave up because of it;
  // true when the snapshot was written. A failure is thrown; the worker reports it on
  // stderr and waits for the next request.
  using Take = std::function<bool(const std::atomic<bool>& stop)>;

  explicit SnapshotWorker(Take take);
  // Makes the snapshot in progress give up (one that has finished reading may still be
  // stored) and joins the thread.
  ~SnapshotWorker();
  SnapshotWorker(const SnapshotWorker&) = delete;
  SnapshotWorker& operator=(const SnapshotWorker&) = delete;

  void request() noexcept;
  // Blocks until every snapshot requested before the call has been written or has failed
  // (a snapshot that gave up for a pause is taken again, and waited for).
  void wait_idle();

  class Pause {
   public:
    explicit Pause(SnapshotWorker& w) : w_(&w) {}
    Pause(Pause&& o) noexcept : w_(o.w_) { o.w_ = nullptr; }
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;
    Pause& operator=(Pause&&) = delete;
    ~Pause() {
      if (w_) w_->resume();
    }

   private:
    SnapshotWorker* w_;
  };
  // Returns once no snapshot is being written; none starts until the Pause is destroyed.
  // Not on the worker's own thread.
  [[nodiscard]] Pause pause();
  bool on_worker_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void resume() noexcept;
  void loop();

  Take take_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  std::uint64_t requests_ = 0;  // request() calls so far
  std::uint64_t done_ = 0;      // requests answered by a snapshot written or failed
  bool running_ = false;
  bool closing_ = false;
  int paused_ = 0;
  std::atomic<bool> stop_{false};  // set: the snapshot in progress gives up
  std::thread thread_;             // last: started once the rest is ready
};

}  // namespace opsledger
