#include "engine/counts_field.h"

#include <string>

namespace opsledger {

Counts parse_counts_field(Fields& f, bool required) {
  Counts c;
  auto* o = f.object("counts", required);
  if (!o) return c;
  for (const auto& kv : *o) {
    std::string_view k = kv.key();
    std::size_t idx = kCountKeys.size();
    for (std::size_t i = 0; i < kCountKeys.size(); ++i)
      if (kCountKeys[i] == k) idx = i;
    std::string field = "counts." + std::string(k);
    if (idx == kCountKeys.size()) {
      f.fail("unknown_count_key", "not one of total, processed, succeeded, failed, skipped, created, updated, deleted",
             field);
      return c;
    }
    const auto& v = kv.value();
    if (v.is_int64() && v.get_int64() >= 0)
      c.values[idx] = static_cast<std::uint64_t>(v.get_int64());
    else if (v.is_uint64())
      c.values[idx] = v.get_uint64();
    else {
      f.fail("invalid_field", "must be a non-negative integer", field);
      return c;
    }
  }
  return c;
}

}  // namespace opsledger
