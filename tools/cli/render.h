// How cantina-cli prints bus messages: one line of text like the session file
// (optionally coloured by level), or one JSON object per line.
#pragma once

#include <string>

#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"
#include "cantina/bus/records.h"

namespace cantina::cli {

struct RenderOptions {
  bool json = false;
  bool colour = false;  // ANSI colours by level (terminals only)
};

// The ANSI colour that starts a line of `level` ("" for none).
const char* level_colour(bus::Level level);

// "[<time>] <LEVEL:8> <service:20> <message>" with control characters escaped.
std::string to_line(std::int64_t timestamp_ns, bus::Level level, std::string_view service, std::string_view message,
                    bool colour);

// One line (without the newline) for a message on a topic other than /log/ and
// /dashboard/log (a status, the logging node's counters, a level change, or just
// the size of anything else), or empty if the payload is not what the topic
// promises (the caller counts it).
std::string render(const std::string& topic, const bus::Bytes& payload, const RenderOptions& options);

// The logging node's counters as one readable line: "[time] STATS    received
// 1,234  written 1,230  ...  up 5m 2s".
std::string stats_line(const bus::LoggingStats& stats);

// One line (without the newline) for a dashboard entry, however it came (alone,
// in a batch, or from history): text with the display name, or JSON with
// "service" (the id), "service_name" (the display name), "topic":"/dashboard/log",
// and, like a live record's, "file", "line", "function", "logger", "thread", "pid",
// "host" and "fields" (empty or 0 when the entry has none).
std::string render_entry(const bus::DashboardLog& entry, const RenderOptions& options);

// One line (without the newline) for `record`, received on `topic`: text with
// `service_name` (its display name, as the logging node names it), or JSON with
// "service" (the id) and "service_name", like render_entry.
std::string render_record(const std::string& topic, const bus::LogRecord& record, std::string_view service_name,
                          const RenderOptions& options);

}  // namespace cantina::cli
