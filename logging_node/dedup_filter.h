// DedupFilter: collapses a burst of identical records into the first one plus
// "repeated N times" summaries, each written within a short bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log_entry.h"

namespace cantina::logging {

// Tracks, per key (service_id, level, message), a window that opens at the first
// occurrence and lasts `window`: repeats inside it are counted instead of written
// (the first occurrence passes at once). Counted repeats are reported by a summary
// entry at most `summary_interval` after the first of them arrived (ERROR and
// CRITICAL: `urgent_interval`), or when the window closes if that is sooner; the
// window stays open, and later repeats make the next summary. A summary is stamped
// with the time it is made (the wall clock) and says in its text when the repeats
// it counts happened, so the entries come out in time order. Not thread-safe: the
// receive thread owns it. Every operation is O(1) amortised per entry.
//
// Keys: a window is found by the 64-bit half of a 128-bit SipHash-1-3 of the
// key (service id, level, text) with a key drawn from getrandom(2) when the
// process starts, so nobody can craft two keys that collide; the other half and
// the level must match too before a record counts as a repeat. From its first
// repeat on, a window keeps the key's text and later repeats are compared with
// it in full. (1-3 rather than 2-4: half the cost, which the node pays per
// record.) Two different keys whose 64-bit halves collide anyway (odds ~1e-11
// with 10,000 keys open) are both written: the second is not tracked, never
// folded.
//
// Memory: a window keeps the hashes and its opening time (32 bytes; the index
// is allocated once for max_keys). Most records are never repeated, so a
// window's text (the key and what a summary names: service id, text, friendly
// name, host, logger) and counts are kept only from its first repeat on. The
// texts go one after the other into one circular byte buffer, in the order of
// the first repeats; a text is dead once its window closes, and the buffer's
// oldest bytes are reclaimed once dead. Windows grow up to max_keys, the buffer
// (doubling) up to max_bytes bytes, and then both are reused: once warm,
// nothing is allocated (one string per key would leave the allocator's heap
// fragmented to about twice the bound under a flood of repeated keys).
// Reaching either bound closes the oldest window early (its summary emitted,
// counted in closed_early()); a key larger than max_bytes is not tracked, and a
// first repeat that finds no room without closing its own window is written,
// not folded.
class DedupFilter {
 public:
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{16} * 1024 * 1024;

  struct Options {
    // How long identical records stay folded after the first; 0 = off: admit()
    // always returns true and nothing is tracked.
    std::chrono::seconds window{30};
    // Longest a counted repeat waits for its summary, and for ERROR and CRITICAL
    // records (the shorter of the two applies to them).
    std::chrono::milliseconds summary_interval{2000};
    std::chrono::milliseconds urgent_interval{1000};
    // Keys tracked at most (at least 1; 0 is treated as 1), and bytes of the
    // repeated keys' texts kept (at least 4096; rounded down to a power of two).
    std::size_t max_keys = 10000;
    std::size_t max_bytes = kDefaultMaxBytes;
    // The time a summary is stamped with (ns since the epoch); null = the system clock.
    std::int64_t (*wall_clock)() = nullptr;
  };
  explicit DedupFilter(const Options& options);
  // A window whose repeats are summarised only when it closes (summary_interval =
  // urgent_interval = window).
  explicit DedupFilter(std::chrono::seconds window, std::size_t max_keys = 10000,
                       std::size_t max_bytes = kDefaultMaxBytes);

  DedupFilter(const DedupFilter&) = delete;
  DedupFilter& operator=(const DedupFilter&) = delete;

  // The hash of an entry's key (128-bit SipHash-1-3 keyed once per process):
  // `slot` finds its window, `check` confirms it. Pass it to admit() to hash
  // only once.
  struct KeyHash {
    std::uint64_t slot = 0;
    std::uint64_t check = 0;
    bool operator==(const KeyHash&) const = default;
  };
  static KeyHash key_hash(std::string_view service_id, Level level, std::string_view message) noexcept;

