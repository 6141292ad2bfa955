// The event log: envelope round trips, the golden log, hostile bytes, chain verification,
// map growth (SPEC section 2; issue 2).
#include <catch2/catch.hpp>

#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "engine/engine_impl.h"
#include "events/sha256.h"
#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "events/events.h"
#include "tests/golden_events.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;

namespace {

const std::string kGoldenPath = std::string(OPSLEDGER_SOURCE_DIR) + "/tests/golden/events_v1.bin";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_records(const std::string& log) {
  std::vector<std::string> out;
  ByteReader r(log);
  while (r.remaining() > 0) {
    auto n = r.u32();
    out.emplace_back(r.raw(n));
  }
  return out;
}

// Decoding hostile bytes may succeed or throw DecodeError, nothing else.
void decode_or_clean_error(std::string_view bytes) {
  try {
    auto env = decode_envelope(bytes);
    (void)envelope_hash_ok(bytes);
    (void)decode_payload(env.event_type, env.schema_version, env.payload);
  } catch (const DecodeError&) {
  }
}

// A database with some history, closed, for tampering.
std::string make_db(TempDir& dir, int starts) {
  Options o = test_options();
  std::unique_ptr<Engine> e;
  REQUIRE(Engine::open(dir.path(), o, e).is_ok());
  for (int i = 0; i < starts; ++i)
    e->execute(R"({"cmd":"register_workspace","workspace_id":)" + std::to_string(i + 1) + R"(,"name":"w"})");
  return dir.path();
}

void tamper(const std::string& dir, const std::function<void(lmdb::Txn&, const Dbis&)>& f) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, true);
  Dbis dbis = open_dbis(txn, false);
  f(txn, dbis);
  txn.commit();
}

ChainCheck check(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  return verify_chain(txn, dbis);
}

}  // namespace

TEST_CASE("the golden log of every event version decodes to the same events", "[log][golden]") {
  auto expected = golden_events_v1();
  std::string built = build_golden_log(expected);
  if (std::getenv("OPSLEDGER_WRITE_GOLDEN")) {
    std::ofstream(kGoldenPath, std::ios::binary) << built;
    WARN("golden log written to " << kGoldenPath);
  }
  std::string golden = read_file(kGoldenPath);
  REQUIRE_FALSE(golden.empty());
  // Old bytes stay readable forever: decode the committed file, not what we encode today.
  auto records = split_records(golden);
  REQUIRE(records.size() == expected.size());
  std::set<std::uint16_t> types;
  std::string prev(32, '\0');
  for (std::size_t i = 0; i < records.size(); ++i) {
    CAPTURE(i);
    auto env = decode_envelope(records[i]);
    CHECK(envelope_hash_ok(records[i]));
    CHECK(env.prev_hash == prev);
    prev = env.hash;
    CHECK(env.at_us == expected[i].envelope.at_us);
    CHECK(env.actor == expected[i].envelope.actor);
    CHECK(env.request_id == expected[i].envelope.request_id);
    auto ev = decode_payload(env.event_type, env.schema_version, env.payload);
    CHECK(ev == expected[i].event);
    types.insert(env.event_type);
  }
  CHECK(types.size() == std::variant_size_v<Event>);  // every event type is in the golden log
  CHECK(golden == built);  // the v1 encoding is stable byte for byte
}

