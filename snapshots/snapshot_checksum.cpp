#include "snapshots/snapshot_checksum.h"

#include <xxhash.h>

#include <new>
#include <stdexcept>

#include "events/sha256.h"

namespace opsledger {

std::optional<std::size_t> snapshot_checksum_size(std::uint32_t format) {
  if (format == kSnapshotFormatSha256) return 32;
  if (format == kSnapshotFormatXxh3) return sizeof(XXH128_canonical_t);
  return std::nullopt;
}

struct SnapshotChecksum::State {
  struct FreeXxh3 {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::uint32_t format;
  std::optional<Sha256> sha;                     // format 1
  std::unique_ptr<XXH3_state_t, FreeXxh3> xxh3;  // format 3
};

SnapshotChecksum::SnapshotChecksum(std::uint32_t format) : state_(std::make_unique<State>()) {
  if (!snapshot_checksum_size(format)) throw std::invalid_argument("not a single-value snapshot format");
  state_->format = format;
  if (format == kSnapshotFormatSha256) state_->sha.emplace();
  if (format == kSnapshotFormatXxh3) {
    state_->xxh3.reset(XXH3_createState());
    if (!state_->xxh3) throw std::bad_alloc();
    XXH3_128bits_reset(state_->xxh3.get());
  }
}

SnapshotChecksum::~SnapshotChecksum() = default;

void SnapshotChecksum::update(std::string_view bytes) {
  if (state_->format == kSnapshotFormatSha256)
    state_->sha->update(bytes);
  else
    XXH3_128bits_update(state_->xxh3.get(), bytes.data(), bytes.size());
}

std::string SnapshotChecksum::finish() {
  if (state_->format == kSnapshotFormatSha256) return state_->sha->finish();
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh3.get()));
  return std::string(reinterpret_cast<const char*>(canonical.digest), sizeof canonical.digest);
}

std::string snapshot_checksum(std::uint32_t format, std::string_view archive) {
  SnapshotChecksum c(format);
  c.update(archive);
  return c.finish();
}

}  // namespace opsledger
