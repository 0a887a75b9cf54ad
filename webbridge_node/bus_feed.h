// BusFeed: the web bridge's bus thread, and the Inbox through which it hands
// validated messages, already in JSON, to the io thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/records.h"
#include "cantina/bus/socket.h"

namespace cantina::webbridge {

// Counters shown on /api/stats and /healthz (relaxed atomics, any thread).
struct BridgeCounters {
  std::atomic<std::uint64_t> received{0};   // well-formed messages from the bus
  std::atomic<std::uint64_t> malformed{0};  // undecodable payloads, dropped
  std::atomic<std::uint64_t> clients{0};    // WebSocket clients connected now
  std::atomic<std::uint64_t> forwarded{0};  // entries handed to clients' queues
  std::atomic<std::uint64_t> skipped{0};    // entries skipped for slow clients
};

// Bounded hand-over from the bus thread to the io thread. Thread-safe.
class Inbox {
 public:
  explicit Inbox(std::size_t max_entries) : max_entries_(max_entries) {}

  // An entry as a JSON object text. When max_entries are already waiting (the io
  // thread is behind), the entry is dropped and counted in the next batch.
  void add_entry(std::string json);
  // A complete message for every client ({"type":"status"|"stats",...}).
  void add_event(std::string json);
  void set_stats(std::string stats_json);
  void set_status(const std::string& service, std::string status_json);

  struct Batch {
    std::vector<std::string> entries;
    std::vector<std::string> events;
    std::uint64_t dropped = 0;  // entries dropped since the last batch
  };
  // Takes everything waiting; `batch`'s vectors are reused.
  void take(Batch& batch);

  std::string stats_json() const;                 // "null" until the first stats
  std::vector<std::string> status_jsons() const;  // latest per service

 private:
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
  std::vector<std::string> events_;
  std::uint64_t dropped_ = 0;
  std::string stats_ = "null";
  std::map<std::string, std::string> statuses_;
};

// Subscribes to /dashboard/log, /service/status/ and /logging/stats, validates
// every payload (a bad one is counted and dropped, never forwarded), turns it
// into JSON for the Inbox, and publishes the web bridge's own ServiceStatus
// (on change and every second).
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
};

}  // namespace cantina::webbridge
