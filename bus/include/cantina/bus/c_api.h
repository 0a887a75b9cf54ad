/* The C ABI of the bus library, for other languages (Python through ctypes, C,
 * anything with a C FFI). Built as the shared library libcantina_bus_c.so
 * (CMake target cantina::bus_c, built into build/lib/). It contains the C++ bus
 * library and exports only the cantina_* functions below; at run time it needs
 * the shared libraries of ZeroMQ, Cap'n Proto and toml++ (tools/setup installs them).
 *
 *   char publish[256], subscribe[256], error[512];
 *   if (cantina_config_load("conf/cantina.toml", publish, sizeof publish, subscribe,
 *                           sizeof subscribe, error, sizeof error) != CANTINA_OK) { puts(error); ... }
 *   cantina_logger* log = cantina_logger_open("music_controller", publish, subscribe,
 *                                             CANTINA_LEVEL_INFO, 2000, error, sizeof error);
 *   cantina_logger_log(log, CANTINA_LEVEL_INFO, "Volume set", 10, "cantina_os.music",
 *                      "music.py", 42, "set_volume", "MainThread", 0, NULL, 0);
 *   cantina_logger_close(log);
 *
 * Conventions, for every function:
 * - Nothing throws and nothing aborts: every failure is a return value. A NULL
 *   handle or pointer where one is required gives CANTINA_ERROR_INVALID_ARGUMENT
 *   (or NULL, 0, -1 as documented), never a crash.
 * - Strings are NUL-terminated UTF-8 unless a length is given; NULL where a string
 *   is optional means empty. Every string argument is copied before the call
 *   returns: the caller keeps ownership of everything it passes in.
 * - Error text goes into a caller buffer `error` of `error_size` bytes, always
 *   NUL-terminated and truncated to fit; either may be NULL/0 to ignore it.
 * - Handles are owned by the caller from open to close; close exactly once.
 *
 * The records and statuses sent are the Cap'n Proto messages of the schemas/ folder,
 * encoded by the C++ library: the schema stays the single source of truth.
 */
#ifndef CANTINA_BUS_C_API_H
#define CANTINA_BUS_C_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented when a function's signature or meaning changes. */
#define CANTINA_C_API_VERSION 3

/* Return codes: 0 and positive values are successes, negative ones failures. */
enum {
  CANTINA_OK = 0,
  CANTINA_FILTERED = 1,                /* below the logger's threshold: not sent, not an error */
  CANTINA_ERROR_INVALID_ARGUMENT = -1, /* NULL handle, bad level, bad service id, ... */
  CANTINA_ERROR_CONFIG = -2,           /* the config file is missing or invalid (see `error`) */
  CANTINA_ERROR_BUFFER_TOO_SMALL = -3, /* an output buffer cannot hold the value (it is left empty) */
  CANTINA_ERROR_DROPPED = -4,          /* the logger's queue was full: the record was dropped and counted */
  CANTINA_ERROR_TIMEOUT = -5,          /* flush: the queue did not drain in time */
  CANTINA_ERROR_BUS = -6,              /* ZeroMQ refused (malformed endpoint, send failed) */
  CANTINA_ERROR_INTERNAL = -7          /* anything unexpected (out of memory, ...) */
};

/* Log levels, lowest first; the numbers match schemas/log_record.capnp. */
enum {
  CANTINA_LEVEL_DEBUG = 0,
  CANTINA_LEVEL_INFO = 1,
  CANTINA_LEVEL_WARNING = 2,
  CANTINA_LEVEL_ERROR = 3,
  CANTINA_LEVEL_CRITICAL = 4
};

/* Service states, matching schemas/service_status.capnp. */
enum {
  CANTINA_STATE_STARTING = 0,
  CANTINA_STATE_RUNNING = 1,
  CANTINA_STATE_STOPPING = 2,
  CANTINA_STATE_STOPPED = 3,
  CANTINA_STATE_ERROR = 4,
  CANTINA_STATE_FATAL = 5
};

/* CANTINA_C_API_VERSION of the library actually loaded (compare with the header's). */
int cantina_api_version(void);

/* ------------------------------------------------------------------ config */

/* Loads and validates a config file (the same rules as every node; the
 * environment overrides apply) and copies the bus endpoints into the caller's
 * buffers. Returns CANTINA_OK; CANTINA_ERROR_CONFIG with the problem
 * ("<file>:<line>:<column>: <key>: <problem>") in `error`;
 * CANTINA_ERROR_BUFFER_TOO_SMALL if an endpoint does not fit;
 * CANTINA_ERROR_INVALID_ARGUMENT if path or an output buffer is NULL.
 * Thread-safe. */