  // Returns true if `entry` should be written (first occurrence in its window) and
  // false if it is a repeat (counted, to be summarised). `now_ns` is a monotonic
  // clock reading in ns. Windows that have closed by `now_ns` (including this key's
  // own) are closed first, so their summaries are appended to `summaries` (in the
  // order the windows opened) before this entry opens a new window and passes.
  bool admit(const LogEntry& entry, std::int64_t now_ns, std::vector<LogEntry>& summaries) {
    return admit(entry, key_hash(entry.service_id, entry.level, entry.message), now_ns, summaries);
  }
  // The same with the key's hash computed by the caller (key_hash(); a test may
  // give another `slot` to make keys collide).
  bool admit(const LogEntry& entry, const KeyHash& hash, std::int64_t now_ns, std::vector<LogEntry>& summaries);

  // Appends the summaries due by `now_ns` (in the order they fell due), then
  // closes every window opened at or before now_ns - window, appending a summary
  // for each with repeats not yet summarised (in the order the windows opened).
  // Cost is proportional to the summaries made and windows closed, not to the keys
  // tracked: call it on a timer (next_due_ns() says when).
  void expire(std::int64_t now_ns, std::vector<LogEntry>& summaries);

  // Closes all windows (shutdown) and appends all pending summaries, in the order
  // the windows opened.
  void flush_all(std::vector<LogEntry>& summaries);

  // Whether an open window has repeats not yet summarised: only then must expire()
  // be called on time (windows without repeats may close late).
  bool summaries_pending() const { return windows_with_repeats_ != 0; }
  // When the next summary falls due (monotonic ns), if one is pending.
  std::optional<std::int64_t> next_due_ns() const;

  // Keys tracked now (open windows), and the bytes of the texts kept for those
  // with repeats.
  std::size_t size() const { return keys_; }
  std::size_t bytes() const { return static_cast<std::size_t>(text_head_ - text_tail_); }

  // Total repeats counted (suppressed) since construction.
  std::uint64_t suppressed() const { return suppressed_; }

  // Windows closed before their time because max_keys keys or max_bytes bytes
  // were tracked.
  std::uint64_t closed_early() const { return closed_early_; }

 private:
  struct Window {
    std::uint64_t hash = 0;      // KeyHash::slot
    std::uint64_t check = 0;     // KeyHash::check
    std::int64_t opened_ns = 0;  // monotonic
    std::uint32_t repeated = 0;  // its Repeated in repeated_ + 1; 0 = no repeat yet
    Level level = Level::info;
  };
  // What a window keeps from its first repeat on.
  struct Repeated {
    std::uint64_t repeats = 0;         // counted and not yet summarised
    std::int64_t first_repeat_ns = 0;  // timestamp_ns of the first of them
    std::int64_t last_repeat_ns = 0;   // timestamp_ns of the last of them
    // service_id, message, service, host, logger, one after the other in text_
    // from `offset` (counted from its start without wrapping; see keep_text).
    std::uint64_t offset = 0;
    std::uint32_t lengths[5] = {};
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
  // The repeated key's field `i` (0 service_id, 1 message, 2 service, 3 host, 4 logger).
  std::string_view field(const Repeated& repeated, int i) const noexcept;
  // True if `entry`, whose key hashes to `hash`, has the window's key.
  bool same_key(const Window& window, const LogEntry& entry, const KeyHash& hash) const noexcept;
  // Keeps the text of window `number` at its first repeat, `entry`, closing
  // older windows for room; false if there is none without closing this one.
  bool keep_text(std::uint64_t number, const LogEntry& entry, std::vector<LogEntry>& summaries);
  // Drops the texts of closed windows from the front of text_.
  void reclaim_text() noexcept;
  // Grows text_ to hold at least `needed` bytes, laying the live texts out again from 0.
  void grow_text(std::size_t needed);
  // Appends a window (the caller keeps open windows below max_keys).
  void push_window(const Window& window);

