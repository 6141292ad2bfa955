// Coverage v2 kernel and the claim guard (SPEC section 9): every guard rule with the claim
// it blocks and the nearest claim it allows, every rejection code, upsert semantics,
// counted source classes, latest observations, and two property tests of the incremental
// eligibility projection against a brute-force model.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <variant>

#include "events/events.h"
#include "projections/apply.h"
#include "projections/claims.h"
#include "projections/memory_store.h"
#include "projections/records.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

using Strings = std::vector<std::string>;

json::object rt_cmd(std::string_view type, std::string_view sc, std::string_view tier = "automated",
                    std::string_view support = "supported") {
  return {{"cmd", "register_resource_type"}, {"canonical_type", type},   {"source_class", sc},
          {"workload", "intune"},            {"resource_class", "configuration"}, {"support_state", support},
          {"restore_tier", tier},            {"display_name", "Test type"}};
}

json::object scope_cmd(std::string_view key, const Strings& types, std::string_view min = "inventoried",
                       bool fallback = false, bool beta = false) {
  json::array arr;
  for (const auto& t : types) arr.emplace_back(t);
  return {{"cmd", "define_supported_scope"}, {"scope_key", key},          {"canonical_types", std::move(arr)},
          {"minimum_level", min},            {"allow_fallback", fallback}, {"include_beta", beta}};
}

json::object env_cmd(std::uint64_t ws, std::uint64_t env, std::string_view name = "Prod") {
  return {{"cmd", "register_managed_environment"}, {"workspace_id", ws}, {"managed_environment_id", env},
          {"name", name}};
}

json::object obs_cmd(std::uint64_t env, std::string_view type, std::string_view sc, std::string_view level,
                     std::string_view evidence = "complete", std::string_view identity = "resolved",
                     std::uint64_t ws = 1) {
  return {{"cmd", "record_coverage"}, {"workspace_id", ws},        {"managed_environment_id", env},
          {"canonical_type", type},   {"source_class", sc},        {"level", level},
          {"evidence_state", evidence}, {"identity_state", identity}};
}

json::object claim_cmd(std::uint64_t env, std::optional<std::string_view> scope, std::string_view level,
                       std::string_view audience = "customer", std::string_view kind = "coverage",
                       std::uint64_t ws = 1) {
  json::object c{{"cmd", "evaluate_claim"}, {"workspace_id", ws}, {"managed_environment_id", env}};
  if (scope) c["scope_key"] = *scope;
  c["level"] = level;
  c["audience"] = audience;
  c["kind"] = kind;
  return c;
}

json::object eligibility_cmd(std::uint64_t env, std::uint64_t ws = 1) {
  return {{"cmd", "claim_eligibility"}, {"workspace_id", ws}, {"managed_environment_id", env}};
}

json::object with(json::object c, std::string_view key, json::value v) {
  c[key] = std::move(v);
  return c;
}
json::object without(json::object c, std::string_view key) {
  c.erase(key);
  return c;
}

Strings strings_of(const json::value& v) {
  Strings out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

// A database with Contoso (workspace 1, tenant 10, connection 100, user 7 as manager),
// Fabrikam (workspace 2, tenant 20, connection 200), environments 5 and 6 in workspace 1
// and 9 in workspace 2, and a small registry of test types:
//   x.alpha  tcm (automated), graph_v1_fallback (manual)
//   x.beta   tcm (restore tier none), graph_beta_experimental (manual)
//   x.gamma  graph_v1_fallback only (manual)
//   x.delta  tcm (automated)
class Kernel {
 public:
  TestDb db;

  Kernel() {
    seed_contoso(db, "manager");
    ok({{"cmd", "register_workspace"}, {"workspace_id", 2}, {"name", "Fabrikam"}});
    ok({{"cmd", "register_tenant"}, {"workspace_id", 2}, {"tenant_id", 20}, {"name", "Fabrikam US"}});
    ok({{"cmd", "register_provider_connection"}, {"workspace_id", 2}, {"tenant_id", 20},
        {"provider_connection_id", 200}, {"provider", "microsoft"}, {"display_name", "Fabrikam Graph"}});
    ok({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 9}, {"role", "operator"}});
    ok({{"cmd", "grant_membership"}, {"workspace_id", 1}, {"user_id", 11}, {"role", "readonly"}});
    ok(env_cmd(1, 5, "Prod"));
    ok(env_cmd(1, 6, "Staging"));
    ok(env_cmd(2, 9, "Fabrikam"));
    ok(rt_cmd("x.alpha", "tcm", "automated"));
    ok(rt_cmd("x.alpha", "graph_v1_fallback", "manual"));
    ok(rt_cmd("x.beta", "tcm", "none"));
    ok(rt_cmd("x.beta", "graph_beta_experimental", "manual"));
    ok(rt_cmd("x.gamma", "graph_v1_fallback", "manual"));
    ok(rt_cmd("x.delta", "tcm", "automated"));
  }

  json::object ok(const json::object& c) {
    auto a = db.send(c);
    INFO(json::serialize(c) << " -> " << json::serialize(a));
    REQUIRE(a.at("ok").as_bool());
    return a;
  }

  // Asserts the rejection and that nothing was appended.
  void rejects(const json::object& c, std::string_view code, std::string_view field) {
    auto before = db.seq();
    auto a = db.send(c);
    INFO(json::serialize(c) << " -> " << json::serialize(a));
    CHECK(error_code(a) == code);
    CHECK(error_field(a) == field);
    CHECK(db.seq() == before);
  }

  void observe(std::uint64_t env, std::string_view type, std::string_view sc, std::string_view level,
               std::string_view evidence = "complete", std::string_view identity = "resolved") {
    ok(obs_cmd(env, type, sc, level, evidence, identity));
  }

  json::object claim(std::optional<std::string_view> scope, std::string_view level,
                     std::string_view audience = "customer", std::string_view kind = "coverage",
                     std::uint64_t env = 5) {
    return ok(claim_cmd(env, scope, level, audience, kind));
  }

  json::value eligibility(std::string_view scope, std::uint64_t env = 5) {
    auto a = ok(eligibility_cmd(env));
    const auto& e = a.at("eligibility").as_object();
    INFO(json::serialize(e));
    REQUIRE(e.contains(scope));
    return e.at(scope);
  }
};

bool eligible(const json::object& a) { return a.at("claim_state") == "eligible"; }
Strings reasons(const json::object& a) { return strings_of(a.at("reasons")); }
Strings missing(const json::object& a) { return strings_of(a.at("missing")); }

}  // namespace

// ----------------------------------------------------------------------------------------
// Seeds

