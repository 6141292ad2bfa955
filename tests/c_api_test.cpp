// The C ABI (include/opsledger/opsledger.h): bad input never crashes and never writes,
// answers equal the JSON-lines protocol's, batches are one commit, events read back after
// a seq. Run under ASan/UBSan too (-DOPSLEDGER_SANITIZE=ON).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include "engine/event_log.h"
#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "events/bytes.h"
#include "opsledger/opsledger.h"
#include "snapshots/snapshot.h"
#include "tests/test_support.h"

using namespace opsledger::test;
namespace json = boost::json;

namespace {

// An open handle on a fresh nosync database, closed at scope end.
struct CDb {
  TempDir tmp;
  opsledger_t* db = nullptr;
  explicit CDb(std::uint32_t durability = OPSLEDGER_NOSYNC) {
    opsledger_options o;
    opsledger_options_init(&o);
    o.durability = durability;
    int rc = opsledger_open(tmp.sub("db").c_str(), &o, &db);
    INFO(opsledger_last_error());
    REQUIRE(rc == OPSLEDGER_OK);
    REQUIRE(db != nullptr);
  }
  ~CDb() { opsledger_close(db); }
  CDb(const CDb&) = delete;
  CDb& operator=(const CDb&) = delete;
  std::string dir() const { return tmp.sub("db"); }
};

// Takes ownership of a returned string.
std::string take(char* s) {
  REQUIRE(s != nullptr);
  std::string out(s);
  opsledger_free(s);
  return out;
}

std::string exec(opsledger_t* db, const char* command) { return take(opsledger_execute(db, command)); }
std::string exec(opsledger_t* db, const std::string& command) { return exec(db, command.c_str()); }

json::object parse(const std::string& answer) {
  INFO(answer);
  json::value v = json::parse(answer);
  REQUIRE(v.is_object());
  return v.get_object();
}

std::string code_of(const std::string& answer) { return error_code(parse(answer)); }

struct Events {
  int rc = 0;
  std::string lines;
  std::uint64_t last = 0;
};

Events read_events(opsledger_t* db, std::uint64_t after, std::size_t max = 0) {
  Events e;
  char* lines = nullptr;
  e.rc = opsledger_read_events(db, after, max, &lines, &e.last);
  if (e.rc == OPSLEDGER_OK) e.lines = take(lines);
  else
    CHECK(lines == nullptr);
  return e;
}

std::vector<json::object> split_lines(const std::string& text) {
  std::vector<json::object> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(parse(line));
  return out;
}

const std::vector<std::string> kSetup = {
    R"({"cmd":"register_workspace","workspace_id":1,"name":"Contoso"})",
    R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":10,"name":"Contoso EU"})",
    R"({"cmd":"grant_membership","workspace_id":1,"user_id":7,"role":"operator"})",
    R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":10,"provider_connection_id":100,"provider":"microsoft","display_name":"Contoso Graph"})",
    R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":100})",
    R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"granted","credentials":"usable","permissions":"ok"})",
};

std::string start_json(const std::string& request_id) {
  return R"({"cmd":"start","request_id":")" + request_id +
         R"(","at":"2026-04-20T07:00:00Z","actor":{"kind":"user","user_id":7,"name":"Ada"},"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})";
}

