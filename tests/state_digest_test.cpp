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

TEST_CASE("rows fed framed, cut anywhere, give the digest of rows fed one by one", "[snapshot][digest]") {
  // A snapshot's loader feeds the digester each table's rows as they lie in the archive
  // (framed by frame_row), in slices that may cut a row.
  MemoryStore s;
  for (std::uint64_t i = 1; i <= 3000; ++i)
    s.put(Table::runs, key_id(i), std::string(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26)));
  s.put(Table::workspaces, key_id(7), std::string(100000, 'w'));  // more than the digester holds back
  save_u64(s, Table::meta, kMetaLastSeq, 3);
  for (std::size_t slice : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{40000}, std::size_t{1} << 20}) {
    CAPTURE(slice);
    StateDigester d;
    for (std::size_t i = 0; i < kTableCount; ++i) {
      auto t = static_cast<Table>(i);
      REQUIRE(d.begin_table(t));
      std::string rows;
      s.table(t).for_each([&](std::string_view k, std::string_view v) { frame_row(rows, k, v); });
      for (std::size_t at = 0; at < rows.size(); at += slice) d.framed(std::string_view(rows).substr(at, slice));
    }
    CHECK(d.finish() == state_digest(s));
  }
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
  // The archive ends with run_state's rows (one row, its value 8 bytes). Cut 5 bytes of
  // it, then give the shorter archive a correct checksum, so that the decoder, not the
  // checksum, meets the short table.
  std::string archive = bytes.substr(kHeader, bytes.size() - kHeader - 5);
  std::string forged = sealed_snapshot(kSnapshotFormatVersion, archive);
  std::string problem;
  CHECK_FALSE(decode_snapshot(3, forged, problem));
  CHECK(problem == "does not decode: the rows of run_state run past the end of the archive");
  // The same bytes under the original checksum are refused for the checksum.
  CHECK_FALSE(decode_snapshot(3, bytes.substr(0, kHeader) + archive, problem));
  CHECK(problem.find("checksum") != std::string::npos);
}

TEST_CASE("a snapshot whose tables come out of Table order, or twice, is refused", "[snapshot][digest]") {
  // The digest is hashed over the tables as the archive lists them, so only Table order
  // gives the state's digest: the loader refuses any other order, even where it would
  // leave the state as it was (here two empty tables of equal name length trade places).
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::string archive = bytes.substr(kHeader);
  auto at_a = archive.find("memberships"), at_b = archive.find("run_touches");
  REQUIRE(at_a != std::string::npos);
  REQUIRE(at_b != std::string::npos);
  REQUIRE(at_a < at_b);
  std::string swapped = archive;
  swapped.replace(at_a, 11, "run_touches");
  swapped.replace(at_b, 11, "memberships");
  std::string problem;
  CHECK_FALSE(decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, swapped), problem));
  // The table after memberships' place comes before run_touches in Table order.
  CHECK(problem == "does not decode: table connections is out of Table order or repeated");
  // An empty table listed twice (run_touches renamed memberships).
  std::string twice = archive;
  twice.replace(at_b, 11, "memberships");
  CHECK_FALSE(decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, twice), problem));
  CHECK(problem == "does not decode: table memberships is out of Table order or repeated");
  // Unchanged, it loads.
  auto loaded = decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, archive), problem);
  REQUIRE(loaded);
  CHECK(loaded->state == s);
}

TEST_CASE("a snapshot table whose rows do not fill its byte count exactly, or come out of order, is refused",
          "[snapshot][digest]") {
  // Each table's rows are parsed from exactly its byte count: a row may not run past it,
  // and the rows' keys must ascend. Forged under correct checksums, so that the decoder
  // meets them. workspaces holds (1, "Contoso") and (2, "Fabrikam").
  MemoryStore s = sample_state();
  std::string chain(32, 'c');
  std::string bytes = encode_snapshot(3, chain, state_digest(s), s);
  std::string archive = bytes.substr(kHeader);
  std::string first, second;
  frame_row(first, key_id(1), "Contoso");
  frame_row(second, key_id(2), "Fabrikam");
  std::string header = le64(10) + "workspaces" + le64(first.size() + second.size());
  std::size_t at = archive.find(header + first + second);
  REQUIRE(at != std::string::npos);
  std::size_t rows_at = at + header.size();
  std::string problem;
  auto refused = [&](const std::string& forged) {
    return !decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, forged), problem);
  };
  // A byte count one short: the last row runs past the table's end.
  std::string shorter = archive;
  shorter.replace(at + 18, 8, le64(first.size() + second.size() - 1));
  CHECK(refused(shorter));
  CHECK(problem == "does not decode: a row of workspaces runs past the table's end");
  // A key length past the table's end.
  std::string longer_key = archive;
  longer_key.replace(rows_at, 4, std::string("\xff\xff\xff\x00", 4));
  CHECK(refused(longer_key));
  CHECK(problem == "does not decode: a row of workspaces runs past the table's end");
  // The two rows traded: the same bytes, keys out of order.
  std::string traded = archive;
  traded.replace(rows_at, first.size() + second.size(), second + first);
  CHECK(refused(traded));
  CHECK(problem == "does not decode: keys out of order in workspaces");
  // The same row twice (the first row written over the second, the byte count to match).
  std::string repeated = archive;
  repeated.replace(at + 18, 8 + first.size() + second.size(), le64(2 * first.size()) + first + first);
  CHECK(refused(repeated));
  CHECK(problem == "does not decode: keys out of order in workspaces");
  // A byte count beyond the archive's end.
  std::string beyond = archive;
  beyond.replace(at + 18, 8, le64(archive.size()));
  CHECK(refused(beyond));
  CHECK(problem == "does not decode: the rows of workspaces run past the end of the archive");
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
  // Cut short under a correct checksum: the last table runs past the end, in pieces as
  // whole.
  std::string archive = bytes.substr(kHeader, bytes.size() - kHeader - 5);
  std::string forged = sealed_snapshot(kSnapshotFormatVersion, archive);
  for (std::size_t size : {1, 3, 9, 100}) {
    CHECK_FALSE(decode_snapshot(3, cut(forged, {size}), problem));
    CHECK(problem == "does not decode: the rows of run_state run past the end of the archive");
  }
  // Shorter than a header, in pieces.
  CHECK_FALSE(decode_snapshot(3, cut(std::string_view(bytes).substr(0, kHeader - 1), {5}), problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
  CHECK_FALSE(decode_snapshot(3, std::vector<std::string_view>{}, problem));
  CHECK(problem == "not a snapshot (bad magic or too short)");
}

TEST_CASE("a large snapshot is hashed as it loads, and a row changed under a correct checksum is caught",
          "[snapshot][digest]") {
  // Tables of many leaves and over a MiB of rows (the digest thread hashes a table's rows
  // in slices while the loader parses them): the loaded state hashes to its digest, and a
  // forged archive with one value's byte changed, under a correct checksum, is refused by
  // the digest — at the start, in the middle and at the end of a table.
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
    w.u32(8);
    w.raw(key_id(run));
    w.u32(40 + run % 60);
    std::size_t at = archive.find(row);
    REQUIRE(at != std::string::npos);
    std::string forged = archive;
    forged[at + row.size() + 5] = '#';
    CHECK_FALSE(decode_snapshot(3, sealed_snapshot(kSnapshotFormatVersion, forged), problem));
    CHECK(problem == "restored state does not hash to the recorded digest");
  }
}
