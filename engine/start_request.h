// A start command read and checked as far as that needs no state: every field, the
// context's canonical JSON and its checks, and which key no reader took. The dispatcher
// does this ahead of the batch, on the parsing thread (engine/dispatch.h); decide_start
// then reports the faults in cmd_start's order and decides, in the batch.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "engine/command_context.h"
#include "engine/fields.h"
#include "events/domain.h"

namespace opsledger {

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
  std::optional<Answer> unknown_field;  // reported after every other fault
};

// Reads a start's fields through `f`, which has taken `cmd` and `request_id` from `command`.
StartRequest read_start(Fields& f, const boost::json::object& command, bool has_request_id);

// The rest of cmd_start: the faults that need the catalog, idempotency, the decision.
Answer decide_start(CommandContext& ctx, const StartRequest& r);

}  // namespace opsledger
