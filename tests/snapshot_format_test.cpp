// Snapshot value formats (snapshots/snapshot.h, snapshots/snapshot_checksum.h): the engine
// writes format 3 (an XXH3-128 checksum); format 1 (a SHA-256 checksum), which earlier
// releases wrote, still loads from its committed bytes, and damage to either is caught.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "projections/memory_store.h"
#include "projections/records.h"
#include "projections/state_digest.h"
#include "snapshots/snapshot.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;

namespace {

// A format-1 value written by the engine before format 3: `opsledger demo`'s snapshot at
// seq 117 (14,449 bytes), taken from its database as stored. It cannot be written again
// (the engine writes format 3 only). Its recorded digest frames the tables of projection
// layout 3, which layout 4 changed (a run's state moved to the new `run_state` table): the
// engine now skips it as it skips every snapshot of an older layout, with "restored state
// does not hash to the recorded digest" — the last check, made after the header, the
// SHA-256 checksum and the archive's decoding have all held.
const std::string kGoldenFormat1 = std::string(OPSLEDGER_SOURCE_DIR) + "/tests/golden/snapshot_format1.bin";
constexpr std::uint64_t kGoldenSeq = 117;
constexpr std::size_t kFormat1Header = 8 + 4 + 32;
constexpr std::size_t kFormat3Header = 8 + 4 + 16;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint32_t format_of(std::string_view value) { return ByteReader(value.substr(8, 4)).u32(); }


MemoryStore small_state() {
  MemoryStore s;
  save_u64(s, Table::meta, kMetaLastSeq, 5);
  s.put(Table::workspaces, key_id(1), "Contoso");
  s.put(Table::runs, key_id(4), std::string(200, 'r'));
  return s;
}

}  // namespace

TEST_CASE("XXH3-128 is the one libxxhash publishes, in canonical byte order", "[snapshot][format]") {
  // The published answer for empty input (seed 0): high 64 bits first.
  CHECK(to_hex(snapshot_checksum(kSnapshotFormatXxh3, "")) == "99aa06d3014798d86001c324468d497f");
  CHECK(snapshot_checksum(kSnapshotFormatSha256, "abc") == sha256("abc"));
  CHECK(snapshot_checksum_size(kSnapshotFormatXxh3) == 16u);
  CHECK(snapshot_checksum_size(kSnapshotFormatSha256) == 32u);
  CHECK_FALSE(snapshot_checksum_size(kSnapshotPiecesVersion));  // a manifest, not a value
  CHECK_FALSE(snapshot_checksum_size(4));
  CHECK_THROWS_AS(SnapshotChecksum(0), std::invalid_argument);
  // Fed in parts or whole, the same checksum.
  SnapshotChecksum parts(kSnapshotFormatXxh3);
  parts.update("opsl");
  parts.update("");
  parts.update("edger");
  CHECK(parts.finish() == snapshot_checksum(kSnapshotFormatXxh3, "opsledger"));
}