TEST_CASE("an event decoded into a slot that held another equals the event decoded afresh", "[log][golden]") {
  // decode_payload_into reuses what the slot holds: nothing of it may show. Every golden
  // event is decoded into a slot holding every golden event (same type: in place; another
  // type: replaced), and into one that held it and was then partly overwritten by a
  // payload that failed to decode.
  auto expected = golden_events_v1();
  std::string golden = read_file(kGoldenPath);
  auto records = split_records(golden);
  REQUIRE(records.size() == expected.size());
  std::vector<EnvelopeView> envs;
  for (const auto& r : records) envs.push_back(decode_envelope_view(r));
  std::size_t in_place = 0;
  for (std::size_t i = 0; i < envs.size(); ++i) {
    for (std::size_t j = 0; j < envs.size(); ++j) {
      CAPTURE(i, j);
      Event slot = decode_payload(envs[j].event_type, envs[j].schema_version, envs[j].payload);
      decode_payload_into(envs[i].event_type, envs[i].schema_version, envs[i].payload, slot);
      CHECK(slot == expected[i].event);
      if (envs[i].event_type == envs[j].event_type) ++in_place;
    }
    Event slot = expected[i].event;
    std::string_view cut = envs[i].payload.substr(0, envs[i].payload.size() / 2);
    CHECK_THROWS_AS(decode_payload_into(envs[i].event_type, envs[i].schema_version, cut, slot), DecodeError);
    decode_payload_into(envs[i].event_type, envs[i].schema_version, envs[i].payload, slot);
    CHECK(slot == expected[i].event);
  }
  // The golden log holds one event of each type: each is also decoded over an event of its
  // type with every field at its default (empty strings and lists, absent optionals), and
  // that one over it, in place both ways.
  for (std::size_t i = 0; i < envs.size(); ++i) {
    CAPTURE(i);
    Event sparse = std::visit([](const auto& v) -> Event { return std::decay_t<decltype(v)>{}; }, expected[i].event);
    std::string sparse_bytes = encode_payload(sparse);
    Event slot = expected[i].event;
    decode_payload_into(envs[i].event_type, envs[i].schema_version, sparse_bytes, slot);
    CHECK(slot == sparse);
    CHECK(slot.index() == expected[i].event.index());
    decode_payload_into(envs[i].event_type, envs[i].schema_version, envs[i].payload, slot);
    CHECK(slot == expected[i].event);
    ++in_place;
  }
  CHECK(in_place == 2 * envs.size());
  // Unknown types and versions are refused as decode_payload refuses them.
  Event slot = WorkspaceRegistered{1, "x"};
  auto payload = encode_payload(slot);
  CHECK_THROWS_AS(decode_payload_into(999, 1, payload, slot), DecodeError);
  CHECK_THROWS_AS(decode_payload_into(static_cast<std::uint16_t>(EventType::workspace_registered), 2, payload, slot),
                  DecodeError);
}

TEST_CASE("an unknown event type or a newer version is an error, never a silent default", "[log]") {
  auto payload = encode_payload(WorkspaceRegistered{1, "x"});
  CHECK_THROWS_AS(decode_payload(999, 1, payload), DecodeError);
  CHECK_THROWS_AS(decode_payload(static_cast<std::uint16_t>(EventType::workspace_registered), 2, payload), DecodeError);
  CHECK_THROWS_AS(decode_payload(static_cast<std::uint16_t>(EventType::workspace_registered), 0, payload), DecodeError);
  CHECK(decode_payload(static_cast<std::uint16_t>(EventType::workspace_registered), 1, payload) ==
        Event{WorkspaceRegistered{1, "x"}});
}

TEST_CASE("a payload stored big-endian decodes to the same event", "[log][golden]") {
  // cereal's PortableBinary format starts with a byte saying whether the numbers that
  // follow are little-endian (1, what cereal writes by default and the codec always
  // writes) or big-endian (0, cereal's Options::BigEndian); the reader swaps as needed.
  TenantRegistered t;
  t.workspace_id = 0x0102030405060708ULL;
  t.tenant_id = 77;
  t.name = "Contoso";
  std::string little = encode_payload(t);
  REQUIRE(little.size() == 1 + 4 + 8 + 8 + 8 + t.name.size());
  CHECK(little[0] == 1);
  auto reversed = [](std::string_view field) { return std::string(field.rbegin(), field.rend()); };
  std::string_view l = little;
  std::string big = std::string(1, '\0') + reversed(l.substr(1, 4)) + reversed(l.substr(5, 8)) +
                    reversed(l.substr(13, 8)) + reversed(l.substr(21, 8)) + std::string(l.substr(29));
  auto type = static_cast<std::uint16_t>(TenantRegistered::kType);
  CHECK(decode_payload(type, 1, big) == Event{t});
  CHECK(decode_payload(type, 1, little) == Event{t});
  // An endianness byte other than 0 or 1 is a clean error.
  big[0] = 2;
  CHECK_THROWS_AS(decode_payload(type, 1, big), DecodeError);
}

