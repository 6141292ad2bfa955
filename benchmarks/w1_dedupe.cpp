// W1 dedupe, batched, durable: the same start requests, in the same batches, through the
// engine (Engine::execute_batch, Durability::durable), the SQLite peer (one transaction per
// batch) and the raw LMDB limit (one commit per batch).
//
// The request stream is fixed: request i names an identity drawn uniformly (seeded) from
// the fleet's 10,000. Durable batch-1 commits cost an fsync each, so a cell cannot always
// run all 1,000,000: the engine runs until the stream ends or the cell's time bound
// passes, and the peer and the limit then run exactly the requests the engine ran (their
// own bound is three times longer; a peer cut short by it reports its rate so far).
#include <algorithm>
#include <stdexcept>

#include "benchmarks/bench.h"
#include "benchmarks/engine_util.h"
#include "benchmarks/fleet.h"
#include "benchmarks/sqlite_peer.h"

namespace opsledger::bench {
namespace {

struct W1Sizes {
  std::uint64_t requests;
  double cell_seconds;
  std::vector<std::size_t> batches;
};

W1Sizes sizes_for(const RunConfig& cfg) {
  if (cfg.smoke) return {1000, 0.2, {256}};
  if (cfg.quick) return {200000, 0.5, {1, 16, 256, 4096}};
  return {1000000, 20.0, {1, 16, 256, 4096}};
}

Measure measured(std::string system, std::string role, const Progressed& p, std::string unit) {
  Measure m;
  m.system = std::move(system);
  m.role = std::move(role);
  m.unit = std::move(unit);
  m.value = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds : 0;
  m.details = {{"requests", static_cast<double>(p.done)}, {"seconds", p.seconds}};
  if (p.cut_short) m.note = "cut short by the time bound";
  return m;
}

}  // namespace

Section run_w1(const RunConfig& cfg) {
  Section s;
  s.id = "W1";
  s.title = "dedupe, batched, durable";
  W1Sizes z = sizes_for(cfg);
  if (!cfg.w1_batches.empty()) z.batches = cfg.w1_batches;
  s.setup =
      "Start requests (restore.execute) over 10,000 identities in 100 tenants (10 workspaces; each tenant its own "
      "ready provider connection, max_concurrent_runs 1,000,000), request i naming a seeded-random identity. "
      "Engine: Engine::execute_batch with pre-built JSON lines, Durability::durable (one fsync'ed LMDB commit per "
      "batch). SQLite peer: WAL, synchronous=FULL, the platform's schema (operation_runs with a partial unique "
      "index on (tenant_id, run_identity_hash) WHERE status IN ('queued','running'), a start_requests audit row "
      "per request), insert-or-find per request, one transaction per batch. Limit: raw LMDB appends of records "
      "the engine's mean event size, one durable commit per batch, no decisions. Per batch size the engine runs "
      "up to " + std::to_string(z.requests) + " requests or " + std::to_string(z.cell_seconds).substr(0, 4) +
      " s, whichever comes first; the peer and the limit then run exactly the same requests.";

  progress("W1: building %llu request lines", static_cast<unsigned long long>(z.requests));
  std::vector<std::string> lines;
  lines.reserve(z.requests);
  Rng rng(0x5EED0001);
  for (std::uint64_t i = 0; i < z.requests; ++i)
    lines.push_back(Fleet::start(Fleet::request_id("w1", i), static_cast<unsigned>(rng.below(Fleet::kIdentities))));
  std::vector<std::string_view> views(lines.begin(), lines.end());

  std::optional<double> ratio_sqlite_4096, ratio_limit_4096;
  for (std::size_t batch : z.batches) {
    Case c;
    c.name = "batch " + std::to_string(batch);

    // The engine.
    ScratchDir edir(cfg, "w1-engine");
    auto engine =
        open_fleet_engine(edir.path(), cfg.engine_nosync ? Durability::nosync : Durability::durable);
    std::uint64_t setup_seq = engine->last_seq();
    Tally et;
    progress("W1 batch %zu: engine", batch);
    Progressed ep = run_batches(views, z.requests, batch, z.cell_seconds, [&](std::span<const std::string_view> b) {
      for (const auto& a : engine->execute_batch(b)) count_answer(a, et);
    });
    double event_bytes = mean_event_bytes(*engine, setup_seq);
    engine.reset();
    Measure em = measured(cfg.engine_name("engine"), "engine", ep, "req/s");
    em.details.emplace_back("accepted", static_cast<double>(et.accepted));
    em.details.emplace_back("deduped", static_cast<double>(et.deduped));
    em.details.emplace_back("event_bytes", event_bytes);
    if (et.other) {
      em.note = std::to_string(et.other) + " answers were neither accepted nor deduped";
      em.fault = true;
    }
    c.measures.push_back(em);

    // SQLite, the same requests in the same batches.
    {
      ScratchDir sdir(cfg, "w1-sqlite");
      SqlitePeer peer(sdir.sub("platform.db"), true);
      Tally st;
      progress("W1 batch %zu: sqlite (%llu requests)", batch, static_cast<unsigned long long>(ep.done));
      Progressed sp = run_batches(views, ep.done, batch, 3 * z.cell_seconds,
                                  [&](std::span<const std::string_view> b) { peer.decide_batch(b, st); });
      Measure sm = measured("sqlite", "peer", sp, "req/s");
      sm.details.emplace_back("accepted", static_cast<double>(st.accepted));
      sm.details.emplace_back("deduped", static_cast<double>(st.deduped));
      c.measures.push_back(sm);
      if (!sp.cut_short && (st.accepted != et.accepted || st.deduped != et.deduped)) {
        c.note = "decision counts differ between the engine and SQLite: a bug";
        c.fault = true;
      }
    }

    // The limit.
    {
      ScratchDir ldir(cfg, "w1-lmdb");
      progress("W1 batch %zu: raw LMDB appends", batch);
      Progressed lp = raw_lmdb_appends(ldir.path(), ep.done, batch, static_cast<std::size_t>(event_bytes + 0.5),
                                       3 * z.cell_seconds);
      Measure lm = measured("lmdb-limit", "limit", lp, "req/s");
      lm.details.emplace_back("record_bytes", static_cast<double>(static_cast<std::size_t>(event_bytes + 0.5)));
      c.measures.push_back(lm);
    }

    if (batch == 4096) {
      ratio_sqlite_4096 = c.measures[0].value / c.measures[1].value;
      ratio_limit_4096 = c.measures[0].value / c.measures[2].value;
    }
    s.cases.push_back(std::move(c));
  }
  s.targets.push_back(Target{"batch 4096: engine/sqlite", 3.0, true, ratio_sqlite_4096, "x"});
  s.targets.push_back(Target{"batch 4096: engine/lmdb-limit", 0.7, true, ratio_limit_4096, "x"});
  s.notes.push_back(
      "The SQLite peer decides less than the engine: it checks neither membership, capability nor provider "
      "readiness, and records no event chain; it parses the same JSON and computes the same run_identity_hash.");
  s.notes.push_back(
      "An LMDB commit syncs twice (data pages, then the meta page); a SQLite WAL commit syncs once. At batch 1 "
      "both are bound by the disk's sync latency.");
  return s;
}

}  // namespace opsledger::bench
