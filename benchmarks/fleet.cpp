#include "benchmarks/fleet.h"

#include <boost/json.hpp>

#include <cstdio>
#include <stdexcept>

#include "engine/run_identity.h"
#include "events/json_values.h"

namespace opsledger::bench {
namespace json = boost::json;

std::vector<std::string> Fleet::setup_commands() {
  std::vector<std::string> out;
  auto add = [&](const json::object& o) { out.push_back(json::serialize(o)); };
  for (unsigned w = 0; w < kWorkspaces; ++w) {
    add({{"cmd", "register_workspace"}, {"workspace_id", w + 1}, {"name", "Workspace " + std::to_string(w + 1)}});
    add({{"cmd", "grant_membership"}, {"workspace_id", w + 1}, {"user_id", kUser}, {"role", "manager"}});
  }
  for (unsigned t = 0; t < kTenants; ++t) {
    add({{"cmd", "register_tenant"},
         {"workspace_id", workspace_id(t)},
         {"tenant_id", tenant_id(t)},
         {"name", "Tenant " + std::to_string(t)}});
    add({{"cmd", "register_provider_connection"},
         {"workspace_id", workspace_id(t)},
         {"tenant_id", tenant_id(t)},
         {"provider_connection_id", connection_id(t)},
         {"provider", "microsoft"},
         {"display_name", "Graph " + std::to_string(t)}});
    add({{"cmd", "set_default_provider_connection"},
         {"tenant_id", tenant_id(t)},
         {"provider_connection_id", connection_id(t)}});
    add({{"cmd", "update_provider_connection"},
         {"provider_connection_id", connection_id(t)},
         {"consent", "granted"},
         {"credentials", "usable"},
         {"permissions", "ok"},
         {"max_concurrent_runs", 1000000}});
  }
  return out;
}

std::string Fleet::request_id(std::string_view prefix, std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%09llu", static_cast<unsigned long long>(n));
  return std::string(prefix) + buf;
}

std::string Fleet::start(std::string_view request_id, unsigned identity) {
  unsigned t = identity / kIdentitiesPerTenant;
  unsigned k = identity % kIdentitiesPerTenant + 1;
  std::string s;
  s.reserve(224);
  s += R"({"cmd":"start","request_id":")";
  s += request_id;
  s += R"(","actor":{"kind":"user","user_id":7,"name":"Ada"},"workspace_id":)";
  s += std::to_string(workspace_id(t));
  s += R"(,"tenant_id":)";
  s += std::to_string(tenant_id(t));
  s += R"(,"type":"restore.execute","context":{"restore_run_id":)";
  s += std::to_string(k);
  s += "}}";
  return s;
}

StartRequest parse_start(std::string_view line) {
  json::value v = json::parse(json::string_view(line.data(), line.size()));
  const auto& o = v.as_object();
  StartRequest r;
  r.request_id = std::string(o.at("request_id").as_string());
  r.workspace_id = o.at("workspace_id").to_number<Id>();
  r.tenant_id = o.at("tenant_id").to_number<Id>();
  r.user_id = o.at("actor").as_object().at("user_id").to_number<Id>();
  r.type = std::string(o.at("type").as_string());
  const auto& ctx = o.at("context").as_object();
  r.context_json = canonical_json(ctx);
  if (r.type != "restore.execute") throw std::runtime_error("the peers model restore.execute only");
  json::object fields{{"restore_run_id", ctx.at("restore_run_id").to_number<Id>()}};
  r.identity_hash = run_identity_hash(r.type, ScopeKind::tenant, r.tenant_id, fields, nullptr);
  return r;
}

void count_answer(std::string_view a, Tally& t) {
  if (a.find(R"("decision":"deduped")") != std::string_view::npos)
    ++t.deduped;
  else if (a.find(R"("decision":"accepted")") != std::string_view::npos)
    ++t.accepted;
  else
    ++t.other;
}

}  // namespace opsledger::bench
