// cereal encoding of every event payload (PortableBinary: fixed little-endian, so the bytes
// are the same on every machine). Each event struct is a versioned class: its payload is
// cereal's endianness byte, the class version (u32), then the fields, exactly as cereal
// writes a versioned class (the codec writes and reads the version itself; see decode_as).
// Nested value types are serialised inline and evolve with the event that holds them.
//
// Enumerations are written as one byte and range-checked on load; optionals as a presence
// byte and the value. A version newer than the one this build knows is an error.
#include <cereal/cereal.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "events/bytes.h"
#include "events/events.h"
#include "events/span_archives.h"

// Strings and vectors, in cereal's own layout (a size tag, then the elements), but loaded
// with a bound: a size larger than the bytes left in the payload is a DecodeError before
// anything is allocated, so hostile bytes can never ask for a huge allocation. Found by
// argument-dependent lookup on the archive type (namespace cereal). The archives are
// events/span_archives.h: cereal's PortableBinary bytes (tests/log_test.cpp's golden log,
// written by cereal::PortableBinaryOutputArchive, is read and re-encoded byte for byte).
namespace opsledger::codec_detail {
inline void check_size(const SpanInputArchive& ar, std::uint64_t n, std::size_t min_element_bytes) {
  if (n > ar.bytes_left() / min_element_bytes) throw opsledger::DecodeError("container size exceeds the payload");
}
}  // namespace opsledger::codec_detail

