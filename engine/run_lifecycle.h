// The run lifecycle (SPEC section 8) as a Boost.MSM state machine:
//   queued → running → completed, and queued → completed for a run that fails, is
//   blocked or is cancelled before it starts. Progress is an internal event of an active run.
// The machine lives in engine/run_lifecycle.cpp (one translation unit, for build time).
#pragma once

#include <optional>

#include "events/domain.h"

namespace opsledger {

enum class RunInput { begin, progress, complete };

// The status after `input` from `from`, or nullopt when the machine refuses it
// (its no_transition handler). `outcome` matters for complete.
std::optional<RunStatus> run_transition(RunStatus from, RunInput input, Outcome outcome = Outcome::succeeded);

}  // namespace opsledger
