// JSON forms of the bus messages, shared by cantina-cli (tail --json) and the web
// bridge. Field names are snake_case; times are ISO-8601 UTC strings (plus
// *_ns integers where the message has them). Every string is valid UTF-8:
// invalid bytes become U+FFFD, so the output is always valid JSON text.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "cantina/bus/records.h"

namespace cantina::bus {

// `text` with each invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// Length (1 to 4) of the valid UTF-8 sequence that starts at text[at], or 0 if
// the bytes there are not one: truncated, overlong, a surrogate or past U+10FFFF.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept;

const char* to_string(EntryKind kind) noexcept;  // "record", "repeat_summary", "loss", "node"

boost::json::object to_json(const LogRecord& record);
// An entry's "file", "line", "function", "thread", "pid" and "fields" (an object;
// a key given twice has its last value, at its first place) are there only when
// not empty (0); "host" and "logger" always are.
boost::json::object to_json(const DashboardLog& entry);
boost::json::object to_json(const ServiceStatus& status);
boost::json::object to_json(const LoggingStats& stats);
boost::json::object to_json(const LogLevelChanged& change);

}  // namespace cantina::bus
