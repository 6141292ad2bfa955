// W3 rebuild and replay, and W4 open, on one generated log of a realistic mix.
//
// The log is generated through the engine (Durability::nosync, batches of 4,096 commands)
// by a seeded generator that plays the platform: clicks on every seeded operation type by
// managers, readonly members (forbidden) and strangers (not_found), system-scheduled
// backups (strict identity), duplicate clicks (deduped), busy connections (scope_busy,
// max_concurrent_runs 4), consent lapses (blocked); and a worker that begins accepted runs,
// records progress (with failures now and then) and completes them (verification runs
// with a report). It learns run ids from the answers of the previous batch.
//
// Every measurement runs in a child process of its own (benchmarks/child.h) for its own
// peak resident memory.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "benchmarks/bench.h"
#include "benchmarks/child.h"
#include "benchmarks/engine_util.h"
#include "benchmarks/fleet.h"

namespace opsledger::bench {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kGenBatch = 4096;

struct LiveRun {
  std::uint64_t run_id;
  bool verification;
  bool running;
  unsigned progress_left;
};

class MixGenerator {
 public:
  MixGenerator() : rng_(0x3E3E3E) {}

  std::vector<std::string> setup() const {
    std::vector<std::string> out = Fleet::setup_commands();
    for (unsigned w = 1; w <= Fleet::kWorkspaces; ++w)
      out.push_back(R"({"cmd":"grant_membership","workspace_id":)" + std::to_string(w) +
                    R"(,"user_id":8,"role":"readonly"})");
    for (unsigned t = 0; t < Fleet::kTenants; ++t)
      out.push_back(R"({"cmd":"update_provider_connection","provider_connection_id":)" +
                    std::to_string(Fleet::connection_id(t)) + R"(,"max_concurrent_runs":4})");
    return out;
  }

  // The next batch of commands; remembers where its clicks are, to learn run ids.
  std::vector<std::string> next_batch() {
    std::vector<std::string> out;
    clicks_.clear();
    out.reserve(kGenBatch);
    while (out.size() < kGenBatch) {
      if (!live_.empty() && rng_.chance(55)) {
        out.push_back(advance());
      } else if (rng_.below(2000) == 0) {
        out.push_back(toggle_consent());
      } else {
        std::size_t index = out.size();
        out.push_back(click());
        clicks_.push_back({index, last_click_verification_});
      }
    }
    return out;
  }

  // Learns the runs the clicks of the last batch created; counts rejections.
  void learn(const std::vector<std::string>& answers) {
    for (const auto& a : answers)
      if (a.rfind("{\"ok\":true", 0) != 0) {
        if (rejected_++ < 5) std::fprintf(stderr, "[bench] W3 generator: rejected: %s\n", a.c_str());
      }
    for (const auto& c : clicks_) {
      const std::string& a = answers[c.index];
      if (a.find(R"("decision":"accepted")") == std::string::npos) continue;
      auto p = a.find(R"("run_id":)");
      if (p == std::string::npos) continue;
      std::uint64_t id = std::strtoull(a.c_str() + p + 9, nullptr, 10);
      live_.push_back(LiveRun{id, c.verification, false, 0});
    }
  }
  std::uint64_t rejected() const { return rejected_; }

 private:
  struct Click {
    std::size_t index;
    bool verification;
  };

  std::string actor() {
    auto r = rng_.below(100);
    if (r < 5) return R"({"kind":"user","user_id":8,"name":"Rita"})";   // readonly: forbidden
    if (r < 7) return R"({"kind":"user","user_id":9,"name":"Eve"})";    // stranger: not_found
    return R"({"kind":"user","user_id":7,"name":"Ada"})";
  }

