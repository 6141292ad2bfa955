// opsledger_bench [--quick | --smoke] [--json] [--json-out FILE] [--only W1,W2,W3,W4,W5,PIPE]
//                 [--data-dir DIR] [--keep DIR] [--cli PATH]
//
// Runs the workloads of the benchmarks issue and prints one table per workload (or one
// JSON document with --json) with the engine, its peers and its limit side by side, the
// ratios engine/x, and the targets marked met or missed. Progress goes to stderr.
// Exit status: 0 the run was sound (whatever the targets), 1 it could not run, 2 usage,
// 3 a fault (systems disagreed on decisions, a measurement failed): see stderr.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include "benchmarks/bench.h"

namespace opsledger::bench {
std::string pipe_input(std::uint64_t starts);
}

namespace {

using opsledger::bench::RunConfig;
using opsledger::bench::Section;

void usage(FILE* to) {
  std::fprintf(to,
               "usage: opsledger_bench [--quick | --smoke] [--json] [--json-out FILE] [--only LIST] [--data-dir DIR]\n"
               "                       [--keep DIR] [--cli PATH] [--w1-batches LIST]\n"
               "       opsledger_bench --emit-pipe-input STARTS FILE\n\n"
               "Runs the engine side by side with SQLite, PostgreSQL and raw LMDB and prints the ratios.\n\n"
               "  --quick          small sizes; finishes in under a minute\n"
               "  --smoke          tiny sizes; proves the harness runs (seconds)\n"
               "  --json           print the report as one JSON document\n"
               "  --json-out FILE  also write the JSON document to FILE\n"
               "  --only LIST      comma-separated workloads: W1,W2,W3,W4,W5,PIPE (default: all)\n"
               "  --data-dir DIR   where temporary databases go (default: $TMPDIR or /tmp)\n"
               "  --keep DIR       keep W3's generated log in DIR and reuse it on later runs\n"
               "  --cli PATH       the opsledger tool for PIPE (default: the one built beside this)\n"
               "  --w1-batches LIST  comma-separated batch sizes for W1 (default: 1,16,256,4096)\n"
               "  --engine-nosync  diagnosis only: the engine of W1, W2 and PIPE skips fsync (rows say\n"
               "                   nosync; no comparison with the durable peers)\n"
               "  --emit-pipe-input STARTS FILE   write PIPE's input lines to FILE and exit\n\n"
               "Targets are reported, never enforced. Exit status: 0 a sound run, 1 it could not run,\n"
               "2 usage, 3 a fault (the systems disagreed on decisions, a measurement failed).\n");
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "opsledger_bench";
  buf[n] = '\0';
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  namespace bench = opsledger::bench;
  if (argc >= 2 && std::strcmp(argv[1], "--child") == 0) return bench::child_main(argc - 2, argv + 2);
  RunConfig cfg;
  cfg.self_exe = self_exe();
  const char* tmp = std::getenv("TMPDIR");
  cfg.data_dir = tmp && *tmp ? tmp : "/tmp";
#ifdef OPSLEDGER_CLI
  cfg.cli_exe = OPSLEDGER_CLI;
#endif
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "opsledger_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--smoke") {
      cfg.smoke = true;
    } else if (a == "--json") {
      cfg.json = true;
    } else if (a == "--only") {
      std::stringstream ss(value());
      std::string id;
      while (std::getline(ss, id, ',')) {
        if (id != "W1" && id != "W2" && id != "W3" && id != "W4" && id != "W5" && id != "PIPE") {
          std::fprintf(stderr, "opsledger_bench: unknown workload %s\n", id.c_str());
          return 2;
        }
        cfg.only.insert(id);
      }
    } else if (a == "--w1-batches") {
      std::stringstream ss(value());
      std::string item;
      while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        unsigned long long n = std::strtoull(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || n == 0 || n > 1000000) {
          std::fprintf(stderr, "opsledger_bench: --w1-batches takes sizes from 1 to 1,000,000, not %s\n", item.c_str());
          return 2;
        }
        cfg.w1_batches.push_back(static_cast<std::size_t>(n));
      }
      if (cfg.w1_batches.empty()) {
        std::fprintf(stderr, "opsledger_bench: --w1-batches needs at least one size\n");
        return 2;
      }
    } else if (a == "--data-dir") {
      cfg.data_dir = value();
    } else if (a == "--keep") {
      cfg.keep_dir = value();
    } else if (a == "--engine-nosync") {
      cfg.engine_nosync = true;
    } else if (a == "--json-out") {
      cfg.json_out = value();
    } else if (a == "--cli") {
      cfg.cli_exe = value();
    } else if (a == "--emit-pipe-input") {
      std::uint64_t starts = std::stoull(value());
      std::string file = value();
      FILE* f = std::fopen(file.c_str(), "w");
      if (!f) {
        std::perror(file.c_str());
        return 1;
      }
      std::string in = bench::pipe_input(starts);
      std::fwrite(in.data(), 1, in.size(), f);
      std::fclose(f);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "opsledger_bench: unknown option %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (cfg.quick && cfg.smoke) {
    std::fprintf(stderr, "opsledger_bench: --quick and --smoke exclude each other\n");
    return 2;
  }
  if (cfg.wants("PIPE") && !std::filesystem::exists(cfg.cli_exe)) {
    std::fprintf(stderr, "opsledger_bench: the opsledger tool was not found (give --cli PATH)\n");
    return 2;
  }

  std::vector<Section> sections;
  bench::Stopwatch total;
  try {
    if (cfg.wants("W1")) sections.push_back(bench::run_w1(cfg));
    if (cfg.wants("W2")) sections.push_back(bench::run_w2(cfg));
    if (cfg.wants("W3") || cfg.wants("W4")) {
      Section w4;
      Section w3 = bench::run_w3_w4(cfg, w4);
      if (cfg.wants("W3")) sections.push_back(std::move(w3));
      if (cfg.wants("W4")) sections.push_back(std::move(w4));
    }
    if (cfg.wants("W5")) sections.push_back(bench::run_w5(cfg));
    if (cfg.wants("PIPE")) sections.push_back(bench::run_pipe(cfg));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsledger_bench: %s\n", e.what());
    return 1;
  }
  bench::progress("done in %.1f s", total.seconds());
  if (cfg.engine_nosync)
    for (auto& s : sections)
      s.notes.insert(s.notes.begin(),
                     "DIAGNOSIS RUN: the engine committed with Durability::nosync (--engine-nosync); its rows "
                     "and ratios are no comparison with the durable peers.");
  if (cfg.json)
    bench::print_json(sections, cfg);
  else
    bench::print_text(sections, cfg);
  if (!cfg.json_out.empty()) {
    if (FILE* f = std::fopen(cfg.json_out.c_str(), "w")) {
      bench::print_json(sections, cfg, f);
      std::fclose(f);
    } else {
      std::perror(cfg.json_out.c_str());
    }
  }
  // Missed targets are figures, not failures; a misbehaving harness or system is a failure.
  auto faults = bench::faults_of(sections);
  for (const auto& f : faults) std::fprintf(stderr, "opsledger_bench: fault: %s\n", f.c_str());
  return faults.empty() ? 0 : 3;
}
