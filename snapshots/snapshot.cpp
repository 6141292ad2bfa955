#include "snapshots/snapshot.h"

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/split_member.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/tracking.hpp>
#include <boost/serialization/version.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <streambuf>
#include <system_error>
#include <thread>

#include "engine/event_log.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "projections/apply.h"
#include "projections/state_digest.h"

namespace opsledger::detail {

// A std::streambuf reading a stored value's archive where it lies: one range in memory, or
// the ranges of the pieces it is stored in (format 2), in order, without putting them
// together first (a copy as large as the state: 1.38 GB at 10M events). Boost's binary
// archive reads through sgetn and keeps no buffer of its own, so the loader may also take a
// row's bytes straight from the current range (take) between two archive reads.
class PartsSource : public std::streambuf {
 public:
  explicit PartsSource(const std::vector<std::string_view>& parts) : parts_(parts) {
    for (auto part : parts_) left_after_ += part.size();
    next_part();
  }
  // The next `n` bytes, and moves past them: a view into the current range when they lie
  // in it, else a copy into `scratch` (a row cut by a piece boundary), valid until
  // `scratch` is next used. Throws when fewer are left.
  std::string_view take(std::uint64_t n, std::string& scratch) {
    if (gptr() == egptr() && n > 0) underflow();  // a row that starts a range: a view into it
    auto here = static_cast<std::uint64_t>(egptr() - gptr());
    if (n <= here) {
      std::string_view out(gptr(), static_cast<std::size_t>(n));
      setg(eback(), gptr() + n, egptr());  // not gbump, which takes an int
      return out;
    }
    if (n - here > left_after_) throw std::runtime_error("record runs past the end of the archive");
    scratch.resize(static_cast<std::size_t>(n));
    if (xsgetn(scratch.data(), static_cast<std::streamsize>(n)) != static_cast<std::streamsize>(n))
      throw std::runtime_error("record runs past the end of the archive");
    return scratch;
  }
  // The bytes not read yet.
  std::uint64_t left() const { return static_cast<std::uint64_t>(egptr() - gptr()) + left_after_; }
  // The next `n` bytes (n <= left()) as views of the ranges they lie in, in order, without
  // moving past them.
  std::vector<std::string_view> peek(std::uint64_t n) const {
    std::vector<std::string_view> out;
    std::string_view here(gptr(), static_cast<std::size_t>(egptr() - gptr()));
    for (std::size_t next = next_;; here = parts_[next++]) {
      std::size_t from_here = static_cast<std::size_t>(std::min<std::uint64_t>(n, here.size()));
      if (from_here > 0) out.push_back(here.substr(0, from_here));
      n -= from_here;
      if (n == 0 || next == parts_.size()) return out;
    }
  }

 protected:
  int_type underflow() override {
    while (gptr() == egptr()) {
      if (!next_part()) return traits_type::eof();
    }
    return traits_type::to_int_type(*gptr());
  }

 private:
  // Makes the next range the get area; false when none is left.
  bool next_part() {
    if (next_ == parts_.size()) return false;
    std::string_view part = parts_[next_++];
    left_after_ -= part.size();
    char* p = const_cast<char*>(part.data());
    setg(p, p, p + part.size());
    return true;
  }

