// Snapshot value formats (snapshots/snapshot.h, snapshots/snapshot_checksum.h): the engine
// writes format 4 (an XXH3-128 checksum; each table's rows framed as the state digest
// frames them); formats 1 (0.3.0) and 3, whose archives framed rows otherwise, are skipped
// by name, and damage is caught.
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

// A format-1 value written by 0.3.0: `opsledger demo`'s snapshot at seq 117 (14,449
// bytes), taken from its database as stored. Its state is of projection layout 3 (which
// layout 4's upgrade rebuilds, dropping every snapshot) and its archive frames rows as
// format 4 does not: the engine skips it by name.
const std::string kGoldenFormat1 = std::string(OPSLEDGER_SOURCE_DIR) + "/tests/golden/snapshot_format1.bin";
constexpr std::uint64_t kGoldenSeq = 117;
constexpr std::size_t kFormat1Header = 8 + 4 + 32;
constexpr std::size_t kHeader = 8 + 4 + 16;

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
  CHECK(to_hex(snapshot_checksum("")) == "99aa06d3014798d86001c324468d497f");
  CHECK(kSnapshotChecksumBytes == 16u);
  // Fed in parts or whole, the same checksum.
  SnapshotChecksum parts;
  parts.update("opsl");
  parts.update("");
  parts.update("edger");
  CHECK(parts.finish() == snapshot_checksum("opsledger"));
}

TEST_CASE("the engine writes format 4: XXH3-128 of the archive after a 28-byte header, rows framed as the digest's",
          "[snapshot][format]") {
  MemoryStore s = small_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(5, chain, state_digest(s), s);
  REQUIRE(bytes.size() > kHeader);
  CHECK(bytes.substr(0, 8) == "OPSLSNAP");
  CHECK(format_of(bytes) == 4u);
  CHECK(kSnapshotFormatVersion == 4u);
  std::string_view archive = std::string_view(bytes).substr(kHeader);
  CHECK(bytes.substr(12, 16) == snapshot_checksum(archive));
  CHECK(archive.substr(8, 22) == "serialization::archive");  // Boost's header follows at once
  // Each table: its name, its rows' byte count, its rows as frame_row frames them; an empty
  // table has a count of 0.
  std::string runs_row;
  frame_row(runs_row, key_id(4), std::string(200, 'r'));
  CHECK(archive.find(le64(4) + "runs" + le64(runs_row.size()) + runs_row) != std::string_view::npos);
  CHECK(archive.find(le64(7) + "tenants" + le64(0) + le64(11) + "memberships" + le64(0)) != std::string_view::npos);
  // The digest field holds the state's digest.
  CHECK(archive.find(le64(32) + chain + le64(32) + state_digest(s)) != std::string_view::npos);
  std::string problem;
  auto loaded = decode_snapshot(5, bytes, problem);
  REQUIRE(loaded);
  CHECK(loaded->state == s);
  // Any flipped byte of the checksum or the archive is caught.
  for (std::size_t at : {std::size_t{12}, std::size_t{27}, kHeader, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(at);
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    CHECK_FALSE(decode_snapshot(5, damaged, problem));
    CHECK(problem == "checksum does not match (the snapshot is damaged)");
  }
  // Cut inside its checksum: too short to be a snapshot.
  CHECK_FALSE(decode_snapshot(5, bytes.substr(0, kHeader - 1), problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
}

TEST_CASE("a format-1 snapshot of 0.3.0 and a format-3 one are skipped by name", "[snapshot][format][golden]") {
  std::string golden = read_file(kGoldenFormat1);
  REQUIRE(golden.size() == 14449);
  REQUIRE(format_of(golden) == 1u);
  std::string problem;
  CHECK_FALSE(decode_snapshot(kGoldenSeq, golden, problem));
  CHECK(problem == "snapshot format 1 is no longer read (written before format 4)");
  // Read in pieces (format 2's loading): cut after every byte of its header.
  for (std::size_t cut = 1; cut <= kFormat1Header; ++cut) {
    CAPTURE(cut);
    std::vector<std::string_view> pieces = {std::string_view(golden).substr(0, cut),
                                            std::string_view(golden).substr(cut)};
    CHECK_FALSE(decode_snapshot(kGoldenSeq, pieces, problem));
    CHECK(problem == "snapshot format 1 is no longer read (written before format 4)");
  }
  // Its archive under a format-3 header, and under a format-4 one (a forger's: its
  // archive's class version is 1, whose rows are framed otherwise).
  std::string_view archive = std::string_view(golden).substr(kFormat1Header);
  CHECK_FALSE(decode_snapshot(kGoldenSeq, sealed_snapshot(3, archive), problem));
  CHECK(problem == "snapshot format 3 is no longer read (written before format 4)");
  CHECK_FALSE(decode_snapshot(kGoldenSeq, sealed_snapshot(kSnapshotFormatVersion, archive), problem));
  CHECK(problem == "does not decode: unknown snapshot image version 1");
}

TEST_CASE("a value of a format the reader does not know is skipped by name", "[snapshot][format]") {
  MemoryStore s = small_state();
  std::string bytes = encode_snapshot(5, std::string(32, 'c'), state_digest(s), s);
  std::string problem;
  for (std::uint32_t version : {0u, 2u, 5u, 99u}) {
    CAPTURE(version);
    std::string other = bytes;
    std::string field;
    ByteWriter(field).u32(version);
    other.replace(8, 4, field);
    CHECK_FALSE(decode_snapshot(5, other, problem));
    CHECK(problem == "unknown snapshot format version " + std::to_string(version));
  }
}
