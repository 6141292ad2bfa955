#include "engine/sanitize.h"

#include <cctype>

namespace opsledger {
namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' ||
         c == '/' || c == '=';
}
bool b64url_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

bool iequals_at(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[at + i])) != word[i]) return false;
  return true;
}

// Length of a JWT-like token (three base64url segments joined by dots) starting at `at`, or 0.
std::size_t jwt_length(std::string_view s, std::size_t at) {
  if (!iequals_at(s, at, "eyj")) return 0;
  std::size_t i = at, segments = 1;
  while (i < s.size() && (b64url_char(s[i]) || s[i] == '.')) {
    if (s[i] == '.') ++segments;
    ++i;
  }
  return segments >= 3 ? i - at : 0;
}

// Cuts to at most `max` bytes without splitting a UTF-8 sequence.
void cap_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "…";
}

}  // namespace

std::string sanitize_message(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (iequals_at(in, i, "bearer ") ) {
      out.append(in.substr(i, 7));
      i += 7;
      std::size_t j = i;
      while (j < in.size() && token_char(in[j])) ++j;
      if (j > i) {
        out += kRedacted;
        i = j;
      }
      continue;
    }
    if (std::size_t n = jwt_length(in, i); n > 0 && (i == 0 || !b64url_char(in[i - 1]))) {
      out += kRedacted;
      i += n;
      continue;
    }
    bool secret = iequals_at(in, i, "secret=");
    bool password = iequals_at(in, i, "password=");
    if ((secret || password) && (i == 0 || !std::isalnum(static_cast<unsigned char>(in[i - 1])))) {
      std::size_t key_len = secret ? 7 : 9;
      out.append(in.substr(i, key_len));
      i += key_len;
      std::size_t j = i;
      while (j < in.size() && !std::isspace(static_cast<unsigned char>(in[j])) && in[j] != '&' && in[j] != ';' &&
             in[j] != ',')
        ++j;
      out += kRedacted;
      i = j;
      continue;
    }
    out.push_back(in[i++]);
  }
  cap_utf8(out, kFailureMessageBytesMax);
  return out;
}

}  // namespace opsledger
