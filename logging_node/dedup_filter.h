// DedupFilter: collapses a burst of identical records into the first one plus a
// "repeated N times" summary when its window closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "log_entry.h"

namespace cantina::logging {

// Tracks, per key (service_id, level, message), a window that opens at the first
// occurrence and lasts `window`. Repeats inside the window are counted instead of
// written; when the window closes, a summary entry reports them. Not thread-safe:
// the receive thread owns it. Every operation is O(1) amortised per entry.
//
// Memory: a window keeps the key's 64-bit hash, its times and count (~80 bytes
// with the index, which is allocated once for max_keys), and a copy of the entry only once it has a repeat (for the
// summary). Keys are told apart by the hash alone until then: two different keys
// with the same 64-bit hash (odds ~1e-11 with 10,000 keys open) would be counted
// as one; from the first repeat on, a key's text is compared too and a mismatch
// passes through. Windows close in the order they opened, so they live in a
// circular buffer that grows (doubling, up to max_keys) and is then reused: once
// warm, opening and closing windows allocates nothing.
class DedupFilter {
 public:
  // window 0 = off: admit() always returns true and nothing is tracked. max_keys
  // (at least 1; 0 is treated as 1) bounds the keys tracked: when it is reached, the
  // oldest key's window is closed early (its summary emitted, counted in
  // closed_early()), never silently dropped.
  explicit DedupFilter(std::chrono::seconds window, std::size_t max_keys = 10000);

  DedupFilter(const DedupFilter&) = delete;
  DedupFilter& operator=(const DedupFilter&) = delete;

  // The hash of an entry's key; pass it to admit() to hash only once.
  static std::uint64_t key_hash(std::string_view service_id, Level level, std::string_view message) noexcept;

  // Returns true if `entry` should be written (first occurrence in its window) and
  // false if it is a repeat (counted, to be summarised). `now_ns` is a monotonic
  // clock reading in ns. Windows that have closed by `now_ns` (including this key's
  // own) are closed first, so their summaries are appended to `summaries` (in the
  // order the windows opened) before this entry opens a new window and passes.
  bool admit(const LogEntry& entry, std::int64_t now_ns, std::vector<LogEntry>& summaries) {
    return admit(entry, key_hash(entry.service_id, entry.level, entry.message), now_ns, summaries);
  }
  // The same with the key's hash computed by the caller (key_hash()).
  bool admit(const LogEntry& entry, std::uint64_t hash, std::int64_t now_ns, std::vector<LogEntry>& summaries);

  // Closes every window opened at or before now_ns - window and appends a summary
  // for each that had repeats, in the order the windows opened. Cost is proportional
  // to the windows closed, not to the keys tracked: call it on a timer.
  void expire(std::int64_t now_ns, std::vector<LogEntry>& summaries);

  // Closes all windows (shutdown) and appends all pending summaries, in the order
  // the windows opened.
  void flush_all(std::vector<LogEntry>& summaries);

  // Whether an open window has repeats, i.e. a summary is due when it closes: only
  // then must expire() be called on time (windows without repeats may close late).
  bool summaries_pending() const { return windows_with_repeats_ != 0; }

  // Keys tracked now (open windows).
  std::size_t size() const { return keys_; }

  // Total repeats counted (suppressed) since construction.
  std::uint64_t suppressed() const { return suppressed_; }

  // Windows closed before their time because max_keys keys were tracked.
  std::uint64_t closed_early() const { return closed_early_; }

 private:
  struct Window {
    std::uint64_t hash = 0;
    std::int64_t opened_ns = 0;  // monotonic
    std::uint64_t repeats = 0;
    std::int64_t first_repeat_ns = 0;  // timestamp_ns of the first suppressed repeat
    std::int64_t last_repeat_ns = 0;   // timestamp_ns of the last suppressed repeat
    std::unique_ptr<LogEntry> first;   // copied at the first repeat (for the summary)
  };
  // The index: open addressing with linear probing, sized once for max_keys at a
  // load of at most 2/3, so admitting and closing never allocate.
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t window = 0;  // window number + 1; 0 = empty
  };

  // The i-th open window, oldest first.
  Window& window_at(std::size_t i) noexcept {
    std::size_t at = first_window_ + i;
    if (at >= windows_.size()) at -= windows_.size();
    return windows_[at];
  }
  // Appends a window (the caller keeps open windows below max_keys).
  void push_window(Window window);

  // Removes the oldest window, appending its summary if it had repeats.
  void close_oldest(std::vector<LogEntry>& summaries);
  // The slot holding `hash`, or the empty slot where it would go.
  std::size_t find_slot(std::uint64_t hash) const noexcept;
  // Empties slot `at`, moving later entries of its probe run back (no tombstones).
  void erase_slot(std::size_t at) noexcept;

  std::int64_t window_ns_;
  std::size_t max_keys_;
  std::vector<Window> windows_;   // circular: open windows, oldest opened first at first_window_
  std::size_t first_window_ = 0;  // index of the oldest open window in windows_
  std::uint64_t closed_ = 0;      // windows closed so far: window_at(i) is window number closed_ + i
  std::vector<Slot> slots_;       // hash -> window number; size a power of two
  std::size_t mask_;
  std::size_t keys_ = 0;
  std::size_t windows_with_repeats_ = 0;
  std::uint64_t suppressed_ = 0;
  std::uint64_t closed_early_ = 0;
};

// The summary entry for `repeats` (>= 1) suppressed repeats of `first`, the first
// and last of them at `first_repeat_ns` and `last_repeat_ns`: kind repeat_summary,
// the same level, service, service_id, host and logger, timestamp_ns =
// last_repeat_ns, and message "<message> (repeated N time[s] between <first> and
// <last>)" with ISO-8601 timestamps. Exposed for tests and for the node.
LogEntry make_repeat_summary(const LogEntry& first, std::uint64_t repeats, std::int64_t first_repeat_ns,
                             std::int64_t last_repeat_ns);

}  // namespace cantina::logging
