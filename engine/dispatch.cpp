#include "engine/dispatch.h"

#include <boost/json.hpp>

#include <array>
#include <cstring>

#include "engine/commands.h"
#include "engine/fields.h"
#include "events/json_values.h"
#include "events/sha256.h"

namespace opsledger {
namespace json = boost::json;

namespace {

constexpr std::array kCommands = {
    CommandSpec{"register_workspace", cmd_register_workspace},
    CommandSpec{"register_tenant", cmd_register_tenant},
    CommandSpec{"grant_membership", cmd_grant_membership},
    CommandSpec{"revoke_membership", cmd_revoke_membership},
    CommandSpec{"register_provider_connection", cmd_register_provider_connection},
    CommandSpec{"set_default_provider_connection", cmd_set_default_provider_connection},
    CommandSpec{"update_provider_connection", cmd_update_provider_connection},
    CommandSpec{"define_operation_type", cmd_define_operation_type},
    CommandSpec{"start", cmd_start},
    CommandSpec{"begin_run", cmd_begin_run},
    CommandSpec{"record_progress", cmd_record_progress},
    CommandSpec{"complete_run", cmd_complete_run},
    CommandSpec{"cancel_run", cmd_cancel_run},
    CommandSpec{"expire_stale_runs", cmd_expire_stale_runs},
    CommandSpec{"classify_failure_group", cmd_classify_failure_group},
    CommandSpec{"triage", cmd_triage},
    CommandSpec{"import_legacy_run", cmd_import_legacy_run},
    CommandSpec{"resolve_legacy", cmd_resolve_legacy},
    CommandSpec{"register_resource_type", cmd_register_resource_type},
    CommandSpec{"define_supported_scope", cmd_define_supported_scope},
    CommandSpec{"register_managed_environment", cmd_register_managed_environment},
    CommandSpec{"record_coverage", cmd_record_coverage},
    CommandSpec{"evaluate_claim", cmd_evaluate_claim},
    CommandSpec{"claim_eligibility", cmd_claim_eligibility},
    CommandSpec{"get_run", cmd_get_run},
    CommandSpec{"list_runs", cmd_list_runs},
    CommandSpec{"explain", cmd_explain},
    CommandSpec{"history", cmd_history},
    CommandSpec{"notifications", cmd_notifications},
    CommandSpec{"state_digest", cmd_state_digest},
    CommandSpec{"stats", cmd_stats},
};

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    // ASCII, 8 bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

namespace {
ParsedLine refused(Answer a) { return ParsedLine{std::move(a), {}, {}, {}, {}}; }
}  // namespace

ParsedLine parse_line(std::string_view line, json::storage_ptr storage) {
  if (line.size() > kLineBytesMax)
    return refused(Answer::error("line_too_long", "a line may hold at most 65536 bytes"));
  if (!valid_utf8(line)) return refused(Answer::error("invalid_utf8", "the line is not valid UTF-8"));
  json::parse_options opts;
  opts.max_depth = kJsonDepthMax;
  boost::system::error_code ec;
  // Constructed, not assigned: the value keeps `storage` (an assignment would copy it into
  // the default resource).
  ParsedLine p{std::nullopt, json::parse(json::string_view(line.data(), line.size()), ec, storage, opts), {}, {}, {}};
  if (ec) {
    p.error = Answer::error("invalid_json", "not a JSON text: " + ec.message());
  } else if (!p.command.is_object()) {
    p.error = Answer::error("invalid_json", "a command is a JSON object");
  } else {
    const json::object& obj = p.command.get_object();
    if (obj.contains("request_id")) p.body_digest = sha256(canonical_json(p.command));
    // A start's fields, read as execute_parsed would read them.
    const json::value* cmd = obj.if_contains("cmd");
    if (cmd && cmd->is_string() && cmd->get_string() == "start") {
      Fields f(obj);
      f.opt_text("cmd");
      auto request_id = f.request_id(false);
      if (!f.failed()) {
        p.start = read_start(f, obj, request_id.has_value());
        if (request_id) p.request_id = std::move(*request_id);
      }
    }
  }
  return p;
}

ParsedLine parse_line(std::string_view line) {
  // One block for the whole parsed command, freed at once; counted, so that a copy of a
  // part of it that outlives the command keeps it alive. (`opsledger apply` parses into
  // buffers it reuses, which nothing counts: cli/cmd_apply.cpp.)
  return parse_line(line, json::make_shared_resource<json::monotonic_resource>(2 * line.size() + 512));
}

Answer execute_parsed(CommandContext& ctx, const ParsedLine& line) {
  if (line.error) return *line.error;
  if (line.start) {
    if (!line.request_id.empty()) ctx.set_request(line.request_id, line.body_digest);
    return decide_start(ctx, *line.start);
  }
  Fields f(line.command.get_object());
  auto cmd = f.opt_text("cmd");
  if (!f.failed() && !cmd) f.fail("missing_field", "every command names its cmd", "cmd");
  if (f.failed()) return *f.finish();
  const CommandSpec* spec = find_command(*cmd);
  if (!spec) return Answer::error("unknown_command", "no command named " + *cmd, "cmd");
  auto request_id = f.request_id(false);
  if (f.failed()) return *f.finish();
  if (request_id) ctx.set_request(*request_id, line.body_digest);
  return spec->handle(ctx, f);
}

Answer execute_line(CommandContext& ctx, std::string_view line) { return execute_parsed(ctx, parse_line(line)); }

}  // namespace opsledger