TEST_CASE("the engine writes format 3: XXH3-128 of the archive after a 28-byte header", "[snapshot][format]") {
  MemoryStore s = small_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(5, chain, state_digest(s), s);
  REQUIRE(bytes.size() > kFormat3Header);
  CHECK(bytes.substr(0, 8) == "OPSLSNAP");
  CHECK(format_of(bytes) == kSnapshotFormatXxh3);
  CHECK(kSnapshotFormatVersion == kSnapshotFormatXxh3);
  std::string_view archive = std::string_view(bytes).substr(kFormat3Header);
  CHECK(bytes.substr(12, 16) == snapshot_checksum(kSnapshotFormatXxh3, archive));
  CHECK(archive.substr(8, 22) == "serialization::archive");  // Boost's header follows at once
  std::string problem;
  auto loaded = decode_snapshot(5, bytes, problem);
  REQUIRE(loaded);
  CHECK(loaded->state == s);
  // Any flipped byte of the checksum or the archive is caught.
  for (std::size_t at : {std::size_t{12}, std::size_t{27}, kFormat3Header, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(at);
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    CHECK_FALSE(decode_snapshot(5, damaged, problem));
    CHECK(problem == "checksum does not match (the snapshot is damaged)");
  }
  // Cut inside its checksum: too short to be a snapshot.
  CHECK_FALSE(decode_snapshot(5, bytes.substr(0, kFormat3Header - 1), problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
}

TEST_CASE("a format-1 snapshot written before format 3 is still read, and its damage is still caught",
          "[snapshot][format][golden]") {
  std::string golden = read_file(kGoldenFormat1);
  REQUIRE(golden.size() == 14449);
  REQUIRE(format_of(golden) == kSnapshotFormatSha256);
  const std::string older_layout = "restored state does not hash to the recorded digest";
  std::string problem;
  CHECK_FALSE(decode_snapshot(kGoldenSeq, golden, problem));
  CHECK(problem == older_layout);
  // Read in pieces (format 2's loading): cut after every byte of its header and of the
  // archive's start, and then in a piece of the rest.
  for (std::size_t cut = 1; cut <= kFormat1Header + 64; ++cut) {
    CAPTURE(cut);
    std::vector<std::string_view> pieces = {std::string_view(golden).substr(0, cut),
                                            std::string_view(golden).substr(cut, 5000),
                                            std::string_view(golden).substr(cut + 5000)};
    CHECK_FALSE(decode_snapshot(kGoldenSeq, pieces, problem));
    CHECK(problem == older_layout);
  }
  // Its SHA-256 checksum still guards it.
  for (std::size_t at : {std::size_t{12}, std::size_t{43}, kFormat1Header, golden.size() - 1}) {
    CAPTURE(at);
    std::string damaged = golden;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    CHECK_FALSE(decode_snapshot(kGoldenSeq, damaged, problem));
    CHECK(problem == "checksum does not match (the snapshot is damaged)");
  }
  CHECK_FALSE(decode_snapshot(kGoldenSeq, golden.substr(0, kFormat1Header - 1), problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
  // The archive is the same in both formats: under a format-3 header it is read as far.
  std::string_view archive = std::string_view(golden).substr(kFormat1Header);
  CHECK_FALSE(decode_snapshot(kGoldenSeq, sealed_snapshot(kSnapshotFormatXxh3, archive), problem));
  CHECK(problem == older_layout);
  // A format-3 checksum under a format-1 header is damage: the header then holds 16 bytes
  // of checksum and 16 of the archive where the SHA-256 should be.
  std::string mixed = golden.substr(0, 12) + snapshot_checksum(kSnapshotFormatXxh3, archive) + std::string(archive);
  CHECK_FALSE(decode_snapshot(kGoldenSeq, mixed, problem));
  CHECK(problem == "checksum does not match (the snapshot is damaged)");
  // And the reverse: a SHA-256 under a format-3 header, whose checksum is its first 16
  // bytes, the rest read as the archive's start.
  std::string three = sealed_snapshot(kSnapshotFormatXxh3, archive);
  std::string reverse = three.substr(0, 12) + snapshot_checksum(kSnapshotFormatSha256, archive) + std::string(archive);
  CHECK_FALSE(decode_snapshot(kGoldenSeq, reverse, problem));
  CHECK(problem == "checksum does not match (the snapshot is damaged)");
}

TEST_CASE("a value of a format the reader does not know is skipped by name", "[snapshot][format]") {
  MemoryStore s = small_state();
  std::string bytes = encode_snapshot(5, std::string(32, 'c'), state_digest(s), s);
  std::string problem;
  for (std::uint32_t version : {0u, 2u, 4u, 99u}) {
    CAPTURE(version);
    std::string other = bytes;
    std::string field;
    ByteWriter(field).u32(version);
    other.replace(8, 4, field);
    CHECK_FALSE(decode_snapshot(5, other, problem));
    CHECK(problem == "unknown snapshot format version " + std::to_string(version));
  }
}
