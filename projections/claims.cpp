#include "projections/claims.h"

#include <algorithm>

#include "events/bytes.h"
#include "projections/records.h"

namespace opsledger {

bool counts_source(const ScopeDef& scope, SourceClass sc) {
  switch (sc) {
    case SourceClass::tcm: return true;
    case SourceClass::graph_v1_fallback: return scope.allow_fallback;
    case SourceClass::graph_beta_experimental: return scope.include_beta;
  }
  return false;
}

namespace {

// Every key of `table` under `prefix` that is the prefix plus exactly one source-class
// byte. Canonical types never hold a NUL (validated), so no other type's keys match; the
// length check keeps that true even for a type name that would.
template <class F>
void for_each_source_class(const Store& s, Table table, const std::string& prefix, F&& f) {
  s.scan(table, prefix, [&](std::string_view k, std::string_view v) {
    if (k.size() != prefix.size() + 1) return true;
    auto raw = static_cast<std::uint8_t>(k.back());
    if (!enum_in_range<SourceClass>(raw)) throw DecodeError("source class out of range in a key");
    return f(static_cast<SourceClass>(raw), v);
  });
}

// The highest level at which `type` is covered in `env`: over the scope's counted source
// classes, the latest observation of each (the table keeps only the latest), counting only
// complete evidence with resolved identity. nullopt: not covered at any level.
std::optional<CoverageLevel> covered_level(const Store& s, Id env, const ScopeDef& scope, std::string_view type) {
  std::optional<CoverageLevel> best;
  std::string prefix = key_coverage(env, type, SourceClass::tcm);
  prefix.pop_back();  // every source class of this type
  for_each_source_class(s, Table::coverage, prefix, [&](SourceClass sc, std::string_view v) {
    if (!counts_source(scope, sc)) return true;
    ObservationRecord obs;
    decode(v, obs);
    if (obs.evidence_state != EvidenceState::complete || obs.identity_state != IdentityState::resolved) return true;
    if (!best || obs.level > *best) best = obs.level;
    return true;
  });
  return best;
}

// Has `type` a counted source class whose restore tier is other than none?
bool restorable(const Store& s, const ScopeDef& scope, std::string_view type) {
  bool any = false;
  std::string prefix(type);
  prefix.push_back('\0');
  for_each_source_class(s, Table::resource_types, prefix, [&](SourceClass sc, std::string_view v) {
    if (!counts_source(scope, sc)) return true;
    ResourceTypeDef def;
    decode(v, def);
    if (def.restore_tier != RestoreTier::none) any = true;
    return !any;
  });
  return any;
}

// The denominator: the scope's types, each once, in the scope's order. Definitions with
// duplicates are rejected at the command, so this is the list itself; deduplicating here
// keeps a count of types, never of list entries, whatever the log holds.
std::vector<std::string> denominator_of(const ScopeDef& scope) {
  std::vector<std::string> out;
  out.reserve(scope.canonical_types.size());
  for (const auto& t : scope.canonical_types)
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

}  // namespace

ClaimResult evaluate_claim(const Store& s, const ClaimInput& in) {
  ClaimResult r;
  // Without a known scope there is no denominator: nothing else can be evaluated, and the
  // claim is blocked whoever its audience is.
  if (!in.scope_key) {
    r.reasons.push_back("unscoped_claim");
    return r;
  }
  auto scope = load<ScopeDef>(s, Table::scopes, *in.scope_key);
  if (!scope) {
    r.reasons.push_back("unknown_scope");
    return r;
  }
  auto types = denominator_of(*scope);
  r.denominator = types.size();
  bool all_restorable = true;
  for (const auto& t : types) {
    auto lvl = covered_level(s, in.managed_environment_id, *scope, t);
    if (lvl && *lvl >= in.level)
      ++r.covered;
    else
      r.missing.push_back(t);
    if (in.kind == ClaimKind::restore && !restorable(s, *scope, t)) all_restorable = false;
  }
  // "100 % of nothing" is no claim: a scope without types is never complete.
  r.complete = r.denominator > 0 && r.missing.empty();
  if (in.level < scope->minimum_level) r.reasons.push_back("level_below_scope_minimum");
  if (in.kind == ClaimKind::certification && scope->include_beta) r.reasons.push_back("beta_certification");
  if (in.kind == ClaimKind::restore && !all_restorable) r.reasons.push_back("restore_not_supported");
  if (in.audience == Audience::customer && !r.complete) r.reasons.push_back("scope_incomplete");
  r.claim_state = r.reasons.empty() ? ClaimState::eligible : ClaimState::blocked;
  return r;
}

std::optional<CoverageLevel> eligible_level(const Store& s, Id env, const ScopeDef& scope) {
  // A customer coverage claim at L is eligible iff L >= minimum_level and every type is
  // covered at >= L; the highest such L is the lowest per-type covered level.
  std::optional<CoverageLevel> lowest;
  for (const auto& t : denominator_of(scope)) {
    auto lvl = covered_level(s, env, scope, t);
    if (!lvl) return std::nullopt;
    if (!lowest || *lvl < *lowest) lowest = lvl;
  }
  if (!lowest) return std::nullopt;  // an empty scope covers nothing: no claim
  if (*lowest < scope.minimum_level) return std::nullopt;
  return lowest;
}

std::optional<CoverageLevel> stored_eligibility(const Store& s, Id env, std::string_view scope_key) {
  std::string v;
  if (!s.get(Table::eligibility, key_eligibility(env, scope_key), v)) return std::nullopt;
  if (v.size() != 1 || !enum_in_range<CoverageLevel>(static_cast<std::uint8_t>(v[0])))
    throw DecodeError("malformed eligibility record");
  return static_cast<CoverageLevel>(static_cast<std::uint8_t>(v[0]));
}

void refresh_eligibility(Store& s, Id env, const ScopeDef& scope) {
  auto key = key_eligibility(env, scope.scope_key);
  if (auto lvl = eligible_level(s, env, scope))
    s.put(Table::eligibility, key, std::string(1, static_cast<char>(*lvl)));
  else
    s.del(Table::eligibility, key);
}

void refresh_eligibility_for_scope(Store& s, const ScopeDef& scope) {
  s.scan(Table::environments, {}, [&](std::string_view k, std::string_view) {
    refresh_eligibility(s, get_be64(k), scope);
    return true;
  });
}

void refresh_eligibility_for_observation(Store& s, Id env, std::string_view type) {
  // Collect first, then write: the scan must not run over a table being written.
  std::vector<ScopeDef> listing;
  s.scan(Table::scopes, {}, [&](std::string_view, std::string_view v) {
    ScopeDef scope;
    decode(v, scope);
    if (std::find(scope.canonical_types.begin(), scope.canonical_types.end(), type) != scope.canonical_types.end())
      listing.push_back(std::move(scope));
    return true;
  });
  for (const auto& scope : listing) refresh_eligibility(s, env, scope);
}

}  // namespace opsledger
