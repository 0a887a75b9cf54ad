// Times as people write them for --since/--until (and the web bridge's since=
// and until=), like journalctl takes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cantina::store {

// Parses `text` into ns since the epoch. `now_ns` is the current time; `utc`:
// times without a zone are UTC (else local time, $TZ or /etc/localtime).
//   2026-11-26T14:03:00.5Z, 2026-11-26 14:03:00+01:00, 2026-11-26T14:03, 2026-11-26
//                               an ISO-8601 date and time (zone optional: Z,
//                               +HH:MM, +HHMM, -HH); a date alone is its midnight
//   14:03, 14:03:20, 14:03:20.25   that time today
//   now, today, yesterday, tomorrow (midnight), optionally followed by a time:
//                               "yesterday 14:03"
//   10 min ago, 2 hours ago, 3d ago, -90s, +1h
//                               relative to now (s, sec, second(s), m, min,
//                               minute(s), h, hour(s), d, day(s), w, week(s))
//   @1764158000.25              seconds since the epoch
// nullopt for anything else (and for a date or time that does not exist).
std::optional<std::int64_t> parse_when(std::string_view text, std::int64_t now_ns, bool utc);

// Examples for an error message about a time that did not parse.
inline constexpr std::string_view kWhenExamples =
    "e.g. 2026-11-26T14:03:00, '2026-11-26 14:03', 14:03, yesterday, '10 min ago', @1764158000";

}  // namespace cantina::store
