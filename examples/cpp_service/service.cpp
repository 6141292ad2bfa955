// A back-end service embedding opsledger through its C++ API.
//
//   opsledger_example_service DIR [--nosync]
//
// One Engine for the whole process, shared by every thread. The service:
//   1. registers its directory (a workspace, three tenants, a user, one provider
//      connection per tenant) — idempotently, with request_ids, so a restart is harmless;
//   2. serves a burst of "Start" clicks from several request threads at once: every click
//      asks the start gate, and only an `accepted` decision makes work — its run_id goes on
//      the dispatch queue. The gate, not the service, decides dedupe: twelve clicks on three
//      tenants give three runs, whatever the interleaving;
//   3. runs a worker pool that takes run_ids from the queue and reports begin_run, progress
//      and complete_run (a job receives its run_id and never creates a run itself);
//   4. reacts to what happened by reading the initiator's notifications.
// The phases run one after the other so the printed story is the same on every run; a real
// service overlaps them (docs/embedding.md).
//
// Answers are compact JSON; a real service parses them with its JSON library. To stay free
// of dependencies beyond opsledger, this example reads the few fields it needs with a small
// helper.
#include <opsledger/engine.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t kWorkspace = 1;
constexpr std::uint64_t kUser = 7;
constexpr std::uint64_t kTenants[] = {10, 11, 12};
constexpr int kRequestThreads = 4;
constexpr int kWorkers = 2;
constexpr std::size_t kQueueMax = 64;

// The value of "key" in a compact JSON object answer: a string without its quotes, or the
// raw text of a number/bool/null. nullopt when absent. Good enough for engine answers only.
std::optional<std::string> field(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":";
  auto at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  at += needle.size();
  if (json[at] == '"') {
    auto end = json.find('"', at + 1);
    return json.substr(at + 1, end - at - 1);
  }
  auto end = json.find_first_of(",}]", at);
  return json.substr(at, end - at);
}

bool ok(const std::string& answer) { return answer.rfind("{\"ok\":true", 0) == 0; }

std::string must(opsledger::Engine& engine, const std::string& command) {
  std::string answer = engine.execute(command);
  if (!ok(answer)) {
    std::fprintf(stderr, "command failed: %s\n  answer: %s\n", command.c_str(), answer.c_str());
    std::exit(1);
  }
  return answer;
}

void set_up_directory(opsledger::Engine& engine) {
  auto w = std::to_string(kWorkspace);
  must(engine, R"({"cmd":"register_workspace","request_id":"setup-ws","workspace_id":)" + w +
                   R"(,"name":"Contoso"})");
  must(engine, R"({"cmd":"grant_membership","request_id":"setup-member","workspace_id":)" + w +
                   R"(,"user_id":)" + std::to_string(kUser) + R"(,"role":"operator"})");
  for (std::uint64_t tenant : kTenants) {
    auto t = std::to_string(tenant), c = std::to_string(tenant * 10);
    must(engine, R"({"cmd":"register_tenant","request_id":"setup-tenant-)" + t + R"(","workspace_id":)" + w +
                     R"(,"tenant_id":)" + t + R"(,"name":"Contoso )" + t + R"("})");
    must(engine, R"({"cmd":"register_provider_connection","request_id":"setup-conn-)" + c +
                     R"(","workspace_id":)" + w + R"(,"tenant_id":)" + t + R"(,"provider_connection_id":)" + c +
                     R"(,"provider":"microsoft","display_name":"Graph )" + t + R"("})");
    must(engine, R"({"cmd":"set_default_provider_connection","request_id":"setup-default-)" + t +
                     R"(","tenant_id":)" + t + R"(,"provider_connection_id":)" + c + "}");
    must(engine, R"({"cmd":"update_provider_connection","request_id":"setup-ready-)" + c +
                     R"(","provider_connection_id":)" + c +
                     R"(,"consent":"granted","credentials":"usable","permissions":"ok"})");
  }
}

