// Test-side bus clients: a publisher that sends hand-made records (any
// publisher id and sequence, malformed payloads) once the bus has a subscriber,
// and helpers that wait for status and stats messages.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.h>
#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "integration/process.h"

namespace cantina::testing {

class RawPublisher {
 public:
  // Connects an XPUB socket to `endpoint` and waits (up to 10 s) until the bus
  // reports a subscription covering `/log/`.
  RawPublisher(zmq::context_t& context, const std::string& endpoint);

  void send(const std::string& topic, const std::string& payload);
  void send_record(const bus::LogRecord& record);
  // Sends one message of any number of frames (even a wrong one).
  void send_frames(const std::vector<std::string>& frames);

  // Waits until the bus has dropped this connection and ZeroMQ has connected it
  // again (socket monitor events; the subscriptions survive). False on timeout.
  bool wait_for_reconnect(std::chrono::milliseconds timeout);

  // Sends `batch` on `/log/<service>/batch`.
  void send_batch(const std::string& service, const bus::LogRecordBatch& batch);

 private:
  bool wait_for_subscription(std::chrono::milliseconds timeout);

  zmq::socket_t socket_;
  zmq::socket_t monitor_;
};

// Keeps the newest /logging/stats message seen, on a thread of its own.
class StatsWatcher {
 public:
  explicit StatsWatcher(const std::string& endpoint);
  ~StatsWatcher();
  std::optional<bus::LoggingStats> latest();
  // Waits until the latest stats satisfy `done`; returns them, or nullopt on timeout.
  template <class Predicate>
  std::optional<bus::LoggingStats> wait_until(Predicate done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto seen = latest(); seen && done(*seen)) return seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::optional<bus::LoggingStats> latest_;
  std::thread thread_;
};

// A record as a service would publish it, with the given publisher and sequence.
bus::LogRecord make_record(const std::string& service, std::uint64_t publisher, std::uint64_t sequence,
                           const std::string& message, bus::Level level = bus::Level::info);

// The records of a message on a log topic (single or batch); empty if it is not
// one or does not decode.
std::vector<bus::LogRecord> records_of(const bus::Received& message);

// Waits until `service` reports `state`; returns its status message.
// A service's Logger that sends a record at once while someone watches live and
// holds it 5 s otherwise, and a subscriber to its records: whether a record
// arrives soon tells whether the Logger sees a watcher (a subscription to /watching).
class LingerProbe {
 public:
  LingerProbe(zmq::context_t& context, const Bus& bus, const std::string& service);
  // True if a message of the service arrives within `timeout`.
  bool record_arrives(std::chrono::milliseconds timeout);

 private:
  std::string topic_;
  bus::Subscriber raw_;

 public:
  bus::Logger log;  // after raw_: its records find the subscriber there
};

std::optional<std::string> wait_for_status(const std::string& subscribe_endpoint, const std::string& service,
                                           bus::ServiceState state, std::chrono::milliseconds timeout);

// A running cantina-logd with its own config (the Bus's endpoints, a temp
// session directory, an ipc query endpoint, plus `extra` [logging] lines).
// The constructor returns once it reports RUNNING.
struct LogNode {
  // `logs`: the session directory (default dir/logs).
  LogNode(const std::filesystem::path& dir, const Bus& bus, const std::string& extra = "",
          const std::optional<std::filesystem::path>& logs = std::nullopt);

  // The only session file (fails the test if there is not exactly one); the
  // session files are the .log files (not their .idx indexes), sorted.
  std::filesystem::path session_file() const;
  std::vector<std::filesystem::path> session_files() const;
  void start();

  const Bus& bus;
  std::filesystem::path dir;
  std::filesystem::path config;
  std::filesystem::path logs;
  std::string query_endpoint;
  std::optional<Process> process;
};

}  // namespace cantina::testing
