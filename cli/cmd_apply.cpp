// opsledger apply --db DIR [--nosync]: the JSON-lines protocol on stdin/stdout.
//
// Lines that have arrived together run as one batch (one transaction, one durable commit);
// each batch's answers are written and flushed as soon as its commit returns, so a service
// can keep the pipe open and wait for each answer.
//
// Two threads: a reader takes lines off stdin and parses them (parse_line needs no state),
// while the main thread runs the batch before, commits it and writes its answers. At most
// kBatchesAhead parsed batches wait, so memory stays bounded when input outruns commits.
#include <boost/json/monotonic_resource.hpp>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
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
constexpr std::size_t kBatchLinesMax = 16384;
// The first batches are smaller, growing fourfold to kBatchLinesMax: the deciding thread
// waits for the first batch to be parsed, and 16,384 lines take ~0.1 s to parse.
constexpr std::size_t kFirstBatchLinesMax = 1024;
constexpr std::size_t kBatchesAhead = 2;
// Batches in flight: being parsed, waiting, being decided; their buffers are reused.
constexpr std::size_t kBatchesPooled = kBatchesAhead + 2;
constexpr int kStopCheckMs = 100;
constexpr int kTrimThresholdBytes = 256 << 20;
constexpr int kMmapThresholdBytes = 32 << 20;  // glibc's largest on 64-bit

// Splits stdin into lines. A line longer than kLineBytesMax is not kept: its bytes are
// dropped as they arrive and it is handed on as an over-long marker, so memory stays bounded.
class LineReader {
 public:
  // Reads what is available, waiting only when nothing is buffered (and then no longer than
  // kStopCheckMs, so that the caller can look at its stop flag).
  void fill(bool block) {
    char chunk[kReadChunk];
    for (;;) {
      pollfd p{0, POLLIN, 0};
      int ready = poll(&p, 1, block ? kStopCheckMs : 0);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return;
      ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return;
      }
      consume(chunk, static_cast<std::size_t>(n));
      block = false;
      if (pending_bytes_ >= kBufferedBytesMax || lines_.size() >= lines_max_) return;
    }
  }
  bool eof() const { return eof_; }
  std::vector<std::string>& lines() { return lines_; }
  std::size_t bytes() const { return pending_bytes_; }
  void clear() {
    lines_.clear();
    pending_bytes_ = 0;
    lines_max_ = std::min(lines_max_ * 4, kBatchLinesMax);
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
  std::size_t lines_max_ = kFirstBatchLinesMax;  // a batch's lines, read in chunks: may pass it by a chunk
};

// A batch's parsed lines share one block: `buffer`, then what the resource over it takes
// from the heap when it runs out. A spent batch goes back to the reader with its buffer,
// whose pages are then already mapped (a fresh block each batch cost the reader a page
// fault per 4 KiB: a quarter of its time). The lines' json values live in `buffer`, which
// nothing counts: every copy of a part of them must be gone when the batch is (commands
// copy parts only into locals).
struct Batch {
  std::unique_ptr<unsigned char[]> buffer;  // declared first: destroyed after the lines
  std::size_t buffer_size = 0;
  std::vector<ParsedLine> parsed;

  Batch() = default;
  Batch(Batch&&) noexcept = default;
  // Member-wise assignment would free this batch's buffer before its lines.
  Batch& operator=(Batch&& other) noexcept {
    parsed.clear();
    buffer = std::move(other.buffer);
    buffer_size = other.buffer_size;
    parsed = std::move(other.parsed);
    return *this;
  }
};