// A bounded queue of accepted run_ids, from the request threads to the workers.
class DispatchQueue {
 public:
  void push(std::uint64_t run_id) {
    std::unique_lock lk(mu_);
    not_full_.wait(lk, [&] { return runs_.size() < kQueueMax; });
    runs_.push_back(run_id);
    not_empty_.notify_one();
  }
  // nullopt once closed and drained.
  std::optional<std::uint64_t> pop() {
    std::unique_lock lk(mu_);
    not_empty_.wait(lk, [&] { return !runs_.empty() || closed_; });
    if (runs_.empty()) return std::nullopt;
    auto run_id = runs_.front();
    runs_.pop_front();
    not_full_.notify_one();
    return run_id;
  }
  void close() {
    std::lock_guard lk(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::uint64_t> runs_;
  bool closed_ = false;
};

// One click on "Start inventory sync" for `tenant`, as a web request handler would send it.
std::string click(opsledger::Engine& engine, int thread, std::uint64_t tenant) {
  return engine.execute(R"({"cmd":"start","request_id":"click-)" + std::to_string(thread) + "-" +
                        std::to_string(tenant) + R"(","actor":{"kind":"user","user_id":)" + std::to_string(kUser) +
                        R"(,"name":"Ada"},"workspace_id":)" + std::to_string(kWorkspace) + R"(,"tenant_id":)" +
                        std::to_string(tenant) + R"(,"type":"inventory.sync","context":{}})");
}

// What a worker does with one run: report that it began, its progress, and its end.
void work(opsledger::Engine& engine, std::uint64_t run_id) {
  auto r = std::to_string(run_id);
  must(engine, R"({"cmd":"begin_run","run_id":)" + r + "}");
  must(engine, R"({"cmd":"record_progress","run_id":)" + r + R"(,"counts":{"total":40,"processed":20}})");
  must(engine, R"({"cmd":"complete_run","run_id":)" + r +
                   R"(,"outcome":"succeeded","counts":{"processed":20,"succeeded":40}})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--nosync]\n", argv[0]);
    return 64;
  }
  opsledger::Options options;
  if (argc > 2 && !std::strcmp(argv[2], "--nosync")) options.durability = opsledger::Durability::nosync;
  std::unique_ptr<opsledger::Engine> engine;
  opsledger::Status status = opsledger::Engine::open(argv[1], options, engine);
  if (!status) {
    std::fprintf(stderr, "cannot open %s: %s\n", argv[1], status.message().c_str());
    return 1;
  }
  set_up_directory(*engine);
  std::uint64_t seq_before_clicks = engine->last_seq();

  // Clicks from several request threads at once; the gate decides.
  DispatchQueue queue;
  std::mutex decisions_mu;
  std::map<std::string, int> decisions;
  std::vector<std::thread> requests;
  for (int t = 0; t < kRequestThreads; ++t) {
    requests.emplace_back([&, t] {
      for (std::uint64_t tenant : kTenants) {
        std::string answer = click(*engine, t, tenant);
        auto decision = field(answer, "decision").value_or("error");
        {
          std::lock_guard lk(decisions_mu);
          ++decisions[decision];
        }
        if (decision == "accepted") queue.push(std::stoull(*field(answer, "run_id")));
      }
    });
  }
  for (auto& t : requests) t.join();
  for (const auto& [decision, n] : decisions) std::printf("clicks %s: %d\n", decision.c_str(), n);

  // The workers take the accepted runs.
  queue.close();
  std::vector<std::thread> workers;
  std::atomic<int> completed = 0;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (auto run_id = queue.pop()) {
        work(*engine, *run_id);
        ++completed;
      }
    });
  }
  for (auto& t : workers) t.join();
  std::printf("runs completed: %d\n", completed.load());

  // React: the initiator's notifications since the clicks began.
  std::string answer = must(*engine, R"({"cmd":"notifications","user_id":)" + std::to_string(kUser) +
                                         R"(,"after_seq":)" + std::to_string(seq_before_clicks) + "}");
  int notified = 0;
  for (auto at = answer.find("\"run_id\":"); at != std::string::npos; at = answer.find("\"run_id\":", at + 1))
    ++notified;
  std::printf("notifications for user %llu: %d\n", static_cast<unsigned long long>(kUser), notified);
  std::printf("log ends at seq %llu\n", static_cast<unsigned long long>(engine->last_seq()));
  return 0;
}
