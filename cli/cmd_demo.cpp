// opsledger demo [--db DIR] [--fresh]: builds a realistic platform through the embedded
// engine (three workspaces, their tenants, members of every role, provider connections in
// every readiness state), plays a day of clicks and worker reports on it, tells on stdout
// what the engine decided and why, then audits the day (explain, a point-in-time replay)
// and ends with the checks `verify` runs. Exit 0 only when every decision was the one the
// story expects and verify passes.
//
// The engine's clock is the story's clock (2026-04-20, UTC), so each event's `at` and
// `recorded_at` are the story's times and `replay --until 2026-04-20T10:07:00Z` shows the
// platform as it was at half past ten. Automatic snapshots are taken every 25 events.
#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli_args.h"
#include "cli/subcommands.h"
#include "engine/audit.h"
#include "engine/engine_impl.h"
#include "events/json_values.h"
#include "opsledger/engine.h"
#include "projections/apply.h"
#include "projections/records.h"

namespace opsledger::cli {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kDefaultDir = "./opsledger-demo-db";
constexpr const char* kDay = "2026-04-20T";
constexpr std::uint64_t kSnapshotEvery = 25;

struct Person {
  std::uint64_t user_id;
  const char* name;
  const char* role;
  const char* where;
};

const Person kOlivia{1, "Olivia", "owner", "Contoso"};
const Person kMax{2, "Max", "manager", "Contoso"};
const Person kAda{7, "Ada", "operator", "Contoso"};
const Person kRita{4, "Rita", "readonly", "Contoso"};
const Person kTom{5, "Tom", "operator", "Contoso US only"};
const Person kFiona{21, "Fiona", "owner", "Fabrikam"};
const Person kEve{8, "Eve", "operator", "Fabrikam"};
const Person kNora{31, "Nora", "manager", "Northwind"};

json::object actor(const Person& p) { return {{"kind", "user"}, {"user_id", p.user_id}, {"name", p.name}}; }
json::object scheduler() { return {{"kind", "system"}, {"name", "backup-scheduler"}}; }

class Story {
 public:
  Story(Engine& engine, std::shared_ptr<std::atomic<TimeUs>> clock) : engine_(engine), clock_(std::move(clock)) {}

  void chapter(const char* title) { std::printf("\n== %s ==\n\n", title); }

  void at(const char* hhmmss) {
    clock_->store(*parse_time(std::string(kDay) + hhmmss + "Z"));
    time_ = hhmmss;
  }
  std::string time_at(const char* hhmmss) const { return std::string(kDay) + hhmmss + "Z"; }

  json::object send(const json::object& cmd) {
    std::string answer = engine_.execute(json::serialize(cmd));
    // Automatic snapshots are written on the engine's own thread; waiting for each keeps
    // the story the same on every run (the snapshot the 10:07 replay starts from).
    engine_.wait_for_snapshots();
    return json::parse(answer).as_object();
  }

  // An administrative or worker command that must succeed; prints one line.
  json::object step(const std::string& what, const json::object& cmd) {
    auto a = send(cmd);
    bool ok = a.at("ok").as_bool();
    std::printf("%s  %s%s\n", time_.c_str(), what.c_str(), ok ? "" : "  -- UNEXPECTED: refused");
    if (!ok) {
      std::printf("          %s\n", json::serialize(a).c_str());
      unexpected_ = true;
    }
    return a;
  }

  // A click on Start: prints who did what, the decision, and the engine's message and
  // next step. Returns the answer.
  json::object click(const std::string& who, const std::string& what, const json::object& cmd,
                     std::string_view expected) {
    auto a = send(cmd);
    std::printf("%s  %s %s\n", time_.c_str(), who.c_str(), what.c_str());
    if (!a.at("ok").as_bool()) {
      std::printf("          -- UNEXPECTED: %s\n", json::serialize(a).c_str());
      unexpected_ = true;
      return a;
    }
    std::string decision(a.at("decision").as_string());
    std::string line = "          -> " + decision;
    if (auto* r = a.if_contains("run_id")) line += ", run " + std::to_string(r->to_number<std::uint64_t>());
    if (auto* r = a.if_contains("reason_code")) line += " (" + std::string(r->as_string()) + ")";
    line += "   [seq " + std::to_string(a.at("seq").to_number<std::uint64_t>()) + "]";
    if (decision != expected) {
      line += "  -- UNEXPECTED: the story expected " + std::string(expected);
      unexpected_ = true;
    }
    std::printf("%s\n", line.c_str());
    std::printf("             %s\n", std::string(a.at("message").as_string()).c_str());
    std::printf("             Next: %s\n", std::string(a.at("next_step").as_string()).c_str());
    return a;
  }

