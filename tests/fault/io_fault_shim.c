/* An LD_PRELOAD shim that makes LMDB's writes to data.mdb fail with EIO on demand, for
 * tests/fault_test.cpp. LMDB commits by writing dirty pages (pwrite, or lseek + writev),
 * flushing them (fdatasync), then writing the meta page (pwrite to page 0 or 1, on an
 * O_DSYNC descriptor in durable mode).
 *
 * The environment variable OPSLEDGER_FAULT_FILE names a control file, read on every
 * intercepted call that targets a file named data.mdb; its first word selects the fault:
 *   pages   pwrite/writev of data pages (offset at or past page 2) fail with EIO
 *   sync    fdatasync/fsync fail with EIO
 *   meta    pwrite of a meta page (offset below two pages) fails with EIO
 * Anything else, or no file: every call passes through. A failing call writes nothing.
 * Only for tests; never linked into the engine. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum fault { fault_none, fault_pages, fault_sync, fault_meta };

/* The meta pages are the first two pages of data.mdb. The page size is the OS page size
 * (LMDB's default); one page more is harmless here: data pages start at page 2. */
static off_t meta_end(void) { return 2 * (off_t)sysconf(_SC_PAGESIZE); }

static int is_data_file(int fd) {
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  size_t len = (size_t)n;
  return len >= 9 && strcmp(path + len - 9, "/data.mdb") == 0;
}

static enum fault current_fault(int fd) {
  const char* control = getenv("OPSLEDGER_FAULT_FILE");
  if (!control || !is_data_file(fd)) return fault_none;
  int cfd = open(control, O_RDONLY | O_CLOEXEC);
  if (cfd < 0) return fault_none;
  char word[16] = {0};
  ssize_t n = read(cfd, word, sizeof word - 1);
  close(cfd);
  if (n <= 0) return fault_none;
  if (strncmp(word, "pages", 5) == 0) return fault_pages;
  if (strncmp(word, "sync", 4) == 0) return fault_sync;
  if (strncmp(word, "meta", 4) == 0) return fault_meta;
  return fault_none;
}

typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef int (*sync_fn)(int);

/* The next definition of `name` (libc's, or a sanitizer's interceptor). dlsym returns an
 * object pointer; copying it is the portable way to get a function pointer. */
static void* next_symbol(const char* name) { return dlsym(RTLD_NEXT, name); }
#define NEXT(type, var, name)            \
  static type var;                       \
  if (!var) {                            \
    void* p = next_symbol(name);         \
    memcpy(&var, &p, sizeof var);        \
  }

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  NEXT(pwrite_fn, real_pwrite, "pwrite");
  enum fault f = current_fault(fd);
  if ((f == fault_pages && offset >= meta_end()) || (f == fault_meta && offset < meta_end())) {
    errno = EIO;
    return -1;
  }
  return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) { return pwrite(fd, buf, count, offset); }

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  NEXT(writev_fn, real_writev, "writev");
  if (current_fault(fd) == fault_pages) {
    errno = EIO;
    return -1;
  }
  return real_writev(fd, iov, iovcnt);
}

int fdatasync(int fd) {
  NEXT(sync_fn, real_fdatasync, "fdatasync");
  if (current_fault(fd) == fault_sync) {
    errno = EIO;
    return -1;
  }
  return real_fdatasync(fd);
}

int fsync(int fd) {
  NEXT(sync_fn, real_fsync, "fsync");
  if (current_fault(fd) == fault_sync) {
    errno = EIO;
    return -1;
  }
  return real_fsync(fd);
}
