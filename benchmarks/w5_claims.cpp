// W5 claims: claim evaluations per second for scopes of 50 types over 1,000 managed
// environments.
//
// The projections are populated the way the coverage commands populate them, directly:
// apply_event of ResourceTypeRegistered, ManagedEnvironmentRegistered, CoverageRecorded and
// SupportedScopeDefined events (the same state, without a command's validation and commit
// per record), and claims are evaluated with projections/claims.h's
// evaluate_claim(store, ClaimInput) — the code the evaluate_claim command calls. Measured on a MemoryStore and on an LmdbStore (a read transaction on an
// LMDB environment populated the same way), against a SQLite peer that answers the same
// claims with one indexed query per claim over the same data.
#include <sqlite3.h>

#include <cstdio>
#include <stdexcept>

#include "benchmarks/bench.h"
#include "benchmarks/engine_util.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "events/events.h"
#include "projections/apply.h"
#include "projections/claims.h"
#include "projections/memory_store.h"

namespace opsledger::bench {
namespace {

constexpr unsigned kTypes = 120;          // registered canonical types
constexpr unsigned kScopes = 4;           // each of 50 types
constexpr unsigned kTypesPerScope = 50;

std::string type_name(unsigned i) {
  char b[48];
  std::snprintf(b, sizeof b, "intune.bench_type_%03u", i);
  return b;
}
std::string scope_key(unsigned i) { return "bench.scope_" + std::to_string(i); }

// The coverage world, as events, in an order that keeps the apply cheap (scopes last).
struct World {
  std::vector<Event> events;
  std::vector<ClaimInput> claims;
};

World make_world(unsigned environments, std::size_t claims) {
  World w;
  Rng rng(0xC1A1);
  for (unsigned i = 0; i < kTypes; ++i) {
    ResourceTypeDef d{type_name(i), SourceClass::tcm, Workload::intune, ResourceClass::configuration,
                      SupportState::supported, i % 7 == 0 ? RestoreTier::none : RestoreTier::automated,
                      "Bench type " + std::to_string(i)};
    w.events.push_back(ResourceTypeRegistered{d, std::nullopt});
    if (i % 3 == 0) {
      d.source_class = SourceClass::graph_v1_fallback;
      d.restore_tier = RestoreTier::manual;
      w.events.push_back(ResourceTypeRegistered{d, std::nullopt});
    }
  }
  for (unsigned e = 1; e <= environments; ++e)
    w.events.push_back(ManagedEnvironmentRegistered{1 + e % 10, e, "Environment " + std::to_string(e)});
  for (unsigned e = 1; e <= environments; ++e) {
    for (unsigned i = 0; i < kTypes; ++i) {
      if (rng.chance(3)) continue;  // never observed
      CoverageRecorded c;
      c.workspace_id = 1 + e % 10;
      c.managed_environment_id = e;
      c.canonical_type = type_name(i);
      c.source_class = SourceClass::tcm;
      c.level = static_cast<CoverageLevel>(1 + rng.below(3));
      c.evidence_state = rng.chance(92) ? EvidenceState::complete : EvidenceState::partial;
      c.identity_state = rng.chance(97) ? IdentityState::resolved : IdentityState::ambiguous;
      w.events.push_back(c);
      if (i % 3 == 0 && rng.chance(50)) {
        c.source_class = SourceClass::graph_v1_fallback;
        c.evidence_state = EvidenceState::complete;
        c.identity_state = IdentityState::resolved;
        w.events.push_back(c);
      }
    }
  }
  for (unsigned s = 0; s < kScopes; ++s) {
    ScopeDef d;
    d.scope_key = scope_key(s);
    for (unsigned k = 0; k < kTypesPerScope; ++k) d.canonical_types.push_back(type_name((s * 23 + k * 2) % kTypes));
    d.minimum_level = CoverageLevel::inventoried;
    d.allow_fallback = s % 2 == 1;
    d.include_beta = false;
    w.events.push_back(SupportedScopeDefined{d, std::nullopt});
  }
  for (std::size_t i = 0; i < claims; ++i) {
    ClaimInput in;
    in.managed_environment_id = 1 + rng.below(environments);
    in.scope_key = scope_key(static_cast<unsigned>(rng.below(kScopes)));
    in.level = static_cast<CoverageLevel>(1 + rng.below(3));
    in.audience = rng.chance(70) ? Audience::customer : Audience::operator_;
    in.kind = rng.chance(80) ? ClaimKind::coverage : ClaimKind::restore;
    w.claims.push_back(in);
  }
  return w;
}

void populate(Store& store, const World& w) {
  std::uint64_t seq = 0;
  for (const auto& e : w.events) {
    EventMeta m;
    m.seq = ++seq;
    apply_event(store, m, e);
  }
}

struct ClaimRun {
  std::uint64_t done = 0;
  double seconds = 0;
  std::uint64_t eligible = 0;
};

// Evaluates claims in order until `count` are done or `seconds_max` has passed.
template <class Eval>
ClaimRun time_claims(const std::vector<ClaimInput>& claims, std::size_t count, double seconds_max, Eval&& eval) {
  ClaimRun r;
  Stopwatch sw;
  for (std::size_t i = 0; i < count && i < claims.size(); ++i) {
    if ((r.done & 255) == 0 && r.done > 0 && sw.seconds() >= seconds_max) break;
    if (eval(claims[i])) ++r.eligible;
    ++r.done;
  }
  r.seconds = sw.seconds();
  return r;
}

Measure to_measure(std::string system, std::string role, const ClaimRun& r) {
  Measure m;
  m.system = std::move(system);
  m.role = std::move(role);
  m.unit = "claims/s";
  m.value = r.seconds > 0 ? static_cast<double>(r.done) / r.seconds : 0;
  m.details = {{"claims", static_cast<double>(r.done)},
               {"seconds", r.seconds},
               {"eligible", static_cast<double>(r.eligible)}};
  return m;
}

// The SQLite peer: the same data in tables, one query per claim (plus one for restore).
class SqliteClaims {
 public:
  explicit SqliteClaims(const std::string& path, const World& w) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    exec("PRAGMA journal_mode=WAL");
    exec(R"sql(
      CREATE TABLE resource_types (canonical_type TEXT, source_class INTEGER, restore_tier INTEGER,
                                   PRIMARY KEY (canonical_type, source_class));
      CREATE TABLE scopes (scope_key TEXT PRIMARY KEY, minimum_level INTEGER, allow_fallback INTEGER,
                           include_beta INTEGER);
      CREATE TABLE scope_types (scope_key TEXT, pos INTEGER, canonical_type TEXT, PRIMARY KEY (scope_key, pos));
      CREATE TABLE coverage (env INTEGER, canonical_type TEXT, source_class INTEGER, level INTEGER,
                             evidence_state INTEGER, identity_state INTEGER,
                             PRIMARY KEY (env, canonical_type, source_class));
    )sql");
    exec("BEGIN");
    for (const auto& e : w.events) {
      if (auto* r = std::get_if<ResourceTypeRegistered>(&e)) {
        run("INSERT OR REPLACE INTO resource_types VALUES (?1, ?2, ?3)", r->def.canonical_type,
            static_cast<int>(r->def.source_class), static_cast<int>(r->def.restore_tier));
      } else if (auto* c = std::get_if<CoverageRecorded>(&e)) {
        sqlite3_stmt* s = prep("INSERT OR REPLACE INTO coverage VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(c->managed_environment_id));
        sqlite3_bind_text(s, 2, c->canonical_type.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 3, static_cast<int>(c->source_class));
        sqlite3_bind_int(s, 4, static_cast<int>(c->level));
        sqlite3_bind_int(s, 5, static_cast<int>(c->evidence_state));
        sqlite3_bind_int(s, 6, static_cast<int>(c->identity_state));
        step_done(s);
      } else if (auto* d = std::get_if<SupportedScopeDefined>(&e)) {
        sqlite3_stmt* s = prep("INSERT INTO scopes VALUES (?1, ?2, ?3, ?4)");
        sqlite3_bind_text(s, 1, d->def.scope_key.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 2, static_cast<int>(d->def.minimum_level));
        sqlite3_bind_int(s, 3, d->def.allow_fallback);
        sqlite3_bind_int(s, 4, d->def.include_beta);
        step_done(s);
        for (std::size_t k = 0; k < d->def.canonical_types.size(); ++k)
          run("INSERT INTO scope_types VALUES (?1, ?2, ?3)", d->def.scope_key, static_cast<int>(k),
              d->def.canonical_types[k]);
      }
    }
    exec("COMMIT");
    claim_ = prep_persistent(R"sql(
      SELECT st.canonical_type,
             (SELECT MAX(c.level) FROM coverage c
               WHERE c.env = ?1 AND c.canonical_type = st.canonical_type
                 AND c.evidence_state = 2 AND c.identity_state = 1
                 AND (c.source_class = 0 OR (c.source_class = 1 AND s.allow_fallback)
                      OR (c.source_class = 2 AND s.include_beta))),
             (SELECT COUNT(*) FROM resource_types r
               WHERE r.canonical_type = st.canonical_type AND r.restore_tier <> 0
                 AND (r.source_class = 0 OR (r.source_class = 1 AND s.allow_fallback)
                      OR (r.source_class = 2 AND s.include_beta))),
             s.minimum_level, s.include_beta
        FROM scopes s JOIN scope_types st ON st.scope_key = s.scope_key
       WHERE s.scope_key = ?2 ORDER BY st.pos)sql");
  }
  ~SqliteClaims() {
    sqlite3_finalize(claim_);
    sqlite3_close(db_);
  }

