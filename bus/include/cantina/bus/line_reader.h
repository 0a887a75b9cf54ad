// LineReader: the one set of rules that turns a program's text output into log
// records. The supervisor's output capture (tools/cantina up, through the C ABI's
// cantina_line_reader) and `cantina-cli log --pipe` both read with it:
//
// - A record's level is the level its first line announces at its start
//   (line_level): a level word ("ERROR: x", "[warn] x", "Info - x", optionally
//   after an ISO-8601 timestamp), a glog prefix ("E1126 17:53:20.58 ...") or a
//   syslog one ("<3>..."); else the stream's default level. A record with a Python
//   traceback is at least ERROR unless its first line announced a level.
// - Lines that continue a record join it, separated by "\n": an indented line
//   (starting with a space or a tab); "Traceback (most recent call last):", the
//   lines under it and the exception line that ends it ("KeyError: 'x'"); and
//   the lines CPython puts between chained tracebacks. Blank lines are skipped
//   and a trailing '\r' is dropped.
// - A record is emitted when a line arrives that does not continue it, when no
//   line came for `wait` (100 ms), once it is `max_age` old (1 s: a record never
//   waits longer), before it would grow past `max_record_bytes` (the rest goes
//   on in a new record of the same level), and at the end of the stream. A line
//   longer than max_record_bytes is emitted in pieces of at most that size, cut
//   at a UTF-8 character boundary: nothing is dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cantina/bus/config.h"
#include "cantina/bus/level.h"
#include "cantina/bus/limits.h"

namespace cantina::bus {

// The record size cap of a bus config ([bus] max_record_bytes): the one place a
// reader's cap comes from, so that a piece it emits is never cut again.
inline std::size_t max_record_bytes(const BusConfig& bus) {
  return bus.max_record_bytes;
}

// The level `line` announces at its start (see above), if any.
std::optional<Level> announced_level(std::string_view line) noexcept;

// announced_level(line), else `default_level`.
Level line_level(std::string_view line, Level default_level) noexcept;

// One record read: its level, text (lines joined by "\n") and the wall-clock time
// its first line was read (ns since the Unix epoch).
struct ReadRecord {
  Level level = Level::info;
  std::string text;
  std::int64_t timestamp_ns = 0;
};

class LineReader {
 public:
  using Clock = std::chrono::steady_clock;
  using Emit = std::function<void(ReadRecord&& record)>;

  struct Options {
    Level default_level = Level::info;
    std::size_t max_record_bytes = kDefaultMaxRecordBytes;  // at least 64
    std::chrono::milliseconds wait{100};                    // after a record's last line
    std::chrono::milliseconds max_age{1000};                // after its first line
  };

  // `emit` is called from feed(), poll() and finish(), in the order records end.
  LineReader(Options options, Emit emit);

  // Takes bytes of the stream as read at `now`; emits the records they complete.
  void feed(std::string_view bytes, Clock::time_point now = Clock::now());

  // Emits the open record if its wait or age is over at `now`.
  void poll(Clock::time_point now = Clock::now());

  // The end of the stream: emits a last line without a newline and the open record.
  void finish();

  // When poll() has something to do at the latest (nullopt: no record is open).
  std::optional<Clock::time_point> deadline() const;

  // Non-blank lines read so far (a piece of an overlong line counts as one).
  std::uint64_t lines() const noexcept { return lines_; }

 private:
  void take_whole_line(std::string_view line, Clock::time_point now);
  void take_line(std::string_view line, Clock::time_point now, bool piece);
  void open(std::string_view line, Level level, Clock::time_point now);
  void emit_open();

  Options options_;
  Emit emit_;
  std::string partial_;  // bytes after the last newline (at most max_record_bytes)
  std::uint64_t lines_ = 0;
  bool open_ = false;          // a record is being built in record_
  bool announced_ = false;     // its first line announced its level
  bool in_traceback_ = false;  // after "Traceback ...:" until the exception line
  bool in_piece_ = false;      // the open line was cut: its next piece has its level
  ReadRecord record_;
  Clock::time_point first_line_{};
  Clock::time_point last_line_{};
};

}  // namespace cantina::bus
