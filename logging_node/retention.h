// Retention: the logging node's housekeeping of the session folder, on a thread
// of its own (logd-retention) at the lowest CPU and disk priority (SCHED_IDLE,
// nice 19, the idle I/O class), so that it only ever uses time the node, the
// bus and the services leave.
//
// Each pass (at start, every 10 s, and when the writer finishes a part):
//   1. at start only: removes what an interrupted compression left (store::
//      clean_up_interrupted) and index files without their part, and rewrites
//      the index of every finished plain part whose index is missing, behind or
//      damaged (a crash);
//   2. compresses each finished part (a later part or a later session exists;
//      not live in another node) compress_after seconds after its last write,
//      one at a time, oldest first (store::compress_part: crash-safe);
//   3. deletes the oldest finished sessions beyond max_sessions or older than
//      max_age_days, then the oldest finished parts while the folder holds more
//      than max_total_bytes or its file system has less than min_free_bytes free.
// The current session is never compressed or deleted. Every compression and
// deletion is an INFO line, low disk a WARNING, a failure a WARNING (once per
// file): lines the receive thread takes with take_notes() and writes as the
// node's own entries.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cantina/bus/level.h"
#include "cantina/store/catalog.h"

namespace cantina::logging {

struct RetentionOptions {
  std::filesystem::path directory;
  std::string current_session;  // never compressed or deleted
  std::uint64_t max_total_bytes = 0;
  std::uint32_t max_sessions = 0;
  std::uint32_t max_age_days = 0;
  std::uint64_t min_free_bytes = 0;
  std::chrono::seconds compress_after{60};
  int compress_level = 3;  // 0 = never
  std::chrono::milliseconds period{10'000};
  // Bytes the node has written (NodeCounters::bytes_written), for bytes_kept()
  // between passes. May be null.
  const std::atomic<std::uint64_t>* bytes_written = nullptr;
};

class Retention {
 public:
  struct Note {
    bus::Level level;
    std::string text;
  };

  explicit Retention(RetentionOptions options);
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  void start();
  // Stops the thread (a compression under way is abandoned: its temporary files
  // are removed) and joins it. Idempotent.
  void stop();
  // Asks for a pass now (any thread).
  void wake();

  // The lines to write since the last call (at most kMaxNotes; more are
  // summarised in one line). Any thread.
  std::vector<Note> take_notes();

  // Bytes of session and index files in the folder at the last pass, plus what
  // the node wrote since. Any thread.
  std::uint64_t bytes_kept() const;
  // Passes completed so far (tests wait for one). Any thread.
  std::uint64_t passes() const { return passes_.load(); }

  // Runs one pass on the calling thread (what the thread does; for tests).
  void pass();

  static constexpr std::size_t kMaxNotes = 1000;

 private:
  void run();
  void note(bus::Level level, std::string text);
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }
  void first_pass();
  void compress(const std::vector<store::SessionFiles>& sessions);
  void enforce_limits();
  std::uint64_t free_bytes() const;
  // Deletes the files of `part` (data and index); returns the bytes freed.
  std::uint64_t delete_part(const store::PartFile& part);

  RetentionOptions options_;
  std::unique_ptr<store::SessionDir> dir_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;               // guarded by mutex_
  std::vector<Note> notes_;          // guarded by mutex_
  std::uint64_t notes_dropped_ = 0;  // guarded by mutex_
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> kept_{0};
  std::atomic<std::uint64_t> written_at_pass_{0};
  std::atomic<std::uint64_t> passes_{0};
  bool first_done_ = false;
  std::set<std::string> failed_;      // files whose compression failed (said once)
  bool low_disk_said_ = false;        // the low-disk WARNING of this episode was written
  bool low_disk_stuck_said_ = false;  // ...and the one saying nothing is left to delete
  bool over_total_said_ = false;
};

}  // namespace cantina::logging