TEST_CASE("a new database holds the seeded registry and default scopes", "[coverage]") {
  TestDb db;
  REQUIRE(db.send({{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "Contoso"}}).at("ok").as_bool());
  REQUIRE(db.send(env_cmd(1, 5)).at("ok").as_bool());
  auto stats = db.send({{"cmd", "stats"}});
  CHECK(stats.at("resource_types").to_number<std::uint64_t>() >= 10);
  CHECK(stats.at("supported_scopes").to_number<std::uint64_t>() >= 1);

  auto e = db.send(eligibility_cmd(5)).at("eligibility").as_object();
  REQUIRE(!e.empty());
  for (const auto& kv : e) {
    CHECK(std::string_view(kv.key()).substr(0, 8) == "default.");
    CHECK(kv.value().is_null());
  }

  SECTION("re-registering a seeded type or re-defining a seeded scope identically appends nothing") {
    auto seq = db.seq();
    auto a = db.send(with(rt_cmd("intune.device_configuration", "tcm", "automated"), "display_name",
                          "Device configuration profile"));
    CHECK(a.at("ok").as_bool());
    CHECK(!a.contains("seq"));
    auto s = db.send(scope_cmd("default.intune_core",
                               {"intune.device_configuration", "intune.compliance_policy",
                                "intune.settings_catalog_policy"},
                               "inventoried", false, false));
    CHECK(s.at("ok").as_bool());
    CHECK(!s.contains("seq"));
    CHECK(db.seq() == seq);
  }

  SECTION("the seeded core scope becomes eligible from tcm observations") {
    for (std::string_view t :
         {"intune.device_configuration", "intune.compliance_policy", "intune.settings_catalog_policy"})
      REQUIRE(db.send(obs_cmd(5, t, "tcm", "content_captured")).at("ok").as_bool());
    auto el = db.send(eligibility_cmd(5)).at("eligibility").as_object();
    CHECK(el.at("default.intune_core") == "content_captured");
  }
}

// ----------------------------------------------------------------------------------------
// The guard, rule by rule: the claim it blocks, and the nearest claim it allows.

TEST_CASE("unscoped_claim: no 100 % without a scope", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("core", {"x.alpha", "x.delta"}));
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  k.observe(5, "x.delta", "tcm", "restore_verified");

  auto blocked = k.claim(std::nullopt, "content_captured");
  CHECK(blocked.at("claim_state") == "blocked");
  CHECK(reasons(blocked) == Strings{"unscoped_claim"});
  CHECK(blocked.at("complete") == false);
  CHECK(blocked.at("covered") == 0);
  CHECK(blocked.at("denominator") == 0);
  CHECK(missing(blocked).empty());

  auto op = k.claim(std::nullopt, "content_captured", "operator");
  CHECK(op.at("claim_state") == "blocked");
  CHECK(reasons(op) == Strings{"unscoped_claim"});

  auto allowed = k.claim("core", "content_captured");
  CHECK(eligible(allowed));
  CHECK(reasons(allowed).empty());
  CHECK(allowed.at("complete") == true);
  CHECK(allowed.at("covered") == 2);
  CHECK(allowed.at("denominator") == 2);
}

TEST_CASE("unknown_scope: a claim over a scope that is not defined", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("core", {"x.alpha"}));
  k.observe(5, "x.alpha", "tcm", "inventoried");
  auto blocked = k.claim("nope", "inventoried");
  CHECK(reasons(blocked) == Strings{"unknown_scope"});
  CHECK(blocked.at("claim_state") == "blocked");
  CHECK(reasons(k.claim("Core", "inventoried")) == Strings{"unknown_scope"});  // keys are exact
  CHECK(reasons(k.claim("nope", "inventoried", "operator")) == Strings{"unknown_scope"});
  CHECK(eligible(k.claim("core", "inventoried")));
}

TEST_CASE("level_below_scope_minimum: a claim under the scope's minimum level", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("strict", {"x.alpha"}, "content_captured"));
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  auto blocked = k.claim("strict", "inventoried");
  CHECK(reasons(blocked) == Strings{"level_below_scope_minimum"});
  CHECK(blocked.at("complete") == true);  // covered, yet below what the scope promises
  CHECK(reasons(k.claim("strict", "none", "operator")) == Strings{"level_below_scope_minimum"});
  CHECK(eligible(k.claim("strict", "content_captured")));
  CHECK(eligible(k.claim("strict", "restore_verified")));
  CHECK(k.eligibility("strict") == "restore_verified");

  SECTION("coverage that reaches only below the minimum leaves no level eligible") {
    k.observe(5, "x.alpha", "tcm", "inventoried");
    CHECK(k.eligibility("strict").is_null());
    CHECK(reasons(k.claim("strict", "content_captured")) == Strings{"scope_incomplete"});
  }
}

TEST_CASE("beta_certification: certification over a scope that counts beta sources", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("with_beta", {"x.beta"}, "inventoried", false, true));
  k.ok(scope_cmd("no_beta", {"x.beta"}, "inventoried", false, false));
  k.observe(5, "x.beta", "tcm", "content_captured");
  CHECK(reasons(k.claim("with_beta", "content_captured", "customer", "certification")) ==
        Strings{"beta_certification"});
  CHECK(reasons(k.claim("with_beta", "content_captured", "operator", "certification")) ==
        Strings{"beta_certification"});
  CHECK(eligible(k.claim("with_beta", "content_captured", "customer", "coverage")));
  CHECK(eligible(k.claim("no_beta", "content_captured", "customer", "certification")));
}

TEST_CASE("restore_not_supported: a restore claim over a type no counted source can restore", "[coverage][guard]") {
  Kernel k;
  // x.beta: its tcm source has restore tier none; only the (uncounted) beta source restores.
  k.ok(scope_cmd("r", {"x.alpha", "x.beta"}));
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  k.observe(5, "x.beta", "tcm", "restore_verified");

  auto blocked = k.claim("r", "restore_verified", "customer", "restore");
  CHECK(reasons(blocked) == Strings{"restore_not_supported"});
  CHECK(blocked.at("complete") == true);
  CHECK(eligible(k.claim("r", "restore_verified", "customer", "coverage")));

  SECTION("counting the beta source, whose tier is manual, allows it") {
    k.ok(scope_cmd("r_beta", {"x.alpha", "x.beta"}, "inventoried", false, true));
    CHECK(eligible(k.claim("r_beta", "restore_verified", "customer", "restore")));
  }
  SECTION("a classification change of the tcm source's restore tier allows it") {
    k.ok(rt_cmd("x.beta", "tcm", "manual"));
    CHECK(eligible(k.claim("r", "restore_verified", "customer", "restore")));
    k.ok(rt_cmd("x.beta", "tcm", "none"));
    CHECK(reasons(k.claim("r", "restore_verified", "customer", "restore")) == Strings{"restore_not_supported"});
  }
  SECTION("a fallback-only type restores only when fallback is allowed") {
    k.ok(scope_cmd("g", {"x.gamma"}));
    k.ok(scope_cmd("g_fb", {"x.gamma"}, "inventoried", true));
    k.observe(5, "x.gamma", "graph_v1_fallback", "restore_verified");
    auto op = k.claim("g", "inventoried", "operator", "restore");
    CHECK(reasons(op) == Strings{"restore_not_supported"});
    CHECK(op.at("complete") == false);
    CHECK(eligible(k.claim("g_fb", "inventoried", "operator", "restore")));
    CHECK(eligible(k.claim("g_fb", "inventoried", "customer", "restore")));
  }
}

