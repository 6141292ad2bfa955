// Parsing a batch on a second thread while the batch runs.
//
// parse_line needs no state, so a batch need not wait for all of its lines to be parsed
// before deciding the first: a ParseAhead parses the lines in order on a thread of its
// own and the deciding thread takes line i as soon as it is ready. The two overlap, and a
// batch costs about the longer of the two instead of their sum. (The first version parsed
// the two halves of a batch on two threads and then decided: half the parse plus all of
// the decisions.)
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>

#include "engine/dispatch.h"

namespace opsledger {

class ParseAhead {
 public:
  // Below this many lines a thread costs more than it saves: the lines are parsed by the
  // constructor, on the calling thread.
  static constexpr std::size_t kThreadFrom = 256;

  // `lines` must outlive this object. When no thread can be started, parses every line
  // on the calling thread.
  explicit ParseAhead(std::span<const std::string_view> lines);
  // Stops the parsing thread (at its next line) and joins it.
  ~ParseAhead();
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  std::size_t size() const { return lines_.size(); }
  // Line i (i < size()), parsed; waits until it is. Rethrows what the parsing thread
  // threw (only std::bad_alloc can escape parse_line).
  const ParsedLine& at(std::size_t i);

 private:
  void parse_all() noexcept;

  std::span<const std::string_view> lines_;
  std::unique_ptr<std::optional<ParsedLine>[]> parsed_;
  std::atomic<std::size_t> ready_{0};  // parsed_[0, ready_) are set
  std::atomic<bool> stop_{false};
  std::atomic<bool> waiting_{false};  // the taker sleeps on cv_
  std::mutex mu_;
  std::condition_variable cv_;
  bool failed_ = false;  // under mu_
  std::exception_ptr failure_;
  std::thread worker_;
};

}  // namespace opsledger