void set_up(opsledger_t* db) {
  for (const auto& c : kSetup) REQUIRE(parse(exec(db, c)).at("ok") == true);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("c api: version and options defaults", "[c_api]") {
  CHECK(std::string(opsledger_version()) == "0.3.0");
  opsledger_options o;
  std::memset(&o, 0xAB, sizeof o);
  opsledger_options_init(&o);
  CHECK(o.struct_size == sizeof(opsledger_options));
  CHECK(o.durability == OPSLEDGER_DURABLE);
  CHECK(o.initial_map_size_bytes == 0);
  CHECK(o.max_map_size_bytes == 0);
  CHECK(o.snapshot_every_events == 0);
  CHECK(o.snapshots_kept == 0);
  opsledger_options_init(nullptr);  // no-ops, not crashes: the macro, the 0.1 function
  (opsledger_options_init)(nullptr);
  opsledger_options_init_sized(nullptr, sizeof(opsledger_options));
  CHECK(std::string(opsledger_last_error()).empty());
}

TEST_CASE("c api: options init never writes past the struct its caller declared", "[c_api]") {
  constexpr unsigned char kUntouched = 0xAB;
  struct Padded {
    opsledger_options options;
    unsigned char after[16];
  };
  auto untouched_from = [&](const Padded& p, std::size_t offset) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&p);
    for (std::size_t i = offset; i < sizeof p; ++i)
      if (bytes[i] != kUntouched) return false;
    return true;
  };
  Padded p;
  SECTION("the exported 0.1 function fills a 0.1 struct's bytes only") {
    std::memset(&p, kUntouched, sizeof p);
    (opsledger_options_init)(&p.options);  // the function, as a 0.1 program or an FFI calls it
    CHECK(p.options.struct_size == OPSLEDGER_OPTIONS_SIZE_V1);
    CHECK(p.options.durability == OPSLEDGER_DURABLE);
    CHECK(p.options.initial_map_size_bytes == 0);
    CHECK(p.options.max_map_size_bytes == 0);
    CHECK(untouched_from(p, OPSLEDGER_OPTIONS_SIZE_V1));
  }
  SECTION("a size beyond this release's struct fills this release's struct") {
    std::memset(&p, kUntouched, sizeof p);
    opsledger_options_init_sized(&p.options, sizeof p);
    CHECK(p.options.struct_size == sizeof(opsledger_options));
    CHECK(p.options.snapshot_every_events == 0);
    CHECK(untouched_from(p, sizeof(opsledger_options)));
  }
  SECTION("a size that ends inside a field fills the whole fields before it") {
    std::memset(&p, kUntouched, sizeof p);
    opsledger_options_init_sized(&p.options, OPSLEDGER_OPTIONS_SIZE_V1 + 4);
    CHECK(p.options.struct_size == OPSLEDGER_OPTIONS_SIZE_V1);
    CHECK(untouched_from(p, OPSLEDGER_OPTIONS_SIZE_V1));
  }
  SECTION("a size below the first release's struct writes nothing") {
    std::memset(&p, kUntouched, sizeof p);
    opsledger_options_init_sized(&p.options, OPSLEDGER_OPTIONS_SIZE_V1 - 1);
    CHECK(untouched_from(p, 0));
  }
}

TEST_CASE("c api: open rejects bad arguments with a code and a message", "[c_api]") {
  TempDir tmp;
  std::string dir = tmp.sub("db");
  opsledger_t* db = reinterpret_cast<opsledger_t*>(0x1);  // must be overwritten with NULL
  opsledger_options o;
  opsledger_options_init(&o);

  SECTION("null dir") {
    CHECK(opsledger_open(nullptr, nullptr, &db) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(db == nullptr);
    CHECK(std::string(opsledger_last_error()) == "dir is NULL");
  }
  SECTION("null out") {
    CHECK(opsledger_open(dir.c_str(), nullptr, nullptr) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()) == "out is NULL");
  }
  SECTION("empty dir") {
    CHECK(opsledger_open("", nullptr, &db) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(db == nullptr);
  }
  SECTION("options smaller than the first version's struct") {
    o.struct_size = OPSLEDGER_OPTIONS_SIZE_V1 - 1;
    CHECK(opsledger_open(dir.c_str(), &o, &db) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()).find("struct_size") != std::string::npos);
  }
  SECTION("an unknown durability") {
    o.durability = 7;
    CHECK(opsledger_open(dir.c_str(), &o, &db) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()).find("durability") != std::string::npos);
  }
  SECTION("initial map above the maximum") {
    o.initial_map_size_bytes = 8 << 20;
    o.max_map_size_bytes = 4 << 20;
    CHECK(opsledger_open(dir.c_str(), &o, &db) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK_FALSE(std::filesystem::exists(dir));  // a rejected open creates nothing
  }
  SECTION("a path that is a file") {
    std::ofstream(tmp.sub("file")) << "not a directory";
    CHECK(opsledger_open(tmp.sub("file").c_str(), &o, &db) == OPSLEDGER_E_IO);
    CHECK(db == nullptr);
    CHECK_FALSE(std::string(opsledger_last_error()).empty());
  }
  SECTION("a directory that is not an LMDB environment") {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/data.mdb") << std::string(8192, 'x');
    int rc = opsledger_open(dir.c_str(), &o, &db);
    CHECK((rc == OPSLEDGER_E_IO || rc == OPSLEDGER_E_CORRUPT));
    CHECK(db == nullptr);
    CHECK_FALSE(std::string(opsledger_last_error()).empty());
  }
}