  const std::vector<std::string_view>& parts_;
  std::size_t next_ = 0;
  std::uint64_t left_after_ = 0;  // bytes in the ranges after the current one
};

// The restored state's digest, computed on a second thread while the loader goes on. A
// table's rows lie in the archive framed as the digest frames them (frame_row), so the
// digest is a SHA-256 over the tables' names and those bytes as they lie: the loader hands
// over each table, with the ranges of its rows, when it has read the table's header and
// before it parses the rows; `run`, on the other thread, hashes them while the loader
// parses the same bytes into the table. The loader parses every byte of a table's rows as
// rows, in order, and appends each unchanged, so the restored state hashes to what was
// hashed here. Tables come in Table order (the loader refuses any other).
class DigestFeed {
 public:
  // Loader: table `t` begins; its rows are `rows` (views valid until the decode ends).
  void table(Table t, std::vector<std::string_view> rows) { push(Item{t, std::move(rows)}); }
  // Loader: every table is complete.
  void finish() { push(Item{std::nullopt, {}}); }
  // Loader: stop hashing (the load failed). Returns once the other thread reads no range,
  // so that the caller may release them.
  void give_up() {
    std::unique_lock lock(mu_);
    given_up_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hashing_; });
  }
  // The other thread: hashes what the loader hands over, in order; returns once finish()'s
  // mark is reached or the loader gave up. However it ends (what it throws is bad_alloc),
  // it has left the ranges first, so that give_up() never waits for it forever.
  void run() {
    try {
      hash_items();
    } catch (...) {
      leave_ranges();
      throw;
    }
    leave_ranges();
  }
  // After `run` has returned (joined): the digest, or empty when the loader gave up (or
  // `run` threw).
  const std::string& digest() const { return digest_; }

 private:
  // A table's start and rows (table set), or the end (table empty).
  struct Item {
    std::optional<Table> table;
    std::vector<std::string_view> rows;
  };

  void leave_ranges() {
    {
      std::lock_guard lock(mu_);
      hashing_ = false;
    }
    cv_.notify_all();
  }
  void hash_items() {
    StateDigester digester;
    std::vector<Item> taken;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        hashing_ = false;
        cv_.notify_all();
        cv_.wait(lock, [&] { return given_up_ || !items_.empty(); });
        if (given_up_) return;
        taken.swap(items_);  // `taken` was emptied below: items_ is empty again
        hashing_ = true;
      }
      for (const Item& item : taken) {
        if (!item.table) {
          digest_ = digester.finish();  // read by the loader only after joining this thread
          return;
        }
        if (!digester.begin_table(*item.table)) return;  // the loader refuses the order too
        // In slices, so that a loader that gives up waits for one slice, not a table.
        for (std::string_view range : item.rows)
          for (std::size_t at = 0; at < range.size(); at += kSlice) {
            if (given_up_.load(std::memory_order_relaxed)) return;
            digester.framed(range.substr(at, kSlice));
          }
      }
      taken.clear();
    }
  }
  void push(Item item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  static constexpr std::size_t kSlice = std::size_t{1} << 20;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> items_;  // handed over, not yet taken by `run`
  std::atomic<bool> given_up_ = false;
  bool hashing_ = false;  // the other thread is reading ranges
  std::string digest_;
};

// What the archive holds. Saving reads the tables from `source`; loading fills `target`.
struct SnapshotImage {
  std::uint64_t seq = 0;
  std::string chain_hash;
  std::string digest;
  const Store* source = nullptr;
  MemoryStore* target = nullptr;
  std::uint64_t bytes_bound = 0;  // loading: no length may exceed the archive size
  PartsSource* range = nullptr;    // loading: the archive's bytes, for rows read as views
  std::string key_scratch, value_scratch, length_scratch;  // loading: what a piece boundary cuts
  // Loading: handed each table's rows as the loader reaches them, for the digest on the
  // other thread (may be null: the caller then hashes the restored state).
  DigestFeed* feed = nullptr;
  // Saving: the string the archive is written to (its writer keeps no buffer: what is
  // written is there at once), for the tables' byte counts to be filled in after their
  // rows; when `digester` is set, it is fed every table and its rows as they are written,
  // and `written`'s size just after the digest field is recorded in `digest_end`, for the
  // digest to be written there afterwards.
  std::string* written = nullptr;
  StateDigester* digester = nullptr;
  mutable std::size_t digest_end = 0;

  template <class Archive>
  void save(Archive& ar, unsigned /*version*/) const {
    ar << seq << chain_hash << digest;
    digest_end = written->size();
    std::uint32_t tables = kTableCount;
    ar << tables;
    std::string rows;
    for (std::size_t i = 0; i < kTableCount; ++i) {
      auto t = static_cast<Table>(i);
      std::string name(table_name(t));
      ar << name;
      std::uint64_t bytes = 0;  // filled in below
      ar << bytes;
      const std::size_t rows_start = written->size();
      if (digester) digester->begin_table(t);
      auto flush = [&] {
        ar.save_binary(rows.data(), rows.size());
        if (digester) digester->framed(rows);
        rows.clear();
      };
      source->scan(t, {}, [&](std::string_view k, std::string_view v) {
        frame_row(rows, k, v);
        if (rows.size() >= kRowsChunk) flush();
        return true;
      });
      flush();
      bytes = written->size() - rows_start;
      std::memcpy(written->data() + rows_start - sizeof bytes, &bytes, sizeof bytes);  // native, as the archive's
    }
  }

