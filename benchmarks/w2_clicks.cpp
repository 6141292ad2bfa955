// W2 concurrent clicks: 64 threads, each sending one start at a time and waiting for its
// durable answer, for a fixed time. Engine: Engine::execute (group commit: concurrent
// callers share one durable commit). SQLite: one connection per thread, one transaction
// per request. PostgreSQL: a private server, one connection per thread, one statement
// (one transaction) per request.
//
// Every system sees the same requests: thread t sends request ids w2-tTT-N in order, with
// identities from its own seeded generator. The line is built before the latency clock
// starts; the latency is from the call to the durable answer.
#include <atomic>
#include <barrier>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

#include "benchmarks/bench.h"
#include "benchmarks/engine_util.h"
#include "benchmarks/fleet.h"
#include "benchmarks/pg_peer.h"
#include "benchmarks/sqlite_peer.h"

namespace opsledger::bench {
namespace {

constexpr unsigned kThreads = 64;

struct ClickResult {
  std::uint64_t decisions = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  Tally tally;
  std::string error;
};

// `connect(t)` runs on thread t before the clock starts and returns that thread's decide
// function.
using Decide = std::function<void(std::string_view line, Tally& tally)>;
using Connect = std::function<Decide(unsigned thread)>;

ClickResult run_clicks(double seconds, const Connect& connect) {
  ClickResult r;
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> lat(kThreads);
  std::vector<Tally> tallies(kThreads);
  std::vector<std::string> errors(kThreads);
  std::barrier ready(kThreads + 1);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Decide decide;
      try {
        decide = connect(t);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
      ready.arrive_and_wait();
      if (!decide) return;
      Rng rng(0xC11C0000 + t);
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "w2-t%02u", t);
      lat[t].reserve(1 << 16);
      try {
        for (std::uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          std::string line =
              Fleet::start(Fleet::request_id(prefix, n), static_cast<unsigned>(rng.below(Fleet::kIdentities)));
          Stopwatch sw;
          decide(line, tallies[t]);
          lat[t].push_back(sw.seconds() * 1e6);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  ready.arrive_and_wait();
  Stopwatch sw;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  r.seconds = sw.seconds();
  for (unsigned t = 0; t < kThreads; ++t) {
    r.latencies_us.insert(r.latencies_us.end(), lat[t].begin(), lat[t].end());
    r.tally.add(tallies[t]);
    if (r.error.empty() && !errors[t].empty()) r.error = errors[t];
  }
  r.decisions = r.latencies_us.size();
  return r;
}

Measure to_measure(std::string system, std::string role, ClickResult& r) {
  Measure m;
  m.system = std::move(system);
  m.role = std::move(role);
  m.unit = "decisions/s";
  m.value = r.seconds > 0 ? static_cast<double>(r.decisions) / r.seconds : 0;
  m.details = {{"p50_ms", percentile(r.latencies_us, 50) / 1000},
               {"p99_ms", percentile(r.latencies_us, 99) / 1000},
               {"decisions", static_cast<double>(r.decisions)},
               {"accepted", static_cast<double>(r.tally.accepted)},
               {"deduped", static_cast<double>(r.tally.deduped)}};
  if (!r.error.empty()) m.note = "error: " + r.error;
  if (r.tally.other) {
    m.note += m.note.empty() ? "" : "; ";
    m.note.append(std::to_string(r.tally.other)).append(" answers neither accepted nor deduped");
  }
  m.fault = !m.note.empty();
  return m;
}

}  // namespace

Section run_w2(const RunConfig& cfg) {
  Section s;
  s.id = "W2";
  s.title = "concurrent clicks";
  double seconds = cfg.smoke ? 0.3 : cfg.quick ? 3.0 : 30.0;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", seconds);
  s.setup = std::string("64 threads, each sending one start (restore.execute, a seeded-random identity of the "
                        "fleet's 10,000) at a time and waiting for its durable answer, for ") +
            secs +
            " s per system. Engine: Engine::execute, Durability::durable (group commit). SQLite: WAL, "
            "synchronous=FULL, one connection per thread, busy_timeout, BEGIN IMMEDIATE per request. PostgreSQL "
            "15: a private server (initdb, 127.0.0.1 only, default durability: fsync and synchronous_commit on), "
            "64 libpq connections over its unix socket, one prepared insert-or-find statement per request.";
  Case c;
  c.name = "64 clients";

  {
    ScratchDir dir(cfg, "w2-engine");
    auto engine = open_fleet_engine(dir.path(), cfg.engine_nosync ? Durability::nosync : Durability::durable);
    progress("W2: engine, %g s", seconds);
    ClickResult r = run_clicks(seconds, [&](unsigned) -> Decide {
      return [&](std::string_view line, Tally& t) { count_answer(engine->execute(line), t); };
    });
    c.measures.push_back(to_measure(cfg.engine_name("engine"), "engine", r));
  }
  {
    ScratchDir dir(cfg, "w2-sqlite");
    std::string path = dir.sub("platform.db");
    SqlitePeer create(path, true);
    progress("W2: sqlite, %g s", seconds);
    ClickResult r = run_clicks(seconds, [&](unsigned) -> Decide {
      auto peer = std::make_shared<SqlitePeer>(path, false);
      return [peer](std::string_view line, Tally& t) { peer->decide_one(line, t); };
    });
    c.measures.push_back(to_measure("sqlite", "peer", r));
  }
  {
    PgServer pg;
    std::string why;
    progress("W2: starting PostgreSQL");
    if (!pg.start(cfg, why)) {
      Measure m;
      m.system = "postgresql";
      m.role = "peer";
      m.unit = "decisions/s";
      m.skipped = true;
      m.note = "skipped: PostgreSQL could not be started: " + why;
      c.measures.push_back(m);
      s.notes.push_back(m.note);
    } else {
      progress("W2: postgresql, %g s", seconds);
      ClickResult r = run_clicks(seconds, [&](unsigned) -> Decide {
        auto client = std::make_shared<PgClient>(pg.conninfo());
        return [client](std::string_view line, Tally& t) { client->decide(line, t); };
      });
      c.measures.push_back(to_measure("postgresql", "peer", r));
      pg.stop();
    }
  }
  std::optional<double> ratio_pg;
  if (c.measures.size() == 3 && !c.measures[2].skipped && c.measures[2].value > 0)
    ratio_pg = c.measures[0].value / c.measures[2].value;
  s.cases.push_back(std::move(c));
  s.targets.push_back(Target{"engine/postgresql decisions per second at 64 clients", 10.0, true, ratio_pg, "x"});
  s.notes.push_back(
      "Both peers decide less than the engine (no membership, capability or readiness checks, no event chain). "
      "Latency is per request, from the call to its durable answer; p50/p99 over every request of the run.");
  return s;
}

}  // namespace opsledger::bench
