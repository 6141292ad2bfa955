// W2 concurrent clicks: 64 threads, each sending one start at a time and waiting for its
// durable answer, for a fixed time. Engine: Engine::execute (group commit: concurrent
// callers share one durable commit). SQLite: one connection per thread, one transaction
// per request. PostgreSQL: a private server, one connection per thread, one statement
// (one transaction) per request.
//
// Every system sees the same requests: thread t sends request ids w2-tTT-N in order, with
// identities from its own seeded generator. The line is built before the latency clock
// starts; the latency is from the call to the durable answer.
//
// The time is split into rounds, and each round runs the engine, SQLite and PostgreSQL in
// turn (the order turning from round to round), each on its own database and connections,
// which carry over from round to round (each thread's request stream resumes where it
// stopped). This machine's disk varies by 2x
// within minutes (two back-to-back runs of the same build: 8,602 and 15,473 decisions/s),
// so a ratio of two 30-second runs taken a minute apart measured the disk's mood as much
// as the systems; each round's ratio compares runs seconds apart, and the target is
// judged on their median.
#include <atomic>
#include <barrier>
#include <algorithm>
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

  // Adds a later round's result to this one.
  void add(ClickResult&& round) {
    decisions += round.decisions;
    seconds += round.seconds;
    latencies_us.insert(latencies_us.end(), round.latencies_us.begin(), round.latencies_us.end());
    tally.add(round.tally);
    if (error.empty()) error = std::move(round.error);
  }
  double rate() const { return seconds > 0 ? static_cast<double>(decisions) / seconds : 0; }
};

// Each thread's place in its request stream: its identity generator and next request
// number. One per system, carried from round to round, so that every system sees the same
// requests in the same order.
struct Streams {
  std::vector<Rng> rng;
  std::vector<std::uint64_t> next;
  Streams() {
    for (unsigned t = 0; t < kThreads; ++t) rng.emplace_back(0xC11C0000 + t);
    next.assign(kThreads, 0);
  }
};

// `connect(t)` runs on thread t before the clock starts and returns that thread's decide
// function.
using Decide = std::function<void(std::string_view line, Tally& tally)>;
using Connect = std::function<Decide(unsigned thread)>;