  void note(const std::string& text) { std::printf("          %s\n", text.c_str()); }
  void fail(const std::string& why) {
    std::printf("          -- UNEXPECTED: %s\n", why.c_str());
    unexpected_ = true;
  }
  bool unexpected() const { return unexpected_; }

 private:
  Engine& engine_;
  std::shared_ptr<std::atomic<TimeUs>> clock_;
  std::string time_ = "--:--:--";
  bool unexpected_ = false;
};

json::object start(const char* request_id, const Person& who, std::uint64_t ws, std::uint64_t tenant, const char* type,
                   json::object context = {}) {
  return {{"cmd", "start"}, {"request_id", request_id}, {"actor", actor(who)}, {"workspace_id", ws},
          {"tenant_id", tenant}, {"type", type}, {"context", std::move(context)}};
}

std::uint64_t run_of(const json::object& answer) {
  auto* r = answer.if_contains("run_id");
  return r ? r->to_number<std::uint64_t>() : 0;
}

json::object begin(std::uint64_t run) { return {{"cmd", "begin_run"}, {"run_id", run}}; }
json::object complete(std::uint64_t run, const char* outcome, json::object counts = {}) {
  json::object c{{"cmd", "complete_run"}, {"run_id", run}, {"outcome", outcome}};
  if (!counts.empty()) c["counts"] = std::move(counts);
  return c;
}
std::string run_name(std::uint64_t run) { return "run " + std::to_string(run); }

void set_up_platform(Story& s) {
  s.chapter("06:00  Setting up the platform");
  s.at("06:00:00");
  auto reg_ws = [&](std::uint64_t id, const char* name) {
    s.step(std::string("workspace ") + name + " registered",
           {{"cmd", "register_workspace"}, {"workspace_id", id}, {"name", name}});
  };
  reg_ws(1, "Contoso");
  reg_ws(2, "Fabrikam");
  reg_ws(3, "Northwind Traders");
  auto reg_tenant = [&](std::uint64_t ws, std::uint64_t id, const char* name) {
    s.step(std::string("tenant ") + name + " (" + std::to_string(id) + ") registered",
           {{"cmd", "register_tenant"}, {"workspace_id", ws}, {"tenant_id", id}, {"name", name}});
  };
  reg_tenant(1, 10, "Contoso EU");
  reg_tenant(1, 11, "Contoso US");
  reg_tenant(2, 20, "Fabrikam HQ");
  reg_tenant(3, 30, "Northwind Main");
  auto grant = [&](std::uint64_t ws, const Person& p, json::array tenants = {}) {
    json::object c{{"cmd", "grant_membership"}, {"workspace_id", ws}, {"user_id", p.user_id}, {"role", p.role}};
    std::string reach = "all tenants";
    if (!tenants.empty()) {
      reach = "tenant " + json::serialize(tenants);
      c["tenant_ids"] = std::move(tenants);
    }
    s.step(std::string(p.name) + " joins " + p.where + " as " + p.role + " (" + reach + ")", c);
  };
  grant(1, kOlivia);
  grant(1, kMax);
  grant(1, kAda);
  grant(1, kRita);
  grant(1, kTom, json::array{11});
  grant(2, kFiona);
  grant(2, kEve);
  grant(3, kNora);

  auto reg_pc = [&](std::uint64_t ws, std::uint64_t tenant, std::uint64_t pc, const char* name) {
    s.step("provider connection " + std::to_string(pc) + " \"" + name + "\" registered",
           {{"cmd", "register_provider_connection"}, {"workspace_id", ws}, {"tenant_id", tenant},
            {"provider_connection_id", pc}, {"provider", "microsoft"}, {"display_name", name}});
  };
  auto update = [&](const std::string& what, json::object fields) {
    fields["cmd"] = "update_provider_connection";
    s.step(what, fields);
  };
  auto set_default = [&](std::uint64_t tenant, std::uint64_t pc) {
    s.step("connection " + std::to_string(pc) + " is the default of tenant " + std::to_string(tenant),
           {{"cmd", "set_default_provider_connection"}, {"tenant_id", tenant}, {"provider_connection_id", pc}});
  };
  reg_pc(1, 10, 100, "Contoso EU Graph");
  update("connection 100: consent granted, credentials usable -> ready",
         {{"provider_connection_id", 100}, {"consent", "granted"}, {"credentials", "usable"}, {"permissions", "ok"}});
  set_default(10, 100);
  reg_pc(1, 11, 110, "Contoso US Graph");
  s.note("(a new connection: consent missing, credentials missing)");
  set_default(11, 110);
  reg_pc(1, 11, 111, "Contoso US Graph (old app)");
  update("connection 111: consent granted, but its client secret expired -> credentials unusable",
         {{"provider_connection_id", 111}, {"consent", "granted"}, {"credentials", "unusable"}});
  reg_pc(2, 20, 200, "Fabrikam Graph");
  update("connection 200: consent granted, credentials usable, an API permission denied",
         {{"provider_connection_id", 200}, {"consent", "granted"}, {"credentials", "usable"}, {"permissions", "denied"}});
  set_default(20, 200);
  reg_pc(2, 20, 201, "Fabrikam Graph (retired)");
  update("connection 201: disabled by an administrator",
         {{"provider_connection_id", 201}, {"consent", "granted"}, {"credentials", "usable"}, {"enabled", false}});
  s.note("Northwind Main (tenant 30) has no provider connection at all.");
}

void morning_clicks(Story& s) {
  s.chapter("07:00  The morning's clicks on Contoso EU");
  s.at("07:02:00");
  auto r1 = s.click("Ada (operator)", "clicks Start on \"Inventory sync\" for Contoso EU",
                    start("ada-0702", kAda, 1, 10, "inventory.sync"), "accepted");
  std::uint64_t inventory = run_of(r1);
  s.at("07:02:03");
  s.click("Ada", "double-clicks the same button", start("ada-0702b", kAda, 1, 10, "inventory.sync"), "deduped");
  s.at("07:03:10");
  s.click("Max (manager)", "starts \"Directory groups sync\" for Contoso EU",
          start("max-0703", kMax, 1, 10, "directory_groups.sync"), "scope_busy");
  s.at("07:04:00");
  s.click("Rita (readonly)", "tries \"Backup now\" on Contoso EU",
          [] {
            auto c = start("rita-0704", kRita, 1, 10, "backup_schedule.run_now", {{"backup_schedule_id", 501}});
            c["nonce"] = "rita-click-1";
            return c;
          }(),
          "forbidden");
  s.at("07:05:00");
  s.click("Eve (Fabrikam operator)", "pastes a Contoso EU link and clicks \"Inventory sync\"",
          start("eve-0705", kEve, 1, 10, "inventory.sync"), "not_found");
  s.at("07:06:00");
  s.click("Tom (operator, Contoso US only)", "tries \"Inventory sync\" on Contoso EU",
          start("tom-0706", kTom, 1, 10, "inventory.sync"), "not_found");
  s.at("07:07:00");
  auto again = s.send(start("ada-0702", kAda, 1, 10, "inventory.sync"));
  std::printf("07:07:00  Ada's browser retries request ada-0702 after a network blip\n");
  if (again == r1)
    s.note("-> the recorded answer again (accepted, " + run_name(inventory) + ", seq " +
           std::to_string(again.at("seq").to_number<std::uint64_t>()) + "); nothing appended");
  else
    s.fail("a replayed request_id answered differently");

  s.at("07:08:00");
  s.step("worker picks up " + run_name(inventory) + " (begin_run)", begin(inventory));
  s.at("07:15:00");
  s.step("worker reports progress on " + run_name(inventory) + ": 800 of 1240 items",
         {{"cmd", "record_progress"}, {"run_id", inventory}, {"counts", {{"total", 1240}, {"processed", 800}}}});
  s.at("07:19:00");
  s.step("worker completes " + run_name(inventory) + ": succeeded, 1240 items",
         complete(inventory, "succeeded", {{"processed", 440}, {"succeeded", 1240}}));
  auto notes = s.send({{"cmd", "notifications"}, {"user_id", kAda.user_id}, {"after_seq", 0}});
  s.note("Ada's notifications: " + std::to_string(notes.at("notifications").as_array().size()) +
         " (run " + std::to_string(inventory) + " succeeded)");

  s.at("07:20:00");
  auto groups = run_of(s.click("Max", "starts \"Directory groups sync\" again, now that the connection is free",
                               start("max-0720", kMax, 1, 10, "directory_groups.sync"), "accepted"));
  s.step("worker picks up " + run_name(groups), begin(groups));
  s.at("07:26:00");
  s.step("worker completes " + run_name(groups) + ": partially succeeded, 3 groups throttled",
         {{"cmd", "complete_run"}, {"run_id", groups}, {"outcome", "partially_succeeded"},
          {"counts", {{"total", 412}, {"succeeded", 409}, {"failed", 3}}},
          {"failures", json::array{{{"code", "graph_throttled"}, {"message", "429 from Graph after 5 retries"},
                                    {"item", "group 7f3c"}}}}});
}

void backups(Story& s) {
  s.chapter("08:00  Scheduled backups (strict: a slot runs at most once)");
  json::object slot{{"backup_schedule_id", 501}, {"scheduled_for", s.time_at("08:00:00")}};
  auto scheduled = [&](const char* rid, const char* when) {
    json::object c{{"cmd", "start"}, {"request_id", rid}, {"actor", scheduler()}, {"workspace_id", 1},
                   {"tenant_id", 10}, {"type", "backup_schedule.scheduled"},
                   {"context", {{"backup_schedule_id", 501}, {"scheduled_for", s.time_at(when)}}}};
    return c;
  };
  s.at("08:00:00");
  auto backup = run_of(s.click("the backup scheduler (system)", "fires schedule 501's 08:00 slot for Contoso EU",
                               scheduled("sched-501-0800-a", "08:00:00"), "accepted"));
  s.at("08:00:20");
  s.click("a second scheduler replica", "fires the same slot (scheduled_for 08:00:20, same minute)",
          scheduled("sched-501-0800-b", "08:00:20"), "deduped");
  s.step("worker picks up " + run_name(backup), begin(backup));
  s.at("08:25:00");
  s.step("worker completes " + run_name(backup) + ": succeeded, 318 policies backed up",
         complete(backup, "succeeded", {{"total", 318}, {"succeeded", 318}}));
  s.at("09:00:00");
  s.click("the scheduler, restarted,", "replays the 08:00 slot",
          scheduled("sched-501-0800-c", "08:00:00"), "deduped");
  s.note("(strict identity: the slot already ran, so it never runs twice)");
  s.click("the backup scheduler", "fires Northwind Main's 09:00 slot",
          {{"cmd", "start"}, {"request_id", "sched-777-0900"}, {"actor", scheduler()}, {"workspace_id", 3},
           {"tenant_id", 30}, {"type", "backup_schedule.scheduled"},
           {"context", {{"backup_schedule_id", 777}, {"scheduled_for", s.time_at("09:00:00")}}}},
          "blocked");

  s.chapter("09:30  Backup now (nonce: every click is its own)");
  auto backup_now = [&](const char* rid, const char* nonce) {
    auto c = start(rid, kAda, 1, 10, "backup_schedule.run_now", {{"backup_schedule_id", 501}});
    c["nonce"] = nonce;
    return c;
  };
  s.at("09:30:00");
  auto now1 = run_of(s.click("Ada", "clicks \"Backup now\" (nonce click-1)", backup_now("ada-0930", "click-1"),
                             "accepted"));
  s.at("09:30:02");
  s.click("Ada's browser", "re-sends that click under a new request id (same nonce click-1)",
          backup_now("ada-0930-retry", "click-1"), "deduped");
  s.at("09:31:00");
  s.click("Ada", "clicks \"Backup now\" again (nonce click-2)", backup_now("ada-0931", "click-2"), "scope_busy");
  s.at("09:32:00");
  s.step("Olivia (owner) raises connection 100 to 2 concurrent runs",
         {{"cmd", "update_provider_connection"}, {"provider_connection_id", 100}, {"max_concurrent_runs", 2},
          {"actor", actor(kOlivia)}});
  s.at("09:33:00");
  auto now2 = run_of(s.click("Ada", "clicks \"Backup now\" once more (nonce click-3)",
                             backup_now("ada-0933", "click-3"), "accepted"));
  s.step("workers pick up " + run_name(now1) + " and " + run_name(now2), begin(now1));
  s.send(begin(now2));
  s.at("09:58:00");
  s.step("both backups complete", complete(now1, "succeeded", {{"total", 318}, {"succeeded", 318}}));
  s.send(complete(now2, "succeeded", {{"total", 318}, {"succeeded", 318}}));
}

json::object verification_report(bool permission_denied) {
  json::array checks{{{"key", "admin_consent"}, {"status", "pass"}, {"blocking", true}},
                     {{"key", "client_credentials"}, {"status", "pass"}, {"blocking", true}}};
  if (permission_denied)
    checks.push_back({{"key", "graph_permissions"}, {"status", "fail"},
                      {"reason_code", "provider_permission_denied"}, {"blocking", true}});
  else
    checks.push_back({{"key", "graph_permissions"}, {"status", "pass"}, {"blocking", true}});
  return {{"checks", std::move(checks)}};
}

void onboarding_contoso_us(Story& s) {
  s.chapter("10:00  Contoso US: from consent missing to ready, through verification");
  s.at("10:00:00");
  s.click("Tom", "starts \"Inventory sync\" for Contoso US", start("tom-1000", kTom, 1, 11, "inventory.sync"),
          "blocked");
  s.at("10:01:00");
  auto via_old = start("tom-1001", kTom, 1, 11, "inventory.sync");
  via_old["provider_connection_id"] = 111;
  s.click("Tom", "tries again through the old app's connection 111", via_old, "blocked");
  s.at("10:05:00");
  s.step("Olivia grants admin consent for connection 110 in the portal",
         {{"cmd", "update_provider_connection"}, {"provider_connection_id", 110}, {"consent", "granted"},
          {"actor", actor(kOlivia)}});
  s.at("10:06:00");
  s.click("Tom", "starts \"Inventory sync\" for Contoso US again", start("tom-1006", kTom, 1, 11, "inventory.sync"),
          "blocked");
  s.at("10:10:00");
  auto verification = run_of(s.click("Max", "starts \"Provider verification\" for Contoso US",
                                     start("max-1010", kMax, 1, 11, "provider.verification"), "accepted"));
  s.note("(verification is exempt from consent, credentials and permissions: it is how they are re-checked)");
  s.step("verifier picks up " + run_name(verification), begin(verification));
  s.at("10:12:00");
  s.step("verifier reports: consent, credentials and permissions all pass",
         {{"cmd", "complete_run"}, {"run_id", verification}, {"report", verification_report(false)}});
  s.note("-> connection 110 is now consent granted, credentials usable, permissions ok");
  s.at("10:40:00");
  auto us = run_of(s.click("Tom", "starts \"Inventory sync\" for Contoso US",
                           start("tom-1040", kTom, 1, 11, "inventory.sync"), "accepted"));
  s.step("worker picks up " + run_name(us), begin(us));
  s.at("10:52:00");
  s.step("worker completes " + run_name(us), complete(us, "succeeded", {{"total", 96}, {"succeeded", 96}}));
}

void fabrikam_and_northwind(Story& s) {
  s.chapter("11:00  Fabrikam and Northwind");
  s.at("11:00:00");
  s.click("Eve", "starts \"Inventory sync\" for Fabrikam HQ", start("eve-1100", kEve, 2, 20, "inventory.sync"),
          "blocked");
  s.at("11:01:00");
  auto retired = start("eve-1101", kEve, 2, 20, "inventory.sync");
  retired["provider_connection_id"] = 201;
  s.click("Eve", "picks the retired connection 201 instead", retired, "blocked");
  s.at("11:05:00");
  auto v1 = run_of(s.click("Fiona (owner)", "starts \"Provider verification\" for Fabrikam HQ",
                           start("fiona-1105", kFiona, 2, 20, "provider.verification"), "accepted"));
  s.send(begin(v1));
  s.at("11:07:00");
  s.step("verifier reports: DeviceManagementConfiguration.ReadWrite.All is not granted",
                  {{"cmd", "complete_run"}, {"run_id", v1}, {"report", verification_report(true)}});
  s.note("-> the run failed (a blocking check failed); connection 200 stays permission denied");
  s.at("11:30:00");
  std::printf("11:30:00  Fiona grants the missing API permission in Entra ID\n");
  s.note("(the engine does not take her word for it: only a verification report changes readiness)");
  auto v2 = run_of(s.click("Fiona", "runs \"Provider verification\" again",
                           start("fiona-1130", kFiona, 2, 20, "provider.verification"), "accepted"));
  s.send(begin(v2));
  s.at("11:32:00");
  s.step("verifier reports: all checks pass", {{"cmd", "complete_run"}, {"run_id", v2},
                                               {"report", verification_report(false)}});
  s.note("-> connection 200: permissions ok; Fabrikam HQ is ready");
  s.at("11:40:00");
  auto fab = run_of(s.click("Eve", "starts \"Inventory sync\" for Fabrikam HQ",
                            start("eve-1140", kEve, 2, 20, "inventory.sync"), "accepted"));
  s.send(begin(fab));
  s.at("11:55:00");
  s.step("worker completes " + run_name(fab), complete(fab, "succeeded", {{"total", 57}, {"succeeded", 57}}));
  s.at("12:00:00");
  s.click("Nora (Northwind manager)", "starts \"Inventory sync\" for Northwind Main",
          start("nora-1200", kNora, 3, 30, "inventory.sync"), "blocked");
}

void crashed_worker(Story& s) {
  s.chapter("13:00  A worker crashes");
  s.at("13:00:00");
  auto stuck = run_of(s.click("Max", "starts \"Onboarding bootstrap\" for Contoso EU",
                              start("max-1300", kMax, 1, 10, "onboarding.bootstrap"), "accepted"));
  s.at("13:01:00");
  s.step("worker picks up " + run_name(stuck) + " ... and its pod is OOM-killed; no more reports",
         begin(stuck));
  s.at("14:00:00");
  s.click("Max", "clicks \"Onboarding bootstrap\" again an hour later",
          start("max-1400", kMax, 1, 10, "onboarding.bootstrap"), "deduped");
  s.note("(the stuck run still holds the identity)");
  s.at("15:00:00");
  auto swept = s.step("the stale-run sweeper runs (onboarding is stale after 45 min without activity)",
                      {{"cmd", "expire_stale_runs"}, {"at", s.time_at("15:00:00")}});
  auto run = s.send({{"cmd", "get_run"}, {"run_id", stuck}, {"actor", actor(kMax)}});
  if (run.at("ok").as_bool()) {
    auto& r = run.at("run").as_object();
    s.note("-> " + run_name(stuck) + " is " + std::string(r.at("status").as_string()) + ", outcome " +
           std::string(r.at("outcome").as_string()) + " (run_stale); its identity and connection slot are free");
    if (r.at("outcome") != "failed") s.fail("the stale run was not failed");
  } else {
    s.fail("get_run refused");
  }
  s.at("15:01:00");
  auto fresh = run_of(s.click("Max", "starts \"Onboarding bootstrap\" again",
                              start("max-1501", kMax, 1, 10, "onboarding.bootstrap"), "accepted"));
  s.send(begin(fresh));
  s.at("15:20:00");
  s.step("worker completes " + run_name(fresh), complete(fresh, "succeeded", {{"total", 12}, {"succeeded", 12}}));
  (void)swept;
}

json::object observation(const char* type, const char* source, const char* level, const char* evidence,
                         const char* identity) {
  return {{"cmd", "record_coverage"}, {"workspace_id", 1},     {"managed_environment_id", 501},
          {"canonical_type", type},   {"source_class", source}, {"level", level},
          {"evidence_state", evidence}, {"identity_state", identity}};
}

json::object claim(std::optional<const char*> scope, const char* level, const char* audience, const char* kind) {
  json::object c{{"cmd", "evaluate_claim"}, {"workspace_id", 1}, {"managed_environment_id", 501},
                 {"level", level},          {"audience", audience}, {"kind", kind}};
  if (scope) c["scope_key"] = *scope;
  return c;
}

// A claim shown to someone: prints the guard's verdict and why; checks the expected state.
void show_claim(Story& s, const std::string& what, const json::object& cmd, std::string_view expected) {
  auto a = s.send(cmd);
  if (!a.at("ok").as_bool()) {
    s.fail(what + ": " + json::serialize(a));
    return;
  }
  std::string state(a.at("claim_state").as_string());
  std::string reasons;
  for (const auto& r : a.at("reasons").as_array()) reasons += (reasons.empty() ? "" : ", ") + std::string(r.as_string());
  std::string missing;
  for (const auto& m : a.at("missing").as_array()) missing += (missing.empty() ? "" : ", ") + std::string(m.as_string());
  std::printf("          %s\n          -> %s, %llu of %llu types covered%s%s\n", what.c_str(), state.c_str(),
              static_cast<unsigned long long>(a.at("covered").to_number<std::uint64_t>()),
              static_cast<unsigned long long>(a.at("denominator").to_number<std::uint64_t>()),
              reasons.empty() ? "" : ("; reasons: " + reasons).c_str(),
              missing.empty() ? "" : ("; missing: " + missing).c_str());
  if (state != expected) s.fail("the story expected " + std::string(expected));
}

void coverage_claims(Story& s) {
  s.chapter("16:00  Coverage claims: nobody says \"100 % covered\" unless a scope really is");
  s.at("16:00:00");
  s.step("Contoso's managed environment 501 \"Contoso production\" is registered",
         {{"cmd", "register_managed_environment"}, {"workspace_id", 1}, {"managed_environment_id", 501},
          {"name", "Contoso production"}});
  s.step("capture: device configuration via TCM, content captured, complete, resolved",
         observation("intune.device_configuration", "tcm", "content_captured", "complete", "resolved"));
  s.step("capture: compliance policies via TCM, content captured, complete, resolved",
         observation("intune.compliance_policy", "tcm", "content_captured", "complete", "resolved"));
  s.step("capture: settings catalog only via Graph beta (not counted by default.intune_core)",
         observation("intune.settings_catalog_policy", "graph_beta_experimental", "content_captured", "complete",
                     "resolved"));
  s.at("16:05:00");
  show_claim(s, "the sales deck wants \"100 % covered\" with no scope",
             claim(std::nullopt, "content_captured", "customer", "coverage"), "blocked");
  show_claim(s, "customer claim: default.intune_core at content_captured",
             claim("default.intune_core", "content_captured", "customer", "coverage"), "blocked");
  show_claim(s, "operator view of the same scope (allowed, but says complete:false)",
             claim("default.intune_core", "content_captured", "operator", "coverage"), "eligible");
  s.at("16:30:00");
  s.step("capture: settings catalog via TCM, content captured, complete, resolved",
         observation("intune.settings_catalog_policy", "tcm", "content_captured", "complete", "resolved"));
  show_claim(s, "customer claim: default.intune_core at content_captured",
             claim("default.intune_core", "content_captured", "customer", "coverage"), "eligible");
  show_claim(s, "customer claim: default.intune_core at restore_verified",
             claim("default.intune_core", "restore_verified", "customer", "coverage"), "blocked");
  auto e = s.send({{"cmd", "claim_eligibility"}, {"workspace_id", 1}, {"managed_environment_id", 501}});
  if (e.at("ok").as_bool()) {
    const auto& el = e.at("eligibility").as_object();
    auto* core = el.if_contains("default.intune_core");
    std::printf("          eligibility now: default.intune_core -> %s\n",
                core && core->is_string() ? std::string(core->as_string()).c_str() : "null");
    if (!core || !core->is_string() || core->as_string() != "content_captured")
      s.fail("default.intune_core should be eligible up to content_captured");
  } else {
    s.fail("claim_eligibility refused");
  }
}

std::string readiness_of(const ConnectionRecord& c) {
  return std::string("consent ") + std::string(name_of(c.consent)) + ", credentials " +
         std::string(name_of(c.credentials)) + ", permissions " + std::string(name_of(c.permissions));
}

// The audit part: explain one refusal, show the platform at 10:07 from the log, verify.
bool audit(Story& s, Engine& engine) {
  s.chapter("17:00  The auditor's questions");
  auto ex = s.send({{"cmd", "explain"}, {"for_request_id", "tom-1006"}});
  std::printf("Why was Tom's 10:06 click refused?  (explain tom-1006)\n");
  if (ex.at("ok").as_bool()) {
    std::printf("          decision %s, reason %s\n", std::string(ex.at("decision").as_string()).c_str(),
                std::string(ex.at("reason_code").as_string()).c_str());
    std::printf("          readiness the gate saw: %s\n",
                json::serialize(ex.at("cause").as_object().at("readiness")).c_str());
  } else {
    s.fail("explain refused");
  }

  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  TimeUs seven_past_ten = *parse_time(s.time_at("10:07:00"));
  std::uint64_t seq = seq_at_recorded_time(txn, impl.dbis, seven_past_ten);
  ReplayResult then = replay_state(txn, impl.dbis, seq, true);
  LmdbStore live(txn, impl.dbis);
  auto before = load<ConnectionRecord>(then.state, Table::connections, key_id(110));
  auto now = load<ConnectionRecord>(live, Table::connections, key_id(110));
  std::printf("\nWhat did the engine know about connection 110 at 10:07, just after Tom's refusal?  (replay --until %s)\n",
              s.time_at("10:07:00").c_str());
  if (before && now) {
    std::printf("          at 10:07 (seq %llu, replayed from the snapshot at seq %llu): %s\n",
                static_cast<unsigned long long>(then.seq), static_cast<unsigned long long>(then.snapshot_seq),
                readiness_of(*before).c_str());
    std::printf("          at the end of the day (seq %llu): %s\n",
                static_cast<unsigned long long>(last_applied_seq(live)), readiness_of(*now).c_str());
  } else {
    s.fail("connection 110 missing from the state");
  }
  std::printf("\nVerifying the log (the checks of `opsledger verify`)\n");
  VerifyResult v = verify_database(txn, impl.dbis);
  std::printf("          %s\n", v.verdict.c_str());
  return v.ok;
}

// Refuses a non-empty directory unless --fresh; --fresh wipes only an opsledger database
// (data.mdb and lock.mdb), never a directory holding anything else.
bool prepare_dir(const std::string& dir, bool fresh) {
  std::error_code ec;
  if (!fs::exists(dir, ec) || fs::is_empty(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "opsledger demo: %s is not a directory\n", dir.c_str());
    return false;
  }
  if (!fresh) {
    std::fprintf(stderr, "opsledger demo: %s is not empty; pass --fresh to wipe the previous demo database\n",
                 dir.c_str());
    return false;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (name != "data.mdb" && name != "lock.mdb") {
      std::fprintf(stderr, "opsledger demo: %s holds %s, which is not an opsledger database file; not wiping it\n",
                   dir.c_str(), name.c_str());
      return false;
    }
  }
  fs::remove(fs::path(dir) / "data.mdb", ec);
  fs::remove(fs::path(dir) / "lock.mdb", ec);
  return true;
}

}  // namespace

