// Isolation as a property (SPEC sections 4 and 12): for random directories — workspaces,
// tenants, memberships with and without tenant lists, revocations, runs, legacy records —
// no query or decision reveals to an actor a run, tenant, workspace or provider connection
// outside its membership, and the refusal of a hidden object is byte for byte the refusal
// of a missing one (for start, whose refusal is a recorded decision, after removing `seq`;
// where a refusal repeats an id the caller sent, that id is masked on both sides).
//
// Not covered because they take no actor: explain, history, notifications, triage,
// state_digest, stats — operator and embedding-service tools (docs/reliability.md).
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <random>
#include <set>

#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

constexpr std::uint64_t kAdmin = 99;       // owner of every workspace: creates the runs
constexpr std::uint64_t kOutsider = 77;    // never a member of anything
constexpr std::uint64_t kMissingWs = 999;  // never registered
constexpr std::uint64_t kMissingTenant = 9999;
constexpr std::uint64_t kMissingRun = 999999;
constexpr std::uint64_t kMissingPc = 99999;

const char* const kRoles[] = {"owner", "manager", "operator", "readonly"};

struct Member {
  std::string role;
  bool all_tenants = true;
  std::set<std::uint64_t> tenants;
};

struct Run {
  std::uint64_t id = 0, ws = 0;
  std::optional<std::uint64_t> tenant;
};

struct Legacy {
  std::uint64_t id = 0, ws = 0, tenant = 0;
};

// The reference model of who may see what.
struct World {
  std::vector<std::uint64_t> workspaces;
  std::map<std::uint64_t, std::uint64_t> tenant_ws;  // tenant → its workspace
  std::map<std::pair<std::uint64_t, std::uint64_t>, Member> members;  // (ws, user)
  std::vector<Run> runs;
  std::vector<Legacy> legacy;

  bool has_ws(std::uint64_t ws) const { return std::find(workspaces.begin(), workspaces.end(), ws) != workspaces.end(); }
  std::vector<std::uint64_t> tenants_of(std::uint64_t ws) const {
    std::vector<std::uint64_t> out;
    for (auto [t, w] : tenant_ws)
      if (w == ws) out.push_back(t);
    return out;
  }
  const Member* member(std::uint64_t user, std::uint64_t ws) const {
    auto it = members.find({ws, user});
    return it == members.end() ? nullptr : &it->second;
  }
  bool reaches(std::uint64_t user, std::uint64_t ws, std::optional<std::uint64_t> tenant) const {
    if (!has_ws(ws)) return false;
    if (tenant) {
      auto it = tenant_ws.find(*tenant);
      if (it == tenant_ws.end() || it->second != ws) return false;
    }
    const Member* m = member(user, ws);
    if (!m) return false;
    return !tenant || m->all_tenants || m->tenants.count(*tenant) > 0;
  }
  bool is_owner(std::uint64_t user, std::uint64_t ws) const {
    const Member* m = member(user, ws);
    return m && m->role == "owner";
  }
};

std::uint64_t pc_of(std::uint64_t tenant) { return tenant * 10; }

json::object ok(TestDb& db, const json::object& c) {
  auto a = db.send(c);
  INFO(json::serialize(c) << " -> " << json::serialize(a));
  REQUIRE(a.at("ok").as_bool());
  return a;
}

