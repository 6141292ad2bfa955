// SHA-256 through OpenSSL libcrypto, as raw 32 bytes or lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace opsledger {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string finish();  // 32 raw bytes; the object is then reset for reuse

 private:
  void* ctx_;
  bool initialized_ = true;
};

std::string sha256(std::string_view bytes);
// SHA-256 of `a` followed by `b`. Like sha256(bytes), it reuses one hashing context per
// thread: a context's allocation and set-up cost about as much as hashing a short event.
std::string sha256(std::string_view a, std::string_view b);
std::string to_hex(std::string_view bytes);

}  // namespace opsledger
