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
  } catch (const std::exception&) {
    return;  // a mutex that cannot be locked: the next crossing asks again
  }
  cv_.notify_all();
}

void SnapshotWorker::wait_idle() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return closing_ || (!requested_ && !running_); });
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
    running_ = true;
    stop_ = false;
    lk.unlock();
    bool written = true;
    try {
      written = take_(stop_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "opsledger: automatic snapshot failed: %s\n", e.what());
    }
    lk.lock();
    running_ = false;
    // Given up for a pause: taken again once it ends. (For closing: the next open finds
    // it due and takes it.)
    if (!written && !closing_) requested_ = true;
    cv_.notify_all();
  }
}

}  // namespace opsledger