TEST_CASE("c api: a database open in this process cannot be opened twice", "[c_api]") {
  CDb a;
  opsledger_t* second = nullptr;
  CHECK(opsledger_open(a.dir().c_str(), nullptr, &second) == OPSLEDGER_E_BUSY);
  CHECK(second == nullptr);
  CHECK(std::string(opsledger_last_error()).find("already open") != std::string::npos);
  // A different spelling of the same directory is the same database.
  std::string other = a.dir() + "/../db/";
  CHECK(opsledger_open(other.c_str(), nullptr, &second) == OPSLEDGER_E_BUSY);
  // After close it opens again, and sees what was written.
  set_up(a.db);
  std::uint64_t seq = opsledger_last_seq(a.db);
  opsledger_close(a.db);
  a.db = nullptr;
  REQUIRE(opsledger_open(a.dir().c_str(), nullptr, &a.db) == OPSLEDGER_OK);
  CHECK(std::string(opsledger_last_error()).empty());
  CHECK(opsledger_last_seq(a.db) == seq);
}

TEST_CASE("c api: a corrupt log is OPSLEDGER_E_CORRUPT, at open or when read", "[c_api]") {
  TempDir tmp;
  std::string dir = tmp.sub("db");
  {
    opsledger_t* db = nullptr;
    REQUIRE(opsledger_open(dir.c_str(), nullptr, &db) == OPSLEDGER_OK);
    set_up(db);
    opsledger_close(db);
  }
  auto overwrite = [&](std::uint64_t seq) {
    opsledger::lmdb::Env env(dir, {});
    opsledger::lmdb::Txn txn(env, true);
    auto dbis = opsledger::open_dbis(txn, false);
    txn.put(dbis.events, opsledger::be64(seq), "garbage");
    txn.commit();
  };
  SECTION("a bad event in the middle: open works, reading names its seq") {
    overwrite(2);
    opsledger_t* db = nullptr;
    REQUIRE(opsledger_open(dir.c_str(), nullptr, &db) == OPSLEDGER_OK);
    Events e = read_events(db, 0);
    CHECK(e.rc == OPSLEDGER_E_CORRUPT);
    CHECK(std::string(opsledger_last_error()).find("seq 2") != std::string::npos);
    CHECK(read_events(db, 2).rc == OPSLEDGER_OK);  // after the bad one reads fine
    opsledger_close(db);
  }
  SECTION("a bad last event: open fails") {
    std::uint64_t last = 0;
    {
      opsledger::lmdb::Env env(dir, {});
      opsledger::lmdb::Txn txn(env, false);
      last = opsledger::read_tail(txn, opsledger::open_dbis(txn, false).events).seq;
    }
    overwrite(last);
    opsledger_t* db = nullptr;
    CHECK(opsledger_open(dir.c_str(), nullptr, &db) == OPSLEDGER_E_CORRUPT);
    CHECK(db == nullptr);
    CHECK_FALSE(std::string(opsledger_last_error()).empty());
  }
}

