// The checksum in a stored snapshot's header, over the archive bytes that follow it.
//
// Format 3, what the engine writes, uses XXH3-128 (libxxhash): the checksum is there to
// catch damage, and the snapshot's state is proven anyway by its SHA-256 state digest,
// which the loader recomputes from the restored rows. Format 1 (still read) used SHA-256
// of the archive as well: a second cryptographic pass over every byte, at 1.8 GB/s here,
// where XXH3 hashed 600 MiB at 18 GB/s (docs/benchmarks.md, the fifteenth session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace opsledger {

// The stored value's format_version field: 1 and 3 are single values (their checksums
// differ); 2 is a manifest of pieces (snapshot.h), whose pieces make a value of format 1
// or 3.
inline constexpr std::uint32_t kSnapshotFormatSha256 = 1;
inline constexpr std::uint32_t kSnapshotFormatXxh3 = 3;
// The format encode_snapshot writes.
inline constexpr std::uint32_t kSnapshotFormatVersion = kSnapshotFormatXxh3;

// The checksum's size in bytes for a single-value format, or nullopt for any other.
std::optional<std::size_t> snapshot_checksum_size(std::uint32_t format);

class SnapshotChecksum {
 public:
  // `format` must be one snapshot_checksum_size knows (else std::invalid_argument).
  explicit SnapshotChecksum(std::uint32_t format);
  ~SnapshotChecksum();
  SnapshotChecksum(const SnapshotChecksum&) = delete;
  SnapshotChecksum& operator=(const SnapshotChecksum&) = delete;

  void update(std::string_view bytes);
  // The raw checksum bytes (32 for format 1, 16 for format 3, XXH3-128 in its canonical
  // big-endian form).
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The checksum of `archive` under `format` (tests, and forged values in the fuzz target).
std::string snapshot_checksum(std::uint32_t format, std::string_view archive);

}  // namespace opsledger
