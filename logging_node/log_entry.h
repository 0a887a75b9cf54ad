// LogEntry: one line of the session file, as it travels from the receive thread
// to the writer thread, the ring buffer and the dashboard stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Copies every field of `from` into `to` with assign_text.
inline void assign_entry(LogEntry& to, const LogEntry& from) {
  to.timestamp_ns = from.timestamp_ns;
  to.level = from.level;
  assign_text(to.service, from.service);
  assign_text(to.service_id, from.service_id);
  assign_text(to.message, from.message);
  to.kind = from.kind;
  to.repeat_count = from.repeat_count;
  assign_text(to.host, from.host);
  assign_text(to.logger, from.logger);
  to.sequence = from.sequence;
  to.publisher_id = from.publisher_id;
  to.publisher_sequence = from.publisher_sequence;
  assign_text(to.file, from.file);
  to.line = from.line;
  assign_text(to.function, from.function);
  assign_text(to.thread, from.thread);
  to.pid = from.pid;
  assign_fields(to.fields, from.fields);
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

// How the ring buffer of entries weighs and fills its slots (RingBuffer traits).
struct EntryRingTraits {
  static std::size_t heap_bytes(const LogEntry& entry) noexcept { return logging::heap_bytes(entry); }
  static void assign(LogEntry& slot, const LogEntry& value) { assign_entry(slot, value); }
  // Not `slot = LogEntry()`: a std::string moved from a short one keeps its buffer.
  static void release(LogEntry& slot) {
    LogEntry empty{};
    std::swap(slot, empty);
  }
};

}  // namespace cantina::logging
