// A start command read and checked as far as that needs no state: every field, the
// context's canonical JSON and its checks, and which key no reader took. The dispatcher
// does this ahead of the batch, on the parsing thread (engine/dispatch.h); decide_start
// then reports the faults in cmd_start's order and decides, in the batch.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <optional>
#include <string>

#include "engine/command_context.h"
#include "engine/fields.h"
#include "events/domain.h"

namespace opsledger {

// The context's keys that name ids (SPEC section 6): what identity fields may name, with
// scheduled_for.
inline constexpr std::array<std::string_view, 6> kContextIdKeys = {
    "provider_connection_id", "backup_schedule_id", "backup_schedule_run_id",
    "backup_set_id",          "policy_id",          "restore_run_id"};

struct StartRequest {
  std::optional<Answer> error;  // the first fault of the fields below (and of request_id)
  std::optional<TimeUs> at;
  Actor actor;
  Id workspace_id = 0;
  std::optional<Id> tenant_id;
  std::string type;
  std::optional<Id> provider_connection_id;
  std::optional<std::string> nonce;
  // Into the command object, whose nodes stay where they are however the command moves.
  const boost::json::object* context = nullptr;
  std::string context_json;             // canonical; set when the fields are sound
  std::optional<Answer> context_error;  // reported once the type is known to exist
  // What identity fields may take from the context, read on the parsing thread so that the
  // decision need not touch the command object (when the context is sound): the ids of
  // kContextIdKeys, in that order, and scheduled_for's minute ("YYYY-MM-DDTHH:MM:00Z").
  std::array<std::optional<Id>, kContextIdKeys.size()> context_ids;
  std::optional<std::string> scheduled_minute;
  std::optional<Answer> unknown_field;  // reported after every other fault
};

// Reads a start's fields through `f`, which has taken `cmd` and `request_id` from `command`.
StartRequest read_start(Fields& f, const boost::json::object& command, bool has_request_id);

// The rest of cmd_start: the faults that need the catalog, idempotency, the decision.
Answer decide_start(CommandContext& ctx, const StartRequest& r);

}  // namespace opsledger
