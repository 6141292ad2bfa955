// The shared reason vocabulary: one table from a decision or reason code to its category,
// the operator message and the next step, so every surface says the same thing.
#pragma once

#include <string_view>

namespace opsledger {

struct Reason {
  std::string_view code;
  std::string_view category;  // accepted | deduped | scope_busy | blocked | not_found | forbidden
  std::string_view message;
  std::string_view next_step;
};

// The entry for `code`; an unknown code yields a generic entry (never empty strings).
const Reason& reason_for(std::string_view code);

}  // namespace opsledger