ClickResult run_clicks(double seconds, const Connect& connect, Streams& streams) {
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
      Rng& rng = streams.rng[t];
      std::uint64_t& n = streams.next[t];
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "w2-t%02u", t);
      lat[t].reserve(1 << 16);
      try {
        while (!stop.load(std::memory_order_relaxed)) {
          std::string line =
              Fleet::start(Fleet::request_id(prefix, n), static_cast<unsigned>(rng.below(Fleet::kIdentities)));
          Stopwatch sw;
          Tally one;
          decide(line, one);
          ++n;
          // Only what was answered inside the window counts: a request still waiting when
          // the round ends (a SQLite connection may wait its turn for seconds: busy_timeout
          // is 60 s) is not stretched into it.
          if (stop.load(std::memory_order_relaxed)) break;
          lat[t].push_back(sw.seconds() * 1e6);
          tallies[t].add(one);
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
  r.seconds = sw.seconds();
  for (auto& th : threads) th.join();
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
  const int rounds = cfg.smoke ? 1 : cfg.quick ? 3 : 5;
  const double seconds = cfg.smoke ? 0.3 : cfg.quick ? 1.0 : 6.0;  // per round and system
  char secs[160];
  std::snprintf(secs, sizeof secs, "%g s per system in %d round%s of %g s (the systems in turn, the order turning each round)",
                seconds * rounds, rounds, rounds == 1 ? "" : "s", seconds);
  s.setup = std::string("64 threads, each sending one start (restore.execute, a seeded-random identity of the "
                        "fleet's 10,000) at a time and waiting for its durable answer, for ") +
            secs +
            ". Engine: Engine::execute, Durability::durable (group commit). SQLite: WAL, "
            "synchronous=FULL, one connection per thread, busy_timeout, BEGIN IMMEDIATE per request. PostgreSQL "
            "15: a private server (initdb, 127.0.0.1 only, default durability: fsync and synchronous_commit on), "
            "64 libpq connections over its unix socket, one prepared insert-or-find statement per request.";
  Case c;
  c.name = "64 clients";

  ScratchDir engine_dir(cfg, "w2-engine");
  auto engine = open_fleet_engine(engine_dir.path(), cfg.engine_nosync ? Durability::nosync : Durability::durable);
  ScratchDir sqlite_dir(cfg, "w2-sqlite");
  std::string sqlite_path = sqlite_dir.sub("platform.db");
  SqlitePeer create(sqlite_path, true);
  PgServer pg;
  std::string why;
  progress("W2: starting PostgreSQL");
  bool have_pg = pg.start(cfg, why);

  Streams engine_streams, sqlite_streams, pg_streams;
  // The peers' connections, opened by thread t in the first round (before its clock starts)
  // and kept for the later rounds, as the engine is.
  std::vector<std::shared_ptr<SqlitePeer>> sqlite_peers(kThreads);
  std::vector<std::shared_ptr<PgClient>> pg_clients(kThreads);
  ClickResult totals[3];
  std::vector<double> rates[3];  // each round's decisions/s, by system
  const char* names[3] = {"engine", "sqlite", "postgresql"};
  auto run_system = [&](int system) -> ClickResult {
    switch (system) {
      case 0:
        return run_clicks(
            seconds,
            [&](unsigned) -> Decide {
              return [&](std::string_view line, Tally& t) { count_answer(engine->execute(line), t); };
            },
            engine_streams);
      case 1:
        return run_clicks(
            seconds,
            [&](unsigned t) -> Decide {
              if (!sqlite_peers[t]) sqlite_peers[t] = std::make_shared<SqlitePeer>(sqlite_path, false);
              return [peer = sqlite_peers[t]](std::string_view line, Tally& tally) { peer->decide_one(line, tally); };
            },
            sqlite_streams);
      default:
        return run_clicks(
            seconds,
            [&](unsigned t) -> Decide {
              if (!pg_clients[t]) pg_clients[t] = std::make_shared<PgClient>(pg.conninfo());
              return [client = pg_clients[t]](std::string_view line, Tally& tally) { client->decide(line, tally); };
            },
            pg_streams);
    }
  };
  const int systems = have_pg ? 3 : 2;
  for (int round = 1; round <= rounds; ++round) {
    // The order turns each round (engine first, then SQLite first, ...): no system always
    // runs right after the same one, whose writes the disk may still be flushing.
    for (int i = 0; i < systems; ++i) {
      int system = (round - 1 + i) % systems;
      progress("W2: round %d of %d: %s, %g s", round, rounds, names[system], seconds);
      ClickResult r = run_system(system);
      rates[system].push_back(r.rate());
      totals[system].add(std::move(r));
    }
  }
  // Each round's engine/peer ratio; a round in which a peer decided nothing is reported.
  std::vector<double> vs[3];
  int idle_rounds[3] = {0, 0, 0};
  for (int system = 1; system < systems; ++system)
    for (int round = 0; round < rounds; ++round) {
      if (rates[system][round] > 0)
        vs[system].push_back(rates[0][round] / rates[system][round]);
      else
        ++idle_rounds[system];
    }
  pg_clients.clear();
  if (have_pg) pg.stop();

  c.measures.push_back(to_measure(cfg.engine_name("engine"), "engine", totals[0]));
  auto add_ratios = [&](Measure& m, int system) {
    if (!vs[system].empty()) {
      m.details.emplace_back("round_ratio_median", percentile(vs[system], 50));
      m.details.emplace_back("round_ratio_min", *std::min_element(vs[system].begin(), vs[system].end()));
      m.details.emplace_back("round_ratio_max", *std::max_element(vs[system].begin(), vs[system].end()));
    }
    if (idle_rounds[system]) {
      m.note += m.note.empty() ? "" : "; ";
      m.note.append(std::to_string(idle_rounds[system])).append(" round(s) without a decision");
      m.fault = true;
    }
  };
  c.measures.push_back(to_measure("sqlite", "peer", totals[1]));
  add_ratios(c.measures.back(), 1);
  std::optional<double> ratio_pg;
  if (have_pg) {
    c.measures.push_back(to_measure("postgresql", "peer", totals[2]));
    add_ratios(c.measures.back(), 2);
    if (!vs[2].empty()) ratio_pg = percentile(vs[2], 50);
  } else {
    Measure m;
    m.system = "postgresql";
    m.role = "peer";
    m.unit = "decisions/s";
    m.skipped = true;
    m.note = "skipped: PostgreSQL could not be started: " + why;
    c.measures.push_back(m);
    s.notes.push_back(m.note);
  }
  s.cases.push_back(std::move(c));
  s.targets.push_back(
      Target{"engine/postgresql decisions per second at 64 clients (median of the rounds' ratios)", 10.0, true,
             ratio_pg, "x"});
  s.notes.push_back(
      "Both peers decide less than the engine (no membership, capability or readiness checks, no event chain). "
      "Latency is per request, from the call to its durable answer; p50/p99 over every request of the run. "
      "decisions/s and engine/x are over all rounds; round_ratio_median is the median of each round's "
      "engine/peer ratio (the systems' runs in a round are seconds apart), the figure the target is judged on.");
  return s;
}

}  // namespace opsledger::bench