// Builds a random directory and history; returns the model.
World build(TestDb& db, std::mt19937_64& rng) {
  World w;
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  std::size_t n_ws = 2 + rng() % 3;
  for (std::uint64_t ws = 1; ws <= n_ws; ++ws) {
    w.workspaces.push_back(ws);
    ok(db, {{"cmd", "register_workspace"}, {"workspace_id", ws}, {"name", "w" + std::to_string(ws)}});
    ok(db, {{"cmd", "grant_membership"}, {"workspace_id", ws}, {"user_id", kAdmin}, {"role", "owner"}});
    w.members[{ws, kAdmin}] = Member{"owner", true, {}};
    std::size_t n_t = 1 + rng() % 3;
    for (std::uint64_t k = 1; k <= n_t; ++k) {
      std::uint64_t t = ws * 10 + k;
      w.tenant_ws[t] = ws;
      ok(db, {{"cmd", "register_tenant"}, {"workspace_id", ws}, {"tenant_id", t}, {"name", "t" + std::to_string(t)}});
      ok(db, {{"cmd", "register_provider_connection"}, {"workspace_id", ws}, {"tenant_id", t},
              {"provider_connection_id", pc_of(t)}, {"provider", "microsoft"}, {"display_name", "c"}});
      ok(db, {{"cmd", "set_default_provider_connection"}, {"tenant_id", t}, {"provider_connection_id", pc_of(t)}});
      ok(db, {{"cmd", "update_provider_connection"}, {"provider_connection_id", pc_of(t)}, {"consent", "granted"},
              {"credentials", "usable"}, {"max_concurrent_runs", 1000}});
    }
  }
  for (std::uint64_t user = 1; user <= 5; ++user)
    for (auto ws : w.workspaces) {
      if (!chance(60)) continue;
      Member m;
      m.role = kRoles[rng() % 4];
      json::object c{{"cmd", "grant_membership"}, {"workspace_id", ws}, {"user_id", user}, {"role", m.role}};
      if (chance(50)) {
        m.all_tenants = false;
        json::array ids;
        for (auto t : w.tenants_of(ws))
          if (chance(50)) {
            m.tenants.insert(t);
            ids.push_back(t);
          }
        c["tenant_ids"] = std::move(ids);
      }
      ok(db, c);
      w.members[{ws, user}] = m;
    }
  // Runs: nonce-policy starts never dedupe, so every one is accepted; some are
  // workspace-scoped (no tenant, an explicit connection of that workspace).
  for (int i = 0; i < 12; ++i) {
    std::uint64_t ws = w.workspaces[rng() % w.workspaces.size()];
    auto tenants = w.tenants_of(ws);
    std::uint64_t t = tenants[rng() % tenants.size()];
    json::object c{{"cmd", "start"},
                   {"request_id", "run-" + std::to_string(i)},
                   {"actor", user(kAdmin)},
                   {"workspace_id", ws},
                   {"type", "backup_schedule.run_now"},
                   {"nonce", "n" + std::to_string(i)},
                   {"context", json::object{{"backup_schedule_id", 1}}}};
    bool workspace_scoped = chance(25);
    if (workspace_scoped)
      c["provider_connection_id"] = pc_of(t);
    else
      c["tenant_id"] = t;
    auto a = ok(db, c);
    REQUIRE(a.at("decision") == "accepted");
    Run r{a.at("run_id").to_number<std::uint64_t>(), ws, std::nullopt};
    if (!workspace_scoped) r.tenant = t;
    w.runs.push_back(r);
    if (chance(30)) ok(db, {{"cmd", "begin_run"}, {"run_id", r.id}});
  }
  for (std::uint64_t id = 1; id <= 4; ++id) {
    std::uint64_t ws = w.workspaces[rng() % w.workspaces.size()];
    auto tenants = w.tenants_of(ws);
    Legacy l{id, ws, tenants[rng() % tenants.size()]};
    ok(db, {{"cmd", "import_legacy_run"}, {"kind", "inventory_sync"}, {"legacy_id", id}, {"workspace_id", ws},
            {"tenant_id", l.tenant}, {"status", "done"}, {"started_at", "2025-01-01T00:00:00Z"},
            {"completed_at", "2025-01-01T00:10:00Z"}, {"counts", json::object{{"total", 1}}}});
    w.legacy.push_back(l);
  }
  // Revocations after the fact: a former member sees nothing any more.
  for (auto it = w.members.begin(); it != w.members.end();) {
    if (it->first.second != kAdmin && chance(20)) {
      ok(db, {{"cmd", "revoke_membership"}, {"workspace_id", it->first.first}, {"user_id", it->first.second}});
      it = w.members.erase(it);
    } else {
      ++it;
    }
  }
  return w;
}

std::string text(TestDb& db, const json::object& c) { return db.engine().execute(json::serialize(c)); }

// Masks a decimal id where it stands alone in `s` (ids a refusal repeats from the request).
std::string mask(std::string s, std::uint64_t id) {
  std::string d = std::to_string(id);
  for (std::size_t p = s.find(d); p != std::string::npos; p = s.find(d, p + 1)) {
    bool left = p == 0 || !std::isdigit(static_cast<unsigned char>(s[p - 1]));
    bool right = p + d.size() >= s.size() || !std::isdigit(static_cast<unsigned char>(s[p + d.size()]));
    if (left && right) s.replace(p, d.size(), "#");
  }
  return s;
}

std::string without_seq(const std::string& answer) {
  auto v = json::parse(answer).as_object();
  v.erase("seq");
  return json::serialize(v);
}

std::string code_of(const std::string& answer) { return error_code(json::parse(answer).as_object()); }

std::vector<std::uint64_t> users() { return {1, 2, 3, 4, 5, kOutsider}; }

