// The `counts` field of a command: an object of the fixed count keys (SPEC section 8),
// each a non-negative integer. Faults are recorded on `f` with the dotted key:
// unknown_count_key `counts.KEY` for a key outside the set, invalid_field `counts.KEY`
// for a value that is not a non-negative integer, invalid_field `counts` for a non-object.
// Absent keys count 0.
#pragma once

#include "engine/fields.h"
#include "events/domain.h"

namespace opsledger {

// Takes `counts` from `f`; when `required` and it is absent, missing_field `counts`.
Counts parse_counts_field(Fields& f, bool required);

}  // namespace opsledger
