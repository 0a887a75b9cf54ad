// Plain C++ forms of the bus messages in schemas/*.capnp. Nodes work with these;
// only the codec (codec.h) touches the generated Cap'n Proto code.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cantina/bus/level.h"

namespace cantina::bus {

// One log call of one service (schemas/log_record.capnp).
struct LogRecord {
  std::int64_t timestamp_ns = 0;  // ns since the Unix epoch, UTC
  Level level = Level::info;
  std::string service;  // service id, e.g. "music_controller"
  std::string logger;   // logger name inside the service
  std::string message;
  std::string host;
  std::uint32_t pid = 0;
  std::uint64_t publisher_id = 0;  // random per publisher
  std::uint64_t sequence = 0;      // 1, 2, 3... per publisher
  std::string file;
  std::uint32_t line = 0;
  std::string function;
  std::string thread;
  std::vector<std::pair<std::string, std::string>> fields;

  friend bool operator==(const LogRecord&, const LogRecord&) = default;
};

// Several records of one publisher in one bus message (schemas/log_record.capnp).
struct LogRecordBatch {
  std::vector<LogRecord> records;  // in publishing order
  std::uint64_t publisher_id = 0;
  std::uint64_t last_sequence = 0;  // highest sequence used when sent; 0 = not stated

  friend bool operator==(const LogRecordBatch&, const LogRecordBatch&) = default;
};

enum class EntryKind : std::uint8_t { record = 0, repeat_summary = 1, loss = 2, node = 3 };

// An entry as written to the session file and streamed (schemas/dashboard_log.capnp).
struct DashboardLog {
  std::string timestamp;  // ISO-8601 UTC with microseconds, as in the session file
  std::int64_t timestamp_ns = 0;
  Level level = Level::info;
  std::string service;     // friendly name
  std::string service_id;  // raw id from the record
  std::string message;
  std::string session_id;
  std::string entry_id;
  std::uint32_t repeat_count = 0;
  EntryKind kind = EntryKind::record;
  std::string host;
  std::string logger;
  std::uint64_t sequence = 0;
  // A service's record's source and context (empty or 0 for other entries).
  std::string file{};
  std::uint32_t line = 0;
  std::string function{};
  std::string thread{};
  std::uint32_t pid = 0;
  std::vector<std::pair<std::string, std::string>> fields{};

  friend bool operator==(const DashboardLog&, const DashboardLog&) = default;
};

// Several entries in one bus message (schemas/dashboard_log.capnp), as the logging
// node publishes them on `/dashboard/log/batch`.
struct DashboardLogBatch {
  std::vector<DashboardLog> entries;  // in the order written (ascending sequence)
  std::uint64_t not_streamed = 0;     // entries left out of the live stream just before these

  friend bool operator==(const DashboardLogBatch&, const DashboardLogBatch&) = default;
};

// Request to the logging node's history endpoint.
struct HistoryQuery {
  std::uint32_t limit = 0;  // 0 = as many as the node keeps (max_memory_logs)
  Level min_level = Level::debug;
  std::vector<std::string> services;  // empty = all
  std::string text;                   // substring; empty = all

  friend bool operator==(const HistoryQuery&, const HistoryQuery&) = default;
};

struct HistoryReply {
  std::vector<DashboardLog> entries;  // oldest first
  std::string error;                  // empty on success
  std::string session_id;
  bool truncated = false;  // older entries matched but did not fit in the reply

  friend bool operator==(const HistoryReply&, const HistoryReply&) = default;
};

enum class ServiceState : std::uint8_t { starting = 0, running = 1, stopping = 2, stopped = 3, error = 4, fatal = 5 };

// "STARTING", "RUNNING", ...
const char* to_string(ServiceState state) noexcept;

struct ServiceStatus {
  std::string service;
  ServiceState state = ServiceState::starting;
  std::string message;
  std::int64_t timestamp_ns = 0;
  std::uint32_t pid = 0;
  std::string host;
  std::int64_t since_ns = 0;

  friend bool operator==(const ServiceStatus&, const ServiceStatus&) = default;
};

// The logging node's counters (schemas/logging_stats.capnp).
struct LoggingStats {
  std::int64_t timestamp_ns = 0;
  std::string session_id;
  std::string session_file;
  std::uint64_t received = 0;
  std::uint64_t written = 0;
  std::uint64_t deduplicated = 0;
  std::uint64_t filtered = 0;
  std::uint64_t lost = 0;
  std::uint64_t dropped = 0;
  std::uint64_t malformed = 0;
  std::uint64_t queue_depth = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t unwritten = 0;
  std::uint64_t repeat_summaries = 0;
  std::uint64_t publishers = 0;
  std::int64_t uptime_ns = 0;
  std::uint64_t not_streamed = 0;  // entries left out of the live stream (dashboard_max_rate)
  std::uint64_t bytes_kept = 0;    // session folder bytes on disk, as retention keeps them
  Level log_level = Level::info;   // the node's own threshold
  // Thresholds set per service, sorted by service.
  std::vector<std::pair<std::string, Level>> service_levels{};

  friend bool operator==(const LoggingStats&, const LoggingStats&) = default;
};

// `/control/log_level/<service>`: change a service's threshold.
struct SetLogLevel {
  std::string service;
  Level level = Level::info;
  std::uint64_t request_id = 0;
  // The requester as it states itself (empty, 0: not given).
  std::string host{};
  std::uint32_t pid = 0;
  std::string tool{};

  friend bool operator==(const SetLogLevel&, const SetLogLevel&) = default;
};

// `/control/log_level_changed/<service>`: the change took effect.
struct LogLevelChanged {
  std::string service;
  Level level = Level::info;
  Level previous = Level::info;
  std::uint64_t request_id = 0;
  std::uint32_t pid = 0;
  bool logging_node = false;  // the logging node's threshold for `service`, not its Logger

  friend bool operator==(const LogLevelChanged&, const LogLevelChanged&) = default;
};

}  // namespace cantina::bus
