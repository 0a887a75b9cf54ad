// BusFeed: the web bridge's bus thread, and the Inbox through which it hands
// validated messages, already in JSON, to the io thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/records.h"
#include "cantina/bus/socket.h"

namespace cantina::webbridge {

// Counters shown on /api/stats and /healthz (relaxed atomics, any thread).
struct BridgeCounters {
  std::atomic<std::uint64_t> received{0};         // well-formed entries, status and stats messages from the bus
  std::atomic<std::uint64_t> malformed{0};        // undecodable payloads, dropped
  std::atomic<std::uint64_t> clients{0};          // WebSocket clients connected now
  std::atomic<std::uint64_t> forwarded{0};        // entries handed to clients' queues
  std::atomic<std::uint64_t> skipped{0};          // entries a client missed (per client), all announced to it
  std::atomic<std::uint64_t> not_streamed{0};     // entries the logging node's live-view limit left out, announced
  std::atomic<std::uint64_t> inbox_dropped{0};    // entries dropped before any client (io thread behind)
  std::atomic<std::uint64_t> session_errors{0};   // connections ended by an error in their handling
  std::atomic<std::uint64_t> refused{0};          // requests refused for their Host or a WebSocket's Origin
  std::atomic<std::uint64_t> busy{0};             // connections and requests refused for want of room (503)
  std::atomic<std::uint64_t> accept_failures{0};  // accepting a connection failed (out of file descriptors, ...)
  std::atomic<std::uint64_t> stalled_dropped{0};  // WebSockets dropped for taking nothing
};

// Bounded hand-over from the bus thread to the io thread. Thread-safe. Entries
// arrive already joined into the text of one {"type":"entries"} message, so the
// io thread only closes it and shares it among the clients.
class Inbox {
 public:
  // At most `max_entries` entries and `max_bytes` bytes of their JSON wait.
  Inbox(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // `wake` is called on the adding thread, outside the lock, when something
  // arrives and no wake-up is outstanding: once per take(), never per entry. It
  // must only schedule take() (e.g. post to the io thread). Set it before any
  // thread adds.
  void on_arrival(std::function<void()> wake) { wake_ = std::move(wake); }

  // `count` entries: JSON object texts separated by ','. If they would take the
  // inbox past its limits (the io thread is behind), all `count` are dropped and
  // counted in the next batch. `not_streamed`: entries the logging node left out
  // of the live stream (its live-view limit) since its previous message, among or
  // before these or after them (up to its next message's first entry), to announce.
  // `timestamps`: each of these entries' timestamp_ns as a JSON string of its
  // digits, separated by ','; the message then ends with them, in the same order,
  // as "timestamps_ns":[...] (the page reads them there instead of scanning the
  // text: a JavaScript number holds only 2^53 exactly). They count against
  // `max_bytes` with their entries. A message gets the array only if every entry
  // in it came with its digits.
  void add_entries(std::string_view json, std::size_t count, std::uint64_t not_streamed = 0,
                   std::string_view timestamps = {});
  // A complete message for every client ({"type":"status"|"stats",...}).
  void add_event(std::string json);
  void set_stats(std::string stats_json);
  void set_status(const std::string& service, std::string status_json);

  struct Batch {
    std::string entries_message;  // {"type":"entries","entries":[...],"timestamps_ns":[...]}; empty if no entries
    std::size_t entries = 0;      // entries in entries_message
    std::vector<std::string> events;
    std::uint64_t dropped = 0;       // entries dropped since the last batch
    std::uint64_t not_streamed = 0;  // entries the logging node left out of the live stream (see add_entries)

    bool empty() const { return entries == 0 && events.empty() && dropped == 0 && not_streamed == 0; }
  };
  // Takes everything waiting into `batch`, replacing its contents (the caller
  // moves entries_message away to share it). io thread.
  void take(Batch& batch);

  std::string stats_json() const;                 // "null" until the first stats
  std::vector<std::string> status_jsons() const;  // latest per service

 private:
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  std::function<void()> wake_;
  mutable std::mutex mutex_;
  std::string entries_message_;      // the open message: prefix and entries, without "]}"
  std::string timestamps_;           // the open message's entries' timestamp digits (add_entries)
  bool timestamps_complete_ = true;  // every entry of the open message came with its digits
  std::size_t entries_ = 0;
  std::size_t last_message_size_ = 0;  // of the last batch taken: the next one's likely size
  std::vector<std::string> events_;
  std::uint64_t dropped_ = 0;
  std::uint64_t not_streamed_ = 0;
  bool wake_outstanding_ = false;  // wake_ was called and take() has not run since
  std::string stats_ = "null";
  std::map<std::string, std::string> statuses_;
};

// Subscribes to /dashboard/log (which covers both forms: one entry on
// /dashboard/log, a DashboardLogBatch on /dashboard/log/batch), /service/status/
// and /logging/stats, validates every payload (a bad one is counted and dropped
// whole, never forwarded in part), turns it into JSON for the Inbox, and publishes
// the web bridge's own ServiceStatus (on change and every second). Entries are
// written as JSON straight from the received message into one reused buffer and
// handed to the Inbox in chunks of whole messages (one lock per chunk; the
// Inbox counts entries, so its drops are exact per entry): everything waiting is
// drained per wake-up.
class BusFeed {
 public:
  BusFeed(zmq::context_t& context, const bus::Config& config, Inbox& inbox, BridgeCounters& counters,
          std::string listen_url);

  // The bus thread's body: runs until stop() is called. Publishes RUNNING at once,
  // STOPPING and STOPPED when stopping.
  void run();

  // Any thread: asks run() to return (a message on an inproc socket).
  void stop();

 private:
  void handle(const std::string& topic, bus::Bytes payload);
  // Hands the entries gathered in entries_json_ to the Inbox.
  void flush_entries();
  void publish_status(bus::ServiceState state, const std::string& message);

  zmq::context_t& context_;
  const bus::Config& config_;
  Inbox& inbox_;
  BridgeCounters& counters_;
  std::string listen_url_;
  std::string stop_endpoint_;
  zmq::socket_t stop_server_;  // bus thread only, from run() on
  zmq::socket_t stop_client_;  // guarded by stop_mutex_
  std::mutex stop_mutex_;
  std::int64_t since_ns_ = 0;
  bus::ServiceState state_ = bus::ServiceState::starting;
  std::unique_ptr<bus::Publisher> publisher_;  // bus thread only
  std::string entries_json_;                   // bus thread only: entries not yet in the Inbox
  std::string timestamps_json_;                // ... and their timestamp_ns digits (Inbox::add_entries)
  std::size_t entries_count_ = 0;
  std::uint64_t not_streamed_ = 0;  // bus thread only: the node's live-view limit left these out
};

}  // namespace cantina::webbridge
