// One protocol line → one answer: size, UTF-8 and JSON checks, the command table, the
// request_id and its body digest, then the command's handler.
#pragma once

#include <string_view>

#include "engine/command_context.h"

namespace opsledger {

inline constexpr std::size_t kLineBytesMax = 65536;
inline constexpr std::size_t kJsonDepthMax = 32;

bool valid_utf8(std::string_view s);

// Throws only for storage failures (lmdb::LmdbError) and internal faults; every fault of
// the command itself is an error answer.
Answer execute_line(CommandContext& ctx, std::string_view line);

}  // namespace opsledger
