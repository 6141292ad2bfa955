#include "engine/access.h"

#include <algorithm>

namespace opsledger {

const std::vector<std::string_view>& capabilities_of(Role role) {
  static const std::vector<std::string_view> readonly{"operations.view"};
  static const std::vector<std::string_view> operator_{"operations.view", "provider.verify", "inventory.sync",
                                                       "directory.sync", "backup.run"};
  static const std::vector<std::string_view> manager{"operations.view", "provider.verify", "inventory.sync",
                                                     "directory.sync",  "backup.run",      "restore.execute",
                                                     "onboarding.run",  "coverage.manage"};
  static const std::vector<std::string_view> owner{"operations.view", "provider.verify", "inventory.sync",
                                                   "directory.sync",  "backup.run",      "restore.execute",
                                                   "onboarding.run",  "coverage.manage", "provider.manage",
                                                   "members.manage"};
  switch (role) {
    case Role::owner: return owner;
    case Role::manager: return manager;
    case Role::operator_: return operator_;
    case Role::readonly: return readonly;
  }
  return readonly;
}

bool role_has(Role role, std::string_view capability) {
  const auto& caps = capabilities_of(role);
  return std::find(caps.begin(), caps.end(), capability) != caps.end();
}

bool is_capability(std::string_view capability) { return role_has(Role::owner, capability); }

Access check_access(const Store& s, const Actor& actor, Id ws, std::optional<Id> tenant,
                    std::string_view capability) {
  if (!s.has(Table::workspaces, key_id(ws))) return Access::not_found;
  if (tenant) {
    auto t = load_shared<TenantRecord>(s, Table::tenants, key_id(*tenant));
    if (!t || t->workspace_id != ws) return Access::not_found;
  }
  if (actor.kind != ActorKind::user) return Access::ok;
  auto m = load_shared<MembershipRecord>(s, Table::memberships, key_ids(ws, actor.user_id));
  if (!m) return Access::not_found;
  if (tenant && !m->all_tenants && !std::binary_search(m->tenant_ids.begin(), m->tenant_ids.end(), *tenant))
    return Access::not_found;
  if (!capability.empty() && !role_has(m->role, capability)) return Access::forbidden;
  return Access::ok;
}

bool can_see_run(const Store& s, const Actor& actor, const RunRecord& run) {
  return check_access(s, actor, run.workspace_id, run.tenant_id, "operations.view") == Access::ok;
}

}  // namespace opsledger
