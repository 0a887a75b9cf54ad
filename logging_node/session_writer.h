// SessionWriter: the body of the logging node's writer thread. Takes entries from
// the writer queue in batches, writes each batch with one write(2) and decides
// when to fdatasync. The only code that touches the session file after start-up.
// It also keeps each part's sidecar index (store::IndexWriter: one more write(2)
// of a 256-byte record about every 64 KiB of lines; never synced, as readers
// rebuild what a crash left out).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bounded_queue.h"
#include "cantina/store/index.h"
#include "log_entry.h"
#include "logging_node.h"
#include "sequence_state.h"
#include "session_file.h"

namespace cantina::logging {

// What travels on the writer queue: an entry, the sequence tracker's changes up
// to here (`marks`: kept in the SequenceState once the entries before them are
// written), or the shutdown message (all null). Entries travel by pointer:
// handing one on moves a pointer, not its strings.
struct WriterItem {
  EntryHold entry;  // shared with the ring buffer
  bool stop = false;
  bool keep = false;  // pushed even when the queue is full (the node's own loss reports, marks, stop)
  std::unique_ptr<std::vector<SequenceMark>> marks = {};
};

// What an item of the writer queue weighs: its entry's memory, or its marks'.
struct WriterItemWeight {
  std::size_t operator()(const WriterItem& item) const noexcept {
    if (item.entry) return item.entry.bytes();
    if (!item.marks) return 0;
    std::size_t bytes = item.marks->capacity() * sizeof(SequenceMark);
    for (const SequenceMark& mark : *item.marks) bytes += heap_bytes(mark.service);
    return bytes;
  }
};
using WriterQueue = BoundedQueue<WriterItem, WriterItemWeight>;

// The pool of written entries for reuse, weighed by their memory.
struct EntryWeight {
  std::size_t operator()(const std::unique_ptr<LogEntry>& entry) const noexcept {
    return entry ? entry_bytes(*entry) : 0;
  }
};
using EntryPool = BoundedQueue<std::unique_ptr<LogEntry>, EntryWeight>;

// Longest the writer lets entries wait for a batch of batch_size to fill.
inline constexpr std::chrono::milliseconds kWriterLinger{100};

// Most bytes of entries the writer takes from the queue at once, and of lines it
// formats before it writes them (a batch of large records is written in parts).
inline constexpr std::size_t kWriterBatchBytes = std::size_t{1} << 20;

struct WriterOptions {
  std::size_t batch_size = 100;
  std::chrono::seconds flush_interval{5};  // 0 = fdatasync after every batch
  // Where written entries that nothing else holds (the ring buffer let go of them
  // first) go back for the producer to refill (their strings keep their capacity up
  // to kKeptTextBytes, so a warm node allocates nothing per entry; larger buffers are
  // given back first); null or full = they are freed.
  // Must outlive run().
  EntryPool* spares = nullptr;
  // Called on the writer thread when the session moves on to a new part (the
  // previous one is finished), and once at the end: wakes the retention thread.
  std::function<void()> part_finished = {};
  // Where the marks go as their entries are written (noted just before the
  // write, under the condition that it reaches the file); null = dropped. Must
  // outlive run().
  SequenceState* sequences = nullptr;
  // Lines end with the entry's key-value fields ([logging] session_fields).
  bool fields = false;
};

class SessionWriter {
 public:
  // Keeps references; all must outlive run().
  SessionWriter(SessionFile& file, WriterQueue& queue, NodeCounters& counters, WriterOptions options);

  // Runs until it takes the stop message; then writes what is left, fsyncs and
  // returns. Call from the writer thread only.
  void run();

  // Health as seen by other threads: whether the last write failed, and why.
  struct Health {
    bool failing = false;
    // Writes that failed since the start: a reader that looks now and then sees a
    // failure even when a later write worked before it looked.
    std::uint64_t failures = 0;
    std::string error;  // why the last failed write failed (kept once writing works again)
    std::string path;   // part being written
  };
  Health health() const;

 private:
  // Writes `buffer_` holding `lines` lines; on failure counts them as unwritten.
  // Notes entry_marks_ and marks_ (of these lines or earlier ones) just before
  // the write.
  void write_buffer(std::size_t lines);
  // Takes the publisher's number of `entry`, about to be in buffer_, into entry_marks_.
  void mark_entry(const LogEntry& entry);
  // Notes entry_marks_ and marks_ in options_.sequences, under the condition
  // that `part` holds `end` bytes (none if `part` is empty), and empties them.
  void note_marks(const std::filesystem::path& part, std::uint64_t end);
  // Adds what write_buffer just wrote to the part's index.
  void index_written();
  void sync();

  SessionFile& file_;
  WriterQueue& queue_;
  NodeCounters& counters_;
  WriterOptions options_;
  std::string buffer_;
  std::vector<std::uint64_t> sequences_;                 // of buffer_'s lines, for the index
  std::vector<const std::vector<SequenceMark>*> marks_;  // taken since the last write, not yet noted
  // The highest number of each publisher among the entries in buffer_ (the
  // first entry_marks_used_ are in use; the rest keep their strings' capacity).
  std::vector<SequenceMark> entry_marks_;
  std::size_t entry_marks_used_ = 0;
  std::size_t last_mark_ = 0;  // the place mark_entry() used last (a hint: checked before use)
  store::IndexWriter index_;
  std::uint32_t index_part_ = 0;                  // the part index_ is for (0: none yet)
  std::vector<std::unique_ptr<LogEntry>> spent_;  // written entries on their way to options_.spares
  bool dirty_ = false;                            // written since the last fdatasync
  std::chrono::steady_clock::time_point last_sync_;

  // Lines lost to write errors since writing last worked, for the report.
  std::uint64_t failed_lines_ = 0;
  std::int64_t first_failure_ns_ = 0;
  std::string first_error_;

  mutable std::mutex health_mutex_;
  Health health_;  // guarded by health_mutex_
};

}  // namespace cantina::logging