  std::string click() {
    unsigned t = static_cast<unsigned>(rng_.below(Fleet::kTenants));
    std::string head = R"({"cmd":"start","request_id":")" + Fleet::request_id("w3", ++clicks_sent_) + R"(",)";
    std::string where = R"("workspace_id":)" + std::to_string(Fleet::workspace_id(t)) + R"(,"tenant_id":)" +
                        std::to_string(Fleet::tenant_id(t)) + ",";
    auto r = rng_.below(100);
    last_click_verification_ = false;
    if (r < 10) {  // the scheduler: a strict identity per slot; some slots fire twice
      std::uint64_t slot = ++slots_[t];
      if (rng_.chance(20) && slot > 1) slot -= 1;
      char when[40];
      auto part = [&](std::uint64_t v) { return static_cast<unsigned>(v); };
      std::snprintf(when, sizeof when, "2026-%02u-%02uT%02u:%02u:00Z", part(1 + (slot / 40320) % 12),
                    part(1 + (slot / 1440) % 28), part((slot / 60) % 24), part(slot % 60));
      std::string w = when;
      return head + R"("actor":{"kind":"system","name":"scheduler"},)" + where +
             R"("type":"backup_schedule.scheduled","context":{"backup_schedule_id":)" +
             std::to_string(1 + t % 3) + R"(,"scheduled_for":")" + w + R"("}})";
    }
    std::string a = R"("actor":)" + actor() + ",";
    if (r < 35) return head + a + where + R"("type":"inventory.sync","context":{}})";
    if (r < 45) return head + a + where + R"("type":"directory_groups.sync","context":{}})";
    if (r < 50) return head + a + where + R"("type":"directory_role_definitions.sync","context":{}})";
    if (r < 60) {
      last_click_verification_ = true;
      return head + a + where + R"("type":"provider.verification","context":{}})";
    }
    if (r < 80) {  // a backup click: its own nonce, retried with the same nonce now and then
      std::uint64_t nonce = rng_.chance(15) && nonce_ > 0 ? nonce_ : ++nonce_;
      return head + a + where + R"("type":"backup_schedule.run_now","nonce":"click-)" + std::to_string(nonce) +
             R"(","context":{"backup_schedule_id":)" + std::to_string(1 + rng_.below(5)) + "}}";
    }
    if (r < 95)
      return head + a + where + R"("type":"restore.execute","context":{"restore_run_id":)" +
             std::to_string(1 + rng_.below(20)) + R"(,"target_scope":{"kind":"all"}}})";
    return head + a + where + R"("type":"onboarding.bootstrap","context":{}})";
  }

  std::string toggle_consent() {
    unsigned t = static_cast<unsigned>(rng_.below(Fleet::kTenants));
    bool lapse = !lapsed_[t];
    lapsed_[t] = lapse;
    return R"({"cmd":"update_provider_connection","provider_connection_id":)" +
           std::to_string(Fleet::connection_id(t)) + R"(,"consent":")" + (lapse ? "missing" : "granted") + R"("})";
  }

  std::string advance() {
    std::size_t i = static_cast<std::size_t>(rng_.below(live_.size()));
    LiveRun& run = live_[i];
    std::string id = std::to_string(run.run_id);
    if (!run.running) {
      run.running = true;
      run.progress_left = static_cast<unsigned>(rng_.below(4));
      return R"({"cmd":"begin_run","run_id":)" + id + "}";
    }
    if (run.progress_left > 0) {
      --run.progress_left;
      std::uint64_t n = 10 + rng_.below(200);
      std::string s = R"({"cmd":"record_progress","run_id":)" + id + R"(,"counts":{"processed":)" +
                      std::to_string(n) + R"(,"succeeded":)" + std::to_string(n - n / 10) + R"(,"failed":)" +
                      std::to_string(n / 10) + "}";
      if (rng_.chance(20))
        s += R"(,"failures":[{"code":"graph_throttled","message":"429 Too Many Requests from Graph","item":"policy-)" +
             std::to_string(rng_.below(100000)) + R"("}])";
      return s + "}";
    }
    std::string s = R"({"cmd":"complete_run","run_id":)" + id;
    if (run.verification) {
      s += R"(,"report":{"checks":[{"key":"consent","status":"pass","blocking":true},)"
           R"({"key":"credentials","status":"pass","blocking":true},)"
           R"({"key":"permissions","status":")" +
           std::string(rng_.chance(10) ? "warn" : "pass") + R"(","blocking":false}]}})";
    } else {
      auto r = rng_.below(100);
      const char* outcome = r < 80 ? "succeeded" : r < 90 ? "partially_succeeded" : "failed";
      s += R"(,"outcome":")" + std::string(outcome) + R"(","counts":{"total":)" + std::to_string(100 + r) + "}";
      if (r >= 90) s += R"(,"failures":[{"code":"provider_error","message":"upstream returned 500"}])";
      s += "}";
    }
    live_[i] = live_.back();
    live_.pop_back();
    return s;
  }

  Rng rng_;
  std::vector<LiveRun> live_;
  std::vector<Click> clicks_;
  bool last_click_verification_ = false;
  std::uint64_t clicks_sent_ = 0, nonce_ = 0, rejected_ = 0;
  std::map<unsigned, std::uint64_t> slots_;
  std::map<unsigned, bool> lapsed_;
};