TEST_CASE("scope_incomplete: customer claims need every type covered; operator claims say complete:false",
          "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("core", {"x.alpha", "x.delta"}));
  k.observe(5, "x.alpha", "tcm", "content_captured");

  auto blocked = k.claim("core", "inventoried");
  CHECK(reasons(blocked) == Strings{"scope_incomplete"});
  CHECK(blocked.at("complete") == false);
  CHECK(blocked.at("covered") == 1);
  CHECK(blocked.at("denominator") == 2);
  CHECK(missing(blocked) == Strings{"x.delta"});

  auto op = k.claim("core", "inventoried", "operator");
  CHECK(eligible(op));
  CHECK(reasons(op).empty());
  CHECK(op.at("complete") == false);
  CHECK(op.at("covered") == 1);
  CHECK(missing(op) == Strings{"x.delta"});

  SECTION("the nearest allowed claim: the missing type observed") {
    k.observe(5, "x.delta", "tcm", "inventoried");
    auto a = k.claim("core", "inventoried");
    CHECK(eligible(a));
    CHECK(a.at("complete") == true);
    CHECK(missing(a).empty());
  }
  SECTION("an observation below the claimed level does not cover it; at its own level it does") {
    k.observe(5, "x.delta", "tcm", "inventoried");
    auto a = k.claim("core", "content_captured");
    CHECK(reasons(a) == Strings{"scope_incomplete"});
    CHECK(missing(a) == Strings{"x.delta"});
    CHECK(eligible(k.claim("core", "inventoried")));
  }
  SECTION("evidence other than complete does not cover") {
    auto evidence = GENERATE(as<std::string>{}, "none", "partial", "stale");
    CAPTURE(evidence);
    k.observe(5, "x.delta", "tcm", "restore_verified", evidence, "resolved");
    CHECK(reasons(k.claim("core", "inventoried")) == Strings{"scope_incomplete"});
    k.observe(5, "x.delta", "tcm", "restore_verified", "complete", "resolved");
    CHECK(eligible(k.claim("core", "inventoried")));
  }
  SECTION("identity other than resolved does not cover") {
    auto identity = GENERATE(as<std::string>{}, "unresolved", "ambiguous");
    CAPTURE(identity);
    k.observe(5, "x.delta", "tcm", "restore_verified", "complete", identity);
    CHECK(reasons(k.claim("core", "inventoried")) == Strings{"scope_incomplete"});
    k.observe(5, "x.delta", "tcm", "restore_verified", "complete", "resolved");
    CHECK(eligible(k.claim("core", "inventoried")));
  }
  SECTION("missing lists the uncovered types in the scope's order") {
    k.ok(scope_cmd("order", {"x.delta", "x.beta", "x.alpha", "x.gamma"}));
    auto a = k.claim("order", "inventoried");
    CHECK(missing(a) == Strings{"x.delta", "x.beta", "x.gamma"});
    CHECK(a.at("denominator") == 4);
    CHECK(a.at("covered") == 1);
  }
}

TEST_CASE("all reasons are collected, in the spec's order", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("beta_strict", {"x.beta"}, "content_captured", false, true));
  k.ok(scope_cmd("strict", {"x.beta"}, "content_captured", false, false));
  CHECK(reasons(k.claim("beta_strict", "inventoried", "customer", "certification")) ==
        Strings{"level_below_scope_minimum", "beta_certification", "scope_incomplete"});
  CHECK(reasons(k.claim("strict", "inventoried", "customer", "restore")) ==
        Strings{"level_below_scope_minimum", "restore_not_supported", "scope_incomplete"});
  CHECK(reasons(k.claim("strict", "inventoried", "operator", "restore")) ==
        Strings{"level_below_scope_minimum", "restore_not_supported"});
}

// ----------------------------------------------------------------------------------------
// Counted source classes and latest observations

TEST_CASE("fallback counts only when allowed, beta only when included; uncounted sources never shrink the "
          "denominator",
          "[coverage][guard]") {
  Kernel k;
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  k.observe(5, "x.gamma", "graph_v1_fallback", "restore_verified");  // gamma has no tcm source

  k.ok(scope_cmd("no_fb", {"x.alpha", "x.gamma"}));
  auto a = k.claim("no_fb", "inventoried");
  CHECK(reasons(a) == Strings{"scope_incomplete"});
  CHECK(a.at("denominator") == 2);
  CHECK(a.at("covered") == 1);
  CHECK(missing(a) == Strings{"x.gamma"});
  CHECK(k.eligibility("no_fb").is_null());

  k.ok(scope_cmd("fb", {"x.alpha", "x.gamma"}, "inventoried", true));
  auto b = k.claim("fb", "inventoried");
  CHECK(eligible(b));
  CHECK(b.at("denominator") == 2);
  CHECK(b.at("covered") == 2);
  CHECK(k.eligibility("fb") == "restore_verified");

  SECTION("beta") {
    k.observe(5, "x.beta", "graph_beta_experimental", "content_captured");
    k.ok(scope_cmd("no_beta", {"x.alpha", "x.beta"}));
    k.ok(scope_cmd("beta", {"x.alpha", "x.beta"}, "inventoried", false, true));
    auto nb = k.claim("no_beta", "inventoried");
    CHECK(missing(nb) == Strings{"x.beta"});
    CHECK(nb.at("denominator") == 2);
    CHECK(eligible(k.claim("beta", "content_captured")));
    CHECK(k.eligibility("beta") == "content_captured");
    CHECK(k.eligibility("no_beta").is_null());
  }
  SECTION("fallback is not counted by a beta-only scope, nor beta by a fallback-only scope") {
    k.observe(5, "x.beta", "graph_beta_experimental", "content_captured");
    k.ok(scope_cmd("fb_only", {"x.beta"}, "inventoried", true, false));
    k.ok(scope_cmd("beta_only", {"x.gamma"}, "inventoried", false, true));
    CHECK(reasons(k.claim("fb_only", "inventoried")) == Strings{"scope_incomplete"});
    CHECK(reasons(k.claim("beta_only", "inventoried")) == Strings{"scope_incomplete"});
  }
  SECTION("a scope change that stops counting fallback takes coverage away") {
    k.ok(scope_cmd("fb", {"x.alpha", "x.gamma"}, "inventoried", false));
    CHECK(k.eligibility("fb").is_null());
    CHECK(missing(k.claim("fb", "inventoried")) == Strings{"x.gamma"});
  }
}

