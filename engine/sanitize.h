// Failure messages are sanitised before they are recorded: bearer tokens, JWT-like
// strings and secret=/password= values are redacted, and the text is capped.
#pragma once

#include <string>
#include <string_view>

namespace opsledger {

inline constexpr std::size_t kFailureMessageBytesMax = 500;
inline constexpr std::string_view kRedacted = "[redacted]";

std::string sanitize_message(std::string_view message);

}  // namespace opsledger