// Generates (or reuses, with --keep DIR) a log of at least `events` events in `dir`.
void generate_log(const std::string& dir, std::uint64_t events) {
  std::string marker = dir + "/opsledger-bench-complete";
  bool reuse = fs::exists(marker);
  if (reuse) progress("W3: reusing the generated log in %s (opened once, untimed)", dir.c_str());
  fs::create_directories(dir);
  Options o;
  o.durability = Durability::nosync;
  o.initial_map_size_bytes = kBenchMapBytes;
  std::unique_ptr<Engine> engine;
  // A log kept by an earlier build may hold projections of an older layout: this open
  // rebuilds them (engine/projection_layout.h) before anything is timed.
  Status s = Engine::open(dir, o, engine);
  if (!s) throw std::runtime_error("Engine::open " + dir + ": " + s.message());
  if (reuse) return;
  MixGenerator gen;
  apply_all_ok(*engine, gen.setup());
  Stopwatch sw;
  std::uint64_t next_report = 1000000;
  while (engine->last_seq() < events) {
    auto commands = gen.next_batch();
    std::vector<std::string_view> views(commands.begin(), commands.end());
    gen.learn(engine->execute_batch(views));
    if (engine->last_seq() >= next_report) {
      progress("W3: generated %llu events (%.0f events/s)", static_cast<unsigned long long>(engine->last_seq()),
               static_cast<double>(engine->last_seq()) / sw.seconds());
      next_report += 1000000;
    }
  }
  if (gen.rejected() > 0)
    progress("W3: the generator had %llu commands rejected", static_cast<unsigned long long>(gen.rejected()));
  engine.reset();
  std::ofstream(marker) << events << "\n";
}

double kb_to_mib(double kb) { return kb / 1024.0; }

Measure child_measure(const RunConfig& cfg, std::string system, std::string role, const std::vector<std::string>& args,
                      bool rate) {
  Measure m;
  m.system = std::move(system);
  m.role = std::move(role);
  progress("W3: %s (%s)", args[0].c_str(), m.system.c_str());
  ChildResult c = run_child(cfg, args);
  if (!c.error.empty()) {
    m.skipped = true;
    m.note = "failed: " + c.error;
    m.fault = true;
    m.unit = rate ? "events/s" : "s";
    return m;
  }
  double seconds = c.out.at("seconds").to_number<double>();
  double events = c.out.at("events").to_number<double>();
  if (rate) {
    m.value = seconds > 0 ? events / seconds : 0;
    m.unit = "events/s";
  } else {
    m.value = seconds;
    m.unit = "s";
    m.higher_is_better = false;
  }
  m.details = {{"events", events},
               {"seconds", seconds},
               {"peak_rss_mib", kb_to_mib(c.out.at("hwm_kb").to_number<double>())},
               {"heap_rss_mib", kb_to_mib(c.out.at("rss_anon_kb").to_number<double>())},
               {"map_rss_mib", kb_to_mib(c.out.at("rss_file_kb").to_number<double>())}};
  if (c.out.contains("rows")) m.details.emplace_back("rows", c.out.at("rows").to_number<double>());
  for (const char* k : {"apply_seconds", "load_seconds", "replayed_events"})
    if (c.out.contains(k)) m.details.emplace_back(k, c.out.at(k).to_number<double>());
  return m;
}

// child_measure `repeats` times; the run of the median time, with the spread of all of them
// (`runs`, `min_s`, `max_s`). A run that fails is returned at once.
Measure median_child_measure(const RunConfig& cfg, const std::string& system, const std::string& role,
                             const std::vector<std::string>& args, int repeats) {
  std::vector<Measure> runs;
  for (int i = 0; i < repeats; ++i) {
    Measure m = child_measure(cfg, system, role, args, false);
    if (m.skipped) return m;
    runs.push_back(std::move(m));
  }
  std::sort(runs.begin(), runs.end(), [](const Measure& a, const Measure& b) { return a.value < b.value; });
  Measure median = runs[runs.size() / 2];
  median.details.emplace_back("runs", static_cast<double>(repeats));
  median.details.emplace_back("min_s", runs.front().value);
  median.details.emplace_back("max_s", runs.back().value);
  return median;
}

Measure open_measure(const RunConfig& cfg, const std::string& dir, std::string system, int repeats) {
  Measure m;
  m.system = std::move(system);
  m.role = "engine";
  m.unit = "ms";
  m.higher_is_better = false;
  std::vector<double> total, open, decide;
  for (int i = 0; i < repeats; ++i) {
    std::string line = Fleet::start(Fleet::request_id("w4-open", static_cast<std::uint64_t>(i)), 4242 + i);
    ChildResult c = run_child(cfg, {"open", dir, line});
    if (!c.error.empty()) {
      m.skipped = true;
      m.note = "failed: " + c.error;
    m.fault = true;
      return m;
    }
    total.push_back(c.out.at("seconds").to_number<double>() * 1000);
    open.push_back(c.out.at("open_seconds").to_number<double>() * 1000);
    decide.push_back(c.out.at("decision_seconds").to_number<double>() * 1000);
    if (i == 0) m.details.emplace_back("events_in_log", c.out.at("last_seq").to_number<double>());
  }
  m.value = percentile(total, 50);
  m.details.emplace_back("open_ms_p50", percentile(open, 50));
  m.details.emplace_back("first_decision_ms_p50", percentile(decide, 50));
  m.details.emplace_back("max_ms", total.back());
  m.details.emplace_back("runs", repeats);
  return m;
}