TEST_CASE("the latest observation per environment, type and source class counts", "[coverage][guard]") {
  Kernel k;
  k.ok(scope_cmd("a", {"x.alpha"}, "none", true));
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  CHECK(k.eligibility("a") == "restore_verified");

  SECTION("a later, worse observation replaces a better one") {
    k.observe(5, "x.alpha", "tcm", "restore_verified", "partial");
    CHECK(k.eligibility("a").is_null());
    CHECK(reasons(k.claim("a", "none")) == Strings{"scope_incomplete"});
    k.observe(5, "x.alpha", "tcm", "inventoried");
    CHECK(k.eligibility("a") == "inventoried");
    CHECK(reasons(k.claim("a", "content_captured")) == Strings{"scope_incomplete"});
    CHECK(eligible(k.claim("a", "inventoried")));
  }
  SECTION("another source class's observation does not replace it; the best counted one covers") {
    k.observe(5, "x.alpha", "graph_v1_fallback", "inventoried", "stale");
    CHECK(k.eligibility("a") == "restore_verified");
    k.observe(5, "x.alpha", "tcm", "inventoried", "partial");
    CHECK(k.eligibility("a").is_null());
    k.observe(5, "x.alpha", "graph_v1_fallback", "content_captured");
    CHECK(k.eligibility("a") == "content_captured");
  }
  SECTION("observations belong to their environment") {
    CHECK(k.eligibility("a", 6).is_null());
    CHECK(reasons(k.claim("a", "inventoried", "customer", "coverage", 6)) == Strings{"scope_incomplete"});
    k.observe(6, "x.alpha", "tcm", "inventoried");
    CHECK(k.eligibility("a", 6) == "inventoried");
    CHECK(k.eligibility("a", 5) == "restore_verified");
  }
}

// ----------------------------------------------------------------------------------------
// The eligibility projection and the query

TEST_CASE("eligibility follows observations and scope changes, and agrees with evaluate_claim", "[coverage]") {
  Kernel k;
  k.ok(scope_cmd("core", {"x.alpha", "x.delta"}));
  // Eligible exactly from the scope's minimum up to the stored level.
  auto agrees = [&](std::string_view scope, std::uint64_t env, CoverageLevel minimum) {
    auto el = k.eligibility(scope, env);
    for (std::string_view level : {"none", "inventoried", "content_captured", "restore_verified"}) {
      auto a = k.claim(scope, level, "customer", "coverage", env);
      auto l = *parse_enum<CoverageLevel>(level);
      bool expect = !el.is_null() && minimum <= l && l <= *parse_enum<CoverageLevel>(el.as_string());
      CAPTURE(scope, env, level, json::serialize(el));
      CHECK(eligible(a) == expect);
    }
  };
  CHECK(k.eligibility("core").is_null());
  k.observe(5, "x.alpha", "tcm", "restore_verified");
  CHECK(k.eligibility("core").is_null());
  k.observe(5, "x.delta", "tcm", "content_captured");
  CHECK(k.eligibility("core") == "content_captured");
  agrees("core", 5, CoverageLevel::inventoried);
  k.observe(5, "x.delta", "tcm", "content_captured", "complete", "ambiguous");
  CHECK(k.eligibility("core").is_null());
  k.observe(5, "x.delta", "tcm", "restore_verified");
  CHECK(k.eligibility("core") == "restore_verified");
  agrees("core", 5, CoverageLevel::inventoried);

  k.ok(scope_cmd("core", {"x.alpha", "x.delta"}, "restore_verified"));
  CHECK(k.eligibility("core") == "restore_verified");
  k.ok(scope_cmd("core", {"x.alpha", "x.delta", "x.beta"}, "restore_verified"));
  CHECK(k.eligibility("core").is_null());
  agrees("core", 5, CoverageLevel::restore_verified);
  k.ok(scope_cmd("core", {"x.alpha"}, "content_captured"));
  CHECK(k.eligibility("core") == "restore_verified");
  agrees("core", 5, CoverageLevel::content_captured);
  CHECK(k.eligibility("core", 6).is_null());
  agrees("core", 6, CoverageLevel::content_captured);

  SECTION("a classification change leaves coverage eligibility as it is") {
    k.ok(rt_cmd("x.alpha", "tcm", "none", "unsupported"));
    CHECK(k.eligibility("core") == "restore_verified");
    agrees("core", 5, CoverageLevel::content_captured);
  }
  SECTION("the query maps every scope, seeded ones included, and names the environment's own") {
    auto e = k.ok(eligibility_cmd(5)).at("eligibility").as_object();
    CHECK(e.contains("default.intune_core"));
    CHECK(e.contains("default.intune_security"));
    CHECK(e.at("core") == "restore_verified");
    auto a = k.ok(eligibility_cmd(5));
    CHECK(!a.contains("seq"));  // a query appends nothing
  }
  CHECK(k.db.digest() == replay_digest(k.db.dir()));
}

// ----------------------------------------------------------------------------------------
// Upserts

TEST_CASE("registry and scopes are upserts: identical appends nothing, a change records before and after",
          "[coverage]") {
  Kernel k;
  SECTION("resource types") {
    auto seq = k.db.seq();
    auto same = k.ok(rt_cmd("x.alpha", "tcm", "automated"));
    CHECK(!same.contains("seq"));
    CHECK(k.db.seq() == seq);

    auto changed = k.ok(with(rt_cmd("x.alpha", "tcm", "manual", "limited"), "request_id", "rt-change"));
    CHECK(changed.at("seq") == seq + 1);
    auto ev = k.ok({{"cmd", "explain"}, {"for_request_id", "rt-change"}}).at("event").as_object();
    CHECK(ev.at("type") == "resource_type_registered");
    const auto& payload = ev.at("payload").as_object();
    CHECK(payload.at("before").at("restore_tier") == "automated");
    CHECK(payload.at("before").at("support_state") == "supported");
    CHECK(payload.at("after").at("restore_tier") == "manual");
    CHECK(payload.at("after").at("support_state") == "limited");

    k.ok(with(rt_cmd("x.alpha", "graph_beta_experimental", "none"), "request_id", "rt-new"));
    auto fresh = k.ok({{"cmd", "explain"}, {"for_request_id", "rt-new"}}).at("event").at("payload").as_object();
    CHECK(!fresh.contains("before"));

    auto renamed = k.ok(with(rt_cmd("x.alpha", "tcm", "manual", "limited"), "display_name", "Alpha"));
    CHECK(renamed.contains("seq"));  // the display name is part of the definition
  }
  SECTION("scopes") {
    k.ok(scope_cmd("core", {"x.alpha", "x.delta"}));
    auto seq = k.db.seq();
    auto same = k.ok(scope_cmd("core", {"x.alpha", "x.delta"}));
    CHECK(!same.contains("seq"));
    CHECK(k.db.seq() == seq);

    k.ok(with(scope_cmd("core", {"x.delta", "x.alpha"}), "request_id", "reorder"));  // order is part of it
    CHECK(k.db.seq() == seq + 1);
    k.ok(with(scope_cmd("core", {"x.delta", "x.alpha"}, "content_captured", true), "request_id", "sc-change"));
    auto payload = k.ok({{"cmd", "explain"}, {"for_request_id", "sc-change"}}).at("event").at("payload").as_object();
    CHECK(payload.at("before").at("minimum_level") == "inventoried");
    CHECK(payload.at("before").at("allow_fallback") == false);
    CHECK(payload.at("after").at("minimum_level") == "content_captured");
    CHECK(payload.at("after").at("allow_fallback") == true);
    CHECK(strings_of(payload.at("after").at("canonical_types")) == Strings{"x.delta", "x.alpha"});
  }
  SECTION("managed environments: identical appends nothing, a conflicting one is rejected") {
    auto seq = k.db.seq();
    CHECK(!k.ok(env_cmd(1, 5, "Prod")).contains("seq"));
    CHECK(k.db.seq() == seq);
    k.rejects(env_cmd(1, 5, "Production"), "invalid_field", "managed_environment_id");
    k.rejects(env_cmd(2, 5, "Prod"), "invalid_field", "managed_environment_id");
  }
  CHECK(k.db.digest() == replay_digest(k.db.dir()));
}

