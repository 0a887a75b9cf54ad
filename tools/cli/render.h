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

// One line (without the newline) for a message on `topic` (for a batch of log
// records or dashboard entries, one line per record or entry joined by newlines),
// or empty if the payload is not what the topic promises or an empty batch (the
// caller counts it).
std::string render(const std::string& topic, const bus::Bytes& payload, const RenderOptions& options);

// One line (without the newline) for a dashboard entry, however it came (alone,
// in a batch, or from history): in JSON with "topic":"/dashboard/log".
std::string render_entry(const bus::DashboardLog& entry, const RenderOptions& options);

// One line (without the newline) for `record`, received on `topic`.
std::string render_record(const std::string& topic, const bus::LogRecord& record, const RenderOptions& options);

}  // namespace cantina::cli
