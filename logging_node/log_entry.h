// LogEntry: one line of the session file, as it travels from the receive thread
// to the writer thread, the ring buffer and the dashboard stream.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cantina/bus/level.h"
#include "cantina/bus/records.h"

namespace cantina::logging {

using bus::EntryKind;
using bus::Level;

// How many EntryHolds share an entry, and its memory (entry_bytes) when the first
// took it. Not copied with it: a copy is not shared.
struct HoldCount {
  HoldCount() noexcept = default;
  HoldCount(const HoldCount&) noexcept {}
  HoldCount& operator=(const HoldCount&) noexcept { return *this; }
  ~HoldCount() = default;
  std::atomic<std::uint32_t> count{0};
  std::size_t bytes = 0;
};

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
  // A service's record's publisher and its number there (the writer keeps the
  // sequence state from them); 0 for the node's own entries and repeat summaries.
  std::uint64_t publisher_id = 0;
  std::uint64_t publisher_sequence = 0;
  // A service's record's source and context, as capped (RecordCaps); empty for the
  // node's own entries and repeat summaries.
  std::string file;
  std::uint32_t line = 0;
  std::string function;
  std::string thread;
  std::uint32_t pid = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  HoldCount holds;  // EntryHold's
};

// Heap bytes a string holds (0 while its text fits in the string itself).
inline std::size_t heap_bytes(const std::string& text) noexcept {
  return text.capacity() > std::string().capacity() ? text.capacity() + 1 : 0;
}

// Heap bytes an entry's fields hold: the vector's buffer and its strings'.
inline std::size_t heap_bytes(const std::vector<std::pair<std::string, std::string>>& fields) noexcept {
  std::size_t bytes = fields.capacity() * sizeof(fields[0]);
  for (const auto& [key, value] : fields) bytes += heap_bytes(key) + heap_bytes(value);
  return bytes;
}

// Heap bytes an entry holds: its strings' buffers and its fields'.
inline std::size_t heap_bytes(const LogEntry& entry) noexcept {
  return heap_bytes(entry.service) + heap_bytes(entry.service_id) + heap_bytes(entry.message) + heap_bytes(entry.host) +
         heap_bytes(entry.logger) + heap_bytes(entry.file) + heap_bytes(entry.function) + heap_bytes(entry.thread) +
         heap_bytes(entry.fields);
}

// Memory an entry takes in all: itself and its heap bytes.
inline std::size_t entry_bytes(const LogEntry& entry) noexcept {
  return sizeof(LogEntry) + heap_bytes(entry);
}

// Strings whose buffer is larger than this are given back rather than reused for a
// much shorter text (kept_text), and given back when an entry is pooled
// (trim_for_reuse): a buffer sized once for a large record must not stay large.
inline constexpr std::size_t kKeptTextBytes = 4096;

// Copies `text` into `out`, reusing its buffer unless that buffer is over
// kKeptTextBytes and more than twice the text (then it is given back).
inline void assign_text(std::string& out, std::string_view text) {
  if (out.capacity() > kKeptTextBytes && out.capacity() > 2 * text.size()) {
    std::string(text).swap(out);
  } else {
    out.assign(text);
  }
}

// The same from a string: its copy assignment is about half the instructions of
// assign() from a view (the ring copies every entry's texts, on the receive thread).
inline void assign_text(std::string& out, const std::string& text) {
  if (out.capacity() > kKeptTextBytes && out.capacity() > 2 * text.size()) {
    std::string(text).swap(out);
  } else {
    out = text;
  }
}

// Copies key-value `pairs` into `out`, reusing its strings (assign_text); a vector
// whose buffer is over kKeptTextBytes and more than twice what is needed is given back.
template <class Pairs>
void assign_fields(std::vector<std::pair<std::string, std::string>>& out, const Pairs& pairs) {
  if (out.capacity() * sizeof(out[0]) > kKeptTextBytes && out.capacity() > 2 * pairs.size()) {
    std::vector<std::pair<std::string, std::string>>().swap(out);
  }
  out.resize(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    assign_text(out[i].first, pairs[i].first);
    assign_text(out[i].second, pairs[i].second);
  }
}