void check_queries(TestDb& db, const World& w) {
  for (auto u : users()) {
    CAPTURE(u);
    // get_run
    std::string missing_run = text(db, {{"cmd", "get_run"}, {"run_id", kMissingRun}, {"actor", user(u)}});
    CHECK(code_of(missing_run) == "not_found");
    for (const auto& r : w.runs) {
      CAPTURE(r.id, r.ws, r.tenant.value_or(0));
      std::string a = text(db, {{"cmd", "get_run"}, {"run_id", r.id}, {"actor", user(u)}});
      if (w.reaches(u, r.ws, r.tenant))
        CHECK(json::parse(a).at("run").at("run_id").to_number<std::uint64_t>() == r.id);
      else
        CHECK(a == missing_run);
    }
    // list_runs, over every workspace (and a missing one) and every tenant filter
    std::vector<std::uint64_t> wss = w.workspaces;
    wss.push_back(kMissingWs);
    std::vector<std::optional<std::uint64_t>> filters{std::nullopt, kMissingTenant};
    for (auto [t, ws] : w.tenant_ws) filters.push_back(t);
    for (auto ws : wss)
      for (auto t : filters) {
        CAPTURE(ws, t.value_or(0));
        json::object c{{"cmd", "list_runs"}, {"workspace_id", ws}, {"actor", user(u)}, {"limit", 1000}};
        json::object ref{{"cmd", "list_runs"}, {"workspace_id", kMissingWs}, {"actor", user(u)}, {"limit", 1000}};
        if (t) {
          c["tenant_id"] = *t;
          ref["tenant_id"] = kMissingTenant;
        }
        std::string a = text(db, c);
        if (!w.reaches(u, ws, t)) {
          CHECK(a == text(db, ref));
          CHECK(code_of(a) == "not_found");
          continue;
        }
        std::vector<std::uint64_t> expected, got;
        for (const auto& r : w.runs)
          if (r.ws == ws && (!t || r.tenant == t) && w.reaches(u, r.ws, r.tenant)) expected.push_back(r.id);
        json::value listed = json::parse(a);
        for (const auto& run : listed.at("runs").as_array())
          got.push_back(run.at("run_id").to_number<std::uint64_t>());
        CHECK(got == expected);
      }
    // resolve_legacy
    auto resolve = [&](std::uint64_t id) {
      return text(db, {{"cmd", "resolve_legacy"}, {"kind", "inventory_sync"}, {"legacy_id", id}, {"actor", user(u)}});
    };
    std::string missing_legacy = mask(resolve(kMissingRun), kMissingRun);
    for (const auto& l : w.legacy) {
      CAPTURE(l.id, l.ws, l.tenant);
      std::string a = resolve(l.id);
      if (w.reaches(u, l.ws, l.tenant))
        CHECK(code_of(a) == "");
      else
        CHECK(mask(a, l.id) == missing_legacy);
    }
  }
}

// Admin commands with a user actor: a workspace, tenant or connection the actor cannot
// reach is refused exactly as a missing one; a reached one without the capability is
// forbidden. Every command below changes nothing when allowed (same definition again).
void check_admin(TestDb& db, const World& w) {
  for (auto u : users()) {
    CAPTURE(u);
    auto expect = [&](const json::object& c, const json::object& ref, bool reached, bool capable,
                      std::vector<std::uint64_t> ids) {
      CAPTURE(json::serialize(c));
      std::string a = text(db, c);
      if (!reached) {
        std::string r = text(db, ref);
        CHECK(code_of(r) == "not_found");
        for (auto id : ids) a = mask(a, id);
        CHECK(a == mask(mask(mask(r, kMissingWs), kMissingTenant), kMissingPc));
      } else {
        CHECK(code_of(a) == (capable ? "" : "forbidden"));
      }
    };
    for (auto ws : w.workspaces) {
      bool reached = w.reaches(u, ws, std::nullopt);
      bool owner = w.is_owner(u, ws);
      auto t = w.tenants_of(ws).front();
      expect({{"cmd", "register_tenant"}, {"workspace_id", ws}, {"tenant_id", t}, {"name", "t" + std::to_string(t)}, {"actor", user(u)}},
             {{"cmd", "register_tenant"}, {"workspace_id", kMissingWs}, {"tenant_id", kMissingTenant}, {"name", "t" + std::to_string(t)}, {"actor", user(u)}},
             reached, owner, {ws, t});
      expect({{"cmd", "revoke_membership"}, {"workspace_id", ws}, {"user_id", 55}, {"actor", user(u)}},
             {{"cmd", "revoke_membership"}, {"workspace_id", kMissingWs}, {"user_id", 55}, {"actor", user(u)}},
             reached, owner, {ws});
      for (auto tenant : w.tenants_of(ws)) {
        bool reached_t = w.reaches(u, ws, tenant);
        expect({{"cmd", "register_provider_connection"}, {"workspace_id", ws}, {"tenant_id", tenant},
                {"provider_connection_id", pc_of(tenant)}, {"provider", "microsoft"}, {"display_name", "c"}, {"actor", user(u)}},
               {{"cmd", "register_provider_connection"}, {"workspace_id", kMissingWs}, {"tenant_id", kMissingTenant},
                {"provider_connection_id", kMissingPc}, {"provider", "microsoft"}, {"display_name", "c"}, {"actor", user(u)}},
               reached_t, owner, {ws, tenant, pc_of(tenant)});
        expect({{"cmd", "set_default_provider_connection"}, {"tenant_id", tenant}, {"provider_connection_id", pc_of(tenant)}, {"actor", user(u)}},
               {{"cmd", "set_default_provider_connection"}, {"tenant_id", kMissingTenant}, {"provider_connection_id", kMissingPc}, {"actor", user(u)}},
               reached_t, owner, {tenant, pc_of(tenant)});
        expect({{"cmd", "update_provider_connection"}, {"provider_connection_id", pc_of(tenant)}, {"enabled", true}, {"actor", user(u)}},
               {{"cmd", "update_provider_connection"}, {"provider_connection_id", kMissingPc}, {"enabled", true}, {"actor", user(u)}},
               reached_t, owner, {pc_of(tenant)});
      }
    }
  }
}

