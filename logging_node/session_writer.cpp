#include "session_writer.h"

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include "cantina/bus/clock.h"
#include "line_format.h"

namespace cantina::logging {

SessionWriter::SessionWriter(SessionFile& file, WriterQueue& queue, NodeCounters& counters, WriterOptions options)
    : file_(file),
      queue_(queue),
      counters_(counters),
      options_(std::move(options)),
      last_sync_(std::chrono::steady_clock::now()) {
  std::lock_guard lock(health_mutex_);
  health_.path = file_.path().string();
}

SessionWriter::Health SessionWriter::health() const {
  std::lock_guard lock(health_mutex_);
  return health_;
}

void SessionWriter::sync() {
  if (!dirty_) return;
  if (!file_.sync()) dirty_ = false;
  if (options_.sequences != nullptr) options_.sequences->sync();
  last_sync_ = std::chrono::steady_clock::now();
}

void SessionWriter::write_buffer(std::size_t lines) {
  if (lines == 0) return;
  if (failed_lines_ > 0) {
    // Writing failed before: say how much could not be stored, ahead of this batch.
    LogEntry report;
    report.timestamp_ns = bus::now_ns();
    report.level = Level::warning;
    report.service = "Logging Service";
    report.service_id = "logging_service";
    report.kind = EntryKind::loss;
    report.message = std::to_string(failed_lines_) + " lines could not be stored in the session file between " +
                     bus::iso8601(first_failure_ns_) + " and " + bus::iso8601(report.timestamp_ns) + ": " +
                     first_error_;
    std::string line;
    append_line(line, report);
    buffer_.insert(0, line);
    sequences_.insert(sequences_.begin(), 0);
    ++lines;
  }
  const std::error_code error = marks_.empty() && entry_marks_used_ == 0
                                    ? file_.write(buffer_)
                                    : file_.write(buffer_, [this](const std::filesystem::path& part,
                                                                  std::uint64_t end) { note_marks(part, end); });
  if (!error) {
    index_written();
    counters_.written.fetch_add(lines, std::memory_order_relaxed);
    counters_.bytes_written.fetch_add(buffer_.size(), std::memory_order_relaxed);
    dirty_ = true;
    if (failed_lines_ > 0) {
      counters_.written.fetch_sub(1, std::memory_order_relaxed);  // the report is not an entry
      failed_lines_ = 0;
      first_error_.clear();
    }
    std::lock_guard lock(health_mutex_);
    health_.failing = false;
    health_.path = file_.path().string();
    return;
  }
  const std::size_t entry_lines = failed_lines_ > 0 ? lines - 1 : lines;
  counters_.unwritten.fetch_add(entry_lines, std::memory_order_relaxed);
  if (failed_lines_ == 0) {
    first_failure_ns_ = bus::now_ns();
    first_error_ = error.message();
  }
  failed_lines_ += entry_lines;
  std::lock_guard lock(health_mutex_);
  health_.failing = true;
  ++health_.failures;
  health_.error = "cannot write " + file_.path().string() + ": " + error.message();
}

void SessionWriter::mark_entry(const LogEntry& entry) {
  const auto same = [&entry](const SequenceMark& mark) {
    return mark.publisher == entry.publisher_id && mark.service == entry.service_id;
  };
  // Entries come in runs of one publisher's (a bus message's): its mark is most
  // often the one used last.
  if (last_mark_ < entry_marks_used_ && same(entry_marks_[last_mark_])) {
    SequenceMark& mark = entry_marks_[last_mark_];
    mark.last = std::max(mark.last, entry.publisher_sequence);
    return;
  }
  for (std::size_t i = 0; i < entry_marks_used_; ++i) {
    SequenceMark& mark = entry_marks_[i];
    if (same(mark)) {
      mark.last = std::max(mark.last, entry.publisher_sequence);
      last_mark_ = i;
      return;
    }
  }
  if (entry_marks_used_ == entry_marks_.size()) entry_marks_.emplace_back();
  last_mark_ = entry_marks_used_;
  SequenceMark& mark = entry_marks_[entry_marks_used_++];
  mark.service.assign(entry.service_id);
  mark.publisher = entry.publisher_id;
  mark.last = entry.publisher_sequence;
}

void SessionWriter::note_marks(const std::filesystem::path& part, std::uint64_t end) {
  const std::string name = part.empty() ? std::string() : part.filename().string();
  if (entry_marks_used_ > 0) {
    options_.sequences->note(std::span<const SequenceMark>(entry_marks_.data(), entry_marks_used_), name, end);
    entry_marks_used_ = 0;
  }
  for (const auto* marks : marks_) options_.sequences->note(*marks, name, end);
  marks_.clear();
}

void SessionWriter::index_written() {
  if (file_.part() != index_part_) {
    if (index_part_ != 0) {
      (void)index_.close();
      if (options_.part_finished) options_.part_finished();
    }
    index_part_ = file_.part();
    (void)index_.open(file_.path());  // a failure only costs readers a rebuild
  }
  index_.add(file_.part_bytes() - buffer_.size(), buffer_, sequences_);
}

void SessionWriter::run() {
  std::vector<WriterItem> batch;
  batch.reserve(options_.batch_size);
  bool stopping = false;
  while (!stopping) {
    // The queue wakes us for batch_size entries, an ERROR/CRITICAL one, or what the
    // receive thread read while no one watches (it gathered that already); otherwise
    // what is there is written kWriterLinger after the first of it arrived. With
    // the queue empty we sleep until the next entry, or until an fdatasync is due:
    // an idle node's writer never wakes, and at a steady trickle it wakes once per
    // batch, not also whenever a timer of its own runs out.
    // What a full batch left behind goes at once (the queue sees to it).
    const auto sync_due = dirty_ ? last_sync_ + options_.flush_interval : std::chrono::steady_clock::time_point::max();
    batch.clear();
    queue_.pop_batch(batch, options_.batch_size, kWriterLinger, WriterQueue::Idle::wait_for_first, sync_due,
                     kWriterBatchBytes);
    buffer_.clear();
    sequences_.clear();
    std::size_t lines = 0;
    bool urgent = false;
    marks_.clear();
    for (const WriterItem& item : batch) {
      if (item.stop) {
        stopping = true;
        continue;
      }
      if (!item.entry) {
        // Marks follow the entries they are for: noted with the next write.
        if (item.marks && options_.sequences != nullptr) marks_.push_back(item.marks.get());
        continue;
      }
      append_line(buffer_, *item.entry, options_.fields);
      sequences_.push_back(item.entry->sequence);
      if (item.entry->publisher_sequence != 0 && options_.sequences != nullptr) mark_entry(*item.entry);
      ++lines;
      urgent = urgent || item.entry->level >= Level::error;
      if (buffer_.size() >= kWriterBatchBytes) {  // large records: write what is there
        write_buffer(lines);
        buffer_.clear();
        lines = 0;
      }
    }
    write_buffer(lines);
    // Marks left: of entries written in an earlier batch (or counted unwritten, or
    // none to write: the part could not be opened).
    if (!marks_.empty() || entry_marks_used_ > 0) note_marks({}, 0);
    if (options_.sequences != nullptr) options_.sequences->rewrite(stopping);
    if (buffer_.capacity() > 4 * kWriterBatchBytes) std::string().swap(buffer_);
    if (options_.spares != nullptr && !batch.empty()) {
      spent_.clear();
      for (WriterItem& item : batch) {
        // Those the ring buffer no longer holds (it recycles the others itself).
        std::unique_ptr<LogEntry> last = item.entry.release();
        if (last == nullptr) continue;
        trim_for_reuse(*last);
        spent_.push_back(std::move(last));
      }
      options_.spares->push_batch(
          spent_, [](const std::unique_ptr<LogEntry>&) { return false; },
          [](const std::unique_ptr<LogEntry>&) { return false; });
    }
    if (urgent || stopping || std::chrono::steady_clock::now() - last_sync_ >= options_.flush_interval) sync();
  }
  (void)index_.close();
  if (options_.part_finished) options_.part_finished();
}

}  // namespace cantina::logging
