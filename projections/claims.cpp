#include "projections/claims.h"

#include <algorithm>

#include "events/bytes.h"
#include "projections/records.h"

namespace opsledger {
namespace {

bool counted(const ScopeDef& scope, SourceClass sc) {
  switch (sc) {
    case SourceClass::tcm: return true;
    case SourceClass::graph_v1_fallback: return scope.allow_fallback;
    case SourceClass::graph_beta_experimental: return scope.include_beta;
  }
  return false;
}

// The highest level at which `type` is covered in `env` by a counted source class with
// complete evidence and resolved identity (the latest observation per source class).
std::optional<CoverageLevel> covered_level(const Store& s, Id env, const ScopeDef& scope, std::string_view type) {
  std::optional<CoverageLevel> best;
  std::string prefix = key_coverage(env, type, SourceClass::tcm);
  prefix.pop_back();  // drop the source class byte: every source class of this type
  s.scan(Table::coverage, prefix, [&](std::string_view k, std::string_view v) {
    auto sc_raw = static_cast<std::uint8_t>(k.back());
    if (!enum_in_range<SourceClass>(sc_raw) || !counted(scope, static_cast<SourceClass>(sc_raw))) return true;
    ObservationRecord obs;
    decode(v, obs);
    if (obs.evidence_state != EvidenceState::complete || obs.identity_state != IdentityState::resolved) return true;
    if (!best || obs.level > *best) best = obs.level;
    return true;
  });
  return best;
}

bool restorable(const Store& s, const ScopeDef& scope, std::string_view type) {
  bool any = false;
  std::string prefix(type);
  prefix.push_back('\0');
  s.scan(Table::resource_types, prefix, [&](std::string_view k, std::string_view v) {
    if (k.size() != prefix.size() + 1) return true;
    ResourceTypeDef def;
    decode(v, def);
    if (counted(scope, def.source_class) && def.restore_tier != RestoreTier::none) any = true;
    return !any;
  });
  return any;
}

std::vector<std::string> denominator_of(const ScopeDef& scope) {
  std::vector<std::string> out;
  for (const auto& t : scope.canonical_types)
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

}  // namespace

ClaimResult evaluate_claim(const Store& s, const ClaimInput& in) {
  ClaimResult r;
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
  r.complete = r.missing.empty();
  if (in.level < scope->minimum_level) r.reasons.push_back("level_below_scope_minimum");
  if (in.kind == ClaimKind::certification && scope->include_beta) r.reasons.push_back("beta_certification");
  if (in.kind == ClaimKind::restore && !all_restorable) r.reasons.push_back("restore_not_supported");
  if (in.audience == Audience::customer && !r.complete) r.reasons.push_back("scope_incomplete");
  r.claim_state = r.reasons.empty() ? ClaimState::eligible : ClaimState::blocked;
  return r;
}

std::optional<CoverageLevel> eligible_level(const Store& s, Id env, const ScopeDef& scope) {
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

namespace {
template <class F>
void for_scopes_listing(const Store& s, std::string_view type, F&& f) {
  std::vector<ScopeDef> hits;
  s.scan(Table::scopes, {}, [&](std::string_view, std::string_view v) {
    ScopeDef scope;
    decode(v, scope);
    if (std::find(scope.canonical_types.begin(), scope.canonical_types.end(), type) != scope.canonical_types.end())
      hits.push_back(std::move(scope));
    return true;
  });
  for (const auto& scope : hits) f(scope);
}
}  // namespace

void refresh_eligibility_for_type(Store& s, std::string_view type) {
  for_scopes_listing(s, type, [&](const ScopeDef& scope) { refresh_eligibility_for_scope(s, scope); });
}

void refresh_eligibility_for_observation(Store& s, Id env, std::string_view type) {
  for_scopes_listing(s, type, [&](const ScopeDef& scope) { refresh_eligibility(s, env, scope); });
}

}  // namespace opsledger