TEST_CASE("SHA-256 of one string and of two parts agree, however the thread's hasher was left", "[log][hash]") {
  // FIPS 180-2's "abc" vector.
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  CHECK(to_hex(sha256("abc")) == abc);
  CHECK(to_hex(sha256("a", "bc")) == abc);
  CHECK(to_hex(sha256("", "abc")) == abc);
  CHECK(to_hex(sha256("abc", "")) == abc);
  // A hasher left mid-message by another user (Sha256 objects are separate) does not leak.
  Sha256 own;
  own.update("x");
  CHECK(to_hex(sha256("ab", "c")) == abc);
  CHECK(to_hex(own.finish()) == to_hex(sha256("x")));
  std::string long_text(1000, 'q');
  CHECK(sha256(long_text.substr(0, 333), long_text.substr(333)) == sha256(long_text));
}

TEST_CASE("envelope round trip keeps every field and the hash covers them", "[log]") {
  Envelope e;
  e.event_type = 9;
  e.schema_version = 1;
  e.at_us = -5;
  e.recorded_at_us = 42;
  e.actor = Actor{ActorKind::user, 7, "Ada"};
  e.request_id = "r1";
  e.request_digest = std::string(32, 'd');
  e.prev_hash = std::string(32, 'p');
  e.payload = std::string("\0\1\2", 3);
  std::string bytes = encode_envelope(e);
  auto d = decode_envelope(bytes);
  CHECK(d.event_type == 9);
  CHECK(d.at_us == -5);
  CHECK(d.recorded_at_us == 42);
  CHECK(d.actor == e.actor);
  CHECK(d.request_id == "r1");
  CHECK(d.request_digest == e.request_digest);
  CHECK(d.prev_hash == e.prev_hash);
  CHECK(d.payload == e.payload);
  CHECK(d.hash == e.hash);
  // The view replay reads holds the same fields, pointing into the bytes.
  auto v = decode_envelope_view(bytes);
  CHECK(v.event_type == 9);
  CHECK(v.schema_version == 1);
  CHECK(v.at_us == -5);
  CHECK(v.recorded_at_us == 42);
  CHECK(v.actor_kind == ActorKind::user);
  CHECK(v.actor_user_id == 7);
  CHECK(v.actor_name == "Ada");
  CHECK(v.request_id == "r1");
  CHECK(v.request_digest == e.request_digest);
  CHECK(v.prev_hash == e.prev_hash);
  CHECK(v.payload == e.payload);
  CHECK(v.hash == e.hash);
  CHECK(v.payload.data() >= bytes.data());
  CHECK(v.payload.data() + v.payload.size() <= bytes.data() + bytes.size());
  CHECK(envelope_hash_ok(bytes));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    CAPTURE(i);
    CHECK_FALSE(envelope_hash_ok(flipped));
  }
}

TEST_CASE("random and truncated bytes give the envelope decoder a clean error every time", "[log][fuzz]") {
  auto golden = golden_events_v1();
  auto records = split_records(build_golden_log(golden));
  std::mt19937_64 rng(12345);
  for (const auto& rec : records) {
    for (std::size_t cut = 0; cut < rec.size(); ++cut) decode_or_clean_error(std::string_view(rec).substr(0, cut));
    for (int k = 0; k < 200; ++k) {
      std::string m = rec;
      std::size_t pos = rng() % m.size();
      m[pos] = static_cast<char>(rng());
      decode_or_clean_error(m);
    }
    // Hostile payloads inside a well-formed envelope: sizes that claim more than exists.
    auto env = decode_envelope(rec);
    for (int k = 0; k < 200; ++k) {
      std::string p = env.payload;
      for (int j = 0; j < 4; ++j) p[rng() % p.size()] = static_cast<char>(0xff);
      try {
        (void)decode_payload(env.event_type, env.schema_version, p);
      } catch (const DecodeError&) {
      }
    }
  }
  for (int k = 0; k < 5000; ++k) {
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (!junk.empty() && k % 2) junk[0] = 1;  // past the format byte, into the fields
    decode_or_clean_error(junk);
  }
  SUCCEED("no decoder crashed or threw anything but DecodeError");
}

