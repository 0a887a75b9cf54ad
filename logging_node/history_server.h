// HistoryServer: the logging node's history endpoint ([logging] query_endpoint), on
// a thread of its own (`logd-history`), so that no query ever stalls the receive
// thread, and bounded so that no client can grow the node.
//
// A ROUTER socket (REQ clients) answers each HistoryQuery with a HistoryReply of the newest
// matching entries of the ring buffer, oldest first:
// - `limit` 0, or above max_memory_logs, means max_memory_logs; a reply holds at
//   most kMaxReplyBytes of entries (the newest that fit; `truncated` says when
//   older ones matched) and kMaxReplyEntries entries.
// - The ring is shared with the receive thread under a mutex, which the history
//   thread holds for at most kScanChunk entries at a time: it matches and copies
//   a chunk, lets go, and goes on from the entry it stopped at (entries the ring
//   dropped meanwhile are simply not in the reply).
// - A query that cannot be answered (malformed; more than 256 services, a text or
//   a service name over bus::kMaxNameBytes) gets an error reply at once. ZeroMQ
//   refuses a query over kMaxQueryBytes itself (it closes that connection).
// - Replies waiting to be read (the client is slow, or never reads): the socket
//   queues at most kReplyQueueMessages per client (a reply beyond is not queued),
//   and replies that ZeroMQ still holds, over all clients, take at most
//   kMaxRepliesInFlight bytes; beyond that a query gets a short "busy" error
//   reply instead. Requests: at most kRequestQueueMessages queued per client.
//   Both refusals are counted (refused_busy(), refused_unread()) and written to
//   stderr, at most once per kReportIntervalNs and when the thread stops.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/records.h"
#include "log_entry.h"
#include "ring_buffer.h"

namespace cantina::logging {

using EntryRing = RingBuffer<EntryHold, EntryRingTraits>;

// The streamed and queried form of an entry.
bus::DashboardLog to_dashboard(const LogEntry& entry, const std::string& session_id);

// The bounds of one reply.
struct HistoryLimits {
  std::size_t max_entries = 1000;  // [logging] max_memory_logs: what `limit` 0 means, and its most
  std::size_t max_reply_bytes = std::size_t{4} << 20;
};

// Entries a reply holds at most, whatever max_memory_logs says.
inline constexpr std::size_t kMaxReplyEntries = 100000;
// Entries the history thread matches and copies per hold of the ring's mutex.
inline constexpr std::size_t kScanChunk = 256;

// Answers `payload` (an encoded HistoryQuery) from `ring`, which the caller shares
// under `ring_mutex`. Never throws but std::bad_alloc. Any thread.
bus::HistoryReply answer_history_query(bus::Bytes payload, const EntryRing& ring, std::mutex& ring_mutex,
                                       const std::string& session_id, const HistoryLimits& limits);

class HistoryServer {
 public:
  // Largest query ZeroMQ takes (it closes a connection that sends a larger one).
  static constexpr std::int64_t kMaxQueryBytes = std::int64_t{256} * 1024;
  static constexpr int kRequestQueueMessages = 2;
  static constexpr int kReplyQueueMessages = 2;
  static constexpr std::size_t kMaxRepliesInFlight = std::size_t{16} << 20;
  // Routing frames a request may carry before its empty delimiter (a REQ sends 1).
  static constexpr std::size_t kMaxEnvelopeFrames = 8;
  static constexpr std::int64_t kReportIntervalNs = std::int64_t{10} * 1000 * 1000 * 1000;

  // Binds `endpoint` (with CURVE in LAN mode). Throws std::runtime_error with a
  // one-line message if it cannot. `ring` and `ring_mutex` must outlive it.
  HistoryServer(zmq::context_t& context, const std::string& endpoint, const bus::CurveConfig& curve,
                const EntryRing& ring, std::mutex& ring_mutex, std::string session_id, HistoryLimits limits);
  // Stops the thread if it runs.
  ~HistoryServer();
  HistoryServer(const HistoryServer&) = delete;
  HistoryServer& operator=(const HistoryServer&) = delete;

  // Starts the thread (`logd-history`). Call once.
  void start();
  // Stops the thread and returns once it has finished; idempotent. The thread
  // that called start() calls it.
  void stop();

  // Bytes of replies ZeroMQ holds now (sent, not yet written to their clients).
  std::size_t replies_in_flight() const noexcept { return in_flight_->load(std::memory_order_relaxed); }
  // Queries answered with "busy" (too many reply bytes held for their readers).
  std::uint64_t refused_busy() const noexcept { return refused_busy_.load(std::memory_order_relaxed); }
  // Replies not queued because their client's queue was full, or it had gone.
  std::uint64_t refused_unread() const noexcept { return refused_unread_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Answers one query if one waits; false if none did.
  bool serve_one();
  // Writes the refusals not yet reported to stderr, unless one was written less
  // than kReportIntervalNs ago and `final` is false. History thread.
  void report_refusals(bool final);

  zmq::context_t& context_;
  const EntryRing& ring_;
  std::mutex& ring_mutex_;
  const std::string session_id_;
  const HistoryLimits limits_;
  zmq::socket_t socket_;
  std::unique_ptr<bus::CurveGuard> guard_;  // LAN mode: authenticates query clients
  zmq::socket_t stop_server_;               // the history thread's end
  zmq::socket_t stop_client_;               // stop()'s end
  // Shared with the free callbacks of replies that ZeroMQ may still hold after
  // this object is gone (the context outlives the node).
  std::shared_ptr<std::atomic<std::size_t>> in_flight_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::atomic<std::uint64_t> refused_busy_{0};
  std::atomic<std::uint64_t> refused_unread_{0};
  std::uint64_t reported_busy_ = 0;    // history thread
  std::uint64_t reported_unread_ = 0;  // history thread
  std::int64_t reported_at_ns_ = 0;    // history thread
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace cantina::logging