TEST_CASE("evaluate_claim is recorded, and a replayed request_id answers the recorded claim", "[coverage]") {
  Kernel k;
  k.ok(scope_cmd("core", {"x.alpha"}));
  auto seq = k.db.seq();
  auto first = k.ok(with(claim_cmd(5, "core", "inventoried"), "request_id", "claim-1"));
  CHECK(first.at("seq") == seq + 1);
  CHECK(first.at("claim_state") == "blocked");
  k.observe(5, "x.alpha", "tcm", "inventoried");  // the state changes; the recorded answer does not
  auto again = k.ok(with(claim_cmd(5, "core", "inventoried"), "request_id", "claim-1"));
  CHECK(again == first);
  k.rejects(with(claim_cmd(5, "core", "content_captured"), "request_id", "claim-1"), "request_id_reused",
            "request_id");
  auto ev = k.ok({{"cmd", "explain"}, {"for_request_id", "claim-1"}}).at("event").as_object();
  CHECK(ev.at("type") == "claim_evaluated");
  CHECK(ev.at("payload").at("scope_key") == "core");
  CHECK(ev.at("payload").at("claim_state") == "blocked");
  CHECK(eligible(k.claim("core", "inventoried")));
}

// ----------------------------------------------------------------------------------------
// Rejections: every code, the field it names, nothing appended

TEST_CASE("register_resource_type rejections", "[coverage][validation]") {
  Kernel k;
  auto c = rt_cmd("x.new", "tcm");
  k.rejects(with(c, "source_class", "graph_v2"), "invalid_field", "source_class");
  k.rejects(with(c, "workload", "exchange"), "invalid_field", "workload");
  k.rejects(with(c, "resource_class", "compliance"), "invalid_field", "resource_class");
  k.rejects(with(c, "support_state", "maybe"), "invalid_field", "support_state");
  k.rejects(with(c, "restore_tier", "full"), "invalid_field", "restore_tier");
  k.rejects(with(c, "restore_tier", 1), "invalid_field", "restore_tier");
  k.rejects(with(c, "canonical_type", ""), "invalid_field", "canonical_type");
  k.rejects(with(c, "canonical_type", "has space"), "invalid_field", "canonical_type");
  k.rejects(with(c, "canonical_type", json::string(std::string(129, 'a'))), "invalid_field", "canonical_type");
  k.rejects(with(c, "canonical_type", json::string(std::string("nul\0x", 5))), "invalid_field", "canonical_type");
  k.rejects(without(c, "display_name"), "missing_field", "display_name");
  k.rejects(without(c, "workload"), "missing_field", "workload");
  k.rejects(with(c, "tenant_id", 10), "unknown_field", "tenant_id");
  k.rejects(with(c, "actor", user(7)), "forbidden", "actor");
  k.ok(with(c, "canonical_type", json::string(std::string(128, 'a'))));
  k.ok(with(c, "actor", system_actor("registry-sync")));
}

TEST_CASE("define_supported_scope rejections", "[coverage][validation]") {
  Kernel k;
  auto c = scope_cmd("s", {"x.alpha", "x.delta"});
  k.rejects(with(c, "minimum_level", "full"), "invalid_field", "minimum_level");
  k.rejects(with(c, "canonical_types", json::array{}), "invalid_field", "canonical_types");
  k.rejects(with(c, "canonical_types", json::array{"x.alpha", "x.alpha"}), "invalid_field", "canonical_types");
  k.rejects(with(c, "canonical_types", json::array{"x.alpha", 3}), "invalid_field", "canonical_types");
  k.rejects(with(c, "canonical_types", "x.alpha"), "invalid_field", "canonical_types");
  json::array too_many;
  for (int i = 0; i < 257; ++i) too_many.emplace_back("x.t" + std::to_string(i));
  k.rejects(with(c, "canonical_types", too_many), "invalid_field", "canonical_types");
  k.rejects(with(c, "allow_fallback", "yes"), "invalid_field", "allow_fallback");
  k.rejects(without(c, "include_beta"), "missing_field", "include_beta");
  k.rejects(with(c, "scope_key", ""), "invalid_field", "scope_key");
  k.rejects(with(c, "canonical_types", json::array{"x.alpha", "x.unknown"}), "unknown_resource_type",
            "canonical_types");
  k.rejects(with(c, "actor", user(7)), "forbidden", "actor");
  k.rejects(with(c, "weight", 2), "unknown_field", "weight");
  json::array max;
  for (int i = 0; i < 256; ++i) {
    std::string t = "x.m" + std::to_string(i);
    k.ok(rt_cmd(t, "tcm"));
    max.emplace_back(t);
  }
  k.ok(with(c, "canonical_types", max));
  k.ok(with(c, "actor", system_actor()));
}

TEST_CASE("register_managed_environment rejections", "[coverage][validation]") {
  Kernel k;
  auto c = env_cmd(1, 50);
  k.rejects(with(c, "workspace_id", 99), "unknown_workspace", "workspace_id");
  k.rejects(with(c, "managed_environment_id", 0), "invalid_field", "managed_environment_id");
  k.rejects(with(c, "managed_environment_id", -4), "invalid_field", "managed_environment_id");
  k.rejects(without(c, "name"), "missing_field", "name");
  k.rejects(with(c, "tenant_id", 10), "unknown_field", "tenant_id");
  k.rejects(with(c, "actor", user(8)), "not_found", "workspace_id");                        // not a member
  k.rejects(with(with(c, "workspace_id", 99), "actor", user(7)), "not_found", "workspace_id");  // no such workspace
  k.rejects(with(c, "actor", user(9)), "forbidden", "actor");                               // operator
  k.ok(with(c, "actor", user(7)));                                                          // manager
}

