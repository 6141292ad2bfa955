#include "events/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace opsledger {

namespace {
// Fetched once: with OpenSSL 3, fetching the algorithm on every init dominates the cost of
// hashing a short message.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) throw std::runtime_error("SHA-256 unavailable in libcrypto");
    return m;
  }();
  return md;
}

EVP_MD_CTX* ctx_of(void* p) { return static_cast<EVP_MD_CTX*>(p); }
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_of(ctx_), sha256_md(), nullptr) != 1)
    throw std::runtime_error("SHA-256 init failed");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_of(ctx_)); }

void Sha256::update(std::string_view bytes) {
  if (!initialized_) {
    EVP_DigestInit_ex(ctx_of(ctx_), sha256_md(), nullptr);
    initialized_ = true;
  }
  EVP_DigestUpdate(ctx_of(ctx_), bytes.data(), bytes.size());
}

std::string Sha256::finish() {
  if (!initialized_) EVP_DigestInit_ex(ctx_of(ctx_), sha256_md(), nullptr);
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_of(ctx_), md, &n);
  initialized_ = false;  // re-initialised lazily by the next update
  return std::string(reinterpret_cast<const char*>(md), 32);
}

namespace {
Sha256& thread_hasher() {
  thread_local Sha256 h;
  return h;
}
}  // namespace

std::string sha256(std::string_view bytes) {
  Sha256& h = thread_hasher();
  h.update(bytes);
  return h.finish();
}

std::string sha256(std::string_view a, std::string_view b) {
  Sha256& h = thread_hasher();
  h.update(a);
  h.update(b);
  return h.finish();
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace opsledger
