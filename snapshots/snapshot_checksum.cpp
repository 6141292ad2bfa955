#include "snapshots/snapshot_checksum.h"

#include <xxhash.h>

#include <new>

namespace opsledger {

struct SnapshotChecksum::State {
  struct FreeXxh3 {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, FreeXxh3> xxh3;
};

static_assert(sizeof(XXH128_canonical_t) == kSnapshotChecksumBytes);

SnapshotChecksum::SnapshotChecksum() : state_(std::make_unique<State>()) {
  state_->xxh3.reset(XXH3_createState());
  if (!state_->xxh3) throw std::bad_alloc();
  XXH3_128bits_reset(state_->xxh3.get());
}

SnapshotChecksum::~SnapshotChecksum() = default;

void SnapshotChecksum::update(std::string_view bytes) {
  XXH3_128bits_update(state_->xxh3.get(), bytes.data(), bytes.size());
}

std::string SnapshotChecksum::finish() {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh3.get()));
  return std::string(reinterpret_cast<const char*>(canonical.digest), sizeof canonical.digest);
}

std::string snapshot_checksum(std::string_view archive) {
  SnapshotChecksum c;
  c.update(archive);
  return c.finish();
}

}  // namespace opsledger