TEST_CASE("record_coverage rejections", "[coverage][validation]") {
  Kernel k;
  auto c = obs_cmd(5, "x.alpha", "tcm", "inventoried");
  k.rejects(with(c, "tenant_id", 10), "tenant_id_not_allowed", "tenant_id");
  k.rejects(with(c, "tenant_id", "anything"), "tenant_id_not_allowed", "tenant_id");
  k.rejects(with(c, "workspace_id", 99), "unknown_workspace", "workspace_id");
  k.rejects(with(c, "managed_environment_id", 77), "unknown_managed_environment", "managed_environment_id");
  k.rejects(with(c, "managed_environment_id", 9), "unknown_managed_environment", "managed_environment_id");
  k.rejects(with(c, "canonical_type", "x.unknown"), "unknown_resource_type", "canonical_type");
  k.rejects(obs_cmd(5, "x.delta", "graph_v1_fallback", "inventoried"), "unknown_resource_type", "source_class");
  k.rejects(with(c, "provider_connection_id", 999), "unknown_provider_connection", "provider_connection_id");
  k.rejects(with(c, "provider_connection_id", 200), "provider_connection_scope_mismatch", "provider_connection_id");
  k.rejects(with(c, "provider_connection_id", 0), "invalid_field", "provider_connection_id");
  k.rejects(with(c, "source_class", "graph"), "invalid_field", "source_class");
  k.rejects(with(c, "level", "complete"), "invalid_field", "level");
  k.rejects(with(c, "evidence_state", "done"), "invalid_field", "evidence_state");
  k.rejects(with(c, "identity_state", "known"), "invalid_field", "identity_state");
  k.rejects(without(c, "identity_state"), "missing_field", "identity_state");
  k.rejects(with(c, "at", "yesterday"), "invalid_field", "at");
  k.rejects(with(c, "actor", user(8)), "not_found", "workspace_id");
  k.rejects(with(c, "actor", user(9)), "forbidden", "actor");
  k.rejects(with(c, "actor", user(11)), "forbidden", "actor");
  k.ok(with(with(c, "provider_connection_id", 100), "actor", user(7)));
  k.ok(with(c, "actor", system_actor("coverage-worker")));
  k.ok(obs_cmd(9, "x.alpha", "tcm", "inventoried", "complete", "resolved", 2));
}

TEST_CASE("evaluate_claim and claim_eligibility rejections", "[coverage][validation]") {
  Kernel k;
  auto c = claim_cmd(5, "core", "inventoried");
  k.rejects(with(c, "workspace_id", 99), "unknown_workspace", "workspace_id");
  k.rejects(with(c, "managed_environment_id", 9), "unknown_managed_environment", "managed_environment_id");
  k.rejects(with(c, "managed_environment_id", 77), "unknown_managed_environment", "managed_environment_id");
  k.rejects(with(c, "audience", "partner"), "invalid_field", "audience");
  k.rejects(with(c, "kind", "backup"), "invalid_field", "kind");
  k.rejects(with(c, "level", "full"), "invalid_field", "level");
  k.rejects(without(c, "level"), "missing_field", "level");
  k.rejects(with(c, "scope_key", ""), "invalid_field", "scope_key");
  k.rejects(with(c, "scope_key", nullptr), "invalid_field", "scope_key");
  k.rejects(with(c, "tenant_id", 10), "unknown_field", "tenant_id");
  k.rejects(with(c, "actor", user(8)), "not_found", "workspace_id");
  k.ok(with(c, "actor", user(11)));  // readonly members may ask

  auto q = eligibility_cmd(5);
  k.rejects(with(q, "workspace_id", 99), "unknown_workspace", "workspace_id");
  k.rejects(with(q, "managed_environment_id", 9), "unknown_managed_environment", "managed_environment_id");
  k.rejects(without(q, "managed_environment_id"), "missing_field", "managed_environment_id");
  k.rejects(with(q, "actor", user(8)), "not_found", "workspace_id");
  k.rejects(with(q, "scope_key", "core"), "unknown_field", "scope_key");
  k.ok(with(q, "actor", user(11)));
}

// ----------------------------------------------------------------------------------------
// Property tests: a brute-force model of SPEC section 9

namespace {

constexpr std::array<SourceClass, 3> kSources = {SourceClass::tcm, SourceClass::graph_v1_fallback,
                                                 SourceClass::graph_beta_experimental};
constexpr std::array<CoverageLevel, 4> kLevels = {CoverageLevel::none, CoverageLevel::inventoried,
                                                  CoverageLevel::content_captured, CoverageLevel::restore_verified};
constexpr int kTypePool = 4, kScopePool = 4, kEnvPool = 3;

std::string pool_type(int i) { return "p.t" + std::to_string(i); }
std::string pool_scope(int i) { return "p.s" + std::to_string(i); }

struct MObs {
  CoverageLevel level;
  EvidenceState evidence;
  IdentityState identity;
};

// The spec restated over plain maps, written apart from projections/claims.cpp.
struct Model {
  std::map<std::pair<std::string, SourceClass>, ResourceTypeDef> registry;
  std::map<std::string, ScopeDef> scopes;
  std::set<Id> envs;
  std::map<std::tuple<Id, std::string, SourceClass>, MObs> obs;  // the latest per key

  static bool counted(const ScopeDef& s, SourceClass sc) {
    return sc == SourceClass::tcm || (sc == SourceClass::graph_v1_fallback && s.allow_fallback) ||
           (sc == SourceClass::graph_beta_experimental && s.include_beta);
  }
  // A counted, complete, resolved latest observation at >= level.
  bool covered(Id env, const ScopeDef& s, const std::string& type, CoverageLevel level) const {
    for (auto sc : kSources) {
      if (!counted(s, sc)) continue;
      auto it = obs.find({env, type, sc});
      if (it != obs.end() && it->second.evidence == EvidenceState::complete &&
          it->second.identity == IdentityState::resolved && it->second.level >= level)
        return true;
    }
    return false;
  }
  bool restorable(const ScopeDef& s, const std::string& type) const {
    for (auto sc : kSources) {
      auto it = registry.find({type, sc});
      if (it != registry.end() && counted(s, sc) && it->second.restore_tier != RestoreTier::none) return true;
    }
    return false;
  }
  ClaimResult claim(Id env, const std::optional<std::string>& key, CoverageLevel level, Audience audience,
                    ClaimKind kind) const {
    ClaimResult r;
    if (!key) {
      r.reasons = {"unscoped_claim"};
      return r;
    }
    auto it = scopes.find(*key);
    if (it == scopes.end()) {
      r.reasons = {"unknown_scope"};
      return r;
    }
    const ScopeDef& s = it->second;
    r.denominator = s.canonical_types.size();
    bool restore_ok = true;
    for (const auto& t : s.canonical_types) {
      if (covered(env, s, t, level))
        ++r.covered;
      else
        r.missing.push_back(t);
      if (!restorable(s, t)) restore_ok = false;
    }
    r.complete = r.denominator > 0 && r.missing.empty();
    if (level < s.minimum_level) r.reasons.push_back("level_below_scope_minimum");
    if (kind == ClaimKind::certification && s.include_beta) r.reasons.push_back("beta_certification");
    if (kind == ClaimKind::restore && !restore_ok) r.reasons.push_back("restore_not_supported");
    if (audience == Audience::customer && !r.complete) r.reasons.push_back("scope_incomplete");
    r.claim_state = r.reasons.empty() ? ClaimState::eligible : ClaimState::blocked;
    return r;
  }
  // Brute force: try every level, highest first.
  std::optional<CoverageLevel> eligibility(Id env, const std::string& key) const {
    for (auto it = kLevels.rbegin(); it != kLevels.rend(); ++it)
      if (claim(env, key, *it, Audience::customer, ClaimKind::coverage).claim_state == ClaimState::eligible)
        return *it;
    return std::nullopt;
  }
  // The safety property, stated directly: some denominator type lacks a counted, complete,
  // resolved observation at the level.
  bool lacks_coverage(Id env, const std::string& key, CoverageLevel level) const {
    const ScopeDef& s = scopes.at(key);
    for (const auto& t : s.canonical_types) {
      bool found = false;
      for (auto sc : kSources) {
        if (!counted(s, sc)) continue;
        auto it = obs.find({env, t, sc});
        if (it != obs.end() && it->second.evidence == EvidenceState::complete &&
            it->second.identity == IdentityState::resolved && it->second.level >= level)
          found = true;
      }
      if (!found) return true;
    }
    return false;
  }
};

struct OpRegister {
  ResourceTypeDef def;
};
struct OpScope {
  ScopeDef def;
};
struct OpEnv {
  Id env;
};
struct OpObserve {
  Id env;
  std::string type;
  SourceClass sc;
  CoverageLevel level;
  EvidenceState evidence;
  IdentityState identity;
};
using Op = std::variant<OpRegister, OpScope, OpEnv, OpObserve>;

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <class E>
  E any_of(int count) {
    return static_cast<E>(pick(count));
  }

