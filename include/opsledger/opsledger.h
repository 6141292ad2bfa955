/* opsledger — the C ABI, for services written in C or in any language with a C foreign
 * function interface (Python ctypes, PHP FFI, Go cgo, …).
 *
 * Commands and answers are the JSON texts of the JSON-lines protocol (SPEC section 15,
 * docs/protocol.md): a command is one JSON object, an answer is one JSON object,
 * {"ok":true,...} or {"ok":false,"error":{"code":...,"message":...,"field":...}}. The answer
 * to a command is byte for byte the line `opsledger apply` would print for it.
 *
 * Conventions, true of every function below:
 *  - No C++ exception ever crosses this interface; a failure is a result code or an error
 *    answer, never an abort.
 *  - NULL pointers are checked: a NULL where a value is needed is OPSLEDGER_E_INVALID_ARGUMENT
 *    (or, for the functions that return an answer, an error answer with code
 *    "invalid_argument"). NULL is never dereferenced.
 *  - Every string this library returns is NUL-terminated UTF-8 and owned by the caller, who
 *    frees it with opsledger_free (or opsledger_free_answers for a batch). Strings passed in
 *    are only read during the call and may be freed as soon as it returns.
 *  - Functions returning int return OPSLEDGER_OK (0) or a negative OPSLEDGER_E_* code; when
 *    they fail, opsledger_last_error() on the same thread says why.
 *  - Only functions named opsledger_* are exported by this interface.
 *  - Thread safety: one handle may be used by any number of threads at once for execute,
 *    execute_batch and read_events; concurrent commands share one durable commit (group
 *    commit). opsledger_close must not race with any other call on the same handle.
 *
 * Compiles as C11 and as C++. docs/embedding.md describes the threading model, the
 * durability modes and how a service dispatches runs and reacts to events. */
#ifndef OPSLEDGER_OPSLEDGER_H
#define OPSLEDGER_OPSLEDGER_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define OPSLEDGER_API __attribute__((visibility("default")))
#else
#define OPSLEDGER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. */
enum {
  OPSLEDGER_OK = 0,
  /* An argument is NULL or out of range (a NULL directory, an options struct_size smaller
   * than OPSLEDGER_OPTIONS_SIZE_V1, max map size below the initial one, a batch of more than
   * OPSLEDGER_BATCH_COMMANDS_MAX commands). Fix the call. */
  OPSLEDGER_E_INVALID_ARGUMENT = -1,
  /* The operating system refused: cannot create or open the directory, permission denied,
   * an I/O error. Nothing was written. Retry when the cause is resolved. */
  OPSLEDGER_E_IO = -2,
  /* The disk, or the configured maximum map size, is full. Free space or raise
   * max_map_size_bytes. Reads keep working. */
  OPSLEDGER_E_STORAGE_FULL = -3,
  /* The directory holds something that is not a sound opsledger database, or an event
   * does not decode. Run `opsledger verify --db DIR`; it names the first bad seq. */
  OPSLEDGER_E_CORRUPT = -4,
  /* This process already has the database open through this interface. LMDB forbids
   * opening one environment twice in a process: share the first handle between threads. */
  OPSLEDGER_E_BUSY = -5,
  /* Memory ran out. Nothing was written. */
  OPSLEDGER_E_NO_MEMORY = -6,
  /* An unexpected internal fault (a bug). Nothing was written; please report it. */
  OPSLEDGER_E_INTERNAL = -7
};

/* Durability modes (opsledger_options.durability). */
enum {
  /* Every answer follows an fsync'ed commit: a crash loses no answered command. Default. */
  OPSLEDGER_DURABLE = 0,
  /* Commits are not fsync'ed: for tests and benchmarks only. A crash of the machine may
   * lose answered commands. Every answer carries "durability":"nosync". */
  OPSLEDGER_NOSYNC = 1
};

/* Bounds. A command longer than OPSLEDGER_COMMAND_BYTES_MAX bytes is answered
 * line_too_long, as in the protocol. */
#define OPSLEDGER_COMMAND_BYTES_MAX 65536
#define OPSLEDGER_BATCH_COMMANDS_MAX 65536
#define OPSLEDGER_READ_EVENTS_DEFAULT 1000
#define OPSLEDGER_READ_EVENTS_MAX 10000

