// opsledger apply --db DIR [--nosync]: the JSON-lines protocol on stdin/stdout.
//
// Lines that have arrived together run as one batch (one transaction, one durable commit);
// each batch's answers are written and flushed as soon as its commit returns, so a service
// can keep the pipe open and wait for each answer.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/subcommands.h"
#include "engine/dispatch.h"
#include "engine/engine_impl.h"
#include "opsledger/engine.h"

namespace opsledger::cli {
namespace {

constexpr std::size_t kReadChunk = 1 << 16;
constexpr std::size_t kBufferedBytesMax = std::size_t{8} << 20;
constexpr std::size_t kBatchLinesMax = 4096;

// Splits stdin into lines. A line longer than kLineBytesMax is not kept: its bytes are
// dropped as they arrive and it is handed on as an over-long marker, so memory stays bounded.
class LineReader {
 public:
  // Reads what is available (blocking only when nothing is buffered); false at EOF with
  // nothing left.
  bool fill(bool block) {
    char chunk[kReadChunk];
    for (;;) {
      if (!block) {
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0) return true;
      }
      ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return true;
      }
      consume(chunk, static_cast<std::size_t>(n));
      block = false;
      if (pending_bytes_ >= kBufferedBytesMax || lines_.size() >= kBatchLinesMax) return true;
    }
  }
  bool eof() const { return eof_; }
  std::vector<std::string>& lines() { return lines_; }
  void clear() {
    lines_.clear();
    pending_bytes_ = 0;
  }
  // At EOF, an unterminated last line still counts.
  void flush_partial() {
    if (!partial_.empty() || overlong_) end_line();
  }

 private:
  void consume(const char* p, std::size_t n) {
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* stop = nl ? nl : end;
      if (!overlong_) {
        partial_.append(p, static_cast<std::size_t>(stop - p));
        if (partial_.size() > kLineBytesMax) {
          overlong_ = true;
          partial_.clear();
          partial_.shrink_to_fit();
        }
      }
      if (!nl) break;
      end_line();
      p = nl + 1;
    }
  }
  void end_line() {
    if (overlong_) {
      lines_.emplace_back(kLineBytesMax + 1, ' ');  // answered line_too_long by the dispatcher
    } else {
      pending_bytes_ += partial_.size();
      lines_.push_back(std::move(partial_));
    }
    partial_.clear();
    overlong_ = false;
  }
  std::vector<std::string> lines_;
  std::string partial_;
  bool overlong_ = false;
  bool eof_ = false;
  std::size_t pending_bytes_ = 0;
};

void print_help() {
  std::printf(
      "usage: opsledger apply --db DIR [--nosync]\n\n"
      "Reads one JSON command per line on stdin and writes one JSON answer per line on\n"
      "stdout, in order, each after its event is durable. Creates and seeds the database\n"
      "when DIR is missing or empty.\n\n"
      "  --db DIR    database directory (an LMDB environment)\n"
      "  --nosync    do not fsync commits (tests and benchmarks only; answers say so)\n\n"
      "exit status: 0 every line ok, 2 some line rejected, 1 the engine failed\n");
}

}  // namespace

int run_apply(int argc, char** argv) {
  Args args(argc, argv, {"db"}, {"nosync"});
  if (args.help()) {
    print_help();
    return kExitOk;
  }
  auto db = args.get("db");
  if (!args.ok() || !db) {
    std::fprintf(stderr, "opsledger apply: %s\n", args.ok() ? "--db DIR is required" : args.error().c_str());
    return kExitUsage;
  }
  Options options;
  if (args.flag("nosync")) options.durability = Durability::nosync;
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(*db, options, engine);
  if (!s) {
    std::fprintf(stderr, "opsledger apply: cannot open %s: %s\n", db->c_str(), s.message().c_str());
    return kExitEngineFailure;
  }
  LineReader in;
  bool rejected = false, failed = false;
  std::string out;
  for (;;) {
    in.fill(in.lines().empty());
    if (in.eof()) in.flush_partial();
    auto& lines = in.lines();
    if (!lines.empty()) {
      std::vector<std::string_view> views(lines.begin(), lines.end());
      auto answers = engine->impl().run_batch(views);
      out.clear();
      for (const auto& a : answers) {
        if (a.rfind("{\"ok\":true", 0) != 0) {
          rejected = true;
          if (a.find("\"code\":\"io_error\"") != std::string::npos ||
              a.find("\"code\":\"storage_full\"") != std::string::npos ||
              a.find("\"code\":\"internal_error\"") != std::string::npos)
            failed = true;
        }
        out += a;
        out.push_back('\n');
      }
      if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "opsledger apply: cannot write answers\n");
        return kExitEngineFailure;
      }
      in.clear();
    }
    if (in.eof() && in.lines().empty()) break;
  }
  if (failed) return kExitEngineFailure;
  return rejected ? kExitRejected : kExitOk;
}

}  // namespace opsledger::cli
