// The session file's line format: one entry is always exactly one line.
#pragma once

#include <string>
#include <string_view>

#include "log_entry.h"

namespace cantina::logging {

// Appends `message` to `out` so that it can never break or forge a line:
//   `\` -> `\\`, LF -> `\n`, CR -> `\r`, TAB -> `\t`;
//   other C0 controls, ESC and DEL -> `\xNN` (lowercase hex);
//   bytes that are not valid UTF-8 (including overlong forms, surrogates and code
//   points above U+10FFFF) -> `\xNN`, one escape per byte;
//   C1 controls U+0080..U+009F, the Unicode line/paragraph separators
//   U+2028/U+2029 and the bidirectional controls (U+202A..U+202E,
//   U+2066..U+2069, U+200E, U+200F, U+061C) -> `\u0080` style escapes;
//   every other valid UTF-8 sequence is kept as is.
// The result is valid UTF-8. Allocates only by growing `out`. Any thread may call.
void append_escaped(std::string& out, std::string_view message);

// Appends one session file line for `entry`, exactly as Python's
//   f"[{ts}] {level:8} {service:20} {message}\n"
// with ts the ISO-8601 UTC timestamp (bus::append_iso8601), level the level name,
// and service and message escaped by append_escaped. Level and service are padded
// with spaces to 8 and 20 code points (never truncated). With `fields`, the
// entry's key-value fields follow the message, " key=value" each in their order,
// key and value escaped by append_escaped ([logging] session_fields). Allocates
// only by growing `out`. Any thread may call.
void append_line(std::string& out, const LogEntry& entry, bool fields = false);

}  // namespace cantina::logging