int cantina_config_load(const char* path, char* publish_endpoint, size_t publish_endpoint_size,
                        char* subscribe_endpoint, size_t subscribe_endpoint_size, char* error, size_t error_size);

/* ------------------------------------------------------------------ logger */

/* A service's Logger (cantina/bus/logger.h): records go into a bounded queue
 * (65,536) and a background thread publishes them on /log/<service>. */
typedef struct cantina_logger cantina_logger;

/* One key-value pair of structured context; NULL key or value means empty. */
typedef struct cantina_field {
  const char* key;
  const char* value;
} cantina_field;

/* Counters since open (see Logger::Counters). */
typedef struct cantina_logger_counters {
  uint64_t logged;    /* records accepted into the queue */
  uint64_t published; /* records handed to ZeroMQ with a subscriber present */
  uint64_t dropped;   /* records lost: queue full, or no subscriber/bus refused */
} cantina_logger_counters;

/* Opens a logger for `service` (1 to 128 of [A-Za-z0-9_.-]) publishing to the
 * bus's `publish_endpoint`. `subscribe_endpoint` (NULL or "" for none) lets
 * `tools/cantina level SERVICE LEVEL` change the threshold at run time.
 * `level` is the initial threshold. Records logged before the bus has a
 * subscriber for them are held for up to `hold_ms` milliseconds (negative: the
 * default 2000), which is also how long close() waits to publish the rest.
 * Returns a handle to close with cantina_logger_close(), or NULL with the
 * reason in `error`. Owns its own ZeroMQ context and one background thread.
 * After fork() a child must not use (or close) a handle opened by its parent. */
cantina_logger* cantina_logger_open(const char* service, const char* publish_endpoint, const char* subscribe_endpoint,
                                    int level, int hold_ms, char* error, size_t error_size);

/* Like cantina_logger_open, with everything taken from the config file at
 * `config_path` (NULL: $CANTINA_CONFIG, else conf/cantina.toml): the endpoints,
 * the start-up hold ([bus] logger_hold_ms; `hold_ms` >= 0 overrides it), the
 * queue size and, in LAN mode, the CURVE keys. With `level_control` non-zero
 * the threshold follows `tools/cantina level SERVICE LEVEL`; with 0 it does not
 * (for a second logger of a service that already answers for itself). A bad
 * config gives NULL with "<file>:<line>:<column>: <key>: <problem>" in `error`. */
cantina_logger* cantina_logger_open_config(const char* service, const char* config_path, int level, int hold_ms,
                                           int level_control, char* error, size_t error_size);

/* Logs one record. `message` holds `message_length` bytes (NULs and invalid
 * UTF-8 are sent as they are; the logging node escapes them in the file). The
 * optional `logger_name` (NULL: the service id), `file`, `line` (0: unknown),
 * `function`, `thread` (NULL: "name:tid" of the calling thread), `timestamp_ns`
 * (ns since the Unix epoch, UTC; 0: now) and `field_count` entries of `fields`
 * describe the call. A message longer than the config's [bus] max_record_bytes
 * (256 KiB unless set; cantina_logger_open: always 256 KiB) is cut at a UTF-8
 * character boundary and ends with "... [truncated N bytes]" (with U+2026); names
 * over 1 KiB and fields over 64 KiB in all are cut likewise; the record is never
 * dropped for its size. Returns CANTINA_OK (queued), CANTINA_FILTERED (below the
 * threshold), CANTINA_ERROR_DROPPED (queue full, counted) or
 * CANTINA_ERROR_INVALID_ARGUMENT. Never blocks on the network. Thread-safe. */
int cantina_logger_log(cantina_logger* logger, int level, const char* message, size_t message_length,
                       const char* logger_name, const char* file, uint32_t line, const char* function,
                       const char* thread, int64_t timestamp_ns, const cantina_field* fields, size_t field_count);

/* The current threshold (a CANTINA_LEVEL_*; records below it are filtered), so a
 * caller can skip building a record that would be dropped. -1 for NULL.
 * Thread-safe and cheap (one atomic load). */
int cantina_logger_level(const cantina_logger* logger);

/* Sets the threshold. CANTINA_OK or CANTINA_ERROR_INVALID_ARGUMENT. Thread-safe. */
int cantina_logger_set_level(cantina_logger* logger, int level);

/* Waits until every record logged so far was handed to ZeroMQ, at most
 * `timeout_ms` ms. CANTINA_OK, CANTINA_ERROR_TIMEOUT or
 * CANTINA_ERROR_INVALID_ARGUMENT. Thread-safe. */