  // A valid operation: what the commands would accept.
  Op next(const Model& m) {
    int roll = pick(100);
    if (m.registry.empty() || roll < 12) return register_type();
    if (m.envs.empty() || roll < 16) return OpEnv{static_cast<Id>(1 + pick(kEnvPool))};
    if (m.scopes.empty() || roll < 28) return define_scope(m);
    return observe(m);
  }

 private:
  OpRegister register_type() {
    ResourceTypeDef d;
    d.canonical_type = pool_type(pick(kTypePool));
    d.source_class = chance(50) ? SourceClass::tcm : kSources[pick(3)];
    d.support_state = any_of<SupportState>(3);
    d.restore_tier = any_of<RestoreTier>(3);
    d.display_name = chance(80) ? "T" : "Renamed";
    return {d};
  }
  OpScope define_scope(const Model& m) {
    std::vector<std::string> registered;
    for (const auto& [k, v] : m.registry)
      if (registered.empty() || registered.back() != k.first) registered.push_back(k.first);
    std::shuffle(registered.begin(), registered.end(), rng_);
    ScopeDef d;
    d.scope_key = pool_scope(pick(kScopePool));
    std::size_t n = 1 + static_cast<std::size_t>(pick(std::min<int>(3, static_cast<int>(registered.size()))));
    d.canonical_types.assign(registered.begin(), registered.begin() + static_cast<std::ptrdiff_t>(n));
    d.minimum_level = chance(60) ? CoverageLevel::inventoried : any_of<CoverageLevel>(4);
    d.allow_fallback = chance(50);
    d.include_beta = chance(35);
    return {d};
  }
  OpObserve observe(const Model& m) {
    auto reg = m.registry.begin();
    std::advance(reg, pick(static_cast<int>(m.registry.size())));
    auto env = m.envs.begin();
    std::advance(env, pick(static_cast<int>(m.envs.size())));
    OpObserve o;
    o.env = *env;
    o.type = reg->first.first;
    o.sc = reg->first.second;
    o.level = chance(20) ? CoverageLevel::none : static_cast<CoverageLevel>(1 + pick(3));
    o.evidence = chance(80) ? EvidenceState::complete : any_of<EvidenceState>(4);
    o.identity = chance(80) ? IdentityState::resolved : any_of<IdentityState>(3);
    return o;
  }

  std::mt19937_64 rng_;
};

void model_apply(Model& m, const Op& op) {
  if (auto* r = std::get_if<OpRegister>(&op)) m.registry[{r->def.canonical_type, r->def.source_class}] = r->def;
  if (auto* s = std::get_if<OpScope>(&op)) m.scopes[s->def.scope_key] = s->def;
  if (auto* e = std::get_if<OpEnv>(&op)) m.envs.insert(e->env);
  if (auto* o = std::get_if<OpObserve>(&op)) m.obs[{o->env, o->type, o->sc}] = MObs{o->level, o->evidence, o->identity};
}

Event to_event(const Model& m, const Op& op) {
  if (auto* r = std::get_if<OpRegister>(&op)) {
    auto it = m.registry.find({r->def.canonical_type, r->def.source_class});
    return ResourceTypeRegistered{r->def, it == m.registry.end() ? std::nullopt : std::optional(it->second)};
  }
  if (auto* s = std::get_if<OpScope>(&op)) {
    auto it = m.scopes.find(s->def.scope_key);
    return SupportedScopeDefined{s->def, it == m.scopes.end() ? std::nullopt : std::optional(it->second)};
  }
  if (auto* e = std::get_if<OpEnv>(&op)) return ManagedEnvironmentRegistered{1, e->env, "env"};
  const auto& o = std::get<OpObserve>(op);
  return CoverageRecorded{1, o.env, o.type, o.sc, o.level, o.evidence, o.identity, std::nullopt};
}

json::object to_command(const Op& op) {
  if (auto* r = std::get_if<OpRegister>(&op)) {
    auto c = rt_cmd(r->def.canonical_type, name_of(r->def.source_class), name_of(r->def.restore_tier),
                    name_of(r->def.support_state));
    c["display_name"] = r->def.display_name;
    return c;
  }
  if (auto* s = std::get_if<OpScope>(&op))
    return scope_cmd(s->def.scope_key, s->def.canonical_types, name_of(s->def.minimum_level), s->def.allow_fallback,
                     s->def.include_beta);
  if (auto* e = std::get_if<OpEnv>(&op)) return env_cmd(1, e->env, "env");
  const auto& o = std::get<OpObserve>(op);
  return obs_cmd(o.env, o.type, name_of(o.sc), name_of(o.level), name_of(o.evidence), name_of(o.identity));
}

bool same_claim(const ClaimResult& a, const ClaimResult& b) {
  return a.claim_state == b.claim_state && a.reasons == b.reasons && a.complete == b.complete &&
         a.covered == b.covered && a.denominator == b.denominator && a.missing == b.missing;
}

std::string describe(const ClaimResult& r) {
  std::string s = std::string(name_of(r.claim_state)) + " [";
  for (const auto& x : r.reasons) s += x + " ";
  s += "] " + std::to_string(r.covered) + "/" + std::to_string(r.denominator) + " complete=" +
       (r.complete ? "1" : "0");
  return s;
}

}  // namespace