  template <class Archive>
  void load(Archive& ar, unsigned version) {
    if (version != 2) throw std::runtime_error("unknown snapshot image version " + std::to_string(version));
    // Strings are read through read_bytes (same layout as Boost's: u64 length, bytes) so
    // that a length is checked before anything is allocated (found by the snapshot fuzz
    // target: a forged archive asked for a terabyte); a table's rows straight from the
    // ranges the archive lies in (load_rows).
    ar >> seq;
    read_bytes(ar, chain_hash);
    read_bytes(ar, digest);
    std::uint32_t tables = 0;
    ar >> tables;
    if (tables > kTableCount) throw std::runtime_error("implausible table count");
    std::size_t next_table = 0;  // the tables come in Table order: those below it are done
    for (std::uint32_t n = 0; n < tables; ++n) {
      std::string name;
      read_bytes(ar, name);
      std::optional<Table> table;
      for (std::size_t i = 0; i < kTableCount; ++i)
        if (table_name(static_cast<Table>(i)) == name) table = static_cast<Table>(i);
      if (!table) throw std::runtime_error("unknown table " + name);
      auto index = static_cast<std::size_t>(*table);
      if (index < next_table) throw std::runtime_error("table " + name + " is out of Table order or repeated");
      next_table = index + 1;
      std::uint64_t bytes = 0;
      ar >> bytes;
      if (bytes > range->left()) throw std::runtime_error("the rows of " + name + " run past the end of the archive");
      if (feed) feed->table(*table, range->peek(bytes));
      load_rows(target->table(*table), bytes, name);
    }
    if (feed) feed->finish();
  }

  template <class Archive>
  void read_bytes(Archive& ar, std::string& out) {
    std::uint64_t len = 0;
    ar >> len;
    if (len > bytes_bound) throw std::runtime_error("implausible record length");
    out.resize(len);
    if (len) ar.load_binary(out.data(), len);
  }

  // The `bytes` bytes of a table's rows, each framed as frame_row frames it (u32 key length,
  // key, u32 value length, value; little-endian), appended to `map` in order: every byte
  // belongs to a row, and each row's key must be greater than the one before. Keys and
  // values are seen in place in the archive and appended from there (copied only when a
  // piece boundary cuts them). The archive's reads go straight to the ranges, as Boost's
  // binary archive, which reads nothing ahead, would read them (calls through Boost's
  // stream layer for each row's lengths were a tenth of a snapshot's load).
  void load_rows(OrderedTable& map, std::uint64_t bytes, const std::string& name) {
    while (bytes > 0) {
      std::uint32_t key_size = read_length(bytes, name);
      if (key_size > bytes) throw std::runtime_error("a row of " + name + " runs past the table's end");
      std::string_view key = range->take(key_size, key_scratch);
      bytes -= key_size;
      std::uint32_t value_size = read_length(bytes, name);
      if (value_size > bytes) throw std::runtime_error("a row of " + name + " runs past the table's end");
      std::string_view value = range->take(value_size, value_scratch);
      bytes -= value_size;
      if (!map.append(key, value)) throw std::runtime_error("keys out of order in " + name);
    }
  }
  std::uint32_t read_length(std::uint64_t& bytes, const std::string& name) {
    if (bytes < 4) throw std::runtime_error("a row of " + name + " runs past the table's end");
    bytes -= 4;
    return ByteReader(range->take(4, length_scratch)).u32();
  }

  // Saving: rows are framed into a buffer of about this size, then written to the archive
  // and fed to the digester together.
  static constexpr std::size_t kRowsChunk = 64 * 1024;

  BOOST_SERIALIZATION_SPLIT_MEMBER()
};

