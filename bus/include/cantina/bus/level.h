// Log levels shared by every node and the Logger.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cantina::bus {

// Severity, lowest first; thresholds compare the underlying numbers.
enum class Level : std::uint8_t { debug = 0, info = 1, warning = 2, error = 3, critical = 4 };

inline constexpr Level kLowestLevel = Level::debug;
inline constexpr Level kHighestLevel = Level::critical;

// "DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL".
std::string_view to_string(Level level) noexcept;

// Parses a level name, case-insensitively; accepts "WARN" and "FATAL" as aliases.
// Returns nullopt for anything else.
std::optional<Level> parse_level(std::string_view name) noexcept;

}  // namespace cantina::bus
