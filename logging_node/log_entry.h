// LogEntry: one line of the session file, as it travels from the receive thread
// to the writer thread, the ring buffer and the dashboard stream.
#pragma once

#include <cstdint>
#include <string>

#include "cantina/bus/level.h"
#include "cantina/bus/records.h"

namespace cantina::logging {

using bus::EntryKind;
using bus::Level;

struct LogEntry {
  std::int64_t timestamp_ns = 0;  // when it happened (the record's time), ns since the epoch, UTC
  Level level = Level::info;
  std::string service;     // friendly name, e.g. "Music Controller"
  std::string service_id;  // raw id, e.g. "music_controller"
  std::string message;     // raw (unescaped) text
  EntryKind kind = EntryKind::record;
  std::uint32_t repeat_count = 0;  // for repeat summaries
  std::string host;
  std::string logger;
  std::uint64_t sequence = 0;  // position in the session (1, 2, 3...), set by the receive thread
};

}  // namespace cantina::logging
