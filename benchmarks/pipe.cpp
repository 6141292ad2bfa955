// PIPE: SPEC section 14's JSON-lines goal. `opsledger apply --db DIR` (durable) is fed the
// fleet's setup and then N starts over 10,000 identities through a pipe as fast as the
// pipe takes them; its answers are read as they come. The SQLite peer is a process too
// (`opsledger_bench --child sqlite-apply`), fed the same bytes the same way, deciding in
// transactions of 1,000 lines (WAL, synchronous=FULL, the platform's schema). Both are
// timed from spawn to exit.
#include <cstdio>
#include <fstream>

#include "benchmarks/bench.h"
#include "benchmarks/child.h"
#include "benchmarks/fleet.h"

namespace opsledger::bench {
namespace {

std::uint64_t starts_for(const RunConfig& cfg) { return cfg.smoke ? 2000 : cfg.quick ? 20000 : 200000; }

// Answer lines split across chunks are counted whole.
struct AnswerCounter {
  std::string partial;
  Tally tally;
  std::uint64_t lines = 0, not_ok = 0;
  void feed(std::string_view chunk) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i] != '\n') continue;
      partial.append(chunk.substr(start, i - start));
      line(partial);
      partial.clear();
      start = i + 1;
    }
    partial.append(chunk.substr(start));
  }
  void line(std::string_view a) {
    ++lines;
    if (a.rfind("{\"ok\":true", 0) != 0) ++not_ok;
    if (a.find("\"decision\"") != std::string_view::npos) count_answer(a, tally);
  }
};

Measure pipe_measure(std::string system, std::string role, const ProcessRun& run, const AnswerCounter& answers,
                     std::uint64_t starts, std::uint64_t lines_in) {
  Measure m;
  m.system = std::move(system);
  m.role = std::move(role);
  m.unit = "decisions/s";
  m.value = run.wall_seconds > 0 ? static_cast<double>(answers.tally.total()) / run.wall_seconds : 0;
  m.details = {{"decisions", static_cast<double>(answers.tally.total())},
               {"wall_s", run.wall_seconds},
               {"user_s", run.user_seconds},
               {"sys_s", run.sys_seconds},
               {"peak_rss_mib", run.peak_rss_kb / 1024},
               {"accepted", static_cast<double>(answers.tally.accepted)},
               {"deduped", static_cast<double>(answers.tally.deduped)}};
  if (!run.error.empty())
    m.note = "failed: " + run.error;
  else if (run.exit_code != 0)
    m.note = "exit status " + std::to_string(run.exit_code);
  if (answers.lines != lines_in)
    m.note += " answered " + std::to_string(answers.lines) + " of " + std::to_string(lines_in) + " lines";
  if (answers.tally.total() != starts) m.note += " decided " + std::to_string(answers.tally.total()) + " starts";
  m.fault = !m.note.empty();
  return m;
}

}  // namespace

std::string pipe_input(std::uint64_t starts) {
  std::string in;
  for (const auto& l : Fleet::setup_commands()) in += l + "\n";
  Rng rng(0x919E);
  for (std::uint64_t i = 0; i < starts; ++i)
    in += Fleet::start(Fleet::request_id("pipe", i), static_cast<unsigned>(rng.below(Fleet::kIdentities))) + "\n";
  return in;
}

Section run_pipe(const RunConfig& cfg) {
  Section s;
  s.id = "PIPE";
  s.title = "JSON-lines pipe (SPEC 14)";
  std::uint64_t starts = starts_for(cfg);
  s.setup = "`opsledger apply --db DIR` (durable) fed the fleet's setup (" +
            std::to_string(Fleet::setup_commands().size()) + " lines) then " + std::to_string(starts) +
            " starts over 10,000 identities through a pipe, as fast as the pipe takes them; answers read as they "
            "come. SQLite peer: a process fed the same bytes the same way, deciding the starts in transactions of "
            "1,000 lines (WAL, synchronous=FULL, the platform's schema and insert-or-find), one answer line per "
            "input line. Both timed from spawn to exit; decisions/s = starts decided / wall seconds.";
  std::string input = pipe_input(starts);
  std::uint64_t lines_in = Fleet::setup_commands().size() + starts;
  Case c;
  c.name = std::to_string(starts) + " starts";
  {
    ScratchDir dir(cfg, "pipe-engine");
    AnswerCounter answers;
    progress("PIPE: opsledger apply, %llu starts", static_cast<unsigned long long>(starts));
    std::vector<std::string> argv{cfg.cli_exe, "apply", "--db", dir.sub("db")};
    if (cfg.engine_nosync) argv.push_back("--nosync");
    ProcessRun run = run_process(argv, &input, [&](std::string_view chunk) { answers.feed(chunk); });
    c.measures.push_back(
        pipe_measure(cfg.engine_name("engine (opsledger apply)"), "engine", run, answers, starts, lines_in));
  }
  {
    ScratchDir dir(cfg, "pipe-sqlite");
    AnswerCounter answers;
    progress("PIPE: sqlite, %llu starts", static_cast<unsigned long long>(starts));
    ProcessRun run = run_process({cfg.self_exe, "--child", "sqlite-apply", dir.sub("platform.db")}, &input,
                                 [&](std::string_view chunk) { answers.feed(chunk); });
    c.measures.push_back(pipe_measure("sqlite (batches of 1,000)", "peer", run, answers, starts, lines_in));
  }
  std::optional<double> ratio;
  if (c.measures[1].value > 0 && c.measures[0].value > 0) ratio = c.measures[0].value / c.measures[1].value;
  s.cases.push_back(c);
  s.targets.push_back(Target{"engine/sqlite decisions per second (SPEC 14: at least)", 1.0, true, ratio, "x"});
  s.targets.push_back(Target{"engine/sqlite decisions per second (SPEC 14: the goal)", 2.0, true, ratio, "x"});
  return s;
}

}  // namespace opsledger::bench
