// Which events touched a run: its start, every start deduped or refused onto it, and every
// lifecycle event. `history {run_id}` lists them.
//
// Kept as one chain per run, newest first: `run_touches` holds (seq, run) -> the run's
// previous touch seq, and `run_last_touch` holds run -> its newest touch seq. A touch
// appends at the end of `run_touches` (its key starts with the seq, the largest yet) and
// rewrites one small `run_last_touch` row, so a batch of deduped clicks writes a few
// contiguous pages however many runs they land on. (A table keyed run + seq, layout 1,
// dirtied one random page per click.)
#pragma once

#include <cstdint>
#include <vector>

#include "events/domain.h"
#include "projections/store.h"

namespace opsledger {

// Records that the event at `seq` touched `run_id` (once, however often it is called).
void touch_run(Store& s, Id run_id, std::uint64_t seq);

// Every seq that touched `run_id`, ascending. Throws DecodeError when the chain is broken.
std::vector<std::uint64_t> run_touch_seqs(const Store& s, Id run_id);

}  // namespace opsledger
