// LoggingNode: the LoggingService of CantinaOS as a bus node (cantina-logd).
//
// DESIGN
// Threads
// - receive thread (owns every bus socket): a SUB socket on `/log/` and
//   `/control/log_level/` (its own threshold, and one per service), an XPUB socket for
//   `/dashboard/log/batch`, `/logging/stats`, `/service/status/logging_service`
//   and level-change replies (XPUB so that it knows whether anyone subscribes to
//   the dashboard entries: they are built only then), and an inproc PAIR socket
//   on which stop() sends
//   the shutdown message. Per wake-up it takes up to 4096 bus messages (single
//   records on `/log/<service>` or batches on `/log/<service>/batch`), decodes
//   them in place, checks per-publisher sequence numbers (and each batch's stated
//   last sequence, for losses at the end of a burst), applies the level threshold
//   (its own, or the service's: ServiceLevels, service_levels.h, at most 256
//   services and 16 KiB of their ids; a change is a WARNING line naming the
//   requester as its request states it, and the records a threshold hides are
//   counted per service in a line at most once a minute)
//   and the dedup window, keeps the ring buffer, and hands what it accepted to the
//   writer under one lock. It never touches the disk. The entries it accepts in a
//   wake-up are streamed as one DashboardLogBatch message at its end
//   (DashboardStream: split at 1024 entries or about 128 KiB, a full batch sent at
//   once), not one message per entry.
// - writer thread (owns the SessionFile): woken when batch_size entries wait, an
//   ERROR or CRITICAL entry arrives, or after at most 100 ms; formats up to
//   batch_size entries (and at most 1 MiB of them) into one buffer and writes it
//   with one write(2) (large records: one per MiB of lines); fdatasync
//   at least every file_flush_interval seconds and at once after a batch holding
//   an ERROR or CRITICAL entry. Beside each part it appends the part's sidecar
//   index (store::IndexWriter), and it wakes the retention thread when a part is
//   finished.
// - retention thread (logd-retention, SCHED_IDLE, nice 19, idle I/O; design in
//   retention.h): compresses finished parts and deletes the oldest sessions to
//   keep [logging] max_total_bytes, max_sessions, max_age_days and min_free_bytes,
//   never the current session; its INFO/WARNING lines go through the receive
//   thread (taken once a second) into the session like the node's own.
// - history thread (`logd-history`, HistoryServer in history_server.h): answers
//   HistoryQuery on [logging] query_endpoint from the ring buffer, which it shares
//   with the receive thread under a mutex held for at most 256 entries at a time,
//   so no query stalls the bus. Replies are capped in bytes and entries, and
//   what clients that do not read can make it hold is capped (see there).
// Queue: the writer queue holds at most max_queue_size entries and max_queue_bytes
//   of them (32 MiB; an entry weighs its struct and its texts' buffers). While
//   fewer than 2048 places or 4 MiB (or half of either) are free, the receive
//   thread reads nothing from the bus, so a backlog waits in ZeroMQ's queues (the
//   node's SUB socket holds at most 64 messages and 32 MiB of the largest ones;
//   the bus high_water_mark; beyond that the bus drops and the sequence numbers
//   report it). When it is full anyway
//   the entry is dropped and counted; once a second the node writes one WARNING
//   line with the count (pushed past the bound, so the report itself is never lost).
// Memory: every structure is bounded in bytes, not only in entries. The ring
//   buffer (history) holds at most max_memory_logs entries and max_memory_bytes
//   (16 MiB, its slots included), dropping the oldest first; written entries are
//   pooled for reuse (1024 entries, 4 MiB) after the writer gives back any text
//   buffer over 4 KiB, and a ring slot does not keep a buffer over 4 KiB for a
//   much shorter text: a large record never leaves its memory behind. Large blocks
//   come from mmap (M_MMAP_THRESHOLD 128 KiB in main), so freed ones go back to
//   the system at once.
// Record caps (RecordCaps, bus/limits.h): each text of a record is cut at its cap
//   and marked as the node takes it (message [bus] max_record_bytes, names 1 KiB, fields 64 KiB
//   together); what one bus message fills into entries (a batch's shared host and
//   logger once per record) is capped at 8 MiB, the rest of the message refused:
//   counted as one malformed message, its records as lost (a sequence gap).
// Loss reports: once a second, one WARNING line per service and kind: records
//   lost in sequence gaps, malformed messages dropped, and records a publisher sent
//   before its first one seen here (the node started or restarted while it was
//   logging: "N earlier records from S are not in this session"), unless the
//   previous node's sequence state (SequenceState, `.cantina-sequences` beside the
//   sessions, kept by the writer) says where it left that publisher: then the gap
//   is exact, "lost N records from S while the logging node was not running
//   (sequences A–B)", and counted as lost. At most 1000
//   services are named per second, the rest share one "(other services)" line.
//   The sequence tracker follows each (service, publisher) pair apart, at most
//   100,000 (least recently seen forgotten, counted and reported; keys hashed
//   with a per-process SipHash key); a jump forward beyond what a publisher can
//   send, or backward, is reported as such, never counted as lost. The
//   friendly-name cache is bounded.
// Dedup (DedupFilter): the first of identical records (service id, level and text:
//   a 128-bit keyed hash, then the text in full once a key repeats) is written at
//   once; its repeats within deduplication_window are counted, and a summary
//   "(repeated N times between A and B)" follows at most
//   dedup_summary_interval_ms after the first of them (ERROR and CRITICAL: at most
//   1 s, written and synced like them), again for later repeats. The receive loop
//   sleeps until the next summary is due. A summary is stamped with the time it is
//   made, but no later than the newest entry or repeat already in, so a record that
//   reaches the node up to a Logger's linger after it was made never follows a
//   summary stamped after it: with records arriving in time order, the session file
//   is in time order.
// Errors: a failed write is counted (unwritten), the node goes on, publishes ERROR
//   and writes how many lines it could not store once writing works again.
// Shutdown (stop(), or SIGINT/SIGTERM in cantina-logd): STOPPING; read what ZeroMQ
//   has already delivered (for at most 2 s); close the open dedup windows
//   (summaries); queue the stop message behind every accepted entry; the writer
//   drains, writes, fsyncs, exits; STOPPED. Nothing accepted is lost.
// Feedback: the node's own lines go straight to the ring buffer, the stream and the
//   writer as service "Logging Service"; it never subscribes to what it publishes.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "cantina/bus/config.h"

namespace cantina::logging {

// Counters shared by the two threads (relaxed atomics; read for /logging/stats).
struct NodeCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> deduplicated{0};
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> bytes_written{0};
  std::atomic<std::uint64_t> unwritten{0};
  std::atomic<std::uint64_t> repeat_summaries{0};
};

class LoggingNode {
 public:
  // Opens a new session file and binds the query endpoint. Throws
  // std::runtime_error with a one-line message if either is impossible.
  LoggingNode(zmq::context_t& context, const bus::Config& config);
  // Stops the node if it runs (see stop()).
  ~LoggingNode();

  LoggingNode(const LoggingNode&) = delete;
  LoggingNode& operator=(const LoggingNode&) = delete;

  // Starts the receive and writer threads. Call once.
  void start();

  // Runs the shutdown sequence and returns when both threads have finished.
  // Call from the thread that called start(); idempotent.
  void stop();

  const std::string& session_id() const noexcept;
  std::filesystem::path session_path() const;
  const NodeCounters& counters() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cantina::logging
