// The benchmark's tenants and start requests, shared by every workload and every system.
//
// 100 tenants in 10 workspaces; each tenant has its own provider connection, ready
// (consent granted, credentials usable, permissions ok) and the tenant's default, with
// max_concurrent_runs 1,000,000 so capacity never interferes with dedupe. User 7 is a
// manager of every workspace. An identity is (tenant, restore_run_id 1..100) of type
// `restore.execute` (policy while_active): 10,000 identities in all.
//
// The peers receive the very same JSON lines and parse them as the platform would: the
// fields of the request and the documented run_identity_hash (engine/run_identity.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.h"

namespace opsledger::bench {

struct Fleet {
  static constexpr unsigned kTenants = 100;
  static constexpr unsigned kWorkspaces = 10;
  static constexpr unsigned kIdentitiesPerTenant = 100;
  static constexpr unsigned kIdentities = kTenants * kIdentitiesPerTenant;
  static constexpr Id kUser = 7;

  static Id workspace_id(unsigned tenant_index) { return 1 + tenant_index % kWorkspaces; }
  static Id tenant_id(unsigned tenant_index) { return 1000 + tenant_index; }
  static Id connection_id(unsigned tenant_index) { return 5000 + tenant_index; }

  // Directory, memberships and ready connections, as JSON command lines.
  static std::vector<std::string> setup_commands();
  // A start of identity `identity` (0 .. kIdentities-1) with this request_id.
  static std::string start(std::string_view request_id, unsigned identity);
  // "<prefix>-<n>" zero-padded, so request ids sort in order of sending.
  static std::string request_id(std::string_view prefix, std::uint64_t n);
};

// A start request as the platform sees it after parsing the JSON line.
struct StartRequest {
  std::string request_id;
  Id workspace_id = 0;
  Id tenant_id = 0;
  Id user_id = 0;
  std::string type;
  std::string context_json;  // canonical
  std::string identity_hash;  // run_identity_hash, hex
};

// Parses a start line as produced by Fleet::start. Throws std::runtime_error otherwise.
StartRequest parse_start(std::string_view line);

// Counts of decisions, engine answers and peer results alike.
struct Tally {
  std::uint64_t accepted = 0;
  std::uint64_t deduped = 0;
  std::uint64_t other = 0;  // any other decision or error (should stay 0)
  void add(const Tally& o) {
    accepted += o.accepted;
    deduped += o.deduped;
    other += o.other;
  }
  std::uint64_t total() const { return accepted + deduped + other; }
};

// Classifies an engine answer line.
void count_answer(std::string_view answer, Tally& t);

}  // namespace opsledger::bench