  // Removes the oldest window, appending its summary if it had repeats.
  void close_oldest(std::vector<LogEntry>& summaries);
  // Appends the summary of the window's counted repeats and resets their count.
  void summarise(const Window& window, std::vector<LogEntry>& summaries);

  // Windows whose repeats wait for a summary, in the order they fall due: one queue
  // per interval (normal, urgent), so each is in order of arrival. An entry whose
  // window has closed meanwhile (its summary made then) is skipped when it comes up.
  struct Due {
    std::uint64_t window = 0;  // window number
    std::int64_t due_ns = 0;   // monotonic
  };
  class DueQueue {
   public:
    bool empty() const { return size_ == 0; }
    const Due& front() const { return items_[head_]; }
    void pop() noexcept;
    // Appends; when full (at `limit` entries), first drops the entries of closed
    // windows (those numbered below `first_open`).
    void push(const Due& due, std::size_t limit, std::uint64_t first_open);

   private:
    std::vector<Due> items_;  // circular
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };
  DueQueue& queue_for(Level level) { return level >= Level::error ? urgent_ : normal_; }
  // The slot holding `hash`, or the empty slot where it would go.
  std::size_t find_slot(std::uint64_t hash) const noexcept;
  // Empties slot `at`, moving later entries of its probe run back (no tombstones).
  void erase_slot(std::size_t at) noexcept;

  std::int64_t window_ns_;
  std::int64_t interval_ns_;
  std::int64_t urgent_interval_ns_;
  std::int64_t (*wall_clock_)();
  std::size_t max_keys_;
  std::size_t max_bytes_;
  std::vector<Window> windows_;   // circular: open windows, oldest opened first at first_window_
  std::size_t first_window_ = 0;  // index of the oldest open window in windows_
  std::uint64_t closed_ = 0;      // windows closed so far: window_at(i) is window number closed_ + i
  std::vector<Slot> slots_;       // hash -> window number; size a power of two
  std::size_t mask_;
  std::size_t keys_ = 0;
  std::vector<Repeated> repeated_;            // one per window with repeats, reused
  std::vector<std::uint32_t> free_repeated_;  // indexes in repeated_ not in use
  // The kept texts: text_ holds them from text_tail_ to text_head_ (offsets count
  // on without wrapping; a text is at offset % capacity, never split across the
  // end: one that would be starts at the next multiple of the capacity).
  // texts_ lists them in that order (circular, from texts_first_): whose (window
  // number, Repeated) and where; a closed window's entry waits there until the
  // ones before it go (at most about 2 * max_keys entries).
  struct Text {
    std::uint64_t window = 0;
    std::uint32_t repeated = 0;
    std::uint32_t size = 0;
    std::uint64_t offset = 0;
  };
  std::unique_ptr<char[]> text_;
  std::size_t text_capacity_ = 0;  // 0 or a power of two <= max_bytes_
  std::uint64_t text_head_ = 0;
  std::uint64_t text_tail_ = 0;
  std::vector<Text> texts_;
  std::size_t texts_first_ = 0;
  std::size_t texts_count_ = 0;
  DueQueue normal_;
  DueQueue urgent_;
  std::size_t windows_with_repeats_ = 0;
  std::uint64_t suppressed_ = 0;
  std::uint64_t closed_early_ = 0;
};

// The summary entry, made at `written_ns`, for `repeats` (>= 1) suppressed repeats
// of `first`, the first and last of them at `first_repeat_ns` and
// `last_repeat_ns`: kind repeat_summary, the same level, service, service_id, host
// and logger, timestamp_ns = written_ns, and message "<message> (repeated N
// time[s] between <first> and <last>)" with ISO-8601 timestamps.
LogEntry make_repeat_summary(const LogEntry& first, std::uint64_t repeats, std::int64_t first_repeat_ns,
                             std::int64_t last_repeat_ns, std::int64_t written_ns);

}  // namespace cantina::logging
