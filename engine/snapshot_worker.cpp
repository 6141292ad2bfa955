#include "engine/snapshot_worker.h"

#include <cstdio>
#include <exception>
#include <utility>

namespace opsledger {

SnapshotWorker::SnapshotWorker(Take take) : take_(std::move(take)), thread_([this] { loop(); }) {}

SnapshotWorker::~SnapshotWorker() {
  {
    std::lock_guard lk(mu_);
    closing_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SnapshotWorker::request() noexcept {
  try {
    std::lock_guard lk(mu_);
    requested_ = true;
    ++requests_;
  } catch (const std::exception&) {
    return;  // a mutex that cannot be locked: the next crossing asks again
  }
  cv_.notify_all();
}

void SnapshotWorker::wait_idle() {
  std::unique_lock lk(mu_);
  std::uint64_t asked = requests_;
  cv_.wait(lk, [&] { return closing_ || done_ >= asked; });
}

SnapshotWorker::Pause SnapshotWorker::pause() {
  std::unique_lock lk(mu_);
  ++paused_;
  if (running_) stop_ = true;
  cv_.wait(lk, [&] { return !running_; });
  return Pause(*this);
}

void SnapshotWorker::resume() noexcept {
  {
    std::lock_guard lk(mu_);
    --paused_;
  }
  cv_.notify_all();
}

void SnapshotWorker::loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return closing_ || (requested_ && paused_ == 0); });
    if (closing_) return;
    requested_ = false;
    std::uint64_t answers = requests_;  // every request so far is merged into this one
    running_ = true;
    stop_ = false;
    lk.unlock();
    bool finished = true;  // written, or failed
    try {
      finished = take_(stop_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "opsledger: automatic snapshot failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "opsledger: automatic snapshot failed\n");
    }
    lk.lock();
    running_ = false;
    if (finished)
      done_ = answers;
    else if (!closing_)
      requested_ = true;  // given up for a pause: taken again once it ends
    // (Given up for closing: the next open finds it due and takes it.)
    cv_.notify_all();
  }
}

}  // namespace opsledger
