// opsledger import-legacy --db DIR [--nosync] FILE.csv: bulk import of a legacy run table
// exported as CSV (cli/legacy_csv.h), each row an import_legacy_run command.
//
// Rows run in batches of kBatchRowsMax through Engine::execute_batch (one transaction and
// one durable commit per batch). stdout gets one JSON line per data row, in file order:
//   {"row":N,"line":L,"ok":true,"outcome":"imported","seq":S}
//   {"row":N,"line":L,"ok":true,"outcome":"unchanged"}
//   {"row":N,"line":L,"ok":false,"outcome":"rejected","error":{code,message,field?}}
// stderr gets the summary, and progress when it is a terminal. Import is idempotent: a
// second run of the same file imports nothing and answers every row `unchanged`.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/csv_reader.h"
#include "cli/legacy_csv.h"
#include "cli/subcommands.h"
#include "opsledger/engine.h"

namespace opsledger::cli {
namespace json = boost::json;

namespace {

constexpr std::size_t kBatchRowsMax = 1000;

// The file's bytes: mapped when it is a regular file, read whole otherwise (a pipe).
class InputFile {
 public:
  ~InputFile() {
    if (map_) munmap(map_, map_size_);
  }
  // Empty on success, else why the file cannot be read.
  std::string open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    struct stat st {};
    std::string err;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      if (st.st_size > 0) {
        map_size_ = static_cast<std::size_t>(st.st_size);
        map_ = mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map_ == MAP_FAILED) {
          map_ = nullptr;
          err = std::strerror(errno);
        } else {
          text_ = std::string_view(static_cast<const char*>(map_), map_size_);
        }
      }
    } else {
      char buf[1 << 16];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          err = std::strerror(errno);
          break;
        }
        if (n == 0) break;
        owned_.append(buf, static_cast<std::size_t>(n));
      }
      text_ = owned_;
    }
    ::close(fd);
    return err;
  }
  std::string_view text() const { return text_; }

 private:
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::string owned_;
  std::string_view text_;
};

struct Tally {
  std::uint64_t rows = 0, imported = 0, unchanged = 0, rejected = 0, malformed = 0;
  bool engine_failed = false;  // io_error, storage_full or internal_error
  bool stop = false;           // io_error or storage_full: later rows are not attempted
};

// One data row on its way through a batch.
struct PendingRow {
  std::uint64_t row = 0, line = 0;
  LegacyRow mapped;
  std::size_t command_index = 0;  // into the batch's commands, when mapped.error_code is empty
};

json::object row_report(const PendingRow& p) {
  return {{"row", p.row}, {"line", p.line}};
}

void report_local_error(json::object& o, const LegacyRow& m) {
  json::object e{{"code", m.error_code}, {"message", m.error_message}};
  if (!m.error_field.empty()) e["field"] = m.error_field;
  o["ok"] = false;
  o["outcome"] = "rejected";
  o["error"] = std::move(e);
}

void report_answer(json::object& o, const std::string& answer_text, Tally& t) {
  json::value v = json::parse(answer_text);
  const auto& a = v.as_object();
  if (a.at("ok").as_bool()) {
    o["ok"] = true;
    if (auto* seq = a.if_contains("seq")) {
      o["outcome"] = "imported";
      o["seq"] = *seq;
      ++t.imported;
    } else {
      o["outcome"] = "unchanged";
      ++t.unchanged;
    }
    return;
  }
  o["ok"] = false;
  o["outcome"] = "rejected";
  o["error"] = a.at("error");
  ++t.rejected;
  auto code = a.at("error").as_object().at("code").as_string();
  if (code == "io_error" || code == "storage_full" || code == "internal_error") t.engine_failed = true;
  if (code == "io_error" || code == "storage_full") t.stop = true;
}

// Runs one batch and writes its report lines; false when stdout cannot be written.
bool run_batch(Engine& engine, std::vector<PendingRow>& rows, bool nosync, Tally& t) {
  std::vector<std::string_view> commands;
  for (auto& p : rows)
    if (p.mapped.error_code.empty()) {
      p.command_index = commands.size();
      commands.push_back(p.mapped.command);
    }
  std::vector<std::string> answers;
  if (!commands.empty()) answers = engine.execute_batch(commands);
  std::string out;
  for (const auto& p : rows) {
    json::object o = row_report(p);
    if (!p.mapped.error_code.empty()) {
      report_local_error(o, p.mapped);
      ++t.rejected;
      ++t.malformed;
    } else {
      report_answer(o, answers[p.command_index], t);
    }
    if (nosync) o["durability"] = "nosync";
    out += json::serialize(o);
    out.push_back('\n');
  }
  t.rows += rows.size();
  rows.clear();
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0;
}

