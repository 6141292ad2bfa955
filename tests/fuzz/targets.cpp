#include "tests/fuzz/targets.h"

#include <boost/json.hpp>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "cli/csv_reader.h"
#include "cli/legacy_csv.h"
#include "engine/dispatch.h"
#include "engine/engine_impl.h"
#include "engine/event_log.h"
#include "engine/replay.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "events/events.h"
#include "events/sha256.h"
#include "projections/apply.h"
#include "projections/memory_store.h"
#include "snapshots/snapshot.h"

namespace opsledger::fuzz {
namespace json = boost::json;

namespace {

// ---- the command path ------------------------------------------------------------------

constexpr std::size_t kLinesPerInputMax = 16;
constexpr TimeUs kFixedClockUs = 1776667958LL * 1000000;  // 2026-04-20T06:52:38Z

// Commands committed once, before any input: enough directory, runs and history that the
// fuzzer's commands reach every decision (a ready connection, a readonly member, a member
// limited to one tenant, a second workspace, runs queued and running, a legacy record).
constexpr const char* kFixture[] = {
    R"({"cmd":"register_workspace","workspace_id":1,"name":"Contoso"})",
    R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":10,"name":"Contoso EU"})",
    R"({"cmd":"register_tenant","workspace_id":1,"tenant_id":11,"name":"Contoso US"})",
    R"({"cmd":"register_workspace","workspace_id":2,"name":"Fabrikam"})",
    R"({"cmd":"register_tenant","workspace_id":2,"tenant_id":20,"name":"Fabrikam"})",
    R"({"cmd":"grant_membership","workspace_id":1,"user_id":7,"role":"operator"})",
    R"({"cmd":"grant_membership","workspace_id":1,"user_id":8,"role":"readonly"})",
    R"({"cmd":"grant_membership","workspace_id":1,"user_id":9,"role":"owner","tenant_ids":[11]})",
    R"({"cmd":"grant_membership","workspace_id":2,"user_id":7,"role":"manager"})",
    R"({"cmd":"register_provider_connection","workspace_id":1,"tenant_id":10,"provider_connection_id":100,"provider":"microsoft","display_name":"Contoso Graph"})",
    R"({"cmd":"set_default_provider_connection","tenant_id":10,"provider_connection_id":100})",
    R"({"cmd":"update_provider_connection","provider_connection_id":100,"consent":"granted","credentials":"usable","permissions":"ok","max_concurrent_runs":2})",
    R"({"cmd":"register_provider_connection","workspace_id":2,"tenant_id":20,"provider_connection_id":200,"provider":"microsoft","display_name":"Fabrikam Graph"})",
    R"({"cmd":"set_default_provider_connection","tenant_id":20,"provider_connection_id":200})",
    R"({"cmd":"start","request_id":"seed-1","actor":{"kind":"user","user_id":7,"name":"Ada"},"workspace_id":1,"tenant_id":10,"type":"inventory.sync","context":{}})",
    R"({"cmd":"start","request_id":"seed-2","actor":{"kind":"user","user_id":7,"name":"Ada"},"workspace_id":1,"tenant_id":10,"type":"provider.verification","context":{}})",
    R"({"cmd":"begin_run","run_id":2})",
    R"({"cmd":"import_legacy_run","kind":"inventory_sync","legacy_id":1,"workspace_id":1,"tenant_id":10,"status":"done","started_at":"2025-01-01T00:00:00Z","completed_at":"2025-01-01T00:10:00Z","counts":{"total":3},"operation_run_id":1})",
    R"({"cmd":"classify_failure_group","group":"g1","seam":"provider-neutrality-surface","category":"fixture-contract-drift","observed_failure":"x","candidate_owner":"y","fix_in_scope":"yes","follow_up":"","status":"open"})",
};

class FuzzDatabase {
 public:
  FuzzDatabase() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "opsledger-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    Options o;
    o.durability = Durability::nosync;
    o.clock = [] { return kFixedClockUs; };
    Status s = Engine::open(dir_, o, engine_);
    if (!s) throw std::runtime_error("cannot open the fuzz database: " + s.message());
    for (const char* c : kFixture) {
      std::string a = engine_->execute(c);
      if (a.rfind("{\"ok\":true", 0) != 0) throw std::runtime_error(std::string("fixture rejected: ") + c + " -> " + a);
    }
    auto& impl = engine_->impl();
    lmdb::Txn txn(*impl.env, false);
    committed_seq_ = replay_into(txn, impl.dbis, committed_, 0, 0);
  }
  ~FuzzDatabase() {
    engine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Engine::Impl& impl() { return engine_->impl(); }
  // The committed state (the fixture), replayed once.
  const MemoryStore& committed() const { return committed_; }
  std::uint64_t committed_seq() const { return committed_seq_; }

 private:
  std::string dir_;
  std::unique_ptr<Engine> engine_;
  MemoryStore committed_;
  std::uint64_t committed_seq_ = 0;
};

FuzzDatabase& database() {
  static FuzzDatabase db;
  return db;
}

std::string check_answer(const Answer& a, std::uint64_t seq_before, std::uint64_t seq_after,
                         const std::string& digest_before, const std::function<std::string()>& digest_now) {
  std::string text = a.render();
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return "the answer is not a JSON object: " + text;
  const auto& o = v.get_object();
  const auto* ok = o.if_contains("ok");
  if (!ok || !ok->is_bool()) return "the answer has no boolean ok: " + text;
  if (ok->get_bool()) {
    if (const auto* s = o.if_contains("seq")) {
      if (!s->is_uint64() && !s->is_int64()) return "seq is not an integer: " + text;
      if (s->to_number<std::uint64_t>() > seq_after) return "the answer names a seq past the log's end: " + text;
    }
    return "";
  }
  const auto* e = o.if_contains("error");
  if (!e || !e->is_object()) return "a rejection without an error object: " + text;
  const auto& eo = e->get_object();
  if (!eo.contains("code") || !eo.at("code").is_string() || eo.at("code").get_string().empty())
    return "a rejection without an error code: " + text;
  if (!eo.contains("message") || !eo.at("message").is_string()) return "a rejection without a message: " + text;
  if (const auto* f = eo.if_contains("field"); f && !f->is_string()) return "error.field is not a string: " + text;
  if (seq_after != seq_before) return "a rejected command appended an event: " + text;
  if (digest_now() != digest_before) return "a rejected command changed the projections: " + text;
  return "";
}

// ---- the envelope decoder ----------------------------------------------------------------

std::string check_payload(std::uint16_t type, std::uint16_t version, std::string_view payload) {
  Event ev;
  try {
    ev = decode_payload(type, version, payload);
  } catch (const DecodeError&) {
    return "";
  }
  if (event_version(ev) != version) return "decoded an event of another version";
  if (static_cast<std::uint16_t>(event_type(ev)) != type) return "decoded an event of another type";
  std::string again = encode_payload(ev);
  Event ev2;
  try {
    ev2 = decode_payload(type, version, again);
  } catch (const DecodeError& e) {
    return std::string("a decoded event re-encodes to bytes that do not decode: ") + e.what();
  }
  if (!(ev2 == ev)) return "a decoded event does not survive a re-encoding";
  (void)json::serialize(event_to_json(ev));
  // A forged but self-consistent log can hold any decodable event; replaying it must
  // refuse (throw), never crash.
  MemoryStore store;
  try {
    EventMeta meta;
    meta.seq = 1;
    apply_event(store, meta, ev);
  } catch (const std::exception&) {
  }
  return "";
}

}  // namespace

std::string command_lines(std::string_view input) {
  FuzzDatabase& db = database();
  Engine::Impl& impl = db.impl();
  try {
    lmdb::Txn txn(*impl.env, true);
    LogAppender log(txn, impl.dbis.events);
    LmdbStore live(txn, impl.dbis);
    std::size_t lines = 0;
    std::size_t pos = 0;
    while (pos <= input.size() && lines < kLinesPerInputMax) {
      std::size_t nl = input.find('\n', pos);
      std::string_view line = input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      ++lines;
      std::uint64_t before = log.tail().seq;
      std::string digest_before = state_digest(live);
      CommandContext ctx(txn, impl.dbis, log, kFixedClockUs);
      Answer a;
      try {
        a = execute_line(ctx, line);
      } catch (const lmdb::LmdbError&) {
        throw;
      } catch (const std::exception& e) {
        return std::string("execute_line threw: ") + e.what() + " on line: " + std::string(line.substr(0, 200));
      }
      std::string problem = check_answer(a, before, log.tail().seq, digest_before, [&] { return state_digest(live); });
      if (!problem.empty()) return problem;
      if (last_applied_seq(live) != log.tail().seq) return "the projections do not follow the log";
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    if (log.tail().seq > db.committed_seq()) {
      MemoryStore replayed = db.committed();
      replay_into(txn, impl.dbis, replayed, db.committed_seq(), 0);
      if (state_digest(replayed) != state_digest(live)) return "the live projections differ from a replay of the log";
    }
    txn.abort();
  } catch (const lmdb::LmdbError& e) {
    if (e.map_full()) return "";  // an input may fill the map; the engine grows it, the harness does not
    return std::string("LMDB failed: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("the harness caught: ") + e.what();
  }
  return "";
}

std::string envelope(std::string_view input) {
  if (input.empty()) return "";
  std::string_view rest = input.substr(1);
  if ((static_cast<unsigned char>(input[0]) & 1) == 0) {
    Envelope env;
    try {
      env = decode_envelope(rest);
    } catch (const DecodeError&) {
      return "";
    }
    (void)envelope_hash_ok(rest);
    // The decoded fields re-encode to the same bytes (the envelope has one encoding).
    Envelope copy = env;
    std::string again = encode_envelope(copy);
    if (again.substr(0, again.size() - kHashSize) != rest.substr(0, rest.size() - kHashSize))
      return "a decoded envelope re-encodes to other bytes";
    return check_payload(env.event_type, env.schema_version, env.payload);
  }
  if (rest.size() < 4) return "";
  ByteReader r(rest);
  std::uint16_t type = r.u16();
  std::uint16_t version = r.u16();
  return check_payload(type, version, rest.substr(4));
}

std::string snapshot(std::string_view input) {
  if (input.size() < 9) return "";
  ByteReader r(input.substr(1, 8));
  std::uint64_t key_seq = r.u64();
  std::string_view rest = input.substr(9);
  std::string stored;
  if ((static_cast<unsigned char>(input[0]) & 1) == 0) {
    stored = std::string(rest);
  } else {
    // A forger's snapshot: a correct header and checksum over hostile archive bytes.
    ByteWriter w(stored);
    w.raw("OPSLSNAP");
    w.u32(kSnapshotFormatVersion);
    w.raw(snapshot_checksum(rest));
    w.raw(rest);
  }
  std::string problem;
  std::optional<Snapshot> snap;
  try {
    snap = decode_snapshot(key_seq, stored, problem);
  } catch (const std::exception& e) {
    return std::string("decode_snapshot threw: ") + e.what();
  }
  // The same value read in pieces (format 2's loading) must come to the same verdict.
  std::size_t piece = (static_cast<unsigned char>(input[0]) >> 1) + 1;
  std::vector<std::string_view> pieces;
  for (std::size_t at = 0; at < stored.size(); at += piece) pieces.push_back(std::string_view(stored).substr(at, piece));
  std::string pieces_problem;
  std::optional<Snapshot> from_pieces;
  try {
    from_pieces = decode_snapshot(key_seq, pieces, pieces_problem);
  } catch (const std::exception& e) {
    return std::string("decode_snapshot of pieces threw: ") + e.what();
  }
  if (from_pieces.has_value() != snap.has_value() || pieces_problem != problem)
    return "pieces of " + std::to_string(piece) + " bytes: \"" + pieces_problem + "\", whole: \"" + problem + "\"";
  if (snap && (!(from_pieces->state == snap->state) || from_pieces->digest != snap->digest))
    return "a snapshot read in pieces differs from the same value read whole";
  if (!snap) {
    if (problem.empty()) return "a refused snapshot without a reason";
    return "";
  }
  if (snap->seq != key_seq) return "a snapshot accepted under another seq";
  if (state_digest(snap->state) != snap->digest) return "an accepted snapshot's state does not hash to its digest";
  std::string again = encode_snapshot(snap->seq, snap->chain_hash, snap->digest, snap->state);
  std::string problem2;
  auto snap2 = decode_snapshot(snap->seq, again, problem2);
  if (!snap2) return "an accepted snapshot re-encodes to one that is refused: " + problem2;
  if (!(snap2->state == snap->state) || snap2->digest != snap->digest || snap2->chain_hash != snap->chain_hash)
    return "an accepted snapshot does not survive a re-encoding";
  return "";
}

std::string csv(std::string_view input) {
  using namespace opsledger::cli;
  std::vector<CsvRecord> records;
  try {
    records = parse_csv(input);
  } catch (const std::exception& e) {
    return std::string("parse_csv threw: ") + e.what();
  }
  for (const auto& rec : records) {
    if (!rec.error.empty()) {
      if (!rec.fields.empty()) return "a malformed record with fields";
      continue;
    }
    if (rec.fields.empty()) return "a sound record without fields";
    std::string written;
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      if (i) written.push_back(',');
      written.push_back('"');
      for (char c : rec.fields[i].value) {
        if (c == '"') written.push_back('"');
        written.push_back(c);
      }
      written.push_back('"');
    }
    if (written.size() > kCsvRecordBytesMax) continue;  // quoting made it longer than a record may be
    written += "\r\n";
    auto back = parse_csv(written);
    if (back.size() != 1 || !back[0].error.empty() || back[0].fields.size() != rec.fields.size())
      return "a sound record written back with quotes does not parse to one record";
    for (std::size_t i = 0; i < rec.fields.size(); ++i)
      if (back[0].fields[i].value != rec.fields[i].value || !back[0].fields[i].quoted)
        return "a field changed when written back with quotes";
  }
  if (records.empty() || !records[0].error.empty()) return "";
  LegacyHeader header = parse_legacy_header(records[0]);
  if (!header.error.empty()) return "";
  for (std::size_t i = 1; i < records.size(); ++i) {
    if (!records[i].error.empty()) continue;
    LegacyRow row = legacy_row_command(header, records[i]);
    if (!row.error_code.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(row.command, ec);
    if (ec || !v.is_object()) return "a mapped row is not a JSON object: " + row.command;
    if (!valid_utf8(row.command)) return "a mapped row is not UTF-8";
  }
  return "";
}

}  // namespace opsledger::fuzz
