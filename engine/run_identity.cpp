#include "engine/run_identity.h"

#include <boost/json.hpp>

#include "events/json_values.h"
#include "events/sha256.h"

namespace opsledger {

std::string run_identity_hash(std::string_view type, ScopeKind scope_kind, Id scope_id,
                              const boost::json::object& fields, const std::string* nonce) {
  std::string canonical;
  append_canonical_json(canonical, fields);
  return run_identity_hash(type, scope_kind, scope_id, canonical, nonce);
}

std::string run_identity_hash(std::string_view type, ScopeKind scope_kind, Id scope_id,
                              std::string_view canonical_fields, const std::string* nonce) {
  // The canonical text written directly, its keys already in bytewise order:
  // fields < nonce < scope_id < scope_kind < type.
  std::string text;
  text.reserve(128);
  text += R"({"fields":)";
  text += canonical_fields;
  if (nonce) {
    text += R"(,"nonce":)";
    append_json_string(text, *nonce);
  }
  text += R"(,"scope_id":)";
  text += std::to_string(scope_id);
  text += R"(,"scope_kind":)";
  append_json_string(text, name_of(scope_kind));
  text += R"(,"type":)";
  append_json_string(text, type);
  text += '}';
  return to_hex(sha256(text));
}

}  // namespace opsledger