// The reader thread's side: batches of parsed lines, in input order, then the end.
class BatchQueue {
 public:
  // Waits while kBatchesAhead batches wait; false when the consumer has stopped.
  bool push(Batch b) {
    std::unique_lock lk(mu_);
    room_.wait(lk, [&] { return stop_ || batches_.size() < kBatchesAhead; });
    if (stop_) return false;
    batches_.push_back(std::move(b));
    ready_.notify_one();
    return true;
  }
  void finish(std::exception_ptr failure = nullptr) {
    std::lock_guard lk(mu_);
    done_ = true;
    failure_ = failure;
    ready_.notify_one();
  }
  // The next batch; false at the end (rethrows what failed the reader).
  bool pop(Batch& b) {
    std::unique_lock lk(mu_);
    ready_.wait(lk, [&] { return done_ || !batches_.empty(); });
    if (batches_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return false;
    }
    b = std::move(batches_.front());
    batches_.pop_front();
    room_.notify_one();
    return true;
  }
  void stop() {
    std::lock_guard lk(mu_);
    stop_ = true;
    room_.notify_one();
  }
  // A batch the main thread is done with goes back to the reader, which frees its lines
  // (they were allocated on the reader's thread, whose allocator takes them back fastest)
  // and reuses its vector.
  void recycle(Batch b) {
    std::lock_guard lk(mu_);
    if (spent_.size() < kBatchesPooled) spent_.push_back(std::move(b));
  }
  // The batches given back so far (the caller destroys them).
  std::deque<Batch> take_spent() {
    std::lock_guard lk(mu_);
    std::deque<Batch> spent;
    spent.swap(spent_);
    return spent;
  }
  bool stopped() {
    std::lock_guard lk(mu_);
    return stop_;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<Batch> batches_;
  std::deque<Batch> spent_;
  bool done_ = false, stop_ = false;
  std::exception_ptr failure_;
};

void read_and_parse(BatchQueue& queue) {
  try {
    LineReader in;
    std::vector<Batch> pool;  // spent batches, emptied, ready to be filled again
    for (;;) {
      in.fill(true);
      if (queue.stopped()) break;
      if (in.eof()) in.flush_partial();
      if (!in.lines().empty()) {
        for (auto& spent : queue.take_spent()) {
          spent.parsed.clear();  // frees the lines (and the resource over the buffer); the capacity stays
          if (pool.size() < kBatchesPooled) pool.push_back(std::move(spent));
        }
        Batch b;
        if (!pool.empty()) {
          b = std::move(pool.back());
          pool.pop_back();
        }
        std::size_t block = 2 * in.bytes() + 512 * in.lines().size();
        if (b.buffer_size < block) {
          // With room to spare: the next batches of about this size reuse it.
          b.buffer.reset();
          b.buffer.reset(new unsigned char[block + block / 2]);
          b.buffer_size = block + block / 2;
        }
        auto storage =
            boost::json::make_shared_resource<boost::json::monotonic_resource>(b.buffer.get(), b.buffer_size);
        if (b.parsed.capacity() < in.lines().size()) b.parsed.reserve(in.lines().size() * 3 / 2);  // room to reuse
        for (const auto& line : in.lines()) b.parsed.push_back(parse_line(line, storage));
        in.clear();
        if (!queue.push(std::move(b))) break;
      }
      if (in.eof()) break;
    }
    queue.finish();
  } catch (...) {
    queue.finish(std::current_exception());
  }
}

// Writes the lines to stdout, as they are (no copy into one buffer): writev of up to
// IOV_MAX lines at a time, resumed after a partial write.
bool write_lines(const std::vector<std::string>& lines) {
  std::vector<iovec> iov;
  std::size_t next = 0;
  while (next < lines.size()) {
    iov.clear();
    for (std::size_t i = next; i < lines.size() && iov.size() < IOV_MAX; ++i)
      iov.push_back({const_cast<char*>(lines[i].data()), lines[i].size()});
    std::size_t first = 0;  // the first iovec not yet written whole
    while (first < iov.size()) {
      ssize_t n = ::writev(1, iov.data() + first, static_cast<int>(iov.size() - first));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // 0: nothing taken of a non-empty write
      auto written = static_cast<std::size_t>(n);
      while (first < iov.size() && written >= iov[first].iov_len) written -= iov[first++].iov_len;
      if (first < iov.size()) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + written;
        iov[first].iov_len -= written;
      }
    }
    next += iov.size();
  }
  return true;
}

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
  // Freed memory stays with the process: each batch allocates and frees megabytes (lines,
  // parsed commands, answers), and glibc's default trims the heap back past 128 KiB of free
  // space, so that every batch faulted its pages in again (a quarter of the reader's time).
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  BatchQueue queue;
  std::thread reader;
  try {
    reader = std::thread(read_and_parse, std::ref(queue));
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "opsledger apply: cannot start the reader thread: %s\n", e.what());
    return kExitEngineFailure;
  }
  // The reader stops within kStopCheckMs of stop(), however this function returns.
  struct JoinReader {
    BatchQueue& queue;
    std::thread& reader;
    ~JoinReader() {
      queue.stop();
      reader.join();
    }
  } join_reader{queue, reader};
  bool rejected = false, failed = false;
  Batch batch;
  for (;;) {
    try {
      if (!queue.pop(batch)) break;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "opsledger apply: cannot read the input: %s\n", e.what());
      return kExitEngineFailure;
    }
    std::vector<std::string> answers;
    try {
      answers = engine->impl().run_parsed_batch(pointers_to(batch.parsed));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "opsledger apply: the engine failed: %s\n", e.what());
      return kExitEngineFailure;
    }
    for (auto& a : answers) {
      if (a.rfind("{\"ok\":true", 0) != 0) {
        rejected = true;
        if (a.find("\"code\":\"io_error\"") != std::string::npos ||
            a.find("\"code\":\"storage_full\"") != std::string::npos ||
            a.find("\"code\":\"internal_error\"") != std::string::npos)
          failed = true;
      }
      a.push_back('\n');
    }
    if (!write_lines(answers)) {
      std::fprintf(stderr, "opsledger apply: cannot write answers: %s\n", std::strerror(errno));
      return kExitEngineFailure;
    }
    queue.recycle(std::move(batch));
    batch = Batch{};
  }
  if (failed) return kExitEngineFailure;
  return rejected ? kExitRejected : kExitOk;
}

}  // namespace opsledger::cli
