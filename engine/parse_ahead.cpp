#include "engine/parse_ahead.h"

#include <system_error>

namespace opsledger {

ParseAhead::ParseAhead(std::span<const std::string_view> lines)
    : lines_(lines), parsed_(std::make_unique<std::optional<ParsedLine>[]>(lines.size())) {
  if (lines.size() >= kThreadFrom) {
    try {
      worker_ = std::thread([this] { parse_all(); });
      return;
    } catch (const std::system_error&) {
      // no thread to be had: all on this one
    }
  }
  for (std::size_t i = 0; i < lines_.size(); ++i) parsed_[i].emplace(parse_line(lines_[i]));
  ready_.store(lines_.size());
}

ParseAhead::~ParseAhead() {
  stop_.store(true);
  if (worker_.joinable()) worker_.join();
}

// Publishes each line as it is parsed. The taker announces that it sleeps (waiting_)
// before it checks ready_ under the mutex, and this thread stores ready_ before it reads
// waiting_, both sequentially consistent: either the taker sees the new line or this
// thread sees the taker asleep and wakes it.
void ParseAhead::parse_all() noexcept {
  try {
    for (std::size_t i = 0; i < lines_.size() && !stop_.load(std::memory_order_relaxed); ++i) {
      parsed_[i].emplace(parse_line(lines_[i]));
      ready_.store(i + 1);
      if (waiting_.load()) {
        std::lock_guard lk(mu_);
        cv_.notify_one();
      }
    }
  } catch (...) {
    std::lock_guard lk(mu_);
    failed_ = true;
    failure_ = std::current_exception();
    cv_.notify_one();
  }
}

const ParsedLine& ParseAhead::at(std::size_t i) {
  if (ready_.load(std::memory_order_acquire) <= i) {
    std::unique_lock lk(mu_);
    waiting_.store(true);
    cv_.wait(lk, [&] { return ready_.load() > i || failed_; });
    waiting_.store(false);
    if (ready_.load() <= i) std::rethrow_exception(failure_);
  }
  return *parsed_[i];
}

}  // namespace opsledger