// W3's rows, each measured in a child process on the log in `dir`.
void measure_rebuilds(const RunConfig& cfg, const std::string& dir, std::uint64_t events, Section& s) {
  // Warm the page cache first (an untimed scan): the workloads before W3 write gigabytes
  // and may have pushed the log out of it, and then the first measurement, the limit,
  // would time the disk (seen: 1.2M events/s cold against 5-9M warm).
  (void)run_child(cfg, {"scan", dir});
  Measure limit = child_measure(cfg, "raw-scan-limit", "limit", {"scan", dir}, true);
  Measure decode = child_measure(cfg, "decode-only", "limit", {"decode", dir}, true);
  decode.note = "reference: decode every envelope and payload, apply nothing";

  Case full;
  full.name = "full rebuild, memory";
  full.measures.push_back(child_measure(cfg, "engine (MemoryStore)", "engine", {"rebuild-memory", dir}, true));
  full.measures.push_back(decode);
  full.measures.push_back(limit);
  double rebuild_rate = full.measures[0].skipped ? 0 : full.measures[0].value;
  std::optional<double> peak_mib = full.measures[0].detail("peak_rss_mib"), lmdb_peak_mib;
  s.cases.push_back(full);

  {
    ScratchDir out(cfg, "w3-rebuild");
    Case lm;
    lm.name = "full rebuild, LMDB";
    lm.measures.push_back(child_measure(cfg, "engine (LmdbStore)", "engine", {"rebuild-lmdb", dir, out.path()}, true));
    lmdb_peak_mib = lm.measures[0].detail("peak_rss_mib");
    lm.measures.push_back(limit);
    lm.note =
        "into a fresh LMDB environment, committed every 262,144 events without sync, one sync at the end; the "
        "mapped pages of both files are released every 16,384 events, as in every replay";
    s.cases.push_back(lm);
  }

  std::uint64_t mid = events / 2;
  Case midpoint;
  midpoint.name = "replay to midpoint";
  Measure nosnap =
      child_measure(cfg, "engine, no snapshot", "engine", {"rebuild-memory", dir, std::to_string(mid)}, false);
  midpoint.measures.push_back(nosnap);
  // Snapshots as Options::snapshot_every_events leaves them: the nearest one lies up to an
  // interval before the point. One is stored half an interval (a twentieth of the log)
  // before the midpoint, and replay to the midpoint starts from it.
  std::uint64_t snap_seq = mid - events / 20;
  ChildResult written = run_child(cfg, {"snapshot-write", dir, std::to_string(snap_seq)});
  Measure snap;
  if (!written.error.empty()) {
    snap.system = "engine, with snapshot";
    snap.role = "engine";
    snap.unit = "s";
    snap.higher_is_better = false;
    snap.skipped = true;
    snap.fault = true;
    snap.note = "writing the snapshot failed: " + written.error;
  } else {
    // The machine's speed drifts by a fifth from run to run: the median of five replays
    // (one in quick and smoke runs) is what the target is judged on.
    int repeats = cfg.quick || cfg.smoke ? 1 : 5;
    snap = median_child_measure(cfg, "engine, with snapshot", "engine", {"replay-snapshot", dir, std::to_string(mid)},
                                repeats);
    snap.details.emplace_back("snapshot_seq", snap_seq);
    snap.details.emplace_back("snapshot_mib", written.out.at("snapshot_bytes").to_number<double>() / 1048576.0);
    snap.details.emplace_back("snapshot_write_seconds", written.out.at("seconds").to_number<double>());
    snap.details.emplace_back("snapshot_pieces", written.out.at("pieces").to_number<double>());
  }
  std::optional<double> snap_seconds = snap.skipped ? std::nullopt : std::optional<double>(snap.value);
  midpoint.measures.push_back(snap);
  midpoint.note = "replay of events 1.." + std::to_string(mid) + " into a MemoryStore";
  s.cases.push_back(midpoint);

  s.targets.push_back(Target{"full rebuild (MemoryStore; applied on one core, the log read on a second)", 3000000, true,
                             rebuild_rate > 0 ? std::optional<double>(rebuild_rate) : std::nullopt, " events/s"});
  s.targets.push_back(Target{"full rebuild peak resident memory (" + std::to_string(events) + " events)", 256, false,
                             peak_mib, " MiB"});
  s.targets.push_back(Target{"full rebuild into LMDB, peak resident memory (" + std::to_string(events) +
                                 " events; heap and mapped pages)",
                             256, false, lmdb_peak_mib, " MiB"});
  s.targets.push_back(Target{"replay to a point with a snapshot half an interval before it", 1, false,
                             snap_seconds, " s"});
  s.notes.push_back(
      "Replay with a snapshot (format 4, stored as a manifest and 16 MiB pieces, format 2, as the engine stores an automatic "
      "snapshot larger than a piece; read where the pieces lie): decoding the snapshot, hashing every table's rows (as they lie in it, while they are restored) to its recorded digest and "
      "checking its chain hash (load_seconds), then applying the events after it. The load is proportional to "
      "the state's size (rows), the rest to the distance from the snapshot. The row is the median of five replays "
      "in fresh processes (one in quick and smoke runs), min_s and max_s their spread.");
}

}  // namespace