  // Same rules as evaluate_claim: covered / missing in scope order, reasons collected.
  bool eligible(const ClaimInput& in) {
    sqlite3_reset(claim_);
    sqlite3_bind_int64(claim_, 1, static_cast<sqlite3_int64>(in.managed_environment_id));
    sqlite3_bind_text(claim_, 2, in.scope_key->c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::string> missing;
    bool all_restorable = true, any = false;
    int minimum = 0, beta = 0;
    while (sqlite3_step(claim_) == SQLITE_ROW) {
      any = true;
      bool covered = sqlite3_column_type(claim_, 1) != SQLITE_NULL &&
                     sqlite3_column_int(claim_, 1) >= static_cast<int>(in.level);
      if (!covered) missing.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(claim_, 0)));
      if (sqlite3_column_int(claim_, 2) == 0) all_restorable = false;
      minimum = sqlite3_column_int(claim_, 3);
      beta = sqlite3_column_int(claim_, 4);
    }
    if (!any) return false;
    bool blocked = static_cast<int>(in.level) < minimum || (in.kind == ClaimKind::certification && beta) ||
                   (in.kind == ClaimKind::restore && !all_restorable) ||
                   (in.audience == Audience::customer && !missing.empty());
    return !blocked;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  sqlite3_stmt* prep(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      sqlite3_reset(it->second);
      return it->second;
    }
    sqlite3_stmt* s = prep_persistent(sql);
    cache_[sql] = s;
    return s;
  }
  sqlite3_stmt* prep_persistent(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
    return s;
  }
  void step_done(sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  void run(const char* sql, const std::string& a, int b, int c) {
    sqlite3_stmt* s = prep(sql);
    sqlite3_bind_text(s, 1, a.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, b);
    sqlite3_bind_int(s, 3, c);
    step_done(s);
  }
  void run(const char* sql, const std::string& a, int b, const std::string& c) {
    sqlite3_stmt* s = prep(sql);
    sqlite3_bind_text(s, 1, a.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, b);
    sqlite3_bind_text(s, 3, c.c_str(), -1, SQLITE_TRANSIENT);
    step_done(s);
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* claim_ = nullptr;
  std::map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace

Section run_w5(const RunConfig& cfg) {
  Section s;
  s.id = "W5";
  s.title = "claims";
  std::size_t claims = cfg.smoke ? 1000 : cfg.quick ? 20000 : 500000;
  unsigned environments = cfg.smoke ? 50 : 1000;
  double seconds_max = cfg.smoke ? 0.5 : cfg.quick ? 1.0 : 20.0;
  s.setup =
      "4 supported scopes of 50 canonical types each (from 120 registered types, a third also with a "
      "graph_v1_fallback source; two scopes allow fallback) over " + std::to_string(environments) +
      " managed environments with ~97% of types "
      "observed per environment (a mix of levels, ~8% incomplete evidence, ~3% unresolved identity). Claims: a "
      "seeded mix of environments, scopes, levels, customer/operator audiences and coverage/restore kinds, up to " +
      std::to_string(claims) +
      " or the time bound. The engine's evaluate_claim (projections/claims.h), on a MemoryStore and on an LMDB "
      "read transaction, populated through apply_event; SQLite peer: the same data in tables with primary-key "
      "indexes, one query per claim.";
  progress("W5: building the coverage world");
  World w = make_world(environments, claims);
  Case c;
  c.name = "50-type scopes";
  // The LMDB row runs first and sets the count; the others evaluate the same claims (with a
  // longer time bound) and must find the same number eligible.
  ClaimRun engine_run;
  auto check = [&](const ClaimRun& r) {
    if (r.done == engine_run.done && r.eligible != engine_run.eligible) {
      c.note = "eligible counts differ between rows over the same claims: a bug";
      c.fault = true;
    }
  };

  {
    progress("W5: populating an LMDB store");
    ScratchDir dir(cfg, "w5-lmdb");
    lmdb::Env::Options o;
    o.map_size_bytes = kBenchMapBytes;
    o.nosync = true;
    lmdb::Env env(dir.path(), o);
    Dbis dbis;
    {
      lmdb::Txn txn(env, true);
      dbis = open_dbis(txn, true);
      LmdbStore store(txn, dbis);
      populate(store, w);
      txn.commit();
    }
    lmdb::Txn txn(env, false);
    LmdbStore store(txn, dbis);
    progress("W5: engine on LMDB");
    engine_run = time_claims(w.claims, w.claims.size(), seconds_max, [&](const ClaimInput& in) {
      return evaluate_claim(store, in).claim_state == ClaimState::eligible;
    });
    c.measures.push_back(to_measure("engine (LmdbStore)", "engine", engine_run));
  }
  {
    progress("W5: populating a memory store");
    MemoryStore store;
    populate(store, w);
    progress("W5: engine on memory");
    ClaimRun r = time_claims(w.claims, engine_run.done, 3 * seconds_max, [&](const ClaimInput& in) {
      return evaluate_claim(store, in).claim_state == ClaimState::eligible;
    });
    check(r);
    Measure m = to_measure("engine (MemoryStore)", "engine", r);
    m.note = "same code on the replay store";
    c.measures.push_back(m);
  }
  {
    progress("W5: populating SQLite");
    ScratchDir dir(cfg, "w5-sqlite");
    SqliteClaims peer(dir.sub("claims.db"), w);
    progress("W5: sqlite");
    ClaimRun r = time_claims(w.claims, engine_run.done, 3 * seconds_max,
                             [&](const ClaimInput& in) { return peer.eligible(in); });
    check(r);
    c.measures.push_back(to_measure("sqlite", "peer", r));
  }
  s.cases.push_back(c);
  s.notes.push_back(
      "This measures the claim evaluation itself; the evaluate_claim command also appends a ClaimEvaluated "
      "event, whose durable commit W1's figures bound.");
  s.notes.push_back(
      "The first row runs until its claims or its time bound are used up; the others evaluate exactly the same "
      "claims, and all rows must count the same number eligible (checked).");
  return s;
}

}  // namespace opsledger::bench