TEST_CASE("c api: bad commands are error answers and write nothing", "[c_api]") {
  CDb c;
  set_up(c.db);
  std::uint64_t seq = opsledger_last_seq(c.db);

  SECTION("null db") {
    auto a = parse(exec(nullptr, R"({"cmd":"stats"})"));
    CHECK(error_code(a) == "invalid_argument");
    CHECK(a.at("error").at("message") == "db is NULL");
  }
  SECTION("null command") {
    auto a = parse(take(opsledger_execute(c.db, nullptr)));
    CHECK(error_code(a) == "invalid_argument");
    CHECK(a.at("durability") == "nosync");
  }
  SECTION("invalid JSON, in many shapes") {
    for (const char* bad : {"", "{", "}", "nul", "[1,2]", "42", "\"cmd\"", "{\"cmd\":}", "{\"cmd\":\"stats\"} x"}) {
      CAPTURE(bad);
      CHECK(code_of(exec(c.db, bad)) == "invalid_json");
    }
  }
  SECTION("nesting deeper than 32 levels") {
    std::string deep = R"({"cmd":"stats","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
    CHECK(code_of(exec(c.db, deep)) == "invalid_json");
  }
  SECTION("a 10 MiB command") {
    std::string huge = R"({"cmd":"register_workspace","workspace_id":5,"name":")" + std::string(10 << 20, 'a') + "\"}";
    CHECK(code_of(exec(c.db, huge)) == "line_too_long");
    std::string spaces(10 << 20, ' ');
    CHECK(code_of(exec(c.db, spaces)) == "line_too_long");
  }
  SECTION("exactly the limit is read; one byte more is too long") {
    std::string head = R"({"cmd":"register_workspace","workspace_id":5,"name":")";
    std::string at_limit = head + std::string(OPSLEDGER_COMMAND_BYTES_MAX - head.size() - 2, 'a') + "\"}";
    REQUIRE(at_limit.size() == OPSLEDGER_COMMAND_BYTES_MAX);
    CHECK(parse(exec(c.db, at_limit)).at("ok") == true);
    seq = opsledger_last_seq(c.db);
    CHECK(code_of(exec(c.db, " " + at_limit)) == "line_too_long");
  }
  SECTION("invalid UTF-8") {
    for (const char* bad : {"{\"cmd\":\"stats\",\"x\":\"\xff\"}", "\xc3\x28", "{\"cmd\":\"\xed\xa0\x80\"}",
                            "{\"name\":\"\xf0\x9f\x98\"}", "\xc0\xaf"}) {
      CAPTURE(bad);
      CHECK(code_of(exec(c.db, bad)) == "invalid_utf8");
    }
  }
  SECTION("protocol faults pass through unchanged") {
    CHECK(code_of(exec(c.db, R"({"cmd":"no_such"})")) == "unknown_command");
    CHECK(code_of(exec(c.db, R"({"name":"x"})")) == "missing_field");
    CHECK(code_of(exec(c.db, R"({"cmd":"register_workspace","workspace_id":0,"name":"x"})")) == "invalid_field");
    CHECK(code_of(exec(c.db, R"({"cmd":"register_workspace","workspace_id":3,"name":"x","y":1})")) ==
          "unknown_field");
    CHECK(code_of(exec(c.db, R"({"cmd":"begin_run","run_id":999})")) == "run_not_found");
  }
  CHECK(opsledger_last_seq(c.db) == seq);
}

TEST_CASE("c api: storage_full is an answer, and reads keep working", "[c_api]") {
  TempDir tmp;
  opsledger_options o;
  opsledger_options_init(&o);
  o.durability = OPSLEDGER_NOSYNC;
  o.initial_map_size_bytes = 1 << 20;
  o.max_map_size_bytes = 1 << 20;
  opsledger_t* db = nullptr;
  REQUIRE(opsledger_open(tmp.sub("db").c_str(), &o, &db) == OPSLEDGER_OK);
  std::string name(60000, 'n');
  std::string last_code;
  for (int i = 1; i < 200 && last_code.empty(); ++i) {
    auto a = parse(exec(db, R"({"cmd":"register_workspace","workspace_id":)" + std::to_string(i) +
                                R"(,"name":")" + name + "\"}"));
    last_code = error_code(a);
  }
  CHECK(last_code == "storage_full");
  CHECK(parse(exec(db, R"({"cmd":"stats"})")).at("ok") == true);
  Events e = read_events(db, 0, 5);
  CHECK(e.rc == OPSLEDGER_OK);
  CHECK(split_lines(e.lines).size() == 5);
  opsledger_close(db);
}