TEST_CASE("engine appends are read back in order with a sound chain", "[log]") {
  TestDb db;
  seed_contoso(db);
  std::uint64_t before = db.engine().last_seq();
  auto a = db.send(start_cmd("r1"));
  REQUIRE(a.at("seq").to_number<std::uint64_t>() == before + 1);
  auto& impl = db.engine().impl();
  lmdb::Txn txn(*impl.env, false);
  auto bytes = read_event(txn, impl.dbis.events, before + 1);
  REQUIRE(bytes);
  auto env = decode_envelope(*bytes);
  CHECK(env.request_id == "r1");
  CHECK(env.actor.user_id == 7);
  auto ev = decode_payload(env.event_type, env.schema_version, env.payload);
  REQUIRE(std::holds_alternative<StartDecided>(ev));
  CHECK(std::get<StartDecided>(ev).decision == Decision::accepted);
  auto chain = verify_chain(txn, impl.dbis);
  CHECK(chain.ok);
  CHECK(chain.last_seq == before + 1);
  // recorded_at never decreases along the log
  TimeUs last = 0;
  lmdb::Cursor c(txn, impl.dbis.events);
  for (bool more = c.first(); more; more = c.next()) {
    auto e = decode_envelope(c.value());
    CHECK(e.recorded_at_us >= last);
    last = e.recorded_at_us;
  }
}

TEST_CASE("verify_chain names the first bad seq", "[log][verify]") {
  TempDir dir;
  make_db(dir, 20);
  REQUIRE(check(dir.path()).ok);
  std::uint64_t last = check(dir.path()).last_seq;

  SECTION("a flipped byte") {
    tamper(dir.path(), [](lmdb::Txn& txn, const Dbis& d) {
      std::string_view v;
      REQUIRE(txn.get(d.events, be64(15), v));
      std::string m(v);
      m[m.size() / 2] = static_cast<char>(m[m.size() / 2] ^ 0x20);
      txn.put(d.events, be64(15), m);
    });
    auto r = check(dir.path());
    CHECK_FALSE(r.ok);
    CHECK(r.bad_seq == 15);
  }
  SECTION("a removed event") {
    tamper(dir.path(), [](lmdb::Txn& txn, const Dbis& d) { REQUIRE(txn.del(d.events, be64(12))); });
    auto r = check(dir.path());
    CHECK_FALSE(r.ok);
    CHECK(r.bad_seq == 12);
  }
  SECTION("a reordered pair") {
    tamper(dir.path(), [](lmdb::Txn& txn, const Dbis& d) {
      std::string_view a, b;
      REQUIRE(txn.get(d.events, be64(8), a));
      REQUIRE(txn.get(d.events, be64(9), b));
      std::string sa(a), sb(b);
      txn.put(d.events, be64(8), sb);
      txn.put(d.events, be64(9), sa);
    });
    auto r = check(dir.path());
    CHECK_FALSE(r.ok);
    CHECK(r.bad_seq == 8);
  }
  SECTION("a truncated tail is caught by verify through the projections' last applied seq") {
    tamper(dir.path(), [&](lmdb::Txn& txn, const Dbis& d) { REQUIRE(txn.del(d.events, be64(last))); });
    CHECK(check(dir.path()).ok);  // the chain alone cannot see it
    std::string cmd = std::string(OPSLEDGER_CLI) + " verify --db " + dir.path() + " > " + dir.sub("out.txt") + " 2>&1";
    int rc = std::system(cmd.c_str());
    CHECK(rc != 0);
    CHECK(read_file(dir.sub("out.txt")).find("seq " + std::to_string(last)) != std::string::npos);
  }
}

namespace {
// Resident kB of this process's mappings of `file` (/proc/self/smaps).
long resident_kb_of(const std::string& file) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  long kb = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        line.find(' ') > line.find('-')) {
      in_file = line.size() >= file.size() && line.compare(line.size() - file.size(), file.size(), file) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      kb += std::atol(line.c_str() + 4);
    }
  }
  return kb;
}
}  // namespace