typedef struct opsledger_options {
  /* sizeof(opsledger_options) as the caller compiled it; opsledger_options_init sets it.
   * Lets later versions add fields at the end without breaking old callers. */
  uint32_t struct_size;
  /* OPSLEDGER_DURABLE (default) or OPSLEDGER_NOSYNC. */
  uint32_t durability;
  /* Initial LMDB map size in bytes; 0 means 64 MiB. The map doubles whenever it fills. */
  uint64_t initial_map_size_bytes;
  /* Upper bound of the map in bytes; 0 means none (grow until the disk is full). A command
   * that needs more answers storage_full. */
  uint64_t max_map_size_bytes;
  /* Since 0.2: take an automatic snapshot every N events; 0 (the default) means never.
   * After a commit whose seqs crossed a multiple of N, a snapshot of the committed state
   * is written by a thread of the engine's own while commands go on being answered
   * (docs/audit.md); one due when the handle was closed is taken after the next open. A
   * caller built against 0.1 passes a smaller struct_size and gets 0. */
  uint64_t snapshot_every_events;
  /* Since 0.2: retention. After an automatic snapshot is stored, every snapshot but the
   * newest N is deleted in the same commit; 0 (the default) keeps them all. */
  uint64_t snapshots_kept;
} opsledger_options;

/* The struct_size of the first opsledger_options (up to max_map_size_bytes): the smallest
 * opsledger_open accepts. */
#define OPSLEDGER_OPTIONS_SIZE_V1 24

/* An open database. Opaque. */
typedef struct opsledger_db opsledger_t;

/* The library version, "MAJOR.MINOR.PATCH". A static string: never free it.
 * Thread-safe. Never fails. */
OPSLEDGER_API const char* opsledger_version(void);

/* Fills the first `size` bytes of *options (rounded down to the end of a field, at most
 * this release's sizeof) with the defaults (durable, 64 MiB initial map, no maximum, no
 * automatic snapshots) and sets struct_size to the bytes filled. Does nothing when options is NULL or size is below
 * OPSLEDGER_OPTIONS_SIZE_V1. Since 0.2. Thread-safe. */
OPSLEDGER_API void opsledger_options_init_sized(opsledger_options* options, size_t size);

/* Fills *options with the defaults and sets struct_size. Through this header the name is
 * a macro passing sizeof(opsledger_options) to opsledger_options_init_sized, so a program
 * built against it gets every field of its own struct (a pointer taken to the function, as
 * in `&opsledger_options_init`, is the 0.1 function below: call
 * opsledger_options_init_sized through pointers). The exported function of this name, for
 * programs built against 0.1 and for foreign function interfaces that call it by name
 * (examples/python, examples/php), fills only the first OPSLEDGER_OPTIONS_SIZE_V1 bytes:
 * it never writes past the 0.1 struct such a caller declared. Does nothing when options is
 * NULL. Thread-safe. */
OPSLEDGER_API void opsledger_options_init(opsledger_options* options);
#define opsledger_options_init(options) opsledger_options_init_sized((options), sizeof(opsledger_options))

/* Opens the database in directory `dir` (an LMDB environment), creating and seeding it when
 * `dir` is missing or empty. `options` may be NULL for the defaults. On success stores the
 * handle in *out and returns OPSLEDGER_OK; on failure stores NULL in *out (when out is not
 * NULL) and returns:
 *   OPSLEDGER_E_INVALID_ARGUMENT  dir or out NULL, dir empty, bad options
 *   OPSLEDGER_E_BUSY              already open in this process through this interface
 *   OPSLEDGER_E_IO                cannot create or open the directory or environment
 *   OPSLEDGER_E_STORAGE_FULL      no space to create and seed the database
 *   OPSLEDGER_E_CORRUPT           not an opsledger database
 *   OPSLEDGER_E_NO_MEMORY, OPSLEDGER_E_INTERNAL
 * opsledger_last_error() then says why. The handle is owned by the caller and released with
 * opsledger_close. Thread-safe (different threads may open different databases). */
OPSLEDGER_API int opsledger_open(const char* dir, const opsledger_options* options, opsledger_t** out);

/* Closes the handle and frees it. NULL is a no-op. Must not be called while another
 * thread is still inside a call on the same handle, nor twice. Answers already returned
 * stay valid. Never fails. */
OPSLEDGER_API void opsledger_close(opsledger_t* db);

