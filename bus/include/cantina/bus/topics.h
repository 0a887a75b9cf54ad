// Bus topics. Every message is [topic][Cap'n Proto payload]; topics are paths and
// subscribers filter by prefix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cantina::bus::topics {

inline constexpr std::string_view kLogPrefix = "/log/";              // + service id: one LogRecord
inline constexpr std::string_view kLogBatchSuffix = "/batch";        // "/log/<service>/batch": a LogRecordBatch
inline constexpr std::string_view kDashboardLog = "/dashboard/log";  // one DashboardLog
// A DashboardLogBatch (what the logging node sends). Subscribing to kDashboardLog
// (a prefix of it) gets both forms.
inline constexpr std::string_view kDashboardLogBatch = "/dashboard/log/batch";
inline constexpr std::string_view kStatusPrefix = "/service/status/";  // + service id
inline constexpr std::string_view kLoggingStats = "/logging/stats";
// Never published: subscribed to by whoever shows records live (the logging node
// while /dashboard/log has subscribers). Loggers see the subscription and then
// send sooner (LoggerOptions::batch_linger rather than batch_linger_unwatched).
inline constexpr std::string_view kWatching = "/watching";
// An empty message a Logger publishes right after a message that holds an ERROR or
// CRITICAL record (or answers a flush()): the logging node, which gathers its
// wake-ups while no one watches live, reads the bus at once when it sees one.
inline constexpr std::string_view kUrgent = "/urgent";
// + 16 hex digits of a token only one Logger knows: an empty message that Logger
// sends before it closes and waits to get back through the bus (subscribed to it
// on its control socket). Its return shows that the bus has everything sent
// before it: ZeroMQ may drop what a closed socket still holds (a linger does not
// cover bytes in the kernel's queue when the connection is reset).
inline constexpr std::string_view kReceiptPrefix = "/receipt/";
inline constexpr std::string_view kControlPrefix = "/control/";
inline constexpr std::string_view kSetLogLevelPrefix = "/control/log_level/";              // + service
inline constexpr std::string_view kLogLevelChangedPrefix = "/control/log_level_changed/";  // + service

// The service id of the logging node itself.
inline constexpr std::string_view kLoggingServiceId = "logging_service";

// True if `service` is a usable service id: 1..128 bytes of [A-Za-z0-9_.-].
bool is_valid_service_id(std::string_view service) noexcept;

std::string log_topic(std::string_view service);
std::string log_batch_topic(std::string_view service);
std::string status_topic(std::string_view service);
std::string set_log_level_topic(std::string_view service);
std::string log_level_changed_topic(std::string_view service);
std::string receipt_topic(std::uint64_t token);
// True if `topic` is kReceiptPrefix and 16 lowercase hex digits.
bool is_receipt_topic(std::string_view topic) noexcept;

// The service id at the end of `topic` if it starts with `prefix`; nullopt otherwise
// or if the rest is not a valid service id.
std::optional<std::string_view> service_of(std::string_view topic, std::string_view prefix) noexcept;

// A log topic taken apart: "/log/<service>" (one record) or "/log/<service>/batch".
struct LogTopic {
  std::string_view service;
  bool batch = false;
};

// The parts of `topic` if it is a log topic with a valid service id; nullopt otherwise.
std::optional<LogTopic> parse_log_topic(std::string_view topic) noexcept;

// A dashboard topic: "/dashboard/log" (one DashboardLog) or "/dashboard/log/batch"
// (a DashboardLogBatch).
struct DashboardTopic {
  bool batch = false;
};

// Which form `topic` carries if it is one of the two dashboard topics exactly;
// nullopt otherwise (e.g. "/dashboard/logs").
std::optional<DashboardTopic> parse_dashboard_topic(std::string_view topic) noexcept;

}  // namespace cantina::bus::topics