namespace cereal {

inline void CEREAL_SAVE_FUNCTION_NAME(opsledger::SpanOutputArchive& ar, const std::string& s) {
  ar(make_size_tag(static_cast<size_type>(s.size())));
  ar(binary_data(s.data(), s.size()));
}
inline void CEREAL_LOAD_FUNCTION_NAME(opsledger::SpanInputArchive& ar, std::string& s) {
  size_type n = 0;
  ar(make_size_tag(n));
  opsledger::codec_detail::check_size(ar, n, 1);
  s.resize(static_cast<std::size_t>(n));
  ar(binary_data(s.data(), s.size()));
}
// A bool is one byte, 0 or 1. cereal would copy any byte into the bool (undefined
// behaviour for anything but 0 and 1; found by the envelope fuzz target), so it is read
// as a byte and checked. The encoding is unchanged. (A plain overload: it wins over the
// archive's template for arithmetic types.)
inline void CEREAL_LOAD_FUNCTION_NAME(opsledger::SpanInputArchive& ar, bool& b) {
  std::uint8_t raw = 0;
  ar(raw);
  if (raw > 1) throw opsledger::DecodeError("bad boolean");
  b = raw == 1;
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(opsledger::SpanOutputArchive& ar, const std::vector<T>& v) {
  ar(make_size_tag(static_cast<size_type>(v.size())));
  for (const auto& e : v) ar(e);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(opsledger::SpanInputArchive& ar, std::vector<T>& v) {
  size_type n = 0;
  ar(make_size_tag(n));
  opsledger::codec_detail::check_size(ar, n, 1);
  v.resize(static_cast<std::size_t>(n));
  for (auto& e : v) ar(e);
}

}  // namespace cereal

namespace opsledger {
namespace {

template <class Ar>
constexpr bool loading() {
  return Ar::is_loading::value;
}

template <class Ar, class E>
void enum_field(Ar& ar, E& e) {
  if constexpr (loading<Ar>()) {
    std::uint8_t raw = 0;
    ar(raw);
    if (!enum_in_range<E>(raw)) throw DecodeError("enum value out of range");
    e = static_cast<E>(raw);
  } else {
    ar(static_cast<std::uint8_t>(e));
  }
}

template <class Ar, class T, class F>
void optional_field(Ar& ar, std::optional<T>& o, F&& inner) {
  bool has = o.has_value();
  ar(has);
  if constexpr (loading<Ar>()) {
    if (has) {
      if (!o) o.emplace();  // a held value is overwritten whole by `inner`, keeping its capacity
      inner(*o);
    } else {
      o.reset();
    }
  } else {
    if (has) inner(*o);
  }
}

template <class Ar, class T>
void optional_plain(Ar& ar, std::optional<T>& o) {
  optional_field(ar, o, [&](T& v) { ar(v); });
}

template <class Ar, class E>
void optional_enum(Ar& ar, std::optional<E>& o) {
  optional_field(ar, o, [&](E& v) { enum_field(ar, v); });
}

template <class T>
void check_version(std::uint32_t version) {
  if (version == 0 || version > T::kVersion) throw DecodeError("unknown event version");
}

}  // namespace

// --- nested value types ---------------------------------------------------------------

template <class Ar>
void serialize(Ar& ar, Counts& c) {
  for (auto& v : c.values) ar(v);
}
template <class Ar>
void serialize(Ar& ar, Failure& f) {
  ar(f.code, f.message);
  optional_plain(ar, f.item);
}
template <class Ar>
void serialize(Ar& ar, Check& c) {
  ar(c.key);
  enum_field(ar, c.status);
  optional_plain(ar, c.reason_code);
  ar(c.blocking);
}
template <class Ar>
void serialize(Ar& ar, Report& r) {
  ar(r.checks);
}
template <class Ar>
void serialize(Ar& ar, OperationTypeDef& d) {
  ar(d.type, d.label);
  enum_field(ar, d.identity_policy);
  ar(d.identity_fields, d.provider_backed, d.readiness_exempt, d.capability, d.system_allowed,
     d.expected_duration_s, d.stale_after_s);
}
template <class Ar>
void serialize(Ar& ar, ResourceTypeDef& d) {
  ar(d.canonical_type);
  enum_field(ar, d.source_class);
  enum_field(ar, d.workload);
  enum_field(ar, d.resource_class);
  enum_field(ar, d.support_state);
  enum_field(ar, d.restore_tier);
  ar(d.display_name);
}
template <class Ar>
void serialize(Ar& ar, ScopeDef& d) {
  ar(d.scope_key, d.canonical_types);
  enum_field(ar, d.minimum_level);
  ar(d.allow_fallback, d.include_beta);
}
template <class Ar>
void serialize(Ar& ar, TriageEntry& t) {
  ar(t.group, t.seam, t.category, t.observed_failure, t.candidate_owner);
  enum_field(ar, t.fix_in_scope);
  ar(t.follow_up, t.status);
}
template <class Ar>
void serialize(Ar& ar, ReadinessSeen& r) {
  ar(r.resolved, r.provider_connection_id);
  enum_field(ar, r.consent);
  enum_field(ar, r.credentials);
  enum_field(ar, r.permissions);
  ar(r.enabled, r.max_concurrent_runs, r.active_runs);
}

// --- events (versioned) -------------------------------------------------------------------

template <class Ar>
void serialize(Ar& ar, WorkspaceRegistered& e, std::uint32_t const v) {
  check_version<WorkspaceRegistered>(v);
  ar(e.workspace_id, e.name);
}
template <class Ar>
void serialize(Ar& ar, TenantRegistered& e, std::uint32_t const v) {
  check_version<TenantRegistered>(v);
  ar(e.workspace_id, e.tenant_id, e.name);
}
template <class Ar>
void serialize(Ar& ar, MembershipGranted& e, std::uint32_t const v) {
  check_version<MembershipGranted>(v);
  ar(e.workspace_id, e.user_id);
  enum_field(ar, e.role);
  ar(e.all_tenants, e.tenant_ids);
}
template <class Ar>
void serialize(Ar& ar, MembershipRevoked& e, std::uint32_t const v) {
  check_version<MembershipRevoked>(v);
  ar(e.workspace_id, e.user_id);
}
template <class Ar>
void serialize(Ar& ar, ProviderConnectionRegistered& e, std::uint32_t const v) {
  check_version<ProviderConnectionRegistered>(v);
  ar(e.workspace_id, e.tenant_id, e.provider_connection_id, e.provider, e.display_name);
}
template <class Ar>
void serialize(Ar& ar, DefaultProviderConnectionSet& e, std::uint32_t const v) {
  check_version<DefaultProviderConnectionSet>(v);
  ar(e.tenant_id, e.provider_connection_id);
}
template <class Ar>
void serialize(Ar& ar, ProviderConnectionUpdated& e, std::uint32_t const v) {
  check_version<ProviderConnectionUpdated>(v);
  ar(e.provider_connection_id);
  optional_enum(ar, e.consent);
  optional_enum(ar, e.credentials);
  optional_enum(ar, e.permissions);
  optional_plain(ar, e.enabled);
  optional_plain(ar, e.max_concurrent_runs);
}
template <class Ar>
void serialize(Ar& ar, OperationTypeDefined& e, std::uint32_t const v) {
  check_version<OperationTypeDefined>(v);
  ar(e.def);
}
template <class Ar>
void serialize(Ar& ar, StartDecided& e, std::uint32_t const v) {
  check_version<StartDecided>(v);
  ar(e.workspace_id);
  optional_plain(ar, e.tenant_id);
  ar(e.type, e.label);
  enum_field(ar, e.decision);
  ar(e.reason_code, e.run_id);
  optional_plain(ar, e.provider_connection_id);
  ar(e.run_identity_hash);
  enum_field(ar, e.identity_policy);
  ar(e.context_json, e.nonce, e.readiness);
}
template <class Ar>
void serialize(Ar& ar, RunStarted& e, std::uint32_t const v) {
  check_version<RunStarted>(v);
  ar(e.run_id);
}
template <class Ar>
void serialize(Ar& ar, RunProgressRecorded& e, std::uint32_t const v) {
  check_version<RunProgressRecorded>(v);
  ar(e.run_id, e.counts, e.failures);
}
template <class Ar>
void serialize(Ar& ar, RunCompleted& e, std::uint32_t const v) {
  check_version<RunCompleted>(v);
  ar(e.run_id);
  enum_field(ar, e.outcome);
  enum_field(ar, e.cause);
  ar(e.counts, e.failures);
  optional_plain(ar, e.report);
}
template <class Ar>
void serialize(Ar& ar, StaleRunsExpired& e, std::uint32_t const v) {
  check_version<StaleRunsExpired>(v);
  ar(e.at_us, e.run_ids);
}
template <class Ar>
void serialize(Ar& ar, ResourceTypeRegistered& e, std::uint32_t const v) {
  check_version<ResourceTypeRegistered>(v);
  ar(e.def);
  optional_plain(ar, e.before);
}
template <class Ar>
void serialize(Ar& ar, SupportedScopeDefined& e, std::uint32_t const v) {
  check_version<SupportedScopeDefined>(v);
  ar(e.def);
  optional_plain(ar, e.before);
}
template <class Ar>
void serialize(Ar& ar, ManagedEnvironmentRegistered& e, std::uint32_t const v) {
  check_version<ManagedEnvironmentRegistered>(v);
  ar(e.workspace_id, e.managed_environment_id, e.name);
}
template <class Ar>
void serialize(Ar& ar, CoverageRecorded& e, std::uint32_t const v) {
  check_version<CoverageRecorded>(v);
  ar(e.workspace_id, e.managed_environment_id, e.canonical_type);
  enum_field(ar, e.source_class);
  enum_field(ar, e.level);
  enum_field(ar, e.evidence_state);
  enum_field(ar, e.identity_state);
  optional_plain(ar, e.provider_connection_id);
}
template <class Ar>
void serialize(Ar& ar, ClaimEvaluated& e, std::uint32_t const v) {
  check_version<ClaimEvaluated>(v);
  ar(e.workspace_id, e.managed_environment_id);
  optional_plain(ar, e.scope_key);
  enum_field(ar, e.level);
  enum_field(ar, e.audience);
  enum_field(ar, e.kind);
  enum_field(ar, e.claim_state);
  ar(e.reasons, e.complete, e.covered, e.denominator, e.missing);
}
template <class Ar>
void serialize(Ar& ar, FailureGroupClassified& e, std::uint32_t const v) {
  check_version<FailureGroupClassified>(v);
  ar(e.entry);
  optional_plain(ar, e.before);
}
template <class Ar>
void serialize(Ar& ar, LegacyRunImported& e, std::uint32_t const v) {
  check_version<LegacyRunImported>(v);
  enum_field(ar, e.kind);
  ar(e.legacy_id, e.workspace_id, e.tenant_id, e.status, e.started_at_us, e.completed_at_us, e.counts);
  optional_plain(ar, e.operation_run_id);
}

}  // namespace opsledger

namespace opsledger {
namespace {

// Loads `bytes` into `value`, overwriting every field the version holds (strings and
// vectors are resized, so they keep their capacity).
template <class T>
void decode_into(std::uint16_t version, std::string_view bytes, T& value) {
  if (version == 0 || version > T::kVersion) throw DecodeError("unknown event version");
  try {
    SpanInputArchive ar(bytes);
    // The class version, as cereal writes it before the first object of a versioned
    // class; read here rather than by cereal, whose table of versions per archive would
    // cost an allocation per event.
    std::uint32_t class_version = 0;
    ar(class_version);
    // Decoded over a used event (decode_payload_into): a payload of an older version than
    // the envelope says may not set every field, so it starts from a fresh one.
    if (class_version != T::kVersion) value = T{};
    serialize(ar, value, class_version);
    if (ar.bytes_left() != 0) throw DecodeError("trailing payload bytes");
  } catch (const DecodeError&) {
    throw;
  } catch (const std::exception& e) {
    throw DecodeError(std::string("payload does not decode: ") + e.what());
  }
}

template <class T>
Event decode_as(std::uint16_t version, std::string_view bytes) {
  T value;
  decode_into(version, bytes, value);
  return value;
}

template <std::size_t I = 0>
Event decode_by_index(std::uint16_t type, std::uint16_t version, std::string_view bytes) {
  if constexpr (I == std::variant_size_v<Event>) {
    throw DecodeError("unknown event type " + std::to_string(type));
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (static_cast<std::uint16_t>(T::kType) == type) return decode_as<T>(version, bytes);
    return decode_by_index<I + 1>(type, version, bytes);
  }
}

// In place when `out` holds a T and the payload is of T's current version, whose encoding
// sets every field of T: what it held before leaves no trace. (An older version may not
// hold a field added since; it is decoded into a fresh T, as decode_payload does.)
template <std::size_t I = 0>
void decode_into_by_index(std::uint16_t type, std::uint16_t version, std::string_view bytes, Event& out) {
  if constexpr (I == std::variant_size_v<Event>) {
    throw DecodeError("unknown event type " + std::to_string(type));
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (static_cast<std::uint16_t>(T::kType) != type) return decode_into_by_index<I + 1>(type, version, bytes, out);
    if (auto* held = std::get_if<T>(&out); held && version == T::kVersion) return decode_into(version, bytes, *held);
    out = decode_as<T>(version, bytes);
  }
}

template <std::size_t I = 0>
std::string_view name_by_index(std::uint16_t type) {
  if constexpr (I == std::variant_size_v<Event>) {
    return {};
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (static_cast<std::uint16_t>(T::kType) == type) return T::kName;
    return name_by_index<I + 1>(type);
  }
}

}  // namespace

EventType event_type(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, e);
}

std::uint16_t event_version(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kVersion; }, e);
}

std::string_view event_type_name(std::uint16_t type) { return name_by_index(type); }

std::string encode_payload(const Event& e) {
  std::string out;
  SpanOutputArchive ar(out);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        ar(static_cast<std::uint32_t>(T::kVersion));  // as cereal writes a class version (see decode_as)
        serialize(ar, const_cast<T&>(v), T::kVersion);  // a saving archive only reads the fields
      },
      e);
  return out;
}

Event decode_payload(std::uint16_t type, std::uint16_t version, std::string_view bytes) {
  return decode_by_index(type, version, bytes);
}

void decode_payload_into(std::uint16_t type, std::uint16_t version, std::string_view bytes, Event& out) {
  decode_into_by_index(type, version, bytes, out);
}

}  // namespace opsledger
