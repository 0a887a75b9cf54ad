// Reading the session file's lines back: the fixed layout written by the logging
// node's line_format (logging_node/line_format.h),
//   [<ISO-8601 UTC, µs, 27 characters>] <LEVEL padded to 8> <service padded to 20> <message>
// with service and message escaped so that one entry is always one line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cantina/bus/level.h"

namespace cantina::store {

// Where the fields start in a line.
inline constexpr std::size_t kTimestampOffset = 1;
inline constexpr std::size_t kTimestampLength = 27;
inline constexpr std::size_t kLevelOffset = 30;
inline constexpr std::size_t kServiceOffset = 39;
inline constexpr std::size_t kServiceWidth = 20;  // code points, padded with spaces

// One line (without its '\n') split into its fields; views into the line.
struct ParsedLine {
  std::int64_t timestamp_ns = 0;  // microsecond precision, as written
  bus::Level level = bus::Level::info;
  std::string_view service;  // escaped, without its padding
  std::string_view message;  // escaped
};

// Splits `line` (no '\n'); nullopt if it is not in the session file's layout. The
// service ends at the first space at or after its 20th code point (a service name
// of 20 or more code points with a space at exactly that place reads shorter: the
// writer's index uses this same rule, so filters and index always agree).
std::optional<ParsedLine> parse_line(std::string_view line) noexcept;

// "2026-11-26T17:53:20.584440Z" (exactly this form) as ns since the epoch.
std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept;

// The 8-character level field ("INFO    ", "CRITICAL").
std::optional<bus::Level> parse_level_field(std::string_view field) noexcept;

// The raw text of an escaped service or message (the reverse of the logging node's
// append_escaped): `\\`, `\n`, `\r`, `\t`, `\xNN` (a byte) and `\uXXXX` (a code
// point, written as UTF-8). A backslash starting no known escape is kept as is.
std::string unescape(std::string_view escaped);

// The hash of a service field as the index stores it (FNV-1a, 64 bits; never 0).
std::uint64_t service_hash(std::string_view service) noexcept;

// `service_id` title-cased, as the logging node names a service it has no
// configured name for: "music_controller" -> "Music Controller" (split on '_', '-'
// and '.', empty words dropped, words joined by one space, each word's first
// letter upper-cased (ASCII), the rest unchanged; an id with no words at all is
// returned unchanged).
std::string title_case(std::string_view service_id);

// What a session file shows for the services a reader asks for.
class ServiceMatcher {
 public:
  // `configured`: [logging.service_names] (id -> friendly name).
  explicit ServiceMatcher(std::map<std::string, std::string> configured = {});

  // The service fields (escaped, as in the file) that stand for `name`: a service
  // id (its friendly name, and the id itself) or a friendly name as shown.
  std::vector<std::string> fields_for(std::string_view name) const;

  // The service id behind a friendly name read from a file: the configured one,
  // or the id it title-cases from ("Music Controller" -> "music_controller");
  // empty if neither fits.
  std::string id_for(std::string_view friendly) const;

 private:
  std::map<std::string, std::string> configured_;
};

// Calls `line(text, offset)` for each complete line of `data` (without its '\n'),
// `offset` counted from the start of `data`. Returns the number of bytes taken
// (up to and including the last '\n').
template <class Callback>
std::size_t for_each_line(std::string_view data, Callback&& line) {
  std::size_t at = 0;
  while (at < data.size()) {
    const void* found = __builtin_memchr(data.data() + at, '\n', data.size() - at);
    if (found == nullptr) break;
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(found) - data.data());
    line(data.substr(at, end - at), at);
    at = end + 1;
  }
  return at;
}

// Appends the ISO-8601 form of `timestamp_ns` in local time ("2026-11-26T18:53:20.584440+01:00"),
// or in UTC with `utc` ("...Z", as in the file).
void append_display_time(std::string& out, std::int64_t timestamp_ns, bool utc);

}  // namespace cantina::store
