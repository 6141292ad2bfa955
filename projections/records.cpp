#include "projections/records.h"

#include "events/bytes.h"

namespace opsledger {
namespace {

template <class E>
void put_enum(ByteWriter& w, E e) {
  w.u8(static_cast<std::uint8_t>(e));
}
template <class E>
E get_enum(ByteReader& r) {
  auto raw = r.u8();
  if (!enum_in_range<E>(raw)) throw DecodeError("enum out of range");
  return static_cast<E>(raw);
}
void put_opt_id(ByteWriter& w, const std::optional<Id>& v) {
  w.boolean(v.has_value());
  if (v) w.u64(*v);
}
std::optional<Id> get_opt_id(ByteReader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.u64();
}
void put_opt_time(ByteWriter& w, const std::optional<TimeUs>& v) {
  w.boolean(v.has_value());
  if (v) w.i64(*v);
}
std::optional<TimeUs> get_opt_time(ByteReader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.i64();
}
void put_opt_str(ByteWriter& w, const std::optional<std::string>& v) {
  w.boolean(v.has_value());
  if (v) w.str(*v);
}
std::optional<std::string> get_opt_str(ByteReader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.str();
}
void put_counts(ByteWriter& w, const Counts& c) {
  for (auto v : c.values) w.u64(v);
}
Counts get_counts(ByteReader& r) {
  Counts c;
  for (auto& v : c.values) v = r.u64();
  return c;
}
void put_strings(ByteWriter& w, const std::vector<std::string>& v) {
  w.u32(static_cast<std::uint32_t>(v.size()));
  for (const auto& s : v) w.str(s);
}
std::vector<std::string> get_strings(ByteReader& r) {
  auto n = r.u32();
  if (n > r.remaining() / 4) throw DecodeError("bad list length");
  std::vector<std::string> v(n);
  for (auto& s : v) s = r.str();
  return v;
}

template <class T, class F>
void decode_with(std::string_view b, T& rec, F&& body) {
  ByteReader r(b);
  body(r, rec);
  r.expect_end();
}

}  // namespace

std::string encode(const TenantRecord& x) {
  std::string s;
  ByteWriter w(s);
  w.u64(x.workspace_id);
  w.str(x.name);
  return s;
}
void decode(std::string_view b, TenantRecord& x) {
  decode_with(b, x, [](ByteReader& r, TenantRecord& x) {
    x.workspace_id = r.u64();
    x.name = r.str();
  });
}

std::string encode(const MembershipRecord& x) {
  std::string s;
  ByteWriter w(s);
  put_enum(w, x.role);
  w.boolean(x.all_tenants);
  w.u32(static_cast<std::uint32_t>(x.tenant_ids.size()));
  for (auto id : x.tenant_ids) w.u64(id);
  return s;
}
void decode(std::string_view b, MembershipRecord& x) {
  decode_with(b, x, [](ByteReader& r, MembershipRecord& x) {
    x.role = get_enum<Role>(r);
    x.all_tenants = r.boolean();
    auto n = r.u32();
    if (n > r.remaining() / 8) throw DecodeError("bad list length");
    x.tenant_ids.resize(n);
    for (auto& id : x.tenant_ids) id = r.u64();
  });
}

std::string encode(const ConnectionRecord& x) {
  std::string s;
  ByteWriter w(s);
  w.u64(x.workspace_id);
  w.u64(x.tenant_id);
  w.str(x.provider);
  w.str(x.display_name);
  put_enum(w, x.consent);
  put_enum(w, x.credentials);
  put_enum(w, x.permissions);
  w.boolean(x.enabled);
  w.u32(x.max_concurrent_runs);
  return s;
}
void decode(std::string_view b, ConnectionRecord& x) {
  decode_with(b, x, [](ByteReader& r, ConnectionRecord& x) {
    x.workspace_id = r.u64();
    x.tenant_id = r.u64();
    x.provider = r.str();
    x.display_name = r.str();
    x.consent = get_enum<Consent>(r);
    x.credentials = get_enum<Credentials>(r);
    x.permissions = get_enum<Permissions>(r);
    x.enabled = r.boolean();
    x.max_concurrent_runs = r.u32();
  });
}

std::string encode_run_fixed(const RunRecord& x) {
  std::string s;
  s.reserve(256);
  ByteWriter w(s);
  w.u64(x.run_id);
  w.u64(x.workspace_id);
  put_opt_id(w, x.tenant_id);
  w.str(x.type);
  w.str(x.label);
  put_enum(w, x.initiator.kind);
  w.u64(x.initiator.user_id);
  w.str(x.initiator.name);
  put_opt_id(w, x.provider_connection_id);
  w.boolean(x.provider_backed);
  w.str(x.run_identity_hash);
  put_enum(w, x.identity_policy);
  w.str(x.request_id);
  w.str(x.context_json);
  w.i64(x.created_at);
  return s;
}
void decode_run_fixed(std::string_view b, RunRecord& x) {
  decode_with(b, x, [](ByteReader& r, RunRecord& x) {
    x.run_id = r.u64();
    x.workspace_id = r.u64();
    x.tenant_id = get_opt_id(r);
    x.type = r.str();
    x.label = r.str();
    auto kind = r.u8();
    if (kind > 2) throw DecodeError("bad actor kind");
    x.initiator.kind = static_cast<ActorKind>(kind);
    x.initiator.user_id = r.u64();
    x.initiator.name = r.str();
    x.provider_connection_id = get_opt_id(r);
    x.provider_backed = r.boolean();
    x.run_identity_hash = r.str();
    x.identity_policy = get_enum<IdentityPolicy>(r);
    x.request_id = r.str();
    x.context_json = r.str();
    x.created_at = r.i64();
  });
}

std::string encode_run_state(const RunRecord& x) {
  std::string s;
  s.reserve(128);
  ByteWriter w(s);
  put_enum(w, x.status);
  put_enum(w, x.outcome);
  put_counts(w, x.counts);
  w.u32(static_cast<std::uint32_t>(x.failures.size()));
  for (const auto& f : x.failures) {
    w.str(f.code);
    w.str(f.message);
    put_opt_str(w, f.item);
  }
  w.u64(x.failures_dropped);
  w.boolean(x.report.has_value());
  if (x.report) {
    w.u32(static_cast<std::uint32_t>(x.report->checks.size()));
    for (const auto& c : x.report->checks) {
      w.str(c.key);
      put_enum(w, c.status);
      put_opt_str(w, c.reason_code);
      w.boolean(c.blocking);
    }
  }
  put_opt_time(w, x.started_at);
  put_opt_time(w, x.completed_at);
  w.i64(x.last_activity_at);
  return s;
}
void decode_run_state(std::string_view b, RunRecord& x) {
  decode_with(b, x, [](ByteReader& r, RunRecord& x) {
    x.status = get_enum<RunStatus>(r);
    x.outcome = get_enum<Outcome>(r);
    x.counts = get_counts(r);
    auto n = r.u32();
    if (n > r.remaining() / 9) throw DecodeError("bad list length");
    x.failures.resize(n);
    for (auto& f : x.failures) {
      f.code = r.str();
      f.message = r.str();
      f.item = get_opt_str(r);
    }
    x.failures_dropped = r.u64();
    if (r.boolean()) {
      Report rep;
      auto m = r.u32();
      if (m > r.remaining() / 7) throw DecodeError("bad list length");
      rep.checks.resize(m);
      for (auto& c : rep.checks) {
        c.key = r.str();
        c.status = get_enum<CheckStatus>(r);
        c.reason_code = get_opt_str(r);
        c.blocking = r.boolean();
      }
      x.report = std::move(rep);
    } else {
      x.report.reset();
    }
    x.started_at = get_opt_time(r);
    x.completed_at = get_opt_time(r);
    x.last_activity_at = r.i64();
  });
}

std::optional<RunRecord> load_run(const Store& s, Id run_id) {
  thread_local std::string bytes;  // its capacity is kept
  if (!s.get(Table::runs, key_id(run_id), bytes)) return std::nullopt;
  RunRecord run;
  decode_run_fixed(bytes, run);
  if (run.run_id != run_id) throw DecodeError("run " + std::to_string(run_id) + "'s record names another run");
  if (!load_run_state(s, run)) throw DecodeError("run " + std::to_string(run_id) + " has no state");
  return run;
}

bool load_run_state(const Store& s, RunRecord& run) {
  thread_local std::string bytes;
  if (!s.get(Table::run_state, key_id(run.run_id), bytes)) return false;
  decode_run_state(bytes, run);
  return true;
}

void save_run(Store& s, const RunRecord& run) {
  std::string key = key_id(run.run_id);
  s.put(Table::runs, key, encode_run_fixed(run));
  s.put(Table::run_state, key, encode_run_state(run));
}

void save_run_state(Store& s, const RunRecord& run) { s.put(Table::run_state, key_id(run.run_id), encode_run_state(run)); }

std::string encode(const NotificationRecord& x) {
  std::string s;
  ByteWriter w(s);
  w.u64(x.run_id);
  w.str(x.type);
  put_enum(w, x.outcome);
  w.i64(x.at);
  return s;
}
void decode(std::string_view b, NotificationRecord& x) {
  decode_with(b, x, [](ByteReader& r, NotificationRecord& x) {
    x.run_id = r.u64();
    x.type = r.str();
    x.outcome = get_enum<Outcome>(r);
    x.at = r.i64();
  });
}

std::string encode(const EnvironmentRecord& x) {
  std::string s;
  ByteWriter w(s);
  w.u64(x.workspace_id);
  w.str(x.name);
  return s;
}
void decode(std::string_view b, EnvironmentRecord& x) {
  decode_with(b, x, [](ByteReader& r, EnvironmentRecord& x) {
    x.workspace_id = r.u64();
    x.name = r.str();
  });
}

std::string encode(const ObservationRecord& x) {
  std::string s;
  ByteWriter w(s);
  put_enum(w, x.level);
  put_enum(w, x.evidence_state);
  put_enum(w, x.identity_state);
  put_opt_id(w, x.provider_connection_id);
  w.u64(x.seq);
  return s;
}
void decode(std::string_view b, ObservationRecord& x) {
  decode_with(b, x, [](ByteReader& r, ObservationRecord& x) {
    x.level = get_enum<CoverageLevel>(r);
    x.evidence_state = get_enum<EvidenceState>(r);
    x.identity_state = get_enum<IdentityState>(r);
    x.provider_connection_id = get_opt_id(r);
    x.seq = r.u64();
  });
}

namespace {
void put_triage(ByteWriter& w, const TriageEntry& t) {
  w.str(t.group);
  w.str(t.seam);
  w.str(t.category);
  w.str(t.observed_failure);
  w.str(t.candidate_owner);
  put_enum(w, t.fix_in_scope);
  w.str(t.follow_up);
  w.str(t.status);
}
void get_triage(ByteReader& r, TriageEntry& t) {
  t.group = r.str();
  t.seam = r.str();
  t.category = r.str();
  t.observed_failure = r.str();
  t.candidate_owner = r.str();
  t.fix_in_scope = get_enum<FixInScope>(r);
  t.follow_up = r.str();
  t.status = r.str();
}
}  // namespace

std::string encode(const TriageRecord& x) {
  std::string s;
  ByteWriter w(s);
  put_triage(w, x.entry);
  w.u64(x.classifications);
  return s;
}
void decode(std::string_view b, TriageRecord& x) {
  decode_with(b, x, [](ByteReader& r, TriageRecord& x) {
    get_triage(r, x.entry);
    x.classifications = r.u64();
  });
}

std::string encode(const LegacyRecord& x) {
  std::string s;
  ByteWriter w(s);
  put_enum(w, x.kind);
  w.u64(x.legacy_id);
  w.u64(x.workspace_id);
  w.u64(x.tenant_id);
  w.str(x.status);
  w.i64(x.started_at);
  w.i64(x.completed_at);
  put_counts(w, x.counts);
  put_opt_id(w, x.operation_run_id);
  return s;
}
void decode(std::string_view b, LegacyRecord& x) {
  decode_with(b, x, [](ByteReader& r, LegacyRecord& x) {
    x.kind = get_enum<LegacyKind>(r);
    x.legacy_id = r.u64();
    x.workspace_id = r.u64();
    x.tenant_id = r.u64();
    x.status = r.str();
    x.started_at = r.i64();
    x.completed_at = r.i64();
    x.counts = get_counts(r);
    x.operation_run_id = get_opt_id(r);
  });
}

std::string encode(const OperationTypeDef& x) {
  std::string s;
  ByteWriter w(s);
  w.str(x.type);
  w.str(x.label);
  put_enum(w, x.identity_policy);
  put_strings(w, x.identity_fields);
  w.boolean(x.provider_backed);
  w.boolean(x.readiness_exempt);
  w.str(x.capability);
  w.boolean(x.system_allowed);
  w.u64(x.expected_duration_s);
  w.u64(x.stale_after_s);
  return s;
}
void decode(std::string_view b, OperationTypeDef& x) {
  decode_with(b, x, [](ByteReader& r, OperationTypeDef& x) {
    x.type = r.str();
    x.label = r.str();
    x.identity_policy = get_enum<IdentityPolicy>(r);
    x.identity_fields = get_strings(r);
    x.provider_backed = r.boolean();
    x.readiness_exempt = r.boolean();
    x.capability = r.str();
    x.system_allowed = r.boolean();
    x.expected_duration_s = r.u64();
    x.stale_after_s = r.u64();
  });
}

std::string encode(const ResourceTypeDef& x) {
  std::string s;
  ByteWriter w(s);
  w.str(x.canonical_type);
  put_enum(w, x.source_class);
  put_enum(w, x.workload);
  put_enum(w, x.resource_class);
  put_enum(w, x.support_state);
  put_enum(w, x.restore_tier);
  w.str(x.display_name);
  return s;
}
void decode(std::string_view b, ResourceTypeDef& x) {
  decode_with(b, x, [](ByteReader& r, ResourceTypeDef& x) {
    x.canonical_type = r.str();
    x.source_class = get_enum<SourceClass>(r);
    x.workload = get_enum<Workload>(r);
    x.resource_class = get_enum<ResourceClass>(r);
    x.support_state = get_enum<SupportState>(r);
    x.restore_tier = get_enum<RestoreTier>(r);
    x.display_name = r.str();
  });
}

std::string encode(const ScopeDef& x) {
  std::string s;
  ByteWriter w(s);
  w.str(x.scope_key);
  put_strings(w, x.canonical_types);
  put_enum(w, x.minimum_level);
  w.boolean(x.allow_fallback);
  w.boolean(x.include_beta);
  return s;
}
void decode(std::string_view b, ScopeDef& x) {
  decode_with(b, x, [](ByteReader& r, ScopeDef& x) {
    x.scope_key = r.str();
    x.canonical_types = get_strings(r);
    x.minimum_level = get_enum<CoverageLevel>(r);
    x.allow_fallback = r.boolean();
    x.include_beta = r.boolean();
  });
}

std::optional<std::uint64_t> load_u64(const Store& s, Table t, std::string_view key) {
  std::string bytes;
  if (!s.get(t, key, bytes)) return std::nullopt;
  return get_be64(bytes);
}

void save_u64(Store& s, Table t, std::string_view key, std::uint64_t v) { s.put(t, key, be64(v)); }

std::optional<std::uint64_t> load_request_seq(const Store& s, std::string_view request_id) {
  std::string rec;
  if (!s.get(Table::requests, request_id, rec)) return std::nullopt;
  if (rec.size() != 8 && rec.size() != 40) throw DecodeError("malformed request record");
  return get_be64(rec);
}

std::string key_id(Id a) { return be64(a); }

IdsKey::IdsKey(Id a, Id b) {
  store_be64(bytes_, a);
  store_be64(bytes_ + 8, b);
}

IdsKey key_ids(Id a, Id b) { return IdsKey(a, b); }

std::string key_identity(ScopeKind kind, Id scope_id, std::string_view hash) {
  std::string k;
  k.reserve(9 + hash.size());
  k.push_back(static_cast<char>(kind));
  put_be64(k, scope_id);
  k.append(hash);
  return k;
}

std::string key_resource_type(std::string_view canonical_type, SourceClass sc) {
  std::string k(canonical_type);
  k.push_back('\0');
  k.push_back(static_cast<char>(sc));
  return k;
}

std::string key_coverage(Id env, std::string_view canonical_type, SourceClass sc) {
  std::string k = be64(env);
  k += key_resource_type(canonical_type, sc);
  return k;
}

std::string key_eligibility(Id env, std::string_view scope_key) {
  std::string k = be64(env);
  k.append(scope_key);
  return k;
}

std::string key_legacy(LegacyKind kind, Id legacy_id) {
  std::string k(1, static_cast<char>(kind));
  put_be64(k, legacy_id);
  return k;
}

}  // namespace opsledger