int cantina_logger_flush(cantina_logger* logger, int timeout_ms);

/* Copies the counters into `out`. CANTINA_OK or CANTINA_ERROR_INVALID_ARGUMENT.
 * Thread-safe. */
int cantina_logger_get_counters(const cantina_logger* logger, cantina_logger_counters* out);

/* Publishes what is queued (waiting up to the hold time given at open), stops
 * the background thread and frees the logger. NULL is ignored. No other call may
 * use the handle during or after close. */
void cantina_logger_close(cantina_logger* logger);

/* ------------------------------------------------------------------ line reader */

/* Reads a program's text output (a pipe, a file, stdin) into records of a logger,
 * with the rules `cantina-cli log --pipe` uses (cantina/bus/line_reader.h): a
 * record's level is the one its first line announces ("ERROR: x", "[warn] x",
 * "E1126 17:53:20 ...", "<3>..."), else `default_level`; indented lines and a
 * Python traceback join the record before them; a record waits for more at most
 * 100 ms after its last line and 1 s after its first, and holds at most
 * `max_record_bytes` (0: the logger's [bus] max_record_bytes; a longer line goes in pieces).
 * Records are logged with `logger_name` (NULL: the service id) and `thread` (NULL:
 * "name:tid" of the calling thread), stamped with the time their first line was
 * fed. One reader per stream, used by one thread at a time; close it before its
 * logger. */
typedef struct cantina_line_reader cantina_line_reader;

/* Returns a reader, or NULL with the reason in `error` (NULL logger, bad level). */
cantina_line_reader* cantina_line_reader_open(cantina_logger* logger, int default_level, const char* logger_name,
                                              const char* thread, size_t max_record_bytes, char* error,
                                              size_t error_size);

/* Takes `length` bytes of the stream and logs the records they complete. Returns
 * how many it logged (a full logger queue drops and counts them, see the
 * logger's counters) or CANTINA_ERROR_INVALID_ARGUMENT. */
int cantina_line_reader_feed(cantina_line_reader* reader, const char* data, size_t length);

/* Logs the record whose wait is over, if any; returns how many it logged. With a
 * non-NULL `next_ms`, stores in how many milliseconds poll has something to do
 * (-1: no record is waiting): call it again then, or when data comes. */
int cantina_line_reader_poll(cantina_line_reader* reader, int* next_ms);

/* The end of the stream: logs a last line without a newline and the waiting
 * record; returns how many it logged. */
int cantina_line_reader_finish(cantina_line_reader* reader);

/* Non-blank lines read so far (0 for NULL). */
uint64_t cantina_line_reader_lines(const cantina_line_reader* reader);

/* Frees the reader without logging what it still holds (call finish first for
 * that). NULL is ignored. */
void cantina_line_reader_close(cantina_line_reader* reader);

/* ------------------------------------------------------------------ status */

/* Publishes ServiceStatus messages on /service/status/<service>, e.g. for a
 * supervisor reporting on the processes it runs. */
typedef struct cantina_status_publisher cantina_status_publisher;

/* Connects to the bus's `publish_endpoint`. Returns a handle, or NULL with the
 * reason in `error`. Like any ZeroMQ publisher, the first messages after
 * connecting may reach no one: publish a state again periodically. */
cantina_status_publisher* cantina_status_publisher_open(const char* publish_endpoint, char* error, size_t error_size);

/* Like cantina_status_publisher_open, with the endpoint and (in LAN mode) the
 * CURVE keys from the config file at `config_path` (NULL: $CANTINA_CONFIG, else
 * conf/cantina.toml). */
cantina_status_publisher* cantina_status_publisher_open_config(const char* config_path, char* error, size_t error_size);

/* Publishes that `service` is in `state` (a CANTINA_STATE_*) with `message`
 * (NULL: empty; cut to 1 KiB with a marker), reported for process `pid`, in
 * that state since `since_ns` (ns since the Unix epoch, UTC; 0: now). Never
 * blocks. Returns CANTINA_OK,
 * CANTINA_ERROR_INVALID_ARGUMENT (NULL handle, bad service id or state) or
 * CANTINA_ERROR_BUS (ZeroMQ's queue is full). Thread-safe. */
int cantina_status_publish(cantina_status_publisher* publisher, const char* service, int state, const char* message,
                           uint32_t pid, int64_t since_ns);

/* Closes the socket (waiting up to 1 s for queued messages) and frees the
 * publisher. NULL is ignored. */
void cantina_status_publisher_close(cantina_status_publisher* publisher);

#ifdef __cplusplus
}
#endif

#endif /* CANTINA_BUS_C_API_H */
