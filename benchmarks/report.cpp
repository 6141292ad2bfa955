// The report: one table per workload (text) or one JSON document (--json), plus the
// machine it ran on and the helpers every workload shares.
#include <boost/json.hpp>

#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "benchmarks/bench.h"

namespace opsledger::bench {
namespace json = boost::json;
namespace fs = std::filesystem;

ScratchDir::ScratchDir(const RunConfig& cfg, const std::string& tag) {
  std::string tmpl = cfg.data_dir + "/opsledger-bench-" + tag + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a directory under " + cfg.data_dir);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

double percentile(std::vector<double>& samples, double pct) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  double rank = pct / 100.0 * static_cast<double>(samples.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(rank));
  auto hi = static_cast<std::size_t>(std::ceil(rank));
  double frac = rank - static_cast<double>(lo);
  return samples[lo] + (samples[hi] - samples[lo]) * frac;
}

void progress(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "[bench] ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

namespace {

std::string first_line_with(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return {};
}

std::string after_colon(const std::string& line) {
  auto p = line.find(':');
  if (p == std::string::npos) return line;
  auto v = line.substr(p + 1);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

// The block device under `path` and whether it is rotational (as the kernel reports it;
// a virtual disk's flag says little about the storage behind it).
std::string disk_of(const std::string& path) {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, mnt, type, rest, best_dev, best_mnt, best_type;
  std::error_code ec;
  std::string canon = fs::weakly_canonical(path, ec).string();
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    if (canon.rfind(mnt, 0) == 0 && mnt.size() >= best_mnt.size()) {
      best_dev = dev;
      best_mnt = mnt;
      best_type = type;
    }
  }
  std::string out = best_dev + " (" + best_type + " on " + best_mnt + ")";
  std::string name = fs::path(best_dev).filename().string();
  std::ifstream rot("/sys/block/" + name + "/queue/rotational");
  int r = -1;
  if (rot >> r) out += r ? ", reported rotational" : ", reported non-rotational";
  struct statvfs st;
  if (statvfs(path.c_str(), &st) == 0) {
    double gib = static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize) / (1024.0 * 1024 * 1024);
    char buf[64];
    std::snprintf(buf, sizeof buf, ", %.0f GiB", gib);
    out += buf;
  }
  return out;
}

std::string thousands(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  auto dot = s.find('.');
  std::string intpart = s.substr(0, dot == std::string::npos ? s.size() : dot);
  std::string frac = dot == std::string::npos ? "" : s.substr(dot);
  bool neg = !intpart.empty() && intpart[0] == '-';
  if (neg) intpart.erase(0, 1);
  std::string grouped;
  int n = 0;
  for (auto it = intpart.rbegin(); it != intpart.rend(); ++it) {
    if (n && n % 3 == 0) grouped.insert(grouped.begin(), ',');
    grouped.insert(grouped.begin(), *it);
    ++n;
  }
  return (neg ? "-" : "") + grouped + frac;
}

std::string fmt_value(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1 && v == std::floor(v)) return thousands(v, 0);
  if (a >= 1000) return thousands(v, 0);
  if (a >= 100) return thousands(v, 1);
  if (a >= 1) return thousands(v, 2);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string fmt_ratio(double r) {
  char buf[32];
  if (r >= 100)
    std::snprintf(buf, sizeof buf, "%.0fx", r);
  else if (r >= 10)
    std::snprintf(buf, sizeof buf, "%.1fx", r);
  else
    std::snprintf(buf, sizeof buf, "%.2fx", r);
  return buf;
}

const Measure* engine_of(const Case& c) {
  for (const auto& m : c.measures)
    if (m.role == "engine" && !m.skipped) return &m;
  return nullptr;
}

std::optional<double> ratio(const Measure* engine, const Measure& other) {
  if (!engine || engine == &other || other.skipped || other.value == 0 || engine->unit != other.unit)
    return std::nullopt;
  return engine->value / other.value;
}

bool target_met(const Target& t) {
  if (!t.value) return false;
  return t.at_least ? *t.value >= t.threshold : *t.value <= t.threshold;
}

void wrap(const std::string& text, std::size_t indent, std::size_t width) {
  std::istringstream words(text);
  std::string w, line;
  while (words >> w) {
    if (!line.empty() && line.size() + 1 + w.size() > width) {
      std::printf("%*s%s\n", static_cast<int>(indent), "", line.c_str());
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += w;
  }
  if (!line.empty()) std::printf("%*s%s\n", static_cast<int>(indent), "", line.c_str());
}

std::string mode_name(const RunConfig& cfg) { return cfg.smoke ? "smoke" : cfg.quick ? "quick" : "full"; }

}  // namespace

std::vector<std::pair<std::string, std::string>> machine_description(const RunConfig& cfg) {
  std::vector<std::pair<std::string, std::string>> m;
  m.emplace_back("nproc", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  m.emplace_back("cpu", after_colon(first_line_with("/proc/cpuinfo", "model name")));
  std::string mem = after_colon(first_line_with("/proc/meminfo", "MemTotal"));
  m.emplace_back("memory", mem);
  m.emplace_back("disk", disk_of(cfg.data_dir));
  std::ifstream la("/proc/loadavg");
  std::string l1, l5, l15;
  la >> l1 >> l5 >> l15;
  m.emplace_back("load average at start", l1 + " " + l5 + " " + l15);
  std::string kernel = first_line_with("/proc/version", "Linux");
  m.emplace_back("kernel", kernel.substr(0, kernel.find(" (")));
  return m;
}

void print_text(const std::vector<Section>& sections, const RunConfig& cfg) {
  std::printf("opsledger benchmarks (%s mode)\n", mode_name(cfg).c_str());
  for (const auto& [k, v] : machine_description(cfg)) std::printf("  %-22s %s\n", k.c_str(), v.c_str());
  for (const auto& s : sections) {
    std::printf("\n== %s  %s ==\n", s.id.c_str(), s.title.c_str());
    wrap(s.setup, 2, 96);
    std::printf("\n  %-24s %-22s %14s  %-12s %9s  %s\n", "case", "system", "value", "unit", "engine/x", "details");
    for (const auto& c : s.cases) {
      const Measure* e = engine_of(c);
      bool first = true;
      for (const auto& m : c.measures) {
        std::string details;
        for (const auto& [k, v] : m.details) details += k + "=" + fmt_value(v) + " ";
        if (!m.note.empty()) details += m.note;
        auto r = ratio(e, m);
        std::string unit = m.unit + (m.higher_is_better ? "" : " (lower)");
        std::printf("  %-24s %-22s %14s  %-12s %9s  %s\n", first ? c.name.c_str() : "", m.system.c_str(),
                    m.skipped ? "—" : fmt_value(m.value).c_str(), unit.c_str(), r ? fmt_ratio(*r).c_str() : "",
                    details.c_str());
        first = false;
      }
      if (!c.note.empty()) wrap(c.note, 27, 96);
    }
    if (!s.targets.empty()) {
      std::printf("\n  targets:\n");
      for (const auto& t : s.targets) {
        const char* verdict = !t.value ? "NOT MEASURED" : target_met(t) ? "MET" : "MISSED";
        std::printf("    %-13s %s %s %s%s — measured %s\n", (std::string("[") + verdict + "]").c_str(), t.what.c_str(),
                    t.at_least ? ">=" : "<=", fmt_value(t.threshold).c_str(), t.unit.c_str(),
                    t.value ? (fmt_value(*t.value) + t.unit).c_str() : "—");
      }
    }
    for (const auto& n : s.notes) wrap("note: " + n, 2, 96);
  }
}

std::vector<std::string> faults_of(const std::vector<Section>& sections) {
  std::vector<std::string> out;
  for (const auto& s : sections)
    for (const auto& c : s.cases) {
      if (c.fault) out.push_back(s.id + " " + c.name + ": " + c.note);
      for (const auto& m : c.measures)
        if (m.fault) out.push_back(s.id + " " + c.name + " " + m.system + ": " + m.note);
    }
  return out;
}

void print_json(const std::vector<Section>& sections, const RunConfig& cfg, std::FILE* to) {
  json::object root;
  root["mode"] = mode_name(cfg);
  json::object machine;
  for (const auto& [k, v] : machine_description(cfg)) machine[k] = v;
  root["machine"] = machine;
  json::array ws;
  for (const auto& s : sections) {
    json::object o;
    o["id"] = s.id;
    o["title"] = s.title;
    o["setup"] = s.setup;
    json::array cases;
    for (const auto& c : s.cases) {
      json::object co;
      co["name"] = c.name;
      if (!c.note.empty()) co["note"] = c.note;
      const Measure* e = engine_of(c);
      json::array results;
      json::object ratios;
      for (const auto& m : c.measures) {
        json::object mo;
        mo["system"] = m.system;
        mo["role"] = m.role;
        mo["skipped"] = m.skipped;
        if (!m.skipped) mo["value"] = m.value;
        mo["unit"] = m.unit;
        mo["higher_is_better"] = m.higher_is_better;
        json::object d;
        for (const auto& [k, v] : m.details) d[k] = v;
        mo["details"] = d;
        if (!m.note.empty()) mo["note"] = m.note;
        results.push_back(mo);
        if (auto r = ratio(e, m)) ratios["engine/" + m.system] = *r;
      }
      co["results"] = results;
      co["ratios"] = ratios;
      cases.push_back(co);
    }
    o["cases"] = cases;
    json::array targets;
    for (const auto& t : s.targets) {
      json::object to;
      to["what"] = t.what;
      to["threshold"] = t.threshold;
      to["at_least"] = t.at_least;
      to["unit"] = t.unit;
      if (t.value) to["value"] = *t.value;
      to["met"] = target_met(t);
      to["measured"] = t.value.has_value();
      targets.push_back(to);
    }
    o["targets"] = targets;
    json::array notes;
    for (const auto& n : s.notes) notes.push_back(json::value(n));
    o["notes"] = notes;
    ws.push_back(o);
  }
  root["workloads"] = ws;
  std::fprintf(to, "%s\n", json::serialize(root).c_str());
}

}  // namespace opsledger::bench
