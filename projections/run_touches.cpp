#include "projections/run_touches.h"

#include <algorithm>
#include <string>

#include "events/bytes.h"
#include "projections/records.h"

namespace opsledger {

void touch_run(Store& s, Id run_id, std::uint64_t seq) {
  std::string run_key = key_id(run_id);
  std::uint64_t previous = load_u64(s, Table::run_last_touch, run_key).value_or(0);
  if (previous == seq) return;  // this event touched the run already
  s.put(Table::run_touches, key_ids(seq, run_id), be64(previous));
  save_u64(s, Table::run_last_touch, run_key, seq);
}

std::vector<std::uint64_t> run_touch_seqs(const Store& s, Id run_id) {
  std::vector<std::uint64_t> seqs;
  std::uint64_t seq = load_u64(s, Table::run_last_touch, key_id(run_id)).value_or(0);
  std::string value;
  while (seq != 0) {
    if (!s.get(Table::run_touches, key_ids(seq, run_id), value) || value.size() != 8)
      throw DecodeError("run " + std::to_string(run_id) + " has no touch record at seq " + std::to_string(seq));
    seqs.push_back(seq);
    std::uint64_t previous = get_be64(value);
    if (previous >= seq)
      throw DecodeError("run " + std::to_string(run_id) + "'s touches do not descend at seq " + std::to_string(seq));
    seq = previous;
  }
  std::reverse(seqs.begin(), seqs.end());
  return seqs;
}

}  // namespace opsledger
