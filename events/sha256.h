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
std::string to_hex(std::string_view bytes);

}  // namespace opsledger
