#include "cantina/bus/level.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace cantina::bus {

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO";
    case Level::warning: return "WARNING";
    case Level::error: return "ERROR";
    case Level::critical: return "CRITICAL";
  }
  return "INFO";
}

std::optional<Level> parse_level(std::string_view name) noexcept {
  if (name.size() > 16) return std::nullopt;
  std::array<char, 16> upper{};
  std::transform(name.begin(), name.end(), upper.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  std::string_view key(upper.data(), name.size());
  if (key == "DEBUG") return Level::debug;
  if (key == "INFO") return Level::info;
  if (key == "WARNING" || key == "WARN") return Level::warning;
  if (key == "ERROR") return Level::error;
  if (key == "CRITICAL" || key == "FATAL") return Level::critical;
  return std::nullopt;
}

}  // namespace cantina::bus