TEST_CASE("c api: batches", "[c_api]") {
  CDb c;
  char** answers = reinterpret_cast<char**>(0x1);

  SECTION("bad arguments") {
    const char* one[] = {R"({"cmd":"stats"})"};
    CHECK(opsledger_execute_batch(nullptr, one, 1, &answers) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(answers == nullptr);
    CHECK(std::string(opsledger_last_error()) == "db is NULL");
    CHECK(opsledger_execute_batch(c.db, one, 1, nullptr) == OPSLEDGER_E_INVALID_ARGUMENT);
    answers = reinterpret_cast<char**>(0x1);
    CHECK(opsledger_execute_batch(c.db, nullptr, 3, &answers) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(answers == nullptr);
    std::vector<const char*> too_many(OPSLEDGER_BATCH_COMMANDS_MAX + 1, R"({"cmd":"stats"})");
    CHECK(opsledger_execute_batch(c.db, too_many.data(), too_many.size(), &answers) ==
          OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()).find("at most") != std::string::npos);
  }
  SECTION("an empty batch") {
    CHECK(opsledger_execute_batch(c.db, nullptr, 0, &answers) == OPSLEDGER_OK);
    CHECK(answers == nullptr);
    CHECK(std::string(opsledger_last_error()).empty());
  }
  SECTION("null entries are answered invalid_argument; the others run, in one commit") {
    std::uint64_t before = opsledger_last_seq(c.db);
    std::string huge(10 << 20, '{');
    std::vector<const char*> cmds = {kSetup[0].c_str(), nullptr, kSetup[1].c_str(), "{bad", huge.c_str(),
                                     "\xff", nullptr};
    REQUIRE(opsledger_execute_batch(c.db, cmds.data(), cmds.size(), &answers) == OPSLEDGER_OK);
    std::vector<std::string> got(answers, answers + cmds.size());
    opsledger_free_answers(answers, cmds.size());
    CHECK(parse(got[0]).at("seq") == before + 1);
    CHECK(code_of(got[1]) == "invalid_argument");
    CHECK(parse(got[2]).at("seq") == before + 2);
    CHECK(code_of(got[3]) == "invalid_json");
    CHECK(code_of(got[4]) == "line_too_long");
    CHECK(code_of(got[5]) == "invalid_utf8");
    CHECK(code_of(got[6]) == "invalid_argument");
    CHECK(opsledger_last_seq(c.db) == before + 2);
  }
  SECTION("only null entries") {
    std::vector<const char*> cmds(3, nullptr);
    REQUIRE(opsledger_execute_batch(c.db, cmds.data(), cmds.size(), &answers) == OPSLEDGER_OK);
    for (std::size_t i = 0; i < cmds.size(); ++i) CHECK(code_of(answers[i]) == "invalid_argument");
    opsledger_free_answers(answers, cmds.size());
  }
  SECTION("a later command sees an earlier one of the same batch") {
    std::vector<const char*> cmds;
    for (const auto& s : kSetup) cmds.push_back(s.c_str());
    std::string s1 = start_json("b1"), s2 = start_json("b2");
    cmds.push_back(s1.c_str());
    cmds.push_back(s2.c_str());
    REQUIRE(opsledger_execute_batch(c.db, cmds.data(), cmds.size(), &answers) == OPSLEDGER_OK);
    CHECK(parse(answers[6]).at("decision") == "accepted");
    CHECK(parse(answers[7]).at("decision") == "deduped");
    opsledger_free_answers(answers, cmds.size());
  }
  opsledger_free_answers(nullptr, 5);  // a no-op
}

TEST_CASE("c api: answers equal the JSON-lines protocol's", "[c_api][protocol]") {
  std::vector<std::string> script = kSetup;
  for (const auto& s : std::vector<std::string>{
           start_json("r1"),
           start_json("r2"),
           R"({"cmd":"start","request_id":"r3","at":"2026-04-20T07:00:01Z","actor":{"kind":"user","user_id":7,"name":"Ada"},"workspace_id":1,"tenant_id":10,"type":"directory_groups.sync","context":{}})",
           start_json("r1"),
           R"({"cmd":"start","request_id":"r1","actor":{"kind":"user","user_id":8,"name":"Eve"},"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})",
           R"({"cmd":"begin_run","run_id":1,"at":"2026-04-20T07:00:02Z"})",
           R"({"cmd":"complete_run","run_id":1,"at":"2026-04-20T07:00:03Z","outcome":"succeeded","counts":{"total":10,"succeeded":10}})",
           R"({"cmd":"complete_run","run_id":1,"outcome":"succeeded"})",
           R"({"cmd":"get_run","run_id":1,"actor":{"kind":"user","user_id":7,"name":"Ada"}})",
           R"({"cmd":"notifications","user_id":7,"after_seq":0})",
           R"({"cmd":"history","run_id":1})",
           R"({"cmd":"explain","for_request_id":"r2"})",
           R"({"cmd":"state_digest"})",
           "{bad json",
           "\xff\xfe",
           std::string(70000, 'x'),
           R"({"cmd":"begin_run","run_id":999})",
       })
    script.push_back(s);

  // The protocol: opsledger apply on a file of lines.
  TempDir tmp;
  std::string in = tmp.sub("in.jsonl"), out = tmp.sub("out.jsonl");
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& line : script) f << line << '\n';
  }
  std::string cmd = std::string(OPSLEDGER_CLI) + " apply --db " + tmp.sub("cli-db") + " --nosync < " + in + " > " + out;
  int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);  // some lines were rejected
  std::vector<std::string> protocol;
  {
    std::istringstream lines(slurp(out));
    std::string line;
    while (std::getline(lines, line)) protocol.push_back(line);
  }
  REQUIRE(protocol.size() == script.size());

  // The C ABI, one command at a time, then the same again as one batch on a fresh database.
  CDb one, batch;
  std::vector<const char*> cmds;
  for (std::size_t i = 0; i < script.size(); ++i) {
    CAPTURE(i, script[i].substr(0, 200));
    std::string answer = exec(one.db, script[i]);
    // Events carry the engine's clock as recorded_at (history, explain); compare the rest.
    if (script[i].find("\"history\"") != std::string::npos || script[i].find("\"explain\"") != std::string::npos) {
      auto strip = [](json::object a) {
        json::array* events = a.contains("events") ? &a["events"].as_array() : nullptr;
        if (events)
          for (auto& e : *events) e.as_object().erase("recorded_at");
        if (a.contains("event")) a["event"].as_object().erase("recorded_at");
        return a;
      };
      CHECK(strip(parse(answer)) == strip(parse(protocol[i])));
    } else {
      CHECK(answer == protocol[i]);
    }
    cmds.push_back(script[i].c_str());
  }
  char** answers = nullptr;
  REQUIRE(opsledger_execute_batch(batch.db, cmds.data(), cmds.size(), &answers) == OPSLEDGER_OK);
  for (std::size_t i = 0; i < script.size(); ++i) {
    CAPTURE(i);
    if (script[i].find("\"history\"") == std::string::npos && script[i].find("\"explain\"") == std::string::npos)
      CHECK(std::string(answers[i]) == protocol[i]);
  }
  opsledger_free_answers(answers, cmds.size());
}

