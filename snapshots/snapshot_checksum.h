// The checksum in a stored snapshot's header, over the archive bytes that follow it:
// XXH3-128 (libxxhash) in its canonical big-endian form. It is there to catch damage; the
// snapshot's state is proven by its SHA-256 state digest, which the loader recomputes
// (snapshots/snapshot.h). Formats 1 (0.3.0) and 3 had a SHA-256 and this checksum
// respectively over an older archive; neither is read any more (docs/audit.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace opsledger {

// The stored value's format_version field for a single value (snapshot.h); 2 is a manifest
// of pieces, whose pieces make a single value.
inline constexpr std::uint32_t kSnapshotFormatVersion = 4;
// The checksum's size in bytes.
inline constexpr std::size_t kSnapshotChecksumBytes = 16;

class SnapshotChecksum {
 public:
  SnapshotChecksum();
  ~SnapshotChecksum();
  SnapshotChecksum(const SnapshotChecksum&) = delete;
  SnapshotChecksum& operator=(const SnapshotChecksum&) = delete;

  void update(std::string_view bytes);
  // The kSnapshotChecksumBytes raw checksum bytes.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The checksum of `archive` (tests, and forged values in the fuzz target).
std::string snapshot_checksum(std::string_view archive);

}  // namespace opsledger
