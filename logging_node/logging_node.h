// LoggingNode: the LoggingService of CantinaOS as a bus node (cantina-logd).
//
// DESIGN
// Threads
// - receive thread (owns every socket): a SUB socket on `/log/` and
//   `/control/log_level/logging_service`, an XPUB socket for
//   `/dashboard/log/batch`, `/logging/stats`, `/service/status/logging_service`
//   and level-change replies (XPUB so that it knows whether anyone subscribes to
//   the dashboard entries: they are built only then), a REP socket on [logging]
//   query_endpoint for history, and an inproc PAIR socket on which stop() sends
//   the shutdown message. Per wake-up it takes up to 4096 bus messages (single
//   records on `/log/<service>` or batches on `/log/<service>/batch`), decodes
//   them in place, checks per-publisher sequence numbers (and each batch's stated
//   last sequence, for losses at the end of a burst), applies the level threshold
//   and the dedup window, keeps the ring buffer, and hands what it accepted to the
//   writer under one lock. It never touches the disk. The entries it accepts in a
//   wake-up are streamed as one DashboardLogBatch message at its end
//   (DashboardStream: split at 1024 entries or about 128 KiB, a full batch sent at
//   once), not one message per entry.
// - writer thread (owns the SessionFile): woken when batch_size entries wait, an
//   ERROR or CRITICAL entry arrives, or after at most 100 ms; formats up to
//   batch_size entries into one buffer and writes it with one write(2); fdatasync
//   at least every file_flush_interval seconds and at once after a batch holding
//   an ERROR or CRITICAL entry. Beside each part it appends the part's sidecar
//   index (store::IndexWriter), and it wakes the retention thread when a part is
//   finished.
// - retention thread (logd-retention, SCHED_IDLE, nice 19, idle I/O; design in
//   retention.h): compresses finished parts and deletes the oldest sessions to
//   keep [logging] max_total_bytes, max_sessions, max_age_days and min_free_bytes,
//   never the current session; its INFO/WARNING lines go through the receive
//   thread (taken once a second) into the session like the node's own.
// Queue: the writer queue holds at most max_queue_size entries. While fewer than
//   2048 (or half of it) are free, the receive thread reads nothing from the bus,
//   so a backlog waits in ZeroMQ's queues (high_water_mark messages; beyond that
//   the bus drops and the sequence numbers report it). When it is full anyway the
//   entry is dropped and counted; once a second the node writes one WARNING line
//   with the count (pushed past the bound, so the report itself is never lost).
// Loss reports: once a second, one WARNING line per service and kind: records
//   lost in sequence gaps, malformed messages dropped, and records a publisher sent
//   before its first one seen here (the node started or restarted while it was
//   logging: "N earlier records from S are not in this session"). At most 1000
//   services are named per second, the rest share one "(other services)" line.
//   The sequence tracker follows at most 100,000 publishers (least recently seen
//   forgotten, counted and reported); the friendly-name cache is bounded.
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
