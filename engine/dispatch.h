// One protocol line → one answer: size, UTF-8 and JSON checks, the command table, the
// request_id and its body digest, then the command's handler.
//
// The work splits in two. parse_line needs no state (size, UTF-8, the JSON parse, the body
// digest, and a start's fields: engine/start_request.h), so it may run on any thread, ahead
// of the batch; execute_parsed runs in the batch's write transaction. execute_line does both.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "engine/command_context.h"
#include "engine/start_request.h"

namespace opsledger {

inline constexpr std::size_t kLineBytesMax = 65536;
inline constexpr std::size_t kJsonDepthMax = 32;

bool valid_utf8(std::string_view s);

// A line as far as it can be taken without the store. Move-construct it, never
// move-assign: assigning a boost::json value copies it into the target's resource.
struct ParsedLine {
  std::optional<Answer> error;  // the line's answer when it is not a JSON object
  boost::json::value command;   // the command object, in a block of its own
  std::string body_digest;      // SHA-256 of its canonical JSON, when it has a request_id
  // A start, read and checked as far as no state is needed, with its request_id (the hot
  // command's field work done on the parsing thread).
  std::optional<StartRequest> start;
  std::string request_id;
};

// The parsed command lives in a block of its own, or in `storage` (a counted resource that
// a batch's lines share).
ParsedLine parse_line(std::string_view line);
ParsedLine parse_line(std::string_view line, boost::json::storage_ptr storage);

// Throws only for storage failures (lmdb::LmdbError) and internal faults; every fault of
// the command itself is an error answer. Leaves `line` as it was, so a batch that runs
// again can execute it again.
Answer execute_parsed(CommandContext& ctx, const ParsedLine& line);

Answer execute_line(CommandContext& ctx, std::string_view line);

}  // namespace opsledger
