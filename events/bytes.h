// Little binary writer/reader used by the envelope and the projection records: fixed-width
// little-endian integers, u32-length-prefixed strings, and big-endian u64 for LMDB keys so
// that byte order equals numeric order. The reader never reads past its input: every
// accessor throws DecodeError on a short or malformed buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace opsledger {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void u16(std::uint16_t v) { fixed(v); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void raw(std::string_view s) { out_.append(s.data(), s.size()); }

 private:
  template <class T>
  void fixed(T v) {
    char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(b, sizeof(T));
  }
  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  bool boolean() {
    auto v = u8();
    if (v > 1) throw DecodeError("bad boolean");
    return v == 1;
  }
  std::uint16_t u16() { return fixed<std::uint16_t>(); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  std::string str() { return std::string(str_view()); }
  std::string_view str_view() { return take(u32()); }
  std::string_view raw(std::size_t n) { return take(n); }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  void expect_end() const {
    if (pos_ != in_.size()) throw DecodeError("trailing bytes");
  }

 private:
  std::string_view take(std::size_t n) {
    if (n > in_.size() - pos_) throw DecodeError("truncated");
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <class T>
  T fixed() {
    auto s = take(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(s[i])) << (8 * i);
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

// Big-endian u64, for LMDB keys: byte order equals numeric order.
inline void store_be64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
}
inline void put_be64(std::string& out, std::uint64_t v) {
  char b[8];
  store_be64(b, v);
  out.append(b, 8);
}
inline std::string be64(std::uint64_t v) {
  std::string s;
  put_be64(s, v);
  return s;
}
inline std::uint64_t get_be64(std::string_view s, std::size_t at = 0) {
  if (s.size() < at + 8) throw DecodeError("short key");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace opsledger
