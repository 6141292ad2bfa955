// The state digest fed row by row (projections/state_digest.h) equals the digest of the
// store, and snapshot loading, which uses it, still refuses a state that does not hash to
// its recorded digest.
#include <catch2/catch.hpp>

#include "events/bytes.h"
#include "events/sha256.h"
#include "projections/memory_store.h"
#include "projections/records.h"
#include "projections/state_digest.h"
#include "snapshots/snapshot.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;

namespace {
// A value of the format the engine writes: magic, format_version, a 16-byte checksum.
constexpr std::size_t kHeader = 8 + 4 + 16;


MemoryStore sample_state() {
  MemoryStore s;
  save_u64(s, Table::meta, kMetaLastSeq, 3);
  s.put(Table::workspaces, key_id(1), "Contoso");
  s.put(Table::workspaces, key_id(2), "Fabrikam");
  s.put(Table::runs, key_id(9), std::string(300, 'r'));
  s.put(Table::run_last_touch, key_id(9), be64(3));
  s.put(Table::run_state, key_id(9), be64(4));
  return s;
}
}  // namespace

TEST_CASE("the digest fed row by row equals the digest of the store", "[snapshot][digest]") {
  MemoryStore s = sample_state();
  StateDigester d;
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    if (s.table(t).empty()) continue;  // skipped tables are framed as empty ones
    REQUIRE(d.begin_table(t));
    s.table(t).for_each([&](std::string_view k, std::string_view v) { d.row(k, v); });
  }
  CHECK(d.finish() == state_digest(s));
  // A different row gives a different digest.
  StateDigester other;
  REQUIRE(other.begin_table(Table::workspaces));
  other.row(key_id(1), "Contoso");
  CHECK(other.finish() != state_digest(s));
  // Tables must come in Table order.
  StateDigester backwards;
  REQUIRE(backwards.begin_table(Table::runs));
  CHECK_FALSE(backwards.begin_table(Table::workspaces));
  CHECK_FALSE(backwards.begin_table(Table::runs));
}

TEST_CASE("the digest is SHA-256 of the framed tables, however many rows and however large", "[snapshot][digest]") {
  // The framing of state_digest.h, built here in one string and hashed at once: the
  // digester hashes its framed rows in blocks, and the blocks' edges must not show.
  MemoryStore s;
  for (std::uint64_t i = 1; i <= 3000; ++i)
    s.put(Table::runs, key_id(i), std::string(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26)));
  s.put(Table::workspaces, key_id(7), std::string(100000, 'w'));  // larger than a block
  s.put(Table::run_last_touch, key_id(1), be64(9));
  std::string framed;
  ByteWriter w(framed);
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    w.str(table_name(t));
    s.table(t).for_each([&](std::string_view k, std::string_view v) {
      w.str(k);
      w.u32(static_cast<std::uint32_t>(v.size()));
      w.raw(v);
    });
  }
  REQUIRE(framed.size() > 200000);
  CHECK(state_digest(s) == sha256(framed));
}

TEST_CASE("a snapshot whose recorded digest is not its state's is refused", "[snapshot][digest]") {
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string problem;
  auto good = decode_snapshot(3, encode_snapshot(3, chain, state_digest(s), s), problem);
  REQUIRE(good);
  CHECK(good->state == s);
  CHECK(good->digest == state_digest(s));
  std::string wrong = state_digest(s);
  wrong[0] = static_cast<char>(wrong[0] ^ 1);
  CHECK_FALSE(decode_snapshot(3, encode_snapshot(3, chain, wrong, s), problem));
  CHECK(problem == "restored state does not hash to the recorded digest");
}

TEST_CASE("a snapshot whose last row runs past the archive's end is refused, checksum or not", "[snapshot][digest]") {
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  // The archive ends with run_state's row (an 8-byte value) and the table's end flag.
  // Cut the flag and half the value, then give the shorter archive a correct checksum, so
  // that the decoder, not the checksum, meets the short row.
  std::string archive = bytes.substr(kHeader, bytes.size() - kHeader - 5);
  std::string forged = sealed_snapshot(kSnapshotFormatVersion, archive);
  std::string problem;
  CHECK_FALSE(decode_snapshot(3, forged, problem));
  CHECK(problem == "does not decode: record runs past the end of the archive");
  // The same bytes under the original checksum are refused for the checksum.
  CHECK_FALSE(decode_snapshot(3, bytes.substr(0, kHeader) + archive, problem));
  CHECK(problem.find("checksum") != std::string::npos);
}

TEST_CASE("a snapshot whose tables come out of Table order still loads, hashed after the load", "[snapshot][digest]") {
  // The loader hashes finished tables on a second thread only while they come in Table
  // order; here two empty tables of equal name length trade places, which leaves the
  // state as it was, and the digest must still be checked (on the restored state).
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::string archive = bytes.substr(kHeader);
  auto at_a = archive.find("memberships"), at_b = archive.find("run_touches");
  REQUIRE(at_a != std::string::npos);
  REQUIRE(at_b != std::string::npos);
  REQUIRE(at_a < at_b);
  archive.replace(at_a, 11, "run_touches");
  archive.replace(at_b, 11, "memberships");
  std::string problem;
  auto loaded = decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, archive), problem);
  REQUIRE(loaded);
  CHECK(problem.empty());
  CHECK(loaded->state == s);
  // An empty table listed twice (run_touches renamed memberships) also loads.
  std::string twice = bytes.substr(kHeader);
  twice.replace(twice.find("run_touches"), 11, "memberships");
  auto loaded_twice = decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, twice), problem);
  REQUIRE(loaded_twice);
  CHECK(loaded_twice->state == s);
  // The same trade with a row in one of them moves the row: refused by the digest.
  MemoryStore moved = sample_state();
  moved.put(Table::run_touches, key_ids(3, 9), be64(0));
  std::string moved_bytes = encode_snapshot(3, chain, state_digest(moved), moved);
  std::string moved_archive = moved_bytes.substr(kHeader);
  at_a = moved_archive.find("memberships");
  at_b = moved_archive.find("run_touches");
  moved_archive.replace(at_a, 11, "run_touches");
  moved_archive.replace(at_b, 11, "memberships");
  CHECK_FALSE(decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, moved_archive), problem));
  CHECK(problem == "restored state does not hash to the recorded digest");
}

