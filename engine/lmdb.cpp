#include "engine/lmdb.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace opsledger::lmdb {

LmdbError::LmdbError(const char* where, int code)
    : std::runtime_error(std::string(where) + ": " + mdb_strerror(code)), code_(code) {}

bool LmdbError::disk_full() const noexcept { return code_ == ENOSPC || code_ == EDQUOT; }

void check(const char* where, int rc) {
  if (rc != MDB_SUCCESS) throw LmdbError(where, rc);
}

Env::Env(const std::string& dir, const Options& options) {
  check("mdb_env_create", mdb_env_create(&env_));
  try {
    check("mdb_env_set_maxdbs", mdb_env_set_maxdbs(env_, options.max_dbs));
    check("mdb_env_set_maxreaders", mdb_env_set_maxreaders(env_, options.max_readers));
    check("mdb_env_set_mapsize", mdb_env_set_mapsize(env_, options.map_size_bytes));
    unsigned flags = MDB_NOTLS;
    if (options.nosync) flags |= MDB_NOSYNC;
    if (options.read_only) flags |= MDB_RDONLY;
    check("mdb_env_open", mdb_env_open(env_, dir.c_str(), flags, 0644));
    // A database written by another process may already be larger than our request.
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    if (info.me_mapsize < options.map_size_bytes && !options.read_only)
      check("mdb_env_set_mapsize", mdb_env_set_mapsize(env_, options.map_size_bytes));
    int dead = 0;
    mdb_reader_check(env_, &dead);
  } catch (...) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw;
  }
}

Env::~Env() {
  if (env_) mdb_env_close(env_);
}

std::size_t Env::map_size() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

void Env::remap(std::size_t size) {
  auto set = [&] { check("mdb_env_set_mapsize", mdb_env_set_mapsize(env_, size)); };
  if (remap_guard_)
    remap_guard_(set);
  else
    set();
}

void Env::grow(std::size_t at_least) {
  std::size_t next = map_size() * 2;
  if (next < at_least) next = at_least;
  remap(next);
}

void Env::adopt_map_size() { remap(0); }  // 0: the size the file has now

void Env::sync(bool force) { check("mdb_env_sync", mdb_env_sync(env_, force ? 1 : 0)); }

int Env::reader_check() {
  int dead = 0;
  mdb_reader_check(env_, &dead);
  return dead;
}

Txn::Txn(Env& env, bool write) {
  for (;;) {
    int rc = mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc == MDB_MAP_RESIZED) {
      env.adopt_map_size();
      continue;
    }
    if (rc == MDB_READERS_FULL && env.reader_check() > 0) continue;
    check("mdb_txn_begin", rc);
    return;
  }
}

std::optional<Txn> Txn::try_read(MDB_env* env) noexcept {
  Txn t;
  if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &t.txn_) != 0) {
    t.txn_ = nullptr;
    return std::nullopt;
  }
  return t;
}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    abort();
    txn_ = other.txn_;
    other.txn_ = nullptr;
  }
  return *this;
}

void Txn::commit() {
  MDB_txn* t = txn_;
  txn_ = nullptr;
  check("mdb_txn_commit", mdb_txn_commit(t));
}

void Txn::abort() noexcept {
  if (txn_) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

MDB_dbi Txn::open_db(const char* name, bool create) {
  MDB_dbi dbi = 0;
  check("mdb_dbi_open", mdb_dbi_open(txn_, name, create ? MDB_CREATE : 0, &dbi));
  return dbi;
}

std::optional<MDB_dbi> Txn::find_db(const char* name) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn_, name, 0, &dbi);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check("mdb_dbi_open", rc);
  return dbi;
}

bool Txn::get(MDB_dbi dbi, std::string_view key, std::string_view& out) const {
  // A key LMDB cannot store (empty, or longer than its key limit) is never present; asking
  // for one is an answer, not MDB_BAD_VALSIZE (found by the command fuzz target: a start
  // with "type":"" failed its whole batch with io_error).
  if (key.empty() || key.size() > static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn_)))) return false;
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_get", rc);
  out = from_val(v);
  return true;
}

void Txn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  check("mdb_put", mdb_put(txn_, dbi, &k, &v, flags));
}

bool Txn::append(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = to_val(key), v = to_val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) return false;  // returned before anything is changed
  check("mdb_put", rc);
  return true;
}

bool Txn::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_del", rc);
  return true;
}

void Txn::drop(MDB_dbi dbi, bool delete_db) { check("mdb_drop", mdb_drop(txn_, dbi, delete_db ? 1 : 0)); }

Cursor::Cursor(const Txn& txn, MDB_dbi dbi) { check("mdb_cursor_open", mdb_cursor_open(txn.get(), dbi, &cursor_)); }

Cursor::~Cursor() {
  if (cursor_) mdb_cursor_close(cursor_);
}

bool Cursor::get(MDB_cursor_op op, std::string_view key) {
  MDB_val k = to_val(key), v{0, nullptr};
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_cursor_get", rc);
  key_ = from_val(k);
  value_ = from_val(v);
  return true;
}

bool Cursor::first() { return get(MDB_FIRST); }
bool Cursor::last() { return get(MDB_LAST); }
bool Cursor::next() { return get(MDB_NEXT); }
bool Cursor::prev() { return get(MDB_PREV); }
bool Cursor::seek(std::string_view key) { return get(MDB_SET_RANGE, key); }

void release_mapped_pages(MDB_env* env) noexcept {
  // LMDB does not tell where it mapped the file (mdb_env_info's me_mapaddr is set only
  // with MDB_FIXEDMAP), so the mapping of the data file is found in /proc/self/maps: by
  // device and inode of the open data file, or by its path (on overlay and btrfs file
  // systems the two device numbers can differ; a path can change under a rename).
  mdb_filehandle_t fd = -1;
  struct stat st {};
  if (mdb_env_get_fd(env, &fd) != MDB_SUCCESS || fd < 0 || ::fstat(fd, &st) != 0) return;
  std::string resolved_path;
  const char* dir = nullptr;
  unsigned flags = 0;
  if (mdb_env_get_path(env, &dir) == MDB_SUCCESS && mdb_env_get_flags(env, &flags) == MDB_SUCCESS && dir) {
    std::string data_file = (flags & MDB_NOSUBDIR) ? std::string(dir) : std::string(dir) + "/data.mdb";
    if (char* r = ::realpath(data_file.c_str(), nullptr)) {
      resolved_path = r;
      std::free(r);
    }
  }
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return;
  char* line = nullptr;
  std::size_t capacity = 0;
  while (::getline(&line, &capacity, maps) > 0) {
    unsigned long begin = 0, end = 0, inode = 0;
    unsigned dev_major = 0, dev_minor = 0;
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %*s %*s %x:%x %lu %n", &begin, &end, &dev_major, &dev_minor, &inode, &path_at) < 5)
      continue;
    bool same_file = inode == st.st_ino && dev_major == major(st.st_dev) && dev_minor == minor(st.st_dev);
    if (!same_file && !resolved_path.empty() && path_at > 0) {
      std::string_view path(line + path_at);
      while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.remove_suffix(1);
      same_file = path == resolved_path;
    }
    if (same_file) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
  std::free(line);
  std::fclose(maps);
}

}  // namespace opsledger::lmdb
