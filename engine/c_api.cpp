// The C ABI (include/opsledger/opsledger.h) over the C++ Engine.
//
// Every entry point catches everything: a std::bad_alloc becomes OPSLEDGER_E_NO_MEMORY (or a
// NULL answer), any other exception OPSLEDGER_E_INTERNAL (or an internal_error answer). No
// exception unwinds into a C caller.
//
// Strings handed out are malloc'ed copies, so opsledger_free is free() and the caller's
// language runtime never sees C++ allocations.
#include "opsledger/opsledger.h"

#include <sys/stat.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/event_log.h"
#include "engine/render_json.h"
#include "events/bytes.h"
#include "events/sha256.h"
#include "opsledger/engine.h"

#ifndef OPSLEDGER_VERSION_STRING
#error "OPSLEDGER_VERSION_STRING must be defined by the build"
#endif

struct opsledger_db {
  std::unique_ptr<opsledger::Engine> engine;
  bool nosync = false;
  std::pair<dev_t, ino_t> dir_id{};
};

namespace opsledger {
namespace {

thread_local std::string t_last_error;

int fail(int code, std::string message) {
  try {
    t_last_error = std::move(message);
  } catch (...) {
    t_last_error.clear();
  }
  return code;
}

// Directories open through this interface in this process, by device and inode: LMDB must
// not open one environment twice in a process (closing the second would drop the first's
// locks). Never destroyed, so a handle closed late in process exit (by an interpreter's
// finaliser) still finds it.
struct OpenDirs {
  std::mutex mu;
  std::set<std::pair<dev_t, ino_t>> ids;
};
OpenDirs& open_dirs() {
  static auto* dirs = new OpenDirs;
  return *dirs;
}

bool dir_identity(const char* dir, std::pair<dev_t, ino_t>& id) {
  struct stat st {};
  if (::stat(dir, &st) != 0) return false;
  id = {st.st_dev, st.st_ino};
  return true;
}

int code_of(const Status& s) {
  switch (s.code()) {
    case StatusCode::ok: return OPSLEDGER_OK;
    case StatusCode::invalid_argument: return OPSLEDGER_E_INVALID_ARGUMENT;
    case StatusCode::io_error: return OPSLEDGER_E_IO;
    case StatusCode::storage_full: return OPSLEDGER_E_STORAGE_FULL;
    case StatusCode::corrupt: return OPSLEDGER_E_CORRUPT;
  }
  return OPSLEDGER_E_INTERNAL;
}

// A malloc'ed NUL-terminated copy; nullptr when memory runs out.
char* dup(std::string_view s) noexcept {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// An error answer made at this boundary, shaped as the engine's (nosync answers say so).
std::string boundary_error(bool nosync, std::string_view code, std::string_view message) {
  boost::json::object body{{"ok", false}, {"error", boost::json::object{{"code", code}, {"message", message}}}};
  if (nosync) body["durability"] = "nosync";
  return boost::json::serialize(body);
}

std::size_t events_limit(std::size_t max_events) {
  if (max_events == 0) return OPSLEDGER_READ_EVENTS_DEFAULT;
  return max_events > OPSLEDGER_READ_EVENTS_MAX ? OPSLEDGER_READ_EVENTS_MAX : max_events;
}

// Appends the events after `after_seq` as JSON lines to `out`; returns the last seq read.
std::uint64_t render_events(Engine::Impl& impl, std::uint64_t after_seq, std::size_t limit, std::string& out) {
  std::uint64_t last = after_seq;
  if (after_seq == UINT64_MAX) return last;
  CommitSlot slot(impl);
  lmdb::Txn txn(*impl.env, false);
  lmdb::Cursor cursor(txn, impl.dbis.events);
  std::size_t n = 0;
  for (bool more = cursor.seek(be64(after_seq + 1)); more && n < limit; more = cursor.next(), ++n) {
    std::uint64_t seq = get_be64(cursor.key());
    try {
      // The same line `opsledger export` and `opsledger tail` print.
      out += boost::json::serialize(export_record(seq, cursor.value()));
      out.push_back('\n');
    } catch (const DecodeError& e) {
      throw DecodeError("seq " + std::to_string(seq) + ": " + e.what());
    }
    last = seq;
  }
  return last;
}

// The bytes of a caller's opsledger_options of `size` bytes that this release reads: whole
// fields only (every field after the first release's is 8 bytes), at most its own sizeof.
std::size_t known_options_bytes(std::size_t size) {
  static_assert((sizeof(opsledger_options) - OPSLEDGER_OPTIONS_SIZE_V1) % 8 == 0);
  size = std::min(size, sizeof(opsledger_options));
  return OPSLEDGER_OPTIONS_SIZE_V1 + (size - OPSLEDGER_OPTIONS_SIZE_V1) / 8 * 8;
}
}  // namespace
}  // namespace opsledger

using namespace opsledger;

static_assert(offsetof(opsledger_options, snapshot_every_events) == OPSLEDGER_OPTIONS_SIZE_V1,
              "the first version's fields end where snapshot_every_events begins");

extern "C" {

const char* opsledger_version(void) { return OPSLEDGER_VERSION_STRING; }

void opsledger_options_init_sized(opsledger_options* options, size_t size) {
  if (!options || size < OPSLEDGER_OPTIONS_SIZE_V1) return;
  opsledger_options defaults{};
  defaults.durability = OPSLEDGER_DURABLE;
  size = known_options_bytes(size);
  defaults.struct_size = static_cast<uint32_t>(size);
  std::memcpy(options, &defaults, size);  // never past the caller's `size` bytes
}

// The exported 0.1 entry point (the header's macro of this name is for callers built
// against this release): a 0.1 struct's bytes only.
void(opsledger_options_init)(opsledger_options* options) { opsledger_options_init_sized(options, OPSLEDGER_OPTIONS_SIZE_V1); }

int opsledger_open(const char* dir, const opsledger_options* options, opsledger_t** out) {
  t_last_error.clear();
  if (out) *out = nullptr;
  if (!dir || !out) return fail(OPSLEDGER_E_INVALID_ARGUMENT, dir ? "out is NULL" : "dir is NULL");
  if (!*dir) return fail(OPSLEDGER_E_INVALID_ARGUMENT, "dir is empty");
  opsledger_options opts;
  opsledger_options_init_sized(&opts, sizeof opts);
  if (options) {
    // A caller compiled against an earlier header passes a smaller struct: its fields are
    // read, the later ones keep their defaults.
    if (options->struct_size < OPSLEDGER_OPTIONS_SIZE_V1)
      return fail(OPSLEDGER_E_INVALID_ARGUMENT, "options.struct_size is smaller than OPSLEDGER_OPTIONS_SIZE_V1; "
                                                "call opsledger_options_init first");
    std::memcpy(&opts, options, known_options_bytes(options->struct_size));
    opts.struct_size = sizeof opts;
  }
  if (opts.durability != OPSLEDGER_DURABLE && opts.durability != OPSLEDGER_NOSYNC)
    return fail(OPSLEDGER_E_INVALID_ARGUMENT, "options.durability is neither OPSLEDGER_DURABLE nor OPSLEDGER_NOSYNC");
  if (opts.max_map_size_bytes != 0 && opts.initial_map_size_bytes > opts.max_map_size_bytes)
    return fail(OPSLEDGER_E_INVALID_ARGUMENT, "options.initial_map_size_bytes exceeds max_map_size_bytes");
  try {
    Options eo;
    eo.durability = opts.durability == OPSLEDGER_NOSYNC ? Durability::nosync : Durability::durable;
    if (opts.initial_map_size_bytes) eo.initial_map_size_bytes = opts.initial_map_size_bytes;
    if (opts.max_map_size_bytes && eo.initial_map_size_bytes > opts.max_map_size_bytes)
      eo.initial_map_size_bytes = opts.max_map_size_bytes;
    eo.max_map_size_bytes = opts.max_map_size_bytes;
    eo.snapshot_every_events = opts.snapshot_every_events;
    eo.snapshots_kept = opts.snapshots_kept;

    OpenDirs& dirs = open_dirs();
    std::lock_guard lk(dirs.mu);
    std::pair<dev_t, ino_t> id;
    if (dir_identity(dir, id) && dirs.ids.count(id))
      return fail(OPSLEDGER_E_BUSY, std::string(dir) + " is already open in this process; share that handle");
    auto handle = std::make_unique<opsledger_db>();
    Status s = Engine::open(dir, eo, handle->engine);
    if (!s) return fail(code_of(s), s.message());
    if (!dir_identity(dir, handle->dir_id)) return fail(OPSLEDGER_E_IO, std::string("cannot stat ") + dir);
    handle->nosync = eo.durability == Durability::nosync;
    dirs.ids.insert(handle->dir_id);
    *out = handle.release();
    return OPSLEDGER_OK;
  } catch (const std::bad_alloc&) {
    return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(OPSLEDGER_E_INTERNAL, e.what());
  } catch (...) {
    return fail(OPSLEDGER_E_INTERNAL, "unknown exception");
  }
}

void opsledger_close(opsledger_t* db) {
  if (!db) return;
  // Closed under the registry lock, so no open of the same directory overlaps the close.
  OpenDirs& dirs = open_dirs();
  std::unique_lock lk(dirs.mu, std::defer_lock);
  try {
    lk.lock();
  } catch (...) {
    // Locking failed (a system error): close anyway; the directory stays marked open.
  }
  if (lk.owns_lock()) dirs.ids.erase(db->dir_id);
  delete db;  // ~Engine does not throw
}

char* opsledger_execute(opsledger_t* db, const char* command_json) {
  try {
    if (!db) return dup(boundary_error(false, "invalid_argument", "db is NULL"));
    if (!command_json) return dup(boundary_error(db->nosync, "invalid_argument", "command_json is NULL"));
    return dup(db->engine->execute(command_json));
  } catch (const std::bad_alloc&) {
    return nullptr;
  } catch (const std::exception& e) {
    try {
      return dup(boundary_error(db && db->nosync, "internal_error", e.what()));
    } catch (...) {
      return nullptr;
    }
  } catch (...) {
    return nullptr;
  }
}

int opsledger_execute_batch(opsledger_t* db, const char* const* commands, size_t count, char*** answers_out) {
  t_last_error.clear();
  if (answers_out) *answers_out = nullptr;
  if (!db || !answers_out) return fail(OPSLEDGER_E_INVALID_ARGUMENT, db ? "answers_out is NULL" : "db is NULL");
  if (count == 0) return OPSLEDGER_OK;
  if (!commands) return fail(OPSLEDGER_E_INVALID_ARGUMENT, "commands is NULL");
  if (count > OPSLEDGER_BATCH_COMMANDS_MAX)
    return fail(OPSLEDGER_E_INVALID_ARGUMENT, "a batch holds at most " +
                                                  std::to_string(OPSLEDGER_BATCH_COMMANDS_MAX) + " commands");
  char** out = nullptr;
  try {
    std::vector<std::string_view> present;
    present.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      if (commands[i]) present.emplace_back(commands[i]);
    std::vector<std::string> answers;
    if (!present.empty()) answers = db->engine->execute_batch(present);
    if (answers.size() != present.size()) return fail(OPSLEDGER_E_INTERNAL, "the engine lost answers");
    std::string null_answer = boundary_error(db->nosync, "invalid_argument", "command is NULL");

    out = static_cast<char**>(std::calloc(count, sizeof(char*)));
    if (!out) return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
    std::size_t next = 0;
    for (std::size_t i = 0; i < count; ++i) {
      out[i] = dup(commands[i] ? std::string_view(answers[next++]) : std::string_view(null_answer));
      if (!out[i]) {
        opsledger_free_answers(out, count);
        return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
      }
    }
    *answers_out = out;
    return OPSLEDGER_OK;
  } catch (const std::bad_alloc&) {
    opsledger_free_answers(out, count);
    return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    opsledger_free_answers(out, count);
    return fail(OPSLEDGER_E_INTERNAL, e.what());
  } catch (...) {
    opsledger_free_answers(out, count);
    return fail(OPSLEDGER_E_INTERNAL, "unknown exception");
  }
}

int opsledger_read_events(opsledger_t* db, uint64_t after_seq, size_t max_events, char** lines_out,
                          uint64_t* last_seq_out) {
  t_last_error.clear();
  if (lines_out) *lines_out = nullptr;
  if (last_seq_out) *last_seq_out = after_seq;
  if (!db || !lines_out) return fail(OPSLEDGER_E_INVALID_ARGUMENT, db ? "lines_out is NULL" : "db is NULL");
  try {
    std::string lines;
    std::uint64_t last = render_events(db->engine->impl(), after_seq, events_limit(max_events), lines);
    char* p = dup(lines);
    if (!p) return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
    *lines_out = p;
    if (last_seq_out) *last_seq_out = last;
    return OPSLEDGER_OK;
  } catch (const std::bad_alloc&) {
    return fail(OPSLEDGER_E_NO_MEMORY, "out of memory");
  } catch (const DecodeError& e) {
    return fail(OPSLEDGER_E_CORRUPT, e.what());
  } catch (const lmdb::LmdbError& e) {
    return fail(OPSLEDGER_E_IO, e.what());
  } catch (const std::exception& e) {
    return fail(OPSLEDGER_E_INTERNAL, e.what());
  } catch (...) {
    return fail(OPSLEDGER_E_INTERNAL, "unknown exception");
  }
}

uint64_t opsledger_last_seq(opsledger_t* db) {
  if (!db) return 0;
  try {
    return db->engine->last_seq();  // holds the commit slot itself
  } catch (...) {
    return 0;
  }
}

int opsledger_wait_for_snapshots(opsledger_t* db) {
  t_last_error.clear();
  if (!db) return fail(OPSLEDGER_E_INVALID_ARGUMENT, "db is NULL");
  try {
    db->engine->wait_for_snapshots();
    return OPSLEDGER_OK;
  } catch (const std::exception& e) {  // a mutex or condition variable failing: not expected
    return fail(OPSLEDGER_E_INTERNAL, e.what());
  } catch (...) {
    return fail(OPSLEDGER_E_INTERNAL, "unknown exception");
  }
}

void opsledger_free(char* s) { std::free(s); }

void opsledger_free_answers(char** answers, size_t count) {
  if (!answers) return;
  for (std::size_t i = 0; i < count; ++i) std::free(answers[i]);
  std::free(answers);
}

const char* opsledger_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
