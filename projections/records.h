// The records stored in the projection tables, their binary encodings (events/bytes.h),
// and the key builders. Records are encoded by hand, not with cereal: they are rewritten
// on every decision, and a fixed layout keeps them small and the digest stable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.h"
#include "events/envelope.h"
#include "projections/store.h"

namespace opsledger {

struct TenantRecord {
  Id workspace_id = 0;
  std::string name;
};

struct MembershipRecord {
  Role role = Role::readonly;
  bool all_tenants = true;
  std::vector<Id> tenant_ids;  // sorted
};

struct ConnectionRecord {
  Id workspace_id = 0;
  Id tenant_id = 0;
  std::string provider;
  std::string display_name;
  Consent consent = Consent::missing;
  Credentials credentials = Credentials::missing;
  Permissions permissions = Permissions::ok;
  bool enabled = true;
  std::uint32_t max_concurrent_runs = 1;
};

inline constexpr std::size_t kFailuresKeptMax = 50;

struct RunRecord {
  Id run_id = 0;
  Id workspace_id = 0;
  std::optional<Id> tenant_id;
  std::string type;
  std::string label;
  RunStatus status = RunStatus::queued;
  Outcome outcome = Outcome::pending;
  Actor initiator;
  std::optional<Id> provider_connection_id;
  bool provider_backed = true;
  std::string run_identity_hash;
  IdentityPolicy identity_policy = IdentityPolicy::while_active;
  std::string request_id;
  std::string context_json;
  Counts counts;
  std::vector<Failure> failures;
  std::uint64_t failures_dropped = 0;
  std::optional<Report> report;
  TimeUs created_at = 0;
  std::optional<TimeUs> started_at;
  std::optional<TimeUs> completed_at;
  TimeUs last_activity_at = 0;
};

struct NotificationRecord {
  Id run_id = 0;
  std::string type;
  Outcome outcome = Outcome::succeeded;
  TimeUs at = 0;
};

struct EnvironmentRecord {
  Id workspace_id = 0;
  std::string name;
};

struct ObservationRecord {
  CoverageLevel level = CoverageLevel::none;
  EvidenceState evidence_state = EvidenceState::none;
  IdentityState identity_state = IdentityState::unresolved;
  std::optional<Id> provider_connection_id;
  std::uint64_t seq = 0;
};

struct TriageRecord {
  TriageEntry entry;
  std::uint64_t classifications = 0;
};

struct LegacyRecord {
  LegacyKind kind = LegacyKind::inventory_sync;
  Id legacy_id = 0;
  Id workspace_id = 0;
  Id tenant_id = 0;
  std::string status;
  TimeUs started_at = 0;
  TimeUs completed_at = 0;
  Counts counts;
  std::optional<Id> operation_run_id;
};

// Encoders and decoders; decode throws DecodeError on malformed bytes.
#define OPSLEDGER_CODEC(T)            \
  std::string encode(const T& r);     \
  void decode(std::string_view b, T& r);
OPSLEDGER_CODEC(TenantRecord)
OPSLEDGER_CODEC(MembershipRecord)
OPSLEDGER_CODEC(ConnectionRecord)
OPSLEDGER_CODEC(NotificationRecord)
OPSLEDGER_CODEC(EnvironmentRecord)
OPSLEDGER_CODEC(ObservationRecord)
OPSLEDGER_CODEC(TriageRecord)
OPSLEDGER_CODEC(LegacyRecord)
OPSLEDGER_CODEC(OperationTypeDef)
OPSLEDGER_CODEC(ResourceTypeDef)
OPSLEDGER_CODEC(ScopeDef)
#undef OPSLEDGER_CODEC

// Typed access: load<T>(store, table, key) -> optional<T>; save(store, table, key, record).
template <class T>
std::optional<T> load(const Store& s, Table t, std::string_view key) {
  thread_local std::string bytes;  // its capacity is kept: a run's record is ~500 bytes
  if (!s.get(t, key, bytes)) return std::nullopt;
  T r;
  decode(bytes, r);
  return r;
}
// Like load, for records read far more often than written: a store that holds rows keeps
// the decoded record (Store::decoded). The record is shared and must not be changed; it
// stays valid after the row changes (the store then decodes a new one).
template <class T>
inline char kRecordTypeTag = 0;  // its address names T (not const: never merged with another)
template <class T>
std::shared_ptr<const T> load_shared(const Store& s, Table t, std::string_view key) {
  return std::static_pointer_cast<const T>(
      s.decoded(t, key, &kRecordTypeTag<T>, [](std::string_view bytes) -> std::shared_ptr<const void> {
        auto r = std::make_shared<T>();
        decode(bytes, *r);
        return r;
      }));
}

template <class T>
void save(Store& s, Table t, std::string_view key, const T& r) {
  s.put(t, key, encode(r));
}

// A run is kept in two rows under its id (projection layout 4): `runs` holds what its start
// fixed and never changes (scope, type, label, initiator, connection, identity, request,
// context, created_at); `run_state` what its transitions change (status, outcome, counts,
// failures, report, started, completed and last activity times). A transition rewrites
// its state's ~100 bytes (89 queued, 97 running, more with failures or a report), not the
// whole ~400-byte record (decoded, encoded and put on every start, progress and
// completion a replay applies). Apply writes both rows at a run's start, never one alone.
std::string encode_run_fixed(const RunRecord& r);
void decode_run_fixed(std::string_view b, RunRecord& r);  // sets the fixed fields only
std::string encode_run_state(const RunRecord& r);
void decode_run_state(std::string_view b, RunRecord& r);  // sets the state's fields only
// The whole record, or nullopt when the run has no `runs` row. Throws DecodeError when it
// has a `runs` row and no `run_state` row (a `run_state` row alone is never read here).
std::optional<RunRecord> load_run(const Store& s, Id run_id);
// Reads the state's fields of `run` (run_id set) from its `run_state` row; false when absent.
bool load_run_state(const Store& s, RunRecord& run);
void save_run(Store& s, const RunRecord& run);        // both rows
void save_run_state(Store& s, const RunRecord& run);  // the `run_state` row

// u64 values stored as be64.
std::optional<std::uint64_t> load_u64(const Store& s, Table t, std::string_view key);
void save_u64(Store& s, Table t, std::string_view key, std::uint64_t v);

// The seq of the event that recorded `request_id` (its `requests` row), or nullopt. Throws
// DecodeError on a malformed row. A row of 40 bytes (the seq, then the body's digest) is of
// projection layout 2, written into an upgraded database by an older engine sharing it
// against the upgrade rules: its seq is read all the same.
std::optional<std::uint64_t> load_request_seq(const Store& s, std::string_view request_id);

// Keys.
std::string key_id(Id a);  // kIdKeySize bytes
// Two ids as one 16-byte key (each big-endian), held inline: as a std::string it would be a
// heap allocation (past the 15-byte small-string buffer), and every touch of a run makes one.
class IdsKey {
 public:
  IdsKey(Id a, Id b);
  operator std::string_view() const { return {bytes_, sizeof bytes_}; }
  operator std::string() const { return std::string(bytes_, sizeof bytes_); }

 private:
  char bytes_[16];
};
IdsKey key_ids(Id a, Id b);
// kIdentityKeySize bytes for a run_identity_hash (64 hex digits): kind, scope id, hash.
std::string key_identity(ScopeKind kind, Id scope_id, std::string_view identity_hash_hex);
inline constexpr std::size_t kIdKeySize = 8;
inline constexpr std::size_t kIdentityKeySize = 1 + kIdKeySize + 64;
std::string key_resource_type(std::string_view canonical_type, SourceClass sc);
std::string key_coverage(Id env, std::string_view canonical_type, SourceClass sc);
std::string key_eligibility(Id env, std::string_view scope_key);
std::string key_legacy(LegacyKind kind, Id legacy_id);

inline constexpr std::string_view kMetaLastSeq = "last_seq";
inline constexpr std::string_view kMetaNextRunId = "next_run_id";

}  // namespace opsledger