void print_help() {
  std::printf(
      "usage: opsledger import-legacy --db DIR [--nosync] FILE.csv\n\n"
      "Imports a legacy run table exported as CSV (RFC 4180, header row naming the\n"
      "fields) as read-only history: one import_legacy_run command per row, in batches of\n"
      "1000 rows per commit. Columns: kind, legacy_id, workspace_id, tenant_id, status,\n"
      "started_at, completed_at (required), operation_run_id and one column per count key\n"
      "(total, processed, succeeded, failed, skipped, created, updated, deleted; also\n"
      "accepted as counts.KEY). An empty unquoted cell is an absent field; \"\" is an empty\n"
      "string. Writes one JSON line per row on stdout (outcome imported, unchanged or\n"
      "rejected), the summary on stderr. Running the same file again imports nothing.\n\n"
      "  --db DIR    database directory (created and seeded when missing or empty)\n"
      "  --nosync    do not fsync commits (tests and benchmarks only; output says so)\n\n"
      "exit status: 0 every row imported or unchanged, 2 some row rejected or the header\n"
      "is unusable, 1 the engine failed (cannot open, I/O error, storage full)\n");
}

}  // namespace

int run_import_legacy(int argc, char** argv) {
  Args args(argc, argv, {"db"}, {"nosync"});
  if (args.help()) {
    print_help();
    return kExitOk;
  }
  auto db = args.get("db");
  std::string usage_error = !args.ok()                      ? args.error()
                            : !db                           ? "--db DIR is required"
                            : args.positional().size() != 1 ? "exactly one FILE.csv is required"
                                                            : "";
  if (!usage_error.empty()) {
    std::fprintf(stderr, "opsledger import-legacy: %s\n", usage_error.c_str());
    return kExitUsage;
  }
  const std::string& path = args.positional()[0];
  InputFile file;
  if (auto err = file.open(path); !err.empty()) {
    std::fprintf(stderr, "opsledger import-legacy: cannot read %s: %s\n", path.c_str(), err.c_str());
    return kExitEngineFailure;
  }
  CsvReader reader(file.text());
  CsvRecord record;
  if (!reader.next(record)) {
    std::fprintf(stderr, "opsledger import-legacy: %s: the file is empty; it needs a header row\n", path.c_str());
    return kExitRejected;
  }
  LegacyHeader header = parse_legacy_header(record);
  if (!header.error.empty()) {
    std::fprintf(stderr, "opsledger import-legacy: %s line %llu: %s; nothing imported\n", path.c_str(),
                 static_cast<unsigned long long>(record.line), header.error.c_str());
    return kExitRejected;
  }

  Options options;
  bool nosync = args.flag("nosync");
  if (nosync) options.durability = Durability::nosync;
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(*db, options, engine);
  if (!s) {
    std::fprintf(stderr, "opsledger import-legacy: cannot open %s: %s\n", db->c_str(), s.message().c_str());
    return kExitEngineFailure;
  }

  const bool tty = isatty(2);
  Tally tally;
  std::vector<PendingRow> batch;
  batch.reserve(kBatchRowsMax);
  std::uint64_t row_number = 0;
  auto flush = [&] {
    if (!run_batch(*engine, batch, nosync, tally)) {
      std::fprintf(stderr, "opsledger import-legacy: cannot write the report\n");
      return false;
    }
    if (tty)
      std::fprintf(stderr, "\rimport-legacy: %llu rows (%zu%%)", static_cast<unsigned long long>(tally.rows),
                   file.text().empty() ? std::size_t{100} : reader.position() * 100 / file.text().size());
    return true;
  };
  while (!tally.stop && reader.next(record)) {
    PendingRow p;
    p.row = ++row_number;
    p.line = record.line;
    p.mapped = legacy_row_command(header, record);
    batch.push_back(std::move(p));
    if (batch.size() == kBatchRowsMax && !flush()) return kExitEngineFailure;
  }
  if (!batch.empty() && !flush()) return kExitEngineFailure;
  if (tty) std::fprintf(stderr, "\n");

  std::fprintf(stderr,
               "import-legacy: %llu rows: %llu imported, %llu unchanged, %llu rejected (%llu malformed); log at seq %llu%s\n",
               static_cast<unsigned long long>(tally.rows), static_cast<unsigned long long>(tally.imported),
               static_cast<unsigned long long>(tally.unchanged), static_cast<unsigned long long>(tally.rejected),
               static_cast<unsigned long long>(tally.malformed), static_cast<unsigned long long>(engine->last_seq()),
               nosync ? " (durability: nosync)" : "");
  if (tally.stop)
    std::fprintf(stderr, "import-legacy: stopped after row %llu: the engine failed; rows after it were not attempted\n",
                 static_cast<unsigned long long>(tally.rows));
  if (tally.engine_failed) return kExitEngineFailure;
  return tally.rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace opsledger::cli
