// run_identity_hash (SPEC section 6), computable by any service:
//
//   SHA-256, lowercase hex, of the canonical JSON text of
//     {"fields":{NAME:VALUE,...},"scope_id":N,"scope_kind":"tenant"|"workspace","type":"..."}
//   plus "nonce":"..." for the nonce policy, where
//   - canonical JSON: object keys sorted bytewise, no whitespace, integers in decimal,
//     strings with only '"', '\\' and control characters escaped (UTF-8 kept as is);
//   - fields: the type's identity fields from the catalog; ids as integers;
//     provider_connection_id is the resolved connection; scheduled_for (strict policy) is
//     the time truncated to the minute, formatted "YYYY-MM-DDTHH:MM:00Z".
//
// Example: inventory.sync on tenant 10 hashes
//   {"fields":{},"scope_id":10,"scope_kind":"tenant","type":"inventory.sync"}
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "events/domain.h"

namespace opsledger {

std::string run_identity_hash(std::string_view type, ScopeKind scope_kind, Id scope_id,
                              const boost::json::object& fields, const std::string* nonce);
// The same, given the fields' canonical JSON text.
std::string run_identity_hash(std::string_view type, ScopeKind scope_kind, Id scope_id,
                              std::string_view canonical_fields, const std::string* nonce);

}  // namespace opsledger