TEST_CASE("property: the incremental eligibility table equals a brute-force evaluation after every event, "
          "and no customer claim is eligible without coverage",
          "[coverage][property]") {
  constexpr int kRounds = 400, kEventsPerRound = 50;
  std::uint64_t eligible_seen = 0, customer_eligible_claims = 0, blocked_claims = 0;
  for (int round = 0; round < kRounds; ++round) {
    Gen gen(0xC0FFEE00ULL + static_cast<std::uint64_t>(round));
    Model model;
    MemoryStore store;
    for (int i = 0; i < kEventsPerRound; ++i) {
      Op op = gen.next(model);
      Event ev = to_event(model, op);
      model_apply(model, op);
      EventMeta meta;
      meta.seq = static_cast<std::uint64_t>(i + 1);
      apply_event(store, meta, ev);
      CAPTURE(round, i, std::string(event_type_name(static_cast<std::uint16_t>(event_type(ev)))));

      // 1. The whole eligibility table, no more and no less, equals the brute force.
      std::map<std::string, std::string> expected;
      for (Id env : model.envs)
        for (const auto& [key, scope] : model.scopes)
          if (auto lvl = model.eligibility(env, key)) {
            expected[key_eligibility(env, key)] = std::string(1, static_cast<char>(*lvl));
            ++eligible_seen;
          }
      std::map<std::string, std::string> table;
      store.table(Table::eligibility).for_each([&](std::string_view k, std::string_view v) { table.emplace(k, v); });
      REQUIRE(table == expected);

      // 2. The guard equals the model for every customer coverage claim, and for random
      //    claims of every audience and kind; no eligible customer claim lacks coverage.
      std::vector<std::optional<std::string>> keys = {std::nullopt, std::string("p.unknown")};
      for (const auto& [key, scope] : model.scopes) keys.emplace_back(key);
      for (Id env : model.envs) {
        for (const auto& key : keys) {
          for (auto level : kLevels) {
            auto audience = gen.chance(70) ? Audience::customer : Audience::operator_;
            auto kind = gen.chance(50) ? ClaimKind::coverage : gen.any_of<ClaimKind>(3);
            for (auto [aud, k] : {std::pair{Audience::customer, ClaimKind::coverage}, std::pair{audience, kind}}) {
              auto got = evaluate_claim(store, ClaimInput{env, key, level, aud, k});
              auto want = model.claim(env, key, level, aud, k);
              std::string scope_key = key.value_or("(none)");
              std::string_view level_name = name_of(level), audience_name = name_of(aud), kind_name = name_of(k);
              CAPTURE(env, scope_key, level_name, audience_name, kind_name);
              INFO("engine: " << describe(got) << "  model: " << describe(want));
              REQUIRE(same_claim(got, want));
              if (got.claim_state == ClaimState::eligible && aud == Audience::customer) {
                REQUIRE(key);
                REQUIRE_FALSE(model.lacks_coverage(env, *key, level));
                ++customer_eligible_claims;
              } else if (got.claim_state == ClaimState::blocked) {
                ++blocked_claims;
              }
            }
          }
        }
      }
    }
  }
  INFO("eligible entries " << eligible_seen << ", eligible customer claims " << customer_eligible_claims
                           << ", blocked " << blocked_claims);
  // The streams must reach both sides of the guard, or the property says little.
  CHECK(eligible_seen > 1000);
  CHECK(customer_eligible_claims > 1000);
  CHECK(blocked_claims > 1000);
}

TEST_CASE("property: through the engine, claim_eligibility and evaluate_claim match the model after every "
          "command, and replay equals live",
          "[coverage][property]") {
  constexpr int kRounds = 300, kOpsPerRound = 30;
  std::uint64_t eligible_seen = 0;
  for (int round = 0; round < kRounds; ++round) {
    Gen gen(0xBADC0DEULL * 31 + static_cast<std::uint64_t>(round));
    TestDb db;
    REQUIRE(db.send({{"cmd", "register_workspace"}, {"workspace_id", 1}, {"name", "W"}}).at("ok").as_bool());
    Model model;
    for (int i = 0; i < kOpsPerRound; ++i) {
      CAPTURE(round, i);
      // Now and then a command the engine must refuse, appending nothing.
      if (!model.envs.empty() && gen.chance(8)) {
        auto seq = db.seq();
        auto bad = obs_cmd(*model.envs.begin(), "p.unregistered", "tcm", "inventoried");
        CHECK(error_code(db.send(bad)) == "unknown_resource_type");
        CHECK(error_code(db.send(with(obs_cmd(*model.envs.begin(), pool_type(0), "tcm", "inventoried"),
                                      "tenant_id", 1))) == "tenant_id_not_allowed");
        CHECK(db.seq() == seq);
      }
      Op op = gen.next(model);
      auto cmd = to_command(op);
      auto a = db.send(cmd);
      INFO(json::serialize(cmd) << " -> " << json::serialize(a));
      REQUIRE(a.at("ok").as_bool());
      model_apply(model, op);

      for (Id env : model.envs) {
        auto e = db.send(eligibility_cmd(env));
        REQUIRE(e.at("ok").as_bool());
        const auto& el = e.at("eligibility").as_object();
        for (const auto& kv : el) {
          std::string key(kv.key());
          CAPTURE(env, key);
          if (!model.scopes.count(key)) {
            CHECK(key.rfind("default.", 0) == 0);  // seeded scopes, over types never observed here
            CHECK(kv.value().is_null());
            continue;
          }
          auto want = model.eligibility(env, key);
          if (want) ++eligible_seen;
          REQUIRE(kv.value() == (want ? json::value(name_of(*want)) : json::value(nullptr)));
        }
        for (const auto& [key, scope] : model.scopes) REQUIRE(el.contains(key));
      }
      if (!model.envs.empty() && gen.chance(40)) {
        auto env = *std::next(model.envs.begin(), gen.pick(static_cast<int>(model.envs.size())));
        std::optional<std::string> key;
        if (!model.scopes.empty() && gen.chance(85))
          key = std::next(model.scopes.begin(), gen.pick(static_cast<int>(model.scopes.size())))->first;
        auto level = kLevels[static_cast<std::size_t>(gen.pick(4))];
        auto audience = gen.chance(75) ? Audience::customer : Audience::operator_;
        auto kind = gen.any_of<ClaimKind>(3);
        auto c = db.send(claim_cmd(env, key, name_of(level), name_of(audience), name_of(kind)));
        REQUIRE(c.at("ok").as_bool());
        auto want = model.claim(env, key, level, audience, kind);
        CHECK(c.at("claim_state").as_string() == name_of(want.claim_state));
        CHECK(reasons(c) == want.reasons);
        CHECK(c.at("complete") == want.complete);
        CHECK(c.at("covered") == want.covered);
        CHECK(c.at("denominator") == want.denominator);
        CHECK(missing(c) == want.missing);
        if (eligible(c) && audience == Audience::customer) REQUIRE_FALSE(model.lacks_coverage(env, *key, level));
      }
    }
    auto live = db.digest();
    REQUIRE(replay_digest(db.dir()) == live);
  }
  INFO("eligible (environment, scope) answers seen: " << eligible_seen);
  CHECK(eligible_seen > 1000);
}