/* Executes one command (a NUL-terminated JSON text) and returns its answer (a
 * NUL-terminated JSON text, no trailing newline) once the command's event is durable.
 * The caller frees the answer with opsledger_free. Thread-safe: concurrent callers share
 * one commit.
 *
 * Every fault is an answer, never a crash. Beside the protocol's own error codes
 * (invalid_json, line_too_long, invalid_utf8, missing_field, …, storage_full, io_error,
 * internal_error), this interface adds:
 *   "invalid_argument"  db or command_json is NULL
 * Returns NULL only when memory for the answer itself cannot be allocated. */
OPSLEDGER_API char* opsledger_execute(opsledger_t* db, const char* command_json);

/* Executes `count` commands in order in one transaction and one durable commit; each
 * command sees the effects of those before it, a rejected one changes nothing. On success
 * stores in *answers_out an array of `count` answers (each as from opsledger_execute, in
 * the same order; a NULL entry of `commands` is answered "invalid_argument" and the others
 * still run) and returns OPSLEDGER_OK. The caller frees the array and its strings with
 * opsledger_free_answers(*answers_out, count). count 0 stores NULL and succeeds.
 * Errors (then *answers_out is NULL and nothing ran):
 *   OPSLEDGER_E_INVALID_ARGUMENT  db or answers_out NULL, commands NULL with count > 0,
 *                                 count > OPSLEDGER_BATCH_COMMANDS_MAX
 *   OPSLEDGER_E_NO_MEMORY, OPSLEDGER_E_INTERNAL
 * A storage failure is not an error of the call: every answer then says storage_full or
 * io_error. Thread-safe: a batch is one commit of its own, serialised with other commits. */
OPSLEDGER_API int opsledger_execute_batch(opsledger_t* db, const char* const* commands, size_t count,
                                          char*** answers_out);

/* Reads the events with seq > after_seq, in seq order, at most max_events of them (0 means
 * OPSLEDGER_READ_EVENTS_DEFAULT; more than OPSLEDGER_READ_EVENTS_MAX means that maximum).
 * Stores in *lines_out one JSON object per event, each followed by "\n" (the format of
 * `opsledger export` and `opsledger tail`: seq, type, version, at, recorded_at,
 * request_id, actor, payload, hash, prev_hash), or "" when there is none yet; and, when last_seq_out
 * is not NULL, the seq of the last event returned (after_seq when none) — pass it back as
 * after_seq to read on. The caller frees *lines_out with opsledger_free. Reads a
 * consistent snapshot; appends nothing. Thread-safe. Errors (then *lines_out is NULL):
 *   OPSLEDGER_E_INVALID_ARGUMENT  db or lines_out NULL
 *   OPSLEDGER_E_IO                the read transaction failed
 *   OPSLEDGER_E_CORRUPT           an event does not decode (message names its seq)
 *   OPSLEDGER_E_NO_MEMORY, OPSLEDGER_E_INTERNAL */
OPSLEDGER_API int opsledger_read_events(opsledger_t* db, uint64_t after_seq, size_t max_events, char** lines_out,
                                        uint64_t* last_seq_out);

/* Since 0.2: blocks until the automatic snapshots asked for before the call are written or
 * have failed (a failure is reported on stderr, and the next one due is tried after the
 * next crossing commit); returns at once when snapshot_every_events is 0. Commands on
 * other threads go on meanwhile. Returns OPSLEDGER_OK, or OPSLEDGER_E_INVALID_ARGUMENT when
 * db is NULL. Thread-safe. */
OPSLEDGER_API int opsledger_wait_for_snapshots(opsledger_t* db);

/* The highest seq in the log, or 0 when db is NULL or the log cannot be read.
 * Thread-safe. */
OPSLEDGER_API uint64_t opsledger_last_seq(opsledger_t* db);

/* Frees a string returned by this library. NULL is a no-op. */
OPSLEDGER_API void opsledger_free(char* s);

/* Frees an answer array from opsledger_execute_batch and its `count` strings. NULL is a
 * no-op. */
OPSLEDGER_API void opsledger_free_answers(char** answers, size_t count);

/* Why the last call on this thread that returned an int failed: a NUL-terminated message
 * owned by the library (per thread), valid until the next int-returning call on the same
 * thread, which clears it when it begins. "" after a success. Never NULL. Thread-safe. */
OPSLEDGER_API const char* opsledger_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* OPSLEDGER_OPSLEDGER_H */