TEST_CASE("c api: events after a seq", "[c_api][events]") {
  CDb c;
  std::uint64_t genesis = opsledger_last_seq(c.db);
  REQUIRE(genesis > 0);  // the seeded catalog, registry and scopes

  SECTION("bad arguments") {
    char* lines = reinterpret_cast<char*>(0x1);
    std::uint64_t last = 99;
    CHECK(opsledger_read_events(nullptr, 0, 0, &lines, &last) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(lines == nullptr);
    CHECK(last == 0);  // after_seq
    CHECK(opsledger_read_events(c.db, 0, 0, nullptr, &last) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()) == "lines_out is NULL");
    CHECK(opsledger_last_seq(nullptr) == 0);
  }
  SECTION("everything from genesis, one JSON line per event, gap-free") {
    Events e = read_events(c.db, 0);
    REQUIRE(e.rc == OPSLEDGER_OK);
    CHECK(std::string(opsledger_last_error()).empty());
    auto events = split_lines(e.lines);
    REQUIRE(events.size() == genesis);
    CHECK(e.last == genesis);
    for (std::size_t i = 0; i < events.size(); ++i) {
      CAPTURE(i);
      CHECK(events[i].at("seq") == i + 1);
      for (const char* key : {"type", "version", "at", "recorded_at", "request_id", "actor", "payload"})
        CHECK(events[i].contains(key));
      CHECK(events[i].at("hash").as_string().size() == 64);
    }
    CHECK(e.lines.back() == '\n');
  }
  SECTION("a limit, and reading on from the last seq returned") {
    Events first = read_events(c.db, 0, 3);
    CHECK(split_lines(first.lines).size() == 3);
    CHECK(first.last == 3);
    Events rest = read_events(c.db, first.last);
    auto events = split_lines(rest.lines);
    REQUIRE(events.size() == genesis - 3);
    CHECK(events.front().at("seq") == 4);
    CHECK(rest.last == genesis);
  }
  SECTION("nothing new: an empty string and after_seq back") {
    Events e = read_events(c.db, genesis);
    CHECK(e.rc == OPSLEDGER_OK);
    CHECK(e.lines.empty());
    CHECK(e.last == genesis);
    Events far = read_events(c.db, UINT64_MAX);
    CHECK(far.rc == OPSLEDGER_OK);
    CHECK(far.lines.empty());
    CHECK(far.last == UINT64_MAX);
  }
  SECTION("a service sees its commands as events, rendered as history renders them") {
    set_up(c.db);
    std::uint64_t since = opsledger_last_seq(c.db);
    auto start = parse(exec(c.db, start_json("e1")));
    REQUIRE(start.at("decision") == "accepted");
    exec(c.db, R"({"cmd":"begin_run","run_id":1})");
    auto events = split_lines(read_events(c.db, since).lines);
    REQUIRE(events.size() == 2);
    CHECK(events[0].at("type") == "start_decided");
    CHECK(events[0].at("request_id") == "e1");
    CHECK(events[0].at("seq") == start.at("seq"));
    CHECK(events[1].at("type") == "run_started");
    auto history = parse(exec(c.db, R"({"cmd":"history","run_id":1})"));
    const auto& hist = history.at("events").as_array();
    REQUIRE(hist.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      // export lines are history entries plus the chain: hash and prev_hash
      json::object e = events[i];
      CHECK(e.at("hash").as_string().size() == 64);
      CHECK(e.at("prev_hash").as_string().size() == 64);
      e.erase("hash");
      e.erase("prev_hash");
      CHECK(json::value(e) == hist[i]);
    }
  }
  SECTION("more than the maximum per call is capped") {
    std::vector<std::string> cmds;
    for (int i = 1; i <= OPSLEDGER_READ_EVENTS_MAX + 5; ++i)
      cmds.push_back(R"({"cmd":"register_workspace","workspace_id":)" + std::to_string(i) + R"(,"name":"w"})");
    std::vector<const char*> ptrs;
    for (const auto& s : cmds) ptrs.push_back(s.c_str());
    char** answers = nullptr;
    REQUIRE(opsledger_execute_batch(c.db, ptrs.data(), ptrs.size(), &answers) == OPSLEDGER_OK);
    opsledger_free_answers(answers, ptrs.size());
    Events e = read_events(c.db, 0, 1000000);
    CHECK(split_lines(e.lines).size() == OPSLEDGER_READ_EVENTS_MAX);
    CHECK(e.last == OPSLEDGER_READ_EVENTS_MAX);
  }
}