// cancel_run (changes state for capable members) and start (records every decision).
void check_decisions(TestDb& db, const World& w) {
  for (auto u : users()) {
    CAPTURE(u);
    std::string missing = text(db, {{"cmd", "cancel_run"}, {"run_id", kMissingRun}, {"actor", user(u)}});
    CHECK(code_of(missing) == "not_found");
    for (const auto& r : w.runs) {
      CAPTURE(r.id, r.ws, r.tenant.value_or(0));
      std::string a = text(db, {{"cmd", "cancel_run"}, {"run_id", r.id}, {"actor", user(u)}});
      if (w.reaches(u, r.ws, r.tenant))
        CHECK(code_of(a) != "not_found");
      else
        CHECK(a == missing);
    }
    auto cancel_legacy = [&](std::uint64_t id) {
      return text(db, {{"cmd", "cancel_run"}, {"legacy_kind", "inventory_sync"}, {"legacy_id", id}, {"actor", user(u)}});
    };
    std::string missing_legacy = mask(cancel_legacy(kMissingRun), kMissingRun);
    for (const auto& l : w.legacy) {
      std::string a = cancel_legacy(l.id);
      if (w.reaches(u, l.ws, l.tenant))
        CHECK(code_of(a) == "read_only_run");
      else
        CHECK(mask(a, l.id) == missing_legacy);
    }
    std::vector<std::uint64_t> wss = w.workspaces;
    wss.push_back(kMissingWs);
    std::vector<std::optional<std::uint64_t>> tenants{std::nullopt, kMissingTenant};
    for (auto [t, ws] : w.tenant_ws) tenants.push_back(t);
    int n = 0;
    for (auto ws : wss)
      for (auto t : tenants) {
        CAPTURE(ws, t.value_or(0));
        std::string rid = "iso-" + std::to_string(u) + "-" + std::to_string(++n);
        json::object c{{"cmd", "start"}, {"request_id", rid}, {"actor", user(u)}, {"workspace_id", ws},
                       {"type", "inventory.sync"}, {"context", json::object{}}};
        json::object ref = c;
        ref["request_id"] = rid + "-ref";
        ref["workspace_id"] = kMissingWs;
        if (t) {
          c["tenant_id"] = *t;
          ref["tenant_id"] = kMissingTenant;
        }
        auto a = json::parse(text(db, c)).as_object();
        if (w.reaches(u, ws, t)) {
          CHECK(a.at("decision") != "not_found");
        } else {
          CHECK(a.at("decision") == "not_found");
          CHECK(without_seq(json::serialize(a)) == without_seq(text(db, ref)));
        }
      }
  }
}

void isolation_rounds(int rounds) {
  for (int seed = 1; seed <= rounds; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7919);
    TestDb db;
    World w = build(db, rng);
    check_queries(db, w);
    check_admin(db, w);
    check_decisions(db, w);
    CHECK(replay_digest(db.dir()) == db.digest());
  }
}

}  // namespace

TEST_CASE("isolation property: nothing outside the membership is revealed, refusals are identical",
          "[isolation]") {
  isolation_rounds(6);
}

TEST_CASE("isolation property over many random directories", "[isolation][long]") { isolation_rounds(500); }