// std::streambuf appending to a string (saving) or reading a fixed range (loading).
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::string& out) : out_(out) {}

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& out_;
};


}  // namespace opsledger::detail

BOOST_CLASS_VERSION(opsledger::detail::SnapshotImage, 2)
BOOST_CLASS_TRACKING(opsledger::detail::SnapshotImage, boost::serialization::track_never)

namespace opsledger {
namespace {

constexpr std::string_view kMagic = "OPSLSNAP";
// Magic and format_version; the checksum follows.
constexpr std::size_t kPrefixSize = 8 + 4;

}  // namespace

namespace {

// The stored value for `state` at `seq`: the header, then the archive written straight
// after it into the same string (the checksum is filled in last). With `digest` null, the
// state digest is computed from the rows as they are written and put into the archive's
// digest field afterwards (its bytes are fixed in size and place), so the state is read
// once; `digest_out` then gets it.
std::string encode_value(std::uint64_t seq, const std::string& chain_hash, const std::string* digest,
                         const Store& state, std::string* digest_out) {
  const std::size_t checksum_size = kSnapshotChecksumBytes;
  const std::size_t header_size = kPrefixSize + checksum_size;
  std::string out;
  ByteWriter w(out);
  w.raw(kMagic);
  w.u32(kSnapshotFormatVersion);
  w.raw(std::string(checksum_size, '\0'));  // the checksum, below
  StateDigester digester;
  detail::SnapshotImage image;
  {
    detail::StringSink sink(out);
    boost::archive::binary_oarchive ar(sink);
    image.seq = seq;
    image.chain_hash = chain_hash;
    image.digest = digest ? *digest : std::string(kHashSize, '\0');
    image.source = &state;
    image.written = &out;
    if (!digest) image.digester = &digester;
    const detail::SnapshotImage& saved = image;
    ar << saved;
  }
  if (!digest) {
    std::string computed = digester.finish();
    // The field is the string just written: u64 length 32, then its 32 zero bytes.
    std::uint64_t length = kHashSize;  // native, as the archive writes it
    std::string expected_field(reinterpret_cast<const char*>(&length), sizeof length);
    expected_field.append(kHashSize, '\0');
    if (image.digest_end < header_size + expected_field.size() ||
        std::string_view(out).substr(image.digest_end - expected_field.size(), expected_field.size()) != expected_field)
      throw std::logic_error("snapshot digest field not found");
    std::memcpy(out.data() + image.digest_end - kHashSize, computed.data(), kHashSize);
    if (digest_out) *digest_out = std::move(computed);
  }
  std::string checksum = snapshot_checksum(std::string_view(out).substr(header_size));
  std::memcpy(out.data() + kPrefixSize, checksum.data(), checksum_size);
  return out;
}

}  // namespace

std::string encode_snapshot(std::uint64_t seq, const std::string& chain_hash, const std::string& digest,
                            const Store& state) {
  return encode_value(seq, chain_hash, &digest, state, nullptr);
}

namespace {

// A stored value as the ranges it is stored in, in order: one for a single value, the
// pieces for format 2.
using Parts = std::vector<std::string_view>;

std::uint64_t total_size(const Parts& parts) {
  std::uint64_t n = 0;
  for (auto part : parts) n += part.size();
  return n;
}

// The first `n` bytes (or all there are, when fewer), copied.
std::string copy_prefix(const Parts& parts, std::size_t n) {
  std::string out;
  for (auto part : parts) {
    if (out.size() == n) break;
    out.append(part.substr(0, n - out.size()));
  }
  return out;
}

// The ranges after the first `n` bytes (n <= total_size).
Parts drop_prefix(const Parts& parts, std::uint64_t n) {
  Parts out;
  for (auto part : parts) {
    if (n >= part.size()) {
      n -= part.size();
      continue;
    }
    out.push_back(part.substr(static_cast<std::size_t>(n)));
    n = 0;
  }
  return out;
}

// The archive after the header: its signature, then the image into `snap`, checked against
// the key's seq (the digest is checked by the caller). Every fault is a `problem` and
// false; only building the problem's text can throw (bad_alloc). `feed` (may be null) is
// handed each table's rows as the decoder reaches them; the caller gives it up when this
// fails.
bool decode_archive(std::uint64_t key_seq, const Parts& archive, Snapshot& snap, detail::DigestFeed* feed,
                    std::string& problem) {
  try {
    // Boost reads the archive's signature as a string of whatever length the archive
    // claims, allocating first (found by the snapshot fuzz target): check it here.
    constexpr std::string_view kSignature = "serialization::archive";
    std::string signature;
    ByteWriter(signature).u64(kSignature.size());
    signature += kSignature;
    if (copy_prefix(archive, signature.size()) != signature) {
      problem = "not a Boost.Serialization binary archive";
      return false;
    }
    detail::SnapshotImage image;
    image.target = &snap.state;
    image.bytes_bound = total_size(archive);
    image.feed = feed;
    {
      detail::PartsSource source(archive);
      image.range = &source;
      boost::archive::binary_iarchive ar(source);
      ar >> image;
    }
    snap.seq = image.seq;
    snap.chain_hash = std::move(image.chain_hash);
    snap.digest = std::move(image.digest);
    if (snap.seq != key_seq) {
      problem = "records seq " + std::to_string(snap.seq) + " but is stored under seq " + std::to_string(key_seq);
      return false;
    }
    if (snap.chain_hash.size() != kHashSize || snap.digest.size() != kHashSize) {
      problem = "malformed chain hash or digest";
      return false;
    }
    if (last_applied_seq(snap.state) != snap.seq) {
      problem = "its state was applied up to seq " + std::to_string(last_applied_seq(snap.state));
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    problem = std::string("does not decode: ") + e.what();
  } catch (...) {
    problem = "does not decode";
  }
  return false;
}

// Two jobs run on two more threads while the archive is decoded on this one: the archive's
// checksum (the decoder takes any bytes: the snapshot fuzz target feeds it hostile archives
// under correct checksums), and the restored state's digest, over each table's rows as
// they lie in the archive while the decoder parses them into the table (DigestFeed). (They shared one thread, the checksum first, until the
// decoding got faster than the two together.) A damaged archive is reported as damaged
// whatever the decoder made of it. Throws only std::bad_alloc, having joined its threads.
std::optional<Snapshot> decode_checked(std::uint64_t key_seq, const Parts& bytes, std::string& problem) {
  std::string prefix = copy_prefix(bytes, kPrefixSize);
  if (prefix.size() < kPrefixSize || std::string_view(prefix).substr(0, kMagic.size()) != kMagic) {
    problem = "not a snapshot (bad magic or too short)";
    return std::nullopt;
  }
  std::uint32_t version = ByteReader(std::string_view(prefix).substr(kMagic.size())).u32();
  if (version == 1 || version == 3) {
    problem = "snapshot format " + std::to_string(version) + " is no longer read (written before format " +
              std::to_string(kSnapshotFormatVersion) + ")";
    return std::nullopt;
  }
  if (version != kSnapshotFormatVersion) {
    problem = "unknown snapshot format version " + std::to_string(version);
    return std::nullopt;
  }
  std::string header = copy_prefix(bytes, kPrefixSize + kSnapshotChecksumBytes);
  if (header.size() < kPrefixSize + kSnapshotChecksumBytes) {
    problem = "not a snapshot (bad magic or too short)";
    return std::nullopt;
  }
  std::string_view checksum = std::string_view(header).substr(kPrefixSize);
  Parts archive = drop_prefix(bytes, header.size());
  Snapshot snap;
  detail::DigestFeed feed;
  std::string computed;
  std::exception_ptr checksum_failed, feed_failed;  // resources (bad_alloc), each set by one thread
  auto checksum_only = [&] {
    try {
      SnapshotChecksum h;
      for (auto part : archive) h.update(part);
      computed = h.finish();
    } catch (...) {
      checksum_failed = std::current_exception();
    }
  };
  // The checksum on one thread and the restored state's digest on another, both while this
  // one decodes. Either may find no thread to be had (system_error or bad_alloc): then the
  // checksum is computed on this thread before decoding, or the state hashed after it.
  std::thread summer, hasher;
  try {
    summer = std::thread(checksum_only);
  } catch (const std::exception&) {
    checksum_only();
  }
  try {
    hasher = std::thread([&] {
      try {
        feed.run();
      } catch (...) {
        feed_failed = std::current_exception();
      }
    });
  } catch (const std::exception&) {
  }
  auto join_all = [&] {
    if (hasher.joinable()) hasher.join();
    if (summer.joinable()) summer.join();
  };
  bool decoded = false;
  std::string decode_problem;
  try {
    decoded = decode_archive(key_seq, archive, snap, hasher.joinable() ? &feed : nullptr, decode_problem);
  } catch (...) {  // bad_alloc from a problem's text: stop the hasher and wait for both, then go on
    feed.give_up();
    join_all();
    throw;
  }
  // A failed decode may have stopped mid-table: the hasher would wait for more tables.
  if (!decoded) feed.give_up();
  join_all();
  if (checksum_failed) std::rethrow_exception(checksum_failed);
  if (feed_failed) std::rethrow_exception(feed_failed);
  if (computed != checksum) {
    problem = "checksum does not match (the snapshot is damaged)";
    return std::nullopt;
  }
  if (!decoded) {
    problem = std::move(decode_problem);
    return std::nullopt;
  }
  std::string restored = feed.digest().empty() ? state_digest(snap.state) : feed.digest();
  if (restored != snap.digest) {
    problem = "restored state does not hash to the recorded digest";
    return std::nullopt;
  }
  return snap;
}

}  // namespace

std::optional<Snapshot> decode_snapshot(std::uint64_t key_seq, const std::vector<std::string_view>& parts,
                                        std::string& problem) {
  try {
    return decode_checked(key_seq, parts, problem);
  } catch (const std::exception& e) {
    problem = std::string("cannot be checked: ") + e.what();
  } catch (...) {
    problem = "cannot be checked";
  }
  return std::nullopt;
}

std::optional<Snapshot> decode_snapshot(std::uint64_t key_seq, std::string_view bytes, std::string& problem) {
  return decode_snapshot(key_seq, std::vector<std::string_view>{bytes}, problem);
}

std::string snapshot_piece_key(std::uint64_t seq, std::uint32_t index) {
  std::string key = be64(seq);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>((index >> shift) & 0xff));
  return key;
}

std::string snapshot_manifest(std::uint64_t total_bytes, std::uint32_t pieces) {
  std::string out;
  ByteWriter w(out);
  w.raw(kMagic);
  w.u32(kSnapshotPiecesVersion);
  w.u64(total_bytes);
  w.u32(pieces);
  return out;
}

namespace {

constexpr std::size_t kManifestSize = 8 + 4 + 8 + 4;

struct Manifest {
  std::uint64_t total = 0;
  std::uint32_t pieces = 0;
};

// The manifest a row under an 8-byte key holds, or nullopt when the row is something else
// (a single value, or a value the decoder will name as unknown).
std::optional<Manifest> parse_manifest(std::string_view row) {
  if (row.size() != kManifestSize || row.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  ByteReader r(row.substr(kMagic.size()));
  if (r.u32() != kSnapshotPiecesVersion) return std::nullopt;
  Manifest m;
  m.total = r.u64();
  m.pieces = r.u32();
  return m;
}

// The single value stored under `seq`, as it lies in the map (valid while `txn` is): the
// row itself, or its pieces in order when the row is a manifest. False (and `problem`) when
// it cannot be had.
bool stored_value(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq, Parts& parts, std::string& problem) {
  std::string_view row;
  if (!txn.get(dbis.snapshots, be64(seq), row)) {
    problem = "missing";
    return false;
  }
  parts.clear();
  auto manifest = parse_manifest(row);
  if (!manifest) {
    parts.push_back(row);
    return true;
  }
  for (std::uint32_t i = 0; i < manifest->pieces; ++i) {
    std::string_view part;
    if (!txn.get(dbis.snapshots, snapshot_piece_key(seq, i), part)) {
      problem = "piece " + std::to_string(i) + " of " + std::to_string(manifest->pieces) + " is missing";
      return false;
    }
    parts.push_back(part);
  }
  if (std::uint64_t sum = total_size(parts); sum != manifest->total) {
    problem = "its pieces hold " + std::to_string(sum) + " bytes, its manifest says " + std::to_string(manifest->total);
    return false;
  }
  return true;
}

std::uint32_t piece_index(std::string_view key) {
  std::uint32_t index = 0;
  for (std::size_t i = 8; i < 12; ++i) index = (index << 8) | static_cast<unsigned char>(key[i]);
  return index;
}

}  // namespace

std::size_t drop_unfinished_pieces(lmdb::Txn& txn, const Dbis& dbis) {
  std::vector<std::uint64_t> complete = snapshot_seqs(txn, dbis);
  std::uint64_t newest = complete.empty() ? 0 : complete.back();
  std::vector<std::string> doomed;
  {
    lmdb::Cursor c(txn, dbis.snapshots);
    for (bool more = c.first(); more; more = c.next()) {
      if (c.key().size() != 12) continue;
      std::uint64_t seq = get_be64(c.key().substr(0, 8));
      std::string_view row;
      bool has_row = txn.get(dbis.snapshots, be64(seq), row);
      if (!has_row) {
        // Being stored (by another process, perhaps) or abandoned: only a snapshot
        // completed at a later seq makes it certain that nobody will finish it.
        if (seq < newest) doomed.emplace_back(c.key());
        continue;
      }
      auto manifest = parse_manifest(row);
      if (!manifest || piece_index(c.key()) >= manifest->pieces) doomed.emplace_back(c.key());
    }
  }
  for (const auto& key : doomed) txn.del(dbis.snapshots, key);
  return doomed.size();
}

bool superseded_pieces(lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq, std::size_t& deleted) {
  deleted = 0;
  std::vector<std::uint64_t> seqs = snapshot_seqs(txn, dbis);
  if (seqs.empty() || seqs.back() < seq) return false;
  std::string_view row;
  bool manifest_here = txn.get(dbis.snapshots, be64(seq), row) && parse_manifest(row);
  if (!manifest_here) deleted = drop_pieces_of(txn, dbis, seq, 0);
  return true;
}

std::size_t drop_pieces_of(lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq, std::uint32_t from) {
  std::vector<std::string> doomed;
  {
    lmdb::Cursor c(txn, dbis.snapshots);
    std::string prefix = be64(seq);
    for (bool more = c.seek(snapshot_piece_key(seq, from)); more && c.key().substr(0, 8) == prefix; more = c.next())
      if (c.key().size() == 12) doomed.emplace_back(c.key());
  }
  for (const auto& key : doomed) txn.del(dbis.snapshots, key);
  return doomed.size();
}

std::vector<std::uint64_t> prune_snapshots(lmdb::Txn& txn, const Dbis& dbis, std::size_t keep) {
  std::vector<std::uint64_t> seqs = snapshot_seqs(txn, dbis);
  if (keep == 0 || seqs.size() <= keep) return {};
  seqs.resize(seqs.size() - keep);
  for (std::uint64_t seq : seqs) {
    drop_pieces_of(txn, dbis, seq, 0);
    txn.del(dbis.snapshots, be64(seq));
  }
  return seqs;
}

std::optional<Snapshot> load_snapshot(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t seq,
                                      std::string& problem) {
  try {
    Parts parts;
    if (!stored_value(txn, dbis, seq, parts, problem)) return std::nullopt;
    auto snap = decode_snapshot(seq, parts, problem);
    if (!snap) return std::nullopt;
    auto event = read_event(txn, dbis.events, seq);
    if (!event) {
      problem = "the log has no event at seq " + std::to_string(seq);
      return std::nullopt;
    }
    if (decode_envelope(*event).hash != snap->chain_hash) {
      problem = "its chain hash differs from the log's hash at seq " + std::to_string(seq);
      return std::nullopt;
    }
    return snap;
  } catch (const std::exception& e) {
    problem = e.what();
  }
  return std::nullopt;
}

std::vector<std::uint64_t> snapshot_seqs(const lmdb::Txn& txn, const Dbis& dbis) {
  std::vector<std::uint64_t> out;
  lmdb::Cursor c(txn, dbis.snapshots);
  for (bool more = c.first(); more; more = c.next())
    if (c.key().size() == 8) out.push_back(get_be64(c.key()));
  return out;
}

std::optional<Snapshot> nearest_snapshot(const lmdb::Txn& txn, const Dbis& dbis, std::uint64_t until_seq,
                                         const Warn& warn) {
  std::vector<std::uint64_t> seqs = snapshot_seqs(txn, dbis);
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    if (*it > until_seq) continue;
    std::string problem;
    if (auto snap = load_snapshot(txn, dbis, *it, problem)) return snap;
    if (warn) warn("snapshot at seq " + std::to_string(*it) + " skipped: " + problem);
  }
  return std::nullopt;
}

namespace {

// The live store, read only, polling `stop` as rows are scanned: the encoding (which
// computes the digest as it goes) reads every row through scan, so a snapshot of a large
// state gives up within kRowsBetweenPolls rows of being asked to.
class StoppableReader final : public Store {
 public:
  StoppableReader(const Store& inner, const std::atomic<bool>& stop) : inner_(inner), stop_(stop) {}