Section run_w3_w4(const RunConfig& cfg, Section& w4) {
  Section s;
  s.id = "W3";
  s.title = "rebuild and replay";
  std::uint64_t events = cfg.smoke ? 5000 : cfg.quick ? 200000 : 10000000;
  s.setup = "A log of " + std::to_string(events) +
            " events of a realistic mix (clicks of every seeded type by managers, readonly members and strangers, "
            "scheduled backups, duplicates, busy connections, consent lapses; runs begun, progressed with "
            "occasional failures, completed), generated through the engine (nosync, batches of 4,096). An untimed "
            "scan first warms the page cache. Each measurement runs in a child process of its own: peak_rss is its "
            "VmHWM (peak resident memory, which counts the pages of the memory-mapped LMDB files resident at once; "
            "replays release them every 16,384 events), heap_rss its resident anonymous memory at "
            "the end, map_rss its resident file-backed memory (the LMDB map and the binaries) at the end. Limit: a raw cursor scan of the same events database.";
  w4.id = "W4";
  w4.title = "open";
  w4.setup =
      "Time from Engine::open (durable, default options) in a fresh process to the answer of its first start, "
      "on W3's log and on a database holding only the fleet's setup; median of 5 runs each, warm page cache.";

  std::unique_ptr<ScratchDir> scratch;
  std::string dir;
  if (!cfg.keep_dir.empty()) {
    dir = cfg.keep_dir + "/w3-" + std::to_string(events);
  } else {
    scratch = std::make_unique<ScratchDir>(cfg, "w3");
    dir = scratch->sub("log");
  }
  progress("W3: generating a %llu-event log in %s", static_cast<unsigned long long>(events), dir.c_str());
  Stopwatch gen;
  generate_log(dir, events);
  char took[96];
  std::snprintf(took, sizeof took, "Generating the log took %.1f s (when reused with --keep: opening it once).", gen.seconds());
  s.notes.push_back(took);

  if (cfg.wants("W3")) measure_rebuilds(cfg, dir, events, s);

  // W4 on the same log, then on a small database.
  int repeats = cfg.smoke ? 1 : 5;
  Case big;
  big.name = std::to_string(events) + "-event log";
  progress("W4: open on the %llu-event log", static_cast<unsigned long long>(events));
  big.measures.push_back(open_measure(cfg, dir, "engine", repeats));
  w4.cases.push_back(big);
  {
    ScratchDir small(cfg, "w4-small");
    open_fleet_engine(small.path(), Durability::durable).reset();
    Case sm;
    sm.name = "setup-only database";
    progress("W4: open on a small database");
    sm.measures.push_back(open_measure(cfg, small.path(), "engine", repeats));
    w4.cases.push_back(sm);
  }
  auto value_of = [](const Case& c) -> std::optional<double> {
    if (c.measures.empty() || c.measures[0].skipped) return std::nullopt;
    return c.measures[0].value;
  };
  w4.targets.push_back(Target{"open to first decision, " + big.name, 50, false, value_of(w4.cases[0]), " ms"});
  w4.targets.push_back(Target{"open to first decision, setup-only database", 50, false, value_of(w4.cases[1]), " ms"});
  w4.notes.push_back(
      "The first decision is durable: its time includes one fsync'ed commit. Each run appends one start to the "
      "database it opens.");
  return s;
}

}  // namespace opsledger::bench