namespace {
// `bytes` cut into ranges of the given sizes, in turn (the last range takes what is left).
std::vector<std::string_view> cut(std::string_view bytes, const std::vector<std::size_t>& sizes) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; !bytes.empty(); ++i) {
    std::size_t n = std::min(sizes[i % sizes.size()], bytes.size());
    parts.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return parts;
}
}  // namespace

TEST_CASE("a value read in pieces cut anywhere decodes as the whole value does", "[snapshot][digest][pieces]") {
  // Format 2's pieces are decoded where they lie; a cut may fall in the header, in a
  // length, or in a row's key or value (which is then copied out).
  MemoryStore s = sample_state();
  s.put(Table::runs, key_id(10), std::string(5000, 'x'));  // a value longer than most pieces below
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::vector<std::vector<std::size_t>> patterns = {{1}, {2}, {3}, {7}, {12}, {13}, {27}, {28}, {29}, {64}, {1000}, {4999},
                                                    {1, 50, 2, 300, 5}, {bytes.size() - 1}, {bytes.size()}};
  for (const auto& sizes : patterns) {
    auto parts = cut(bytes, sizes);
    INFO("first piece size " << sizes.front() << ", " << parts.size() << " pieces");
    std::string problem;
    auto loaded = decode_snapshot(3, parts, problem);
    REQUIRE(loaded);
    CHECK(problem.empty());
    CHECK(loaded->state == s);
    CHECK(loaded->digest == state_digest(s));
    CHECK(loaded->chain_hash == chain);
  }
  // Empty ranges between pieces change nothing.
  auto parts = cut(bytes, {10});
  parts.insert(parts.begin() + 3, std::string_view());
  parts.push_back(std::string_view());
  std::string problem;
  auto loaded = decode_snapshot(3, parts, problem);
  REQUIRE(loaded);
  CHECK(loaded->state == s);
}

TEST_CASE("a value in pieces that is damaged or cut short is refused as the whole value is",
          "[snapshot][digest][pieces]") {
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::string problem;
  // A flipped byte in a late piece: the checksum.
  std::string damaged = bytes;
  damaged[damaged.size() - 20] = static_cast<char>(damaged[damaged.size() - 20] ^ 0x40);
  CHECK_FALSE(decode_snapshot(3, cut(damaged, {7}), problem));
  CHECK(problem == "checksum does not match (the snapshot is damaged)");
  // Cut short under a correct checksum: the last row runs past the end, in pieces as whole.
  std::string archive = bytes.substr(kHeader, bytes.size() - kHeader - 5);
  std::string forged = sealed_snapshot(kSnapshotFormatVersion, archive);
  for (std::size_t size : {1, 3, 9, 100}) {
    CHECK_FALSE(decode_snapshot(3, cut(forged, {size}), problem));
    CHECK(problem == "does not decode: record runs past the end of the archive");
  }
  // Shorter than a header, in pieces.
  CHECK_FALSE(decode_snapshot(3, cut(std::string_view(bytes).substr(0, kHeader - 1), {5}), problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
  CHECK_FALSE(decode_snapshot(3, std::vector<std::string_view>{}, problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
}

TEST_CASE("a large snapshot is hashed leaf by leaf as it loads, and a row changed under a correct checksum is caught",
          "[snapshot][digest]") {
  // Tables of many leaves (the loader hands the digest thread each leaf it has left
  // behind): the loaded state hashes to its digest, and a forged archive with one value's
  // byte changed, under a correct checksum, is refused by the digest — in the first leaf,
  // in the middle and in the last leaf of a table.
  MemoryStore s;
  save_u64(s, Table::meta, kMetaLastSeq, 3);
  for (std::uint64_t i = 1; i <= 20000; ++i) {
    s.put(Table::runs, key_id(i), std::string(40 + i % 60, static_cast<char>('a' + i % 26)));
    s.put(Table::run_touches, key_ids(i, i), be64(i - 1));
  }
  s.put(Table::workspaces, key_id(1), std::string(9000, 'w'));  // a row larger than a leaf
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::string problem;
  auto loaded = decode_snapshot(3, bytes, problem);
  REQUIRE(loaded);
  CHECK(loaded->state == s);
  CHECK(state_digest(loaded->state) == loaded->digest);
  std::string archive = bytes.substr(kHeader);
  for (std::uint64_t run : {std::uint64_t{1}, std::uint64_t{10000}, std::uint64_t{20000}}) {
    // The row as the archive holds it: key length 8, the key, the value's length.
    CAPTURE(run);
    std::string row;
    ByteWriter w(row);
    w.u64(8);
    w.raw(key_id(run));
    w.u64(40 + run % 60);
    std::size_t at = archive.find(row);
    REQUIRE(at != std::string::npos);
    std::string forged = archive;
    forged[at + row.size() + 5] = '#';
    CHECK_FALSE(decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, forged), problem));
    CHECK(problem == "restored state does not hash to the recorded digest");
  }
}