// Gives back the buffers of `entry` that are over kKeptTextBytes, before it is
// kept for reuse.
inline void trim_for_reuse(LogEntry& entry) {
  for (std::string* text : {&entry.service, &entry.service_id, &entry.message, &entry.host, &entry.logger, &entry.file,
                            &entry.function, &entry.thread}) {
    if (text->capacity() > kKeptTextBytes) std::string().swap(*text);
  }
  if (heap_bytes(entry.fields) > kKeptTextBytes) std::vector<std::pair<std::string, std::string>>().swap(entry.fields);
}

// A hold on an entry that the ring buffer (history) and the writer queue share, so
// that neither copies it: the receive thread fills the entry, then no one changes it
// while it is held. The holder that lets go last gets it back (release()) to reuse
// it; a hold destroyed last frees it.
class EntryHold {
 public:
  EntryHold() noexcept = default;
  EntryHold(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): WriterItem{nullptr, ...}
  explicit EntryHold(std::unique_ptr<LogEntry> entry) noexcept : entry_(entry.release()) {
    if (entry_ == nullptr) return;
    entry_->holds.count.store(1, std::memory_order_relaxed);
    entry_->holds.bytes = entry_bytes(*entry_);
  }
  EntryHold(const EntryHold& other) noexcept : entry_(other.entry_) {
    if (entry_ != nullptr) entry_->holds.count.fetch_add(1, std::memory_order_relaxed);
  }
  EntryHold(EntryHold&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
  EntryHold& operator=(const EntryHold& other) noexcept {
    EntryHold copy(other);
    std::swap(entry_, copy.entry_);
    return *this;
  }
  EntryHold& operator=(EntryHold&& other) noexcept {
    EntryHold moved(std::move(other));
    std::swap(entry_, moved.entry_);
    return *this;
  }
  ~EntryHold() { (void)release(); }

  // Lets go of the entry: the entry itself if this was the last hold (the others'
  // reads happened before), else null.
  std::unique_ptr<LogEntry> release() noexcept {
    LogEntry* entry = std::exchange(entry_, nullptr);
    if (entry != nullptr && entry->holds.count.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      return std::unique_ptr<LogEntry>(entry);
    }
    return nullptr;
  }

  // The entry's memory: entry_bytes, weighed once (it does not change while held).
  std::size_t bytes() const noexcept { return entry_ != nullptr ? entry_->holds.bytes : 0; }
  const LogEntry& operator*() const noexcept { return *entry_; }
  const LogEntry* operator->() const noexcept { return entry_; }
  explicit operator bool() const noexcept { return entry_ != nullptr; }

 private:
  LogEntry* entry_ = nullptr;
};

// Entries kept for one thread to fill again, bounded in count and in bytes (their
// oversize buffers given back first).
class SpareEntries {
 public:
  SpareEntries(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // Keeps `entry` if there is room, else frees it.
  void put(std::unique_ptr<LogEntry> entry) {
    if (entry == nullptr || entries_.size() >= max_entries_) return;
    trim_for_reuse(*entry);
    const std::size_t bytes = entry_bytes(*entry);
    if (bytes_ + bytes > max_bytes_) return;
    entry->holds.bytes = bytes;  // weighed once: no one changes it here
    bytes_ += bytes;
    entries_.push_back(std::move(entry));
  }
  // An entry kept, or null.
  std::unique_ptr<LogEntry> take() noexcept {
    if (entries_.empty()) return nullptr;
    std::unique_ptr<LogEntry> entry = std::move(entries_.back());
    entries_.pop_back();
    bytes_ -= entry->holds.bytes;
    return entry;
  }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::vector<std::unique_ptr<LogEntry>> entries_;
  std::size_t bytes_ = 0;
};

// How the ring buffer of entries weighs and empties its slots (RingBuffer traits):
// an entry weighs all its memory; one the ring held last goes to `spares` for the
// receive thread to fill again (or is freed).
struct EntryRingTraits {
  SpareEntries* spares = nullptr;

  static std::size_t heap_bytes(const EntryHold& slot) noexcept { return slot.bytes(); }
  void assign(EntryHold& slot, const EntryHold& value) const {
    release(slot);
    slot = value;
  }
  void release(EntryHold& slot) const {
    std::unique_ptr<LogEntry> last = slot.release();
    if (last != nullptr && spares != nullptr) spares->put(std::move(last));
  }
};

}  // namespace cantina::logging