int run_demo(int argc, char** argv) {
  Args args(argc, argv, {"db"}, {"fresh"});
  if (args.help()) {
    std::printf(
        "usage: opsledger demo [--db DIR] [--fresh]\n\n"
        "Builds a realistic platform (3 workspaces, 4 tenants, members of every role,\n"
        "provider connections in every readiness state), plays a day of clicks, scheduled\n"
        "backups, verification runs and a crashed worker, tells what the engine decided and\n"
        "why, audits the day and ends with verify.\n\n"
        "  --db DIR   database directory (default %s); must be missing or empty\n"
        "  --fresh    wipe a previous demo database in DIR first\n\n"
        "exit status: 0 the story went as expected and verify passed, 2 otherwise,\n"
        "1 cannot open, 64 usage or a non-empty directory\n",
        kDefaultDir);
    return kExitOk;
  }
  if (!args.ok()) {
    std::fprintf(stderr, "opsledger demo: %s\n", args.error().c_str());
    return kExitUsage;
  }
  std::string dir = args.get("db").value_or(kDefaultDir);
  if (!prepare_dir(dir, args.flag("fresh"))) return kExitUsage;

  auto clock = std::make_shared<std::atomic<TimeUs>>(*parse_time(std::string(kDay) + "06:00:00Z"));
  Options options;
  options.clock = [clock] { return clock->load(); };
  options.snapshot_every_events = kSnapshotEvery;
  std::unique_ptr<Engine> engine;
  Status st = Engine::open(dir, options, engine);
  if (!st) {
    std::fprintf(stderr, "opsledger demo: cannot open %s: %s\n", dir.c_str(), st.message().c_str());
    return kExitEngineFailure;
  }
  std::printf("opsledger demo: a day on the platform, in %s\n", dir.c_str());
  std::printf("(the database starts with %llu seeded events: the operation catalog, the resource type\n"
              " registry and the default supported scopes)\n",
              static_cast<unsigned long long>(engine->last_seq()));
  Story s(*engine, clock);
  bool verified = false;
  try {
    set_up_platform(s);
    morning_clicks(s);
    backups(s);
    onboarding_contoso_us(s);
    fabrikam_and_northwind(s);
    crashed_worker(s);
    coverage_claims(s);
    verified = audit(s, *engine);
  } catch (const std::exception& e) {
    std::printf("\nthe demo stopped: %s\n", e.what());
    return kExitEngineFailure;
  }
  std::uint64_t events = engine->last_seq();
  engine.reset();
  std::printf("\n%llu events in the log. Try:\n", static_cast<unsigned long long>(events));
  std::printf("  opsledger verify  --db %s\n", dir.c_str());
  std::printf("  opsledger replay  --db %s --until %s10:07:00Z\n", dir.c_str(), kDay);
  std::printf("  opsledger export  --db %s --from-seq %llu\n", dir.c_str(),
              static_cast<unsigned long long>(events > 10 ? events - 9 : 1));
  std::printf("  opsledger tail    --db %s --after 0 --follow\n", dir.c_str());
  if (s.unexpected()) std::printf("\nSome decisions were not the ones the story expected (marked UNEXPECTED).\n");
  return verified && !s.unexpected() ? kExitOk : kExitRejected;
}

}  // namespace opsledger::cli
