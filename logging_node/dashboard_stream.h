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
//
// The live-view limit: at most `max_rate` entries a second are streamed (a token
// bucket holding a second's worth, refilled by refill() once per wake-up). Beyond
// it, DEBUG and INFO records are left out, counted, and the next message says how
// many (DashboardLogBatch.notStreamed); WARNING and above and every entry that is
// not a service's record (loss reports, repeat summaries, the node's own) always go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cantina/bus/codec.h"
#include "cantina/bus/unreported.h"
#include "log_entry.h"

namespace cantina::logging {

class DashboardStream {
 public:
  // Called with each encoded DashboardLogBatch, from add() or flush(); the payload
  // is valid only during the call.
  using Send = std::function<void(std::string_view payload)>;

  // max_rate: entries a second streamed live; 0 = no limit.
  DashboardStream(std::string session_id, Send send, std::uint32_t max_rate = 0,
                  std::size_t max_entries = bus::kDashboardBatchEntries,
                  std::size_t max_bytes = bus::kDashboardBatchBytes);

  // Adds to the budget what `max_rate` allows since the last call (`now_ns`:
  // monotonic), up to a second's worth. The receive thread calls it once per wake-up.
  void refill(std::int64_t now_ns) noexcept;

  // Copies what the stream shows of `entry` (its sequence must be set); the entry
  // may be moved on at once. Sends the waiting batch first if `entry` would take
  // it past a bound, and sends it after if it is full. A warm stream allocates
  // nothing per entry. Returns false if the live-view limit left the entry out
  // (counted; the next message says so).
  bool add(const LogEntry& entry);

  // Sends the waiting entries as one message; nothing if none wait. Entries left
  // out with none to send after them are announced by a message of their count
  // alone, at most every kCountOnlyInterval (else by a later flush()), or at once
  // if `final` (shutdown).
  void flush(bool final = false);

  // Entries left out and not yet announced (the node then wakes within kTick).
  bool count_pending() const noexcept { return not_streamed_.pending() > 0; }

  // Entries waiting for flush().
  std::size_t pending() const noexcept { return pending_.size(); }

  // Entries the live-view limit left out, in all.
  std::uint64_t not_streamed() const noexcept { return not_streamed_.total(); }

  // Shortest time between two messages that carry only a count.
  static constexpr std::int64_t kCountOnlyInterval = 100'000'000;  // ns

 private:
  // An added entry: its numbers, and where its texts are in text_.
  struct Pending {
    std::int64_t timestamp_ns = 0;
    Level level = Level::info;
    EntryKind kind = EntryKind::record;
    std::uint32_t repeat_count = 0;
    std::uint64_t sequence = 0;
    std::uint32_t line = 0;
    std::uint32_t pid = 0;
    std::size_t text_begin = 0;
    // timestamp, service, service_id, message, entry_id, host, logger, file,
    // function, thread; one after another in text_ from text_begin, then the
    // fields' keys and values, whose lengths are field_lengths_[fields_begin...].
    static constexpr std::size_t kTexts = 10;
    std::size_t lengths[kTexts] = {};
    std::size_t fields_begin = 0;
    std::size_t fields = 0;
  };

  const std::string session_id_;
  const Send send_;
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  const double max_rate_;           // entries/s; 0 = no limit
  double budget_;                   // entries that may still be streamed now
  std::int64_t refilled_ns_ = 0;    // monotonic time of the last refill()
  std::int64_t count_sent_ns_ = 0;  // when a message last went out (for count-only messages)
  bus::Unreported not_streamed_;    // left out; reported: in a message
  std::vector<Pending> pending_;
  std::size_t pending_bytes_ = 0;
  std::string text_;                                                        // the waiting entries' texts
  std::vector<std::pair<std::size_t, std::size_t>> field_lengths_;          // their fields' key and value lengths
  std::string timestamp_, entry_id_;                                        // of the entry being added
  std::vector<std::pair<std::string_view, std::string_view>> field_views_;  // over the entry's, or text_
  std::vector<bus::DashboardLogView> views_;                                // built by flush() over text_
  bus::DashboardBatchEncoder encoder_;
  std::string payload_;
};

}  // namespace cantina::logging
