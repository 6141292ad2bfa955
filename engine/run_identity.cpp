#include "engine/run_identity.h"

#include <boost/json.hpp>

#include "events/json_values.h"
#include "events/sha256.h"

namespace opsledger {

std::string run_identity_hash(std::string_view type, ScopeKind scope_kind, Id scope_id,
                              const boost::json::object& fields, const std::string* nonce) {
  boost::json::object o{{"type", type}, {"scope_kind", name_of(scope_kind)}, {"scope_id", scope_id}, {"fields", fields}};
  if (nonce) o["nonce"] = *nonce;
  return to_hex(sha256(canonical_json(o)));
}

}  // namespace opsledger
