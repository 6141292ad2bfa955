#include "benchmarks/engine_util.h"

#include <fstream>
#include <stdexcept>

#include "engine/engine_impl.h"
#include "engine/lmdb.h"
#include "events/bytes.h"

namespace opsledger::bench {

std::unique_ptr<Engine> open_fleet_engine(const std::string& dir, Durability durability) {
  Options o;
  o.durability = durability;
  o.initial_map_size_bytes = kBenchMapBytes;
  std::unique_ptr<Engine> engine;
  Status s = Engine::open(dir, o, engine);
  if (!s) throw std::runtime_error("Engine::open " + dir + ": " + s.message());
  apply_all_ok(*engine, Fleet::setup_commands());
  return engine;
}

void apply_all_ok(Engine& engine, const std::vector<std::string>& commands, std::size_t batch_max) {
  for (std::size_t i = 0; i < commands.size(); i += batch_max) {
    std::vector<std::string_view> views;
    for (std::size_t j = i; j < commands.size() && j < i + batch_max; ++j) views.push_back(commands[j]);
    auto answers = engine.execute_batch(views);
    for (std::size_t j = 0; j < answers.size(); ++j)
      if (answers[j].rfind("{\"ok\":true", 0) != 0)
        throw std::runtime_error("setup command rejected: " + std::string(views[j]) + " -> " + answers[j]);
  }
}

Progressed run_batches(std::span<const std::string_view> lines, std::uint64_t count, std::size_t batch,
                       double seconds_max, const std::function<void(std::span<const std::string_view>)>& process) {
  Progressed p;
  Stopwatch sw;
  while (p.done < count) {
    if (p.done > 0 && sw.seconds() >= seconds_max) {
      p.cut_short = true;
      break;
    }
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, count - p.done));
    process(lines.subspan(p.done, n));
    p.done += n;
  }
  p.seconds = sw.seconds();
  return p;
}

double mean_event_bytes(Engine& engine, std::uint64_t from_seq) {
  auto& impl = engine.impl();
  lmdb::Txn txn(*impl.env, false);
  lmdb::Cursor c(txn, impl.dbis.events);
  std::uint64_t n = 0, bytes = 0;
  for (bool more = c.seek(be64(from_seq + 1)); more; more = c.next()) {
    ++n;
    bytes += c.key().size() + c.value().size();
  }
  return n ? static_cast<double>(bytes) / static_cast<double>(n) : 0;
}

Progressed raw_lmdb_appends(const std::string& dir, std::uint64_t count, std::size_t batch, std::size_t record_bytes,
                            double seconds_max) {
  lmdb::Env::Options eo;
  eo.map_size_bytes = kBenchMapBytes;
  lmdb::Env env(dir, eo);
  MDB_dbi events;
  {
    lmdb::Txn txn(env, true);
    events = txn.open_db("events", true);
    txn.commit();
  }
  const std::size_t value_bytes = record_bytes > 8 ? record_bytes - 8 : 1;
  std::string record(value_bytes, '\0');
  Rng rng(42);
  for (auto& ch : record) ch = static_cast<char>(rng.next());
  Progressed p;
  std::uint64_t seq = 0;
  Stopwatch sw;
  while (p.done < count) {
    if (p.done > 0 && sw.seconds() >= seconds_max) {
      p.cut_short = true;
      break;
    }
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, count - p.done));
    lmdb::Txn txn(env, true);
    for (std::size_t i = 0; i < n; ++i) {
      record[i % value_bytes] ^= 1;  // every record differs, as events do
      txn.put(events, be64(++seq), record, MDB_APPEND);
    }
    txn.commit();
    p.done += n;
  }
  p.seconds = sw.seconds();
  return p;
}

MemoryFigures memory_figures() {
  MemoryFigures m;
  std::ifstream in("/proc/self/status");
  std::string key;
  std::uint64_t v;
  std::string unit;
  while (in >> key) {
    if (key == "VmHWM:" && in >> v >> unit) m.hwm_kb = v;
    else if (key == "RssAnon:" && in >> v >> unit) m.rss_anon_kb = v;
    else if (key == "RssFile:" && in >> v >> unit) m.rss_file_kb = v;
    else in.ignore(1 << 12, '\n');
  }
  return m;
}

}  // namespace opsledger::bench
