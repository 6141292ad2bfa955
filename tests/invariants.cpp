#include "tests/invariants.h"

#include <map>
#include <set>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "events/bytes.h"
#include "events/envelope.h"
#include "events/events.h"

namespace opsledger::test {

std::string check_invariants_along_log(const std::string& dir) {
  lmdb::Env env(dir, lmdb::Env::Options{});
  lmdb::Txn txn(env, false);
  Dbis dbis = open_dbis(txn, false);
  struct Active {
    std::string identity;  // scope + hash
    std::uint64_t pc = 0;
    bool strict = false;
  };
  std::map<Id, Active> active;
  std::set<std::string> identities;
  std::map<Id, std::uint64_t> per_pc, max_of;
  lmdb::Cursor c(txn, dbis.events);
  auto finish = [&](Id run) {
    auto it = active.find(run);
    if (it == active.end()) return;
    identities.erase(it->second.identity);
    if (it->second.pc) --per_pc[it->second.pc];
    active.erase(it);
  };
  for (bool more = c.first(); more; more = c.next()) {
    std::uint64_t seq = get_be64(c.key());
    auto envl = decode_envelope(c.value());
    auto ev = decode_payload(envl.event_type, envl.schema_version, envl.payload);
    if (auto* r = std::get_if<ProviderConnectionRegistered>(&ev)) max_of[r->provider_connection_id] = 1;
    if (auto* u = std::get_if<ProviderConnectionUpdated>(&ev); u && u->max_concurrent_runs)
      max_of[u->provider_connection_id] = *u->max_concurrent_runs;
    if (auto* s = std::get_if<StartDecided>(&ev); s && s->decision == Decision::accepted) {
      std::string id = std::to_string(s->tenant_id.value_or(0)) + "/" + std::to_string(s->workspace_id) + "/" +
                       s->run_identity_hash;
      bool strict = s->identity_policy == IdentityPolicy::strict;
      if (!strict && identities.count(id))
        return "seq " + std::to_string(seq) + ": a second active run with one scope and identity";
      if (!strict) identities.insert(id);
      std::uint64_t pc = s->provider_connection_id.value_or(0);
      active[s->run_id] = Active{strict ? std::string() : id, pc, strict};
      if (pc && ++per_pc[pc] > max_of[pc])
        return "seq " + std::to_string(seq) + ": connection " + std::to_string(pc) + " over max_concurrent_runs";
    }
    if (auto* done = std::get_if<RunCompleted>(&ev)) finish(done->run_id);
    if (auto* x = std::get_if<StaleRunsExpired>(&ev))
      for (Id r : x->run_ids) finish(r);
  }
  return "";
}

}  // namespace opsledger::test
