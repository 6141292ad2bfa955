// Answers: how each event reads back to the caller, fresh and when a request_id is
// replayed (the recorded answer is re-rendered from the recorded event, so it is the same).
#include <boost/json.hpp>

#include "engine/command_context.h"
#include "engine/reasons.h"
#include "events/bytes.h"
#include "events/json_values.h"
#include "projections/apply.h"
#include "projections/records.h"

namespace opsledger {
namespace json = boost::json;

bool Answer::ok() const {
  if (!text.empty()) return text.starts_with(R"({"ok":true)");
  auto it = body.find("ok");
  return it != body.end() && it->value().is_bool() && it->value().get_bool();
}

std::string Answer::render() const& { return text.empty() ? json::serialize(body) : text; }
std::string Answer::render() && { return text.empty() ? json::serialize(body) : std::move(text); }

json::object& Answer::members() {
  if (!text.empty()) {
    body = json::parse(text).as_object();
    text.clear();
  }
  return body;
}

void Answer::mark_nosync() {
  if (text.empty()) {
    body["durability"] = "nosync";
  } else {
    text.pop_back();  // the closing brace
    text += R"(,"durability":"nosync"})";
  }
}

Answer Answer::success() {
  Answer a;
  a.body["ok"] = true;
  return a;
}

Answer Answer::success(std::uint64_t seq) {
  Answer a = success();
  a.body["seq"] = seq;
  return a;
}

Answer Answer::error(std::string_view code, std::string_view message, std::string_view field) {
  Answer a;
  a.body["ok"] = false;
  json::object e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  a.body["error"] = std::move(e);
  return a;
}

namespace {

void append_member(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_json_string(out, value);
}

void append_member(std::string& out, std::string_view key, std::uint64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  out += std::to_string(value);
}

// {"ok":true,"seq":N,"decision":…} written directly: the same bytes boost::json would
// serialize for the same members in the same order (tests/batch_store_test.cpp).
std::string start_answer(const StartDecided& e, std::uint64_t seq) {
  std::string out;
  out.reserve(512);
  out += R"({"ok":true)";
  append_member(out, "seq", seq);
  append_member(out, "decision", name_of(e.decision));
  if (e.run_id) append_member(out, "run_id", e.run_id);
  std::string_view code = e.decision == Decision::accepted ? std::string_view("accepted") : e.reason_code;
  if (e.decision != Decision::accepted) append_member(out, "reason_code", e.reason_code);
  const auto& reason = reason_for(code);
  append_member(out, "message", reason.message);
  append_member(out, "next_step", reason.next_step);
  append_member(out, "type", e.type);
  append_member(out, "label", e.label);
  if (e.provider_connection_id) append_member(out, "provider_connection_id", *e.provider_connection_id);
  if (!e.run_identity_hash.empty()) append_member(out, "run_identity_hash", e.run_identity_hash);
  out += '}';
  return out;
}

void claim_answer(json::object& o, const ClaimEvaluated& e) {
  o["claim_state"] = name_of(e.claim_state);
  o["reasons"] = strings_to_json(e.reasons);
  o["complete"] = e.complete;
  o["covered"] = e.covered;
  o["denominator"] = e.denominator;
  o["missing"] = strings_to_json(e.missing);
}

}  // namespace

Answer answer_for(const Event& event, std::uint64_t seq) {
  if (auto* s = std::get_if<StartDecided>(&event)) {
    Answer a;
    a.text = start_answer(*s, seq);
    return a;
  }
  Answer a = Answer::success(seq);
  if (auto* c = std::get_if<ClaimEvaluated>(&event)) claim_answer(a.body, *c);
  if (auto* x = std::get_if<StaleRunsExpired>(&event)) a.body["expired"] = ids_to_json(x->run_ids);
  return a;
}

std::optional<Answer> CommandContext::replay() {
  if (request_id_.empty()) return std::nullopt;
  auto recorded = load_request_seq(store_, request_id_);
  if (!recorded) return std::nullopt;
  std::uint64_t seq = *recorded;
  auto bytes = read_event(txn_, dbis_.events, seq);
  if (!bytes) throw DecodeError("request record names a missing event");
  // The recorded event's envelope carries the digest of the body it was recorded for.
  auto env = decode_envelope(*bytes);
  if (env.request_id != request_id_) throw DecodeError("request record names an event of another request");
  if (env.request_digest != request_digest_)
    return Answer::error("request_id_reused", "request_id was already used by a different command", "request_id");
  return answer_for(decode_payload(env.event_type, env.schema_version, env.payload), seq);
}

std::uint64_t CommandContext::append(const Event& event, TimeUs at_us, const Actor& actor) {
  Envelope env;
  env.event_type = static_cast<std::uint16_t>(event_type(event));
  env.schema_version = event_version(event);
  env.at_us = at_us;
  env.recorded_at_us = now_us_;
  env.actor = actor;
  if (!request_id_.empty()) {
    env.request_id = request_id_;
    env.request_digest = request_digest_;
  }
  env.payload = encode_payload(event);
  std::uint64_t seq = log_.append(env);
  apply_event(store_, meta_of(seq, env), event);
  appended_ = true;
  return seq;
}

}  // namespace opsledger
