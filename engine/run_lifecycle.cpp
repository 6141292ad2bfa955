#include "engine/run_lifecycle.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace opsledger {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;

struct Begin {};
struct Progress {};
struct Complete {
  Outcome outcome;
};

struct Lifecycle : msm::front::state_machine_def<Lifecycle> {
  struct Queued : msm::front::state<> {};
  struct Running : msm::front::state<> {};
  struct Completed : msm::front::state<> {};
  using initial_state = Queued;

  // A queued run may complete only as failed, blocked or cancelled: it never ran.
  struct NeverStartedOutcome {
    template <class E, class M, class S, class T>
    bool operator()(const E& e, M&, S&, T&) const {
      return e.outcome == Outcome::failed || e.outcome == Outcome::blocked || e.outcome == Outcome::cancelled;
    }
  };
  struct TerminalOutcome {
    template <class E, class M, class S, class T>
    bool operator()(const E& e, M&, S&, T&) const {
      return e.outcome != Outcome::pending;
    }
  };

  // clang-format off
  struct transition_table : mpl::vector<
    //   Source    Event     Target     Action  Guard
    Row< Queued,   Begin,    Running,   none,   none                >,
    Row< Queued,   Progress, none,      none,   none                >,
    Row< Queued,   Complete, Completed, none,   NeverStartedOutcome >,
    Row< Running,  Progress, none,      none,   none                >,
    Row< Running,  Complete, Completed, none,   TerminalOutcome     >
  > {};
  // clang-format on

  template <class FSM, class Event>
  void no_transition(const Event&, FSM& fsm, int) {
    fsm.refused = true;
  }
  bool refused = false;
};

using Machine = msm::back::state_machine<Lifecycle>;

template <class E>
std::optional<RunStatus> drive(RunStatus from, const E& event) {
  Machine m;
  m.start();
  if (from == RunStatus::running || from == RunStatus::completed) m.process_event(Begin{});
  if (from == RunStatus::completed) m.process_event(Complete{Outcome::succeeded});
  m.refused = false;
  // A guard that rejects does not reach no_transition: MSM reports it in the result.
  auto handled = m.process_event(event);
  if (m.refused || handled != msm::back::HANDLED_TRUE) return std::nullopt;
  switch (m.current_state()[0]) {
    case 0: return RunStatus::queued;
    case 1: return RunStatus::running;
    default: return RunStatus::completed;
  }
}

}  // namespace

std::optional<RunStatus> run_transition(RunStatus from, RunInput input, Outcome outcome) {
  switch (input) {
    case RunInput::begin: return drive(from, Begin{});
    case RunInput::progress: return drive(from, Progress{});
    case RunInput::complete: return drive(from, Complete{outcome});
  }
  return std::nullopt;
}

}  // namespace opsledger
