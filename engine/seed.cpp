// What a new database starts with, written as ordinary events so a replay rebuilds it:
// the operation catalog (SPEC section 6), a registry of common Intune configuration
// types, and the default supported scopes (SPEC section 9).
#include "engine/command_context.h"
#include "engine/engine_impl.h"

namespace opsledger {
namespace {

OperationTypeDef op(std::string type, std::string label, IdentityPolicy policy, std::vector<std::string> fields,
                    std::string capability, std::uint64_t expected_s, bool system_allowed = false,
                    bool readiness_exempt = false) {
  OperationTypeDef d;
  d.type = std::move(type);
  d.label = std::move(label);
  d.identity_policy = policy;
  d.identity_fields = std::move(fields);
  d.provider_backed = true;
  d.readiness_exempt = readiness_exempt;
  d.capability = std::move(capability);
  d.system_allowed = system_allowed;
  d.expected_duration_s = expected_s;
  d.stale_after_s = 3 * expected_s;
  return d;
}

ResourceTypeDef rt(std::string type, SourceClass sc, SupportState support, RestoreTier tier, std::string name) {
  return ResourceTypeDef{std::move(type), sc, Workload::intune, ResourceClass::configuration, support, tier,
                         std::move(name)};
}

}  // namespace

void seed_database(CommandContext& ctx) {
  using P = IdentityPolicy;
  const Actor seed{ActorKind::system, 0, "opsledger.seed"};
  const std::vector<OperationTypeDef> catalog = {
      op("inventory.sync", "Inventory sync", P::while_active, {}, "inventory.sync", 600),
      op("directory_groups.sync", "Directory groups sync", P::while_active, {}, "directory.sync", 300),
      op("directory_role_definitions.sync", "Directory role definitions sync", P::while_active, {}, "directory.sync",
         300),
      op("provider.verification", "Provider verification", P::while_active, {"provider_connection_id"},
         "provider.verify", 120, false, true),
      op("backup_schedule.run_now", "Backup now", P::nonce, {"backup_schedule_id"}, "backup.run", 1800),
      op("backup_schedule.retry", "Backup retry", P::nonce, {"backup_schedule_id"}, "backup.run", 1800),
      op("backup_schedule.scheduled", "Scheduled backup", P::strict, {"backup_schedule_id", "scheduled_for"},
         "backup.run", 1800, true),
      op("restore.execute", "Restore", P::while_active, {"restore_run_id"}, "restore.execute", 3600),
      op("onboarding.bootstrap", "Onboarding bootstrap", P::while_active, {}, "onboarding.run", 900),
  };
  for (const auto& d : catalog) ctx.append(OperationTypeDefined{d}, ctx.now_us(), seed);

  using S = SourceClass;
  using T = RestoreTier;
  using U = SupportState;
  const std::vector<ResourceTypeDef> registry = {
      rt("intune.device_configuration", S::tcm, U::supported, T::automated, "Device configuration profile"),
      rt("intune.device_configuration", S::graph_v1_fallback, U::supported, T::manual, "Device configuration profile"),
      rt("intune.compliance_policy", S::tcm, U::supported, T::automated, "Device compliance policy"),
      rt("intune.compliance_policy", S::graph_v1_fallback, U::supported, T::manual, "Device compliance policy"),
      rt("intune.settings_catalog_policy", S::tcm, U::supported, T::automated, "Settings catalog policy"),
      rt("intune.settings_catalog_policy", S::graph_beta_experimental, U::limited, T::none, "Settings catalog policy"),
      rt("intune.app_protection_policy", S::tcm, U::supported, T::manual, "App protection policy"),
      rt("intune.app_configuration_policy", S::graph_v1_fallback, U::limited, T::manual, "App configuration policy"),
      rt("intune.endpoint_security_policy", S::tcm, U::supported, T::automated, "Endpoint security policy"),
      rt("intune.enrollment_configuration", S::graph_beta_experimental, U::limited, T::none,
         "Enrollment configuration"),
      rt("intune.windows_update_ring", S::tcm, U::supported, T::automated, "Windows update ring"),
      rt("intune.assignment_filter", S::graph_v1_fallback, U::supported, T::manual, "Assignment filter"),
      rt("intune.scope_tag", S::graph_v1_fallback, U::supported, T::none, "Scope tag"),
  };
  for (const auto& d : registry) ctx.append(ResourceTypeRegistered{d, std::nullopt}, ctx.now_us(), seed);

  const std::vector<ScopeDef> scopes = {
      ScopeDef{"default.intune_core",
               {"intune.device_configuration", "intune.compliance_policy", "intune.settings_catalog_policy"},
               CoverageLevel::inventoried,
               false,
               false},
      ScopeDef{"default.intune_security",
               {"intune.endpoint_security_policy", "intune.windows_update_ring", "intune.app_protection_policy"},
               CoverageLevel::inventoried,
               true,
               false},
  };
  for (const auto& d : scopes) ctx.append(SupportedScopeDefined{d, std::nullopt}, ctx.now_us(), seed);
}

}  // namespace opsledger
