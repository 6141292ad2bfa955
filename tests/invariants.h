// Walks a database's log event by event and checks, after every event, the gate's
// invariants: no two active runs share scope and identity, and no connection holds more
// active runs than its max_concurrent_runs at that moment. Returns "" or the violation.
#pragma once

#include <string>

namespace opsledger::test {

std::string check_invariants_along_log(const std::string& dir);

}  // namespace opsledger::test