  bool get(Table t, std::string_view key, std::string& out) const override {
    poll();
    return inner_.get(t, key, out);
  }
  void put(Table, std::string_view, std::string_view) override { throw std::logic_error("a snapshot reads only"); }
  bool del(Table, std::string_view) override { throw std::logic_error("a snapshot reads only"); }
  void clear() override { throw std::logic_error("a snapshot reads only"); }
  void scan(Table t, std::string_view prefix, const Visitor& visit, std::string_view from) const override {
    inner_.scan(
        t, prefix,
        [&](std::string_view k, std::string_view v) {
          if (++rows_ % kRowsBetweenPolls == 0) poll();
          return visit(k, v);
        },
        from);
  }

 private:
  static constexpr std::uint64_t kRowsBetweenPolls = 1024;
  void poll() const {
    if (stop_.load(std::memory_order_relaxed)) throw SnapshotCancelled();
  }

  const Store& inner_;
  const std::atomic<bool>& stop_;
  mutable std::uint64_t rows_ = 0;
};

}  // namespace

EncodedSnapshot encode_committed(lmdb::Txn& txn, const Dbis& dbis, const std::atomic<bool>* stop) {
  LmdbStore live(txn, dbis);
  std::atomic<bool> never{false};
  StoppableReader state(live, stop ? *stop : never);
  LogTail tail = read_tail(txn, dbis.events);
  std::uint64_t applied = last_applied_seq(state);
  if (tail.seq == 0) throw std::runtime_error("the log is empty; nothing to snapshot");
  if (applied != tail.seq)
    throw std::runtime_error("the projections are applied up to seq " + std::to_string(applied) +
                             " but the log ends at seq " + std::to_string(tail.seq) + "; run verify");
  EncodedSnapshot e;
  e.written.seq = tail.seq;
  e.bytes = encode_value(e.written.seq, tail.hash, nullptr, state, &e.written.digest);
  e.written.bytes = e.bytes.size();
  return e;
}

void put_snapshot(lmdb::Txn& txn, const Dbis& dbis, const EncodedSnapshot& e) {
  drop_pieces_of(txn, dbis, e.written.seq, 0);  // of an earlier snapshot in pieces at this seq
  txn.put(dbis.snapshots, be64(e.written.seq), e.bytes);
  drop_unfinished_pieces(txn, dbis);
}

SnapshotWritten write_snapshot(lmdb::Env& env, const Dbis& dbis, std::size_t keep) {
  EncodedSnapshot e;
  {
    lmdb::Txn read(env, false);
    e = encode_committed(read, dbis);
  }
  constexpr int kGrowAttemptsMax = 16;
  for (int attempt = 0;; ++attempt) {
    try {
      lmdb::Txn txn(env, true);
      put_snapshot(txn, dbis, e);
      e.written.pruned = prune_snapshots(txn, dbis, keep);
      txn.commit();
      return e.written;
    } catch (const lmdb::LmdbError& err) {
      if (!err.map_full() || attempt >= kGrowAttemptsMax) throw;
      env.grow();
    }
  }
}

}  // namespace opsledger
