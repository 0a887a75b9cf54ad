// The logging node's thresholds: its own, and one per service set by
// `tools/cantina level SERVICE LEVEL`; and the counts of records they hide,
// reported at most once a minute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cantina/bus/level.h"

namespace cantina::logging {

class ServiceLevels {
 public:
  using Level = bus::Level;
  // Services with a threshold of their own at most, and the bytes of their ids.
  static constexpr std::size_t kMaxServices = 256;
  static constexpr std::size_t kMaxBytes = std::size_t{16} << 10;

  explicit ServiceLevels(Level own) : own_(own) {}

  Level own() const noexcept { return own_; }
  void set_own(Level level) noexcept { own_ = level; }
  // The threshold for `service`'s records.
  Level threshold(std::string_view service) const;
  // Sets `service`'s threshold; one equal to the node's own is forgotten (the
  // service follows the node's level again). False, and nothing changed, if the
  // table is full.
  bool set(std::string_view service, Level level);
  std::size_t size() const noexcept { return levels_.size(); }
  std::vector<std::pair<std::string, Level>> table() const;

 private:
  Level own_;
  std::map<std::string, Level, std::less<>> levels_;
  std::size_t bytes_ = 0;
};

// Records hidden by a threshold, per service, for a line per service at most
// once a minute: "filtered N DEBUG/INFO records from S below level X in the
// last minute".
class FilteredCounts {
 public:
  using Level = bus::Level;
  static constexpr std::size_t kMaxServices = 1000;  // the rest share one line
  static constexpr std::int64_t kPeriodNs = 60'000'000'000;

  struct Line {
    Level level;  // INFO, or WARNING when records of WARNING or above were hidden
    std::string text;
  };

  void add(std::string_view service, Level record_level, Level threshold, std::int64_t now_monotonic);
  // The lines due at `now_monotonic` (all of them if `force`); empty if the last
  // ones were written less than a minute ago.
  std::vector<Line> take_due(std::int64_t now_monotonic, bool force);

 private:
  struct Count {
    std::uint64_t records = 0;
    unsigned levels = 0;  // bit per level hidden
    Level threshold = Level::info;
  };
  std::map<std::string, Count, std::less<>> counts_;
  std::int64_t first_ns_ = 0;  // of the oldest record counted
  std::optional<std::int64_t> last_report_ns_;
};

// A count of one kind of the node's own informational lines, written at most once
// a minute with the sum since the last one.
class QuietCount {
 public:
  static constexpr std::int64_t kPeriodNs = 60'000'000'000;
  void add(std::uint64_t count, std::int64_t now_monotonic);
  // The count due at `now_monotonic` (whatever is pending if `force`), or 0; the
  // span it covers, in words ("in the last minute", "in the last 3 minutes").
  std::uint64_t take_due(std::int64_t now_monotonic, bool force, std::string& span);

 private:
  std::uint64_t pending_ = 0;
  std::int64_t first_ns_ = 0;
  std::optional<std::int64_t> last_report_ns_;
};

// "in the last minute" for spans up to a minute, else "in the last N minutes".
std::string span_in_words(std::int64_t span_ns);

}  // namespace cantina::logging