TEST_CASE("c api: many threads share one handle", "[c_api][threads]") {
  CDb c;
  set_up(c.db);
  std::uint64_t since = opsledger_last_seq(c.db);
  constexpr int kThreads = 6, kPerThread = 20;
  std::atomic<int> accepted = 0, deduped = 0, reads_ok = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string request_id = "t";
        request_id += std::to_string(t);
        request_id += '-';
        request_id += std::to_string(i);
        // Not take(): Catch's assertions are for the test's own thread.
        char* answer = opsledger_execute(c.db, start_json(request_id).c_str());
        std::string a = answer ? answer : "";
        opsledger_free(answer);
        if (a.find("\"accepted\"") != std::string::npos) ++accepted;
        if (a.find("\"deduped\"") != std::string::npos) ++deduped;
        char* lines = nullptr;
        if (opsledger_read_events(c.db, since, 0, &lines, nullptr) == OPSLEDGER_OK) ++reads_ok;
        opsledger_free(lines);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(accepted == 1);
  CHECK(deduped == kThreads * kPerThread - 1);
  CHECK(reads_ok == kThreads * kPerThread);
  CHECK(opsledger_last_seq(c.db) == since + kThreads * kPerThread);
}

TEST_CASE("c api: close and free take NULL", "[c_api]") {
  opsledger_close(nullptr);
  opsledger_free(nullptr);
  opsledger_free_answers(nullptr, 0);
  SUCCEED();
}

