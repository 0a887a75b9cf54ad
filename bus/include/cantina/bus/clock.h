// Time helpers: wall-clock nanoseconds and the session file's timestamp format.
#pragma once

#include <cstdint>
#include <string>

namespace cantina::bus {

// Nanoseconds since the Unix epoch, UTC (CLOCK_REALTIME).
std::int64_t now_ns() noexcept;

// Monotonic nanoseconds (CLOCK_MONOTONIC), for timers and durations.
std::int64_t monotonic_ns() noexcept;

// "2026-11-26T17:45:00.123456Z": ISO-8601 UTC with microseconds. Appends to `out`.
void append_iso8601(std::string& out, std::int64_t timestamp_ns);
std::string iso8601(std::int64_t timestamp_ns);

// This machine's host name (cached after the first call).
const std::string& host_name();

}  // namespace cantina::bus
