// DashboardStream: the logging node's entries for live viewers, gathered into
// DashboardLogBatch messages for `/dashboard/log/batch`.
//
// The receive thread add()s each entry it accepts while someone subscribes and
// flush()es at the end of each wake-up, so the entries of one wake-up (one or
// several bus messages) leave as one message instead of one message each: at
// 100,000 entries/s that is what keeps the node, the bus and the web bridge from
// spending their CPU per message. A message holds at most `max_entries` entries
// and about `max_bytes` bytes (bus::dashboard_entry_size); beyond that add()
// sends the full batch at once, and an entry larger than `max_bytes` goes alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cantina/bus/codec.h"
#include "log_entry.h"

namespace cantina::logging {

class DashboardStream {
 public:
  // Called with each encoded DashboardLogBatch, from add() or flush(); the payload
  // is valid only during the call.
  using Send = std::function<void(std::string_view payload)>;

  DashboardStream(std::string session_id, Send send, std::size_t max_entries = bus::kDashboardBatchEntries,
                  std::size_t max_bytes = bus::kDashboardBatchBytes);

  // Copies what the stream shows of `entry` (its sequence must be set); the entry
  // may be moved on at once. Sends the waiting batch first if `entry` would take
  // it past a bound, and sends it after if it is full. A warm stream allocates
  // nothing per entry.
  void add(const LogEntry& entry);

  // Sends the waiting entries as one message; nothing if none wait.
  void flush();

  // Entries waiting for flush().
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  // An added entry: its numbers, and where its texts are in text_.
  struct Pending {
    std::int64_t timestamp_ns = 0;
    Level level = Level::info;
    EntryKind kind = EntryKind::record;
    std::uint32_t repeat_count = 0;
    std::uint64_t sequence = 0;
    std::size_t text_begin = 0;
    // timestamp, service, service_id, message, entry_id, host, logger; one after
    // another in text_ from text_begin.
    std::size_t lengths[7] = {};
  };

  const std::string session_id_;
  const Send send_;
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  std::vector<Pending> pending_;
  std::size_t pending_bytes_ = 0;
  std::string text_;                          // the waiting entries' texts
  std::string timestamp_, entry_id_;          // of the entry being added
  std::vector<bus::DashboardLogView> views_;  // built by flush() over text_
  bus::DashboardBatchEncoder encoder_;
  std::string payload_;
};

}  // namespace cantina::logging