TEST_CASE("c api: durable mode answers carry no nosync marker", "[c_api]") {
  CDb c(OPSLEDGER_DURABLE);
  auto a = parse(exec(c.db, kSetup[0]));
  CHECK(a.at("ok") == true);
  CHECK_FALSE(a.contains("durability"));
  CHECK_FALSE(parse(take(opsledger_execute(c.db, nullptr))).contains("durability"));
}

namespace {
std::vector<std::uint64_t> stored_snapshots(const std::string& dir) {
  opsledger::lmdb::Env env(dir, {});
  opsledger::lmdb::Txn txn(env, false);
  return opsledger::snapshot_seqs(txn, opsledger::open_dbis(txn, false));
}
}  // namespace

TEST_CASE("c api: automatic snapshots and waiting for them", "[c_api][snapshot]") {
  TempDir tmp;
  std::string dir = tmp.sub("db");
  opsledger_options o;
  opsledger_options_init(&o);
  o.durability = OPSLEDGER_NOSYNC;
  o.snapshot_every_events = 4;
  o.snapshots_kept = 2;
  opsledger_t* db = nullptr;
  REQUIRE(opsledger_open(dir.c_str(), &o, &db) == OPSLEDGER_OK);
  set_up(db);  // seeding and six commands: seqs cross 4 (and maybe 8)
  REQUIRE(opsledger_wait_for_snapshots(db) == OPSLEDGER_OK);
  CHECK(std::string(opsledger_last_error()).empty());
  for (int i = 0; i < 12; ++i) {  // three more multiples of 4 crossed, one snapshot each
    CHECK(parse(exec(db, start_json("snap-" + std::to_string(i)))).at("ok") == true);
    REQUIRE(opsledger_wait_for_snapshots(db) == OPSLEDGER_OK);
  }
  std::uint64_t last = opsledger_last_seq(db);
  opsledger_close(db);
  auto seqs = stored_snapshots(dir);
  // Two kept (snapshots_kept), the newest of the state after the crossing commit: at or
  // past the last multiple of 4, at or before the tail.
  REQUIRE(seqs.size() == 2);
  CHECK(seqs.back() >= last / 4 * 4);
  CHECK(seqs.back() <= last);

  SECTION("NULL is an invalid argument") {
    CHECK(opsledger_wait_for_snapshots(nullptr) == OPSLEDGER_E_INVALID_ARGUMENT);
    CHECK(std::string(opsledger_last_error()) == "db is NULL");
  }
  SECTION("without the option nothing is snapshotted and waiting returns at once") {
    TempDir other;
    opsledger_t* plain = nullptr;
    REQUIRE(opsledger_open(other.sub("db").c_str(), nullptr, &plain) == OPSLEDGER_OK);
    set_up(plain);
    CHECK(opsledger_wait_for_snapshots(plain) == OPSLEDGER_OK);
    opsledger_close(plain);
    CHECK(stored_snapshots(other.sub("db")).empty());
  }
  SECTION("a caller of the first header (a smaller struct) gets no snapshots") {
    // The first header's struct: the four fields up to max_map_size_bytes. Bytes past its
    // struct_size are not read: here they say "every event".
    TempDir other;
    opsledger_options v1;
    opsledger_options_init(&v1);
    v1.struct_size = OPSLEDGER_OPTIONS_SIZE_V1;
    v1.snapshot_every_events = 1;
    opsledger_t* old = nullptr;
    REQUIRE(opsledger_open(other.sub("db").c_str(), &v1, &old) == OPSLEDGER_OK);
    set_up(old);
    CHECK(opsledger_wait_for_snapshots(old) == OPSLEDGER_OK);
    opsledger_close(old);
    CHECK(stored_snapshots(other.sub("db")).empty());
  }
}