TEST_CASE("release_mapped_pages empties the map's resident pages and the data reads back the same",
          "[log][storage]") {
  TempDir dir;
  lmdb::Env::Options o;
  o.map_size_bytes = std::size_t{1} << 26;
  lmdb::Env env(dir.path(), o);
  MDB_dbi dbi = 0;
  {
    lmdb::Txn w(env, true);
    dbi = w.open_db("data", true);
    for (std::uint64_t i = 0; i < 2048; ++i) w.put(dbi, be64(i), std::string(4000, static_cast<char>('a' + i % 26)));
    w.commit();
  }
  char resolved[PATH_MAX];
  REQUIRE(::realpath((dir.path() + "/data.mdb").c_str(), resolved));
  lmdb::Txn r(env, false);
  auto scan = [&] {
    std::uint64_t sum = 0, n = 0;
    lmdb::Cursor c(r, dbi);
    for (bool more = c.first(); more; more = c.next(), ++n)
      for (char ch : c.value()) sum += static_cast<unsigned char>(ch) * (n + 1);
    return std::pair{n, sum};
  };
  auto first = scan();
  CHECK(first.first == 2048);
  long before = resident_kb_of(resolved);
  CHECK(before >= 2048 * 4);  // every value's page was read through the map
  lmdb::release_mapped_pages(env.get());
  CHECK(resident_kb_of(resolved) == 0);
  CHECK(scan() == first);  // the pages fault back in from the page cache, unchanged
  CHECK(resident_kb_of(resolved) >= 2048 * 4);

  // The directory renamed under the open environment: the mapping is still found (by the
  // data file's device and inode), though its old path no longer resolves.
  std::string moved = dir.path() + "-moved";
  REQUIRE(std::rename(dir.path().c_str(), moved.c_str()) == 0);
  struct Restore {
    std::string from, to;
    ~Restore() { std::rename(from.c_str(), to.c_str()); }
  } restore{moved, dir.path()};
  std::string moved_file = moved + "/data.mdb";
  REQUIRE(::realpath(moved_file.c_str(), resolved));
  CHECK(resident_kb_of(resolved) >= 2048 * 4);
  lmdb::release_mapped_pages(env.get());
  CHECK(resident_kb_of(resolved) == 0);
  CHECK(scan() == first);
}

TEST_CASE("the map grows past its initial size by itself", "[log][storage]") {
  Options o = test_options();
  o.initial_map_size_bytes = 256 * 1024;
  TestDb db(o);
  auto& impl = db.engine().impl();
  std::size_t initial = impl.env->map_size();
  std::string big(8000, 'n');
  for (int i = 1; i <= 300; ++i) {
    auto a = db.send({{"cmd", "register_workspace"}, {"workspace_id", i}, {"name", big}});
    REQUIRE(a.at("ok").as_bool());
  }
  CHECK(impl.env->map_size() > initial);
  db.reopen();
  CHECK(db.send({{"cmd", "register_workspace"}, {"workspace_id", 300}, {"name", big}}).at("ok").as_bool());
  CHECK(replay_digest(db.dir()) == db.digest());
}

TEST_CASE("a capped map answers storage_full, writes nothing, and keeps serving reads", "[log][storage]") {
  Options o = test_options();
  o.initial_map_size_bytes = 256 * 1024;
  o.max_map_size_bytes = 512 * 1024;
  TestDb db(o);
  std::string big(8000, 'n');
  std::string code;
  int i = 1;
  std::uint64_t seq_before = 0;
  for (; i < 1000 && code.empty(); ++i) {
    seq_before = db.seq();
    code = error_code(db.send({{"cmd", "register_workspace"}, {"workspace_id", i}, {"name", big}}));
  }
  REQUIRE(code == "storage_full");
  CHECK(db.seq() == seq_before);                     // nothing half-applied
  CHECK(db.send({{"cmd", "stats"}}).at("ok").as_bool());  // reads still served
  CHECK(replay_digest(db.dir()) == db.digest());
}
