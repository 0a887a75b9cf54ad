// SequenceState: where the logging node left each publisher, kept beside the
// session files (`<session folder>/.cantina-sequences`), so that a node started
// after it can say exactly what was lost while no node ran.
//
// The file is text: a header line "cantina-sequences 2", then one line per
// (service, publisher): "<publisher, 16 hex digits> <last sequence> <service id>".
// A later line for the same key overrides an earlier one. A condition line
// "@ <bytes> <session file name>" makes the lines after it (up to the next
// condition) count only if that session file (in the same folder) holds at
// least <bytes> bytes, or is gone. Version 1 files (no conditions) are read too.
//
// Written by the writer thread only, so that it says what reached the session
// file: the receive thread queues the sequence tracker's changes behind the
// entries they belong to (SequenceMark batches on the writer queue), and each
// entry carries its record's publisher and number (which may be written a
// batch before the marks come). Just before the writer writes entries it
// appends the changed lines (from the entries and the marks taken), under a
// condition naming the session file's part and its size once they are in, with
// one write(2) (a few bytes per publisher that logged, never synced by itself):
// a node killed between the two writes leaves lines the next node does not
// believe, and one killed after them leaves both. After the write, at most
// once a minute (sooner once 1 MiB was appended), and at stop, it rewrites the
// whole file without conditions (temporary file, fsync, rename): the file stays
// small, and a crash leaves the old or the new one.
// It is fsynced with the session file. Bounded: at most kMaxPublishers keys (the
// least recently changed are dropped first) and kMaxFileBytes.
//
// Read once at start (load_sequence_state): anything not exactly as written
// (a torn last line, a bad number, a bad service id, too large) makes the whole
// file ignored, with a warning; the node then knows nothing of the publishers'
// past, as if there were no file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cantina/bus/siphash.h"

namespace cantina::logging {

struct SequenceMark {
  std::string service;
  std::uint64_t publisher = 0;
  std::uint64_t last = 0;
};

inline constexpr std::string_view kSequenceStateName = ".cantina-sequences";

struct LoadedSequences {
  std::vector<SequenceMark> marks;  // one per key, the last line's number
  std::int64_t age_ns = 0;          // how long ago the file was last written (at most kMaxAge)
  std::string warning;              // why the file was ignored; empty if it was not
};

class SequenceState {
 public:
  static constexpr std::size_t kMaxPublishers = 10000;
  // What a reader accepts: appended lines may add up to as many keys again, and
  // one writer batch's, between two rewrites.
  static constexpr std::size_t kMaxKeysRead = 3 * kMaxPublishers;
  static constexpr std::size_t kMaxFileBytes = std::size_t{8} << 20;
  static constexpr std::int64_t kMaxAgeNs = std::int64_t{7} * 24 * 3600 * 1'000'000'000;

  // Reads `path` (a missing file is no state and no warning). `now_ns`: the
  // wall clock.
  static LoadedSequences load(const std::filesystem::path& path, std::int64_t now_ns);

  // Keeps `path` from `initial` on (what load() read, so that publishers not seen
  // again are kept for the next node); rewrites it at once.
  SequenceState(std::filesystem::path path, const std::vector<SequenceMark>& initial);
  ~SequenceState();
  SequenceState(const SequenceState&) = delete;
  SequenceState& operator=(const SequenceState&) = delete;

  // Records marks whose entries are about to be written: appends them to the
  // file, under the condition that session file `file_name` (in this file's
  // folder) then holds at least `end` bytes; empty `file_name`: no condition.
  // A number at or below the one kept for its key is left out: numbers only grow.
  void note(std::span<const SequenceMark> marks, std::string_view file_name = {}, std::uint64_t end = 0);
  void note(const std::vector<SequenceMark>& marks, std::string_view file_name = {}, std::uint64_t end = 0) {
    note(std::span<const SequenceMark>(marks), file_name, end);
  }
  // Rewrites the file if lines were appended and a minute has passed since the
  // last rewrite, or the file holds too much (or at once if `force`). Call it
  // only after the write of the entries whose marks were noted. Errors are kept
  // for error().
  void rewrite(bool force);
  // fsyncs what was appended since the last rewrite.
  void sync();

  // The last error writing the file, or empty.
  const std::string& error() const { return error_; }

 private:
  struct Value {
    std::uint64_t last = 0;
    std::uint64_t tick = 0;  // when it last changed (note() calls)
  };
  // Appends the line of `key` ("<publisher hex> <service>") at `last`.
  static void append_line(std::string& out, const std::string& key, std::uint64_t last);

  std::filesystem::path path_;
  // "<publisher hex> <service>" -> last (bounded at rewrites); keyed: publishers
  // choose these keys
  std::unordered_map<std::string, Value, bus::KeyedHash, std::equal_to<>> keys_;
  std::uint64_t tick_ = 0;
  int fd_ = -1;               // the file, for appending
  std::size_t appended_ = 0;  // bytes appended since the last rewrite
  bool unsynced_ = false;
  bool behind_ = false;               // the file lacks what was noted (a write failed)
  std::int64_t last_rewrite_ns_ = 0;  // monotonic
  std::string line_;
  std::string key_;  // note()'s lookup key, reused
  std::string error_;
};

}  // namespace cantina::logging
