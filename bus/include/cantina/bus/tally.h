// Tally: a publisher's last sequence number, kept where it outlives the process,
// so that the records a killed service still held (SIGKILL, the OOM killer, a
// crash in native code) are counted as lost instead of vanishing unseen.
//
// Each Logger keeps one small file, `<directory>/<publisher id, 16 hex>.tally`,
// mapped into its memory: the header below, then the last sequence number it
// assigned, stored (one relaxed 8-byte store, under the Logger's mutex) at every
// log call. A Logger that ends having delivered everything (its receipt came
// back through the bus) removes its file. A file whose process is gone is
// therefore the tally of a publisher that may have died holding records: busd
// (on the machine of the services) reads it and states that number on the bus
// on the publisher's behalf (an empty LogRecordBatch, as a live Logger's
// heartbeat does), so the logging node counts every record it never got as
// lost, and removes the file. Every Logger also reads its bus's tallies when it
// starts and, 5 s later, states those whose process had ended by then and that
// are still there: where no busd runs (a LAN host that runs only its services)
// the next service started on that host (a killed one's restart, most often)
// states them. Two statements of one number do no harm.
//
// The reader knows a process by its pid and start time, in its own pid
// namespace: busd and the services must share one (the supervisor starts both).
//
// The directory belongs to one bus on one machine: `tally_directory()` of the
// bus's publish endpoint, under $CANTINA_TALLY_DIR or /dev/shm/cantina-<uid>
// (a tmpfs: gone at reboot, as the processes are; /tmp/cantina-tally-<uid>
// without /dev/shm). Both levels are created mode 0700 and refused if they are
// not directories of this user that only it can write (the Logger then says so
// in a WARNING record of its own). A reader trusts nothing in a file: it must be a regular file of this
// user of exactly kTallyBytes with the header below and a valid service id;
// anything else is skipped and counted (any local process may also publish a
// forged statement on loopback: docs/RELIABILITY.md).
//
// File layout (native byte order, kTallyBytes in all):
//   0  char[16]  kTallyMagic
//   16 u64       publisher id
//   24 i32       pid of the process that made it
//   28 u32       length of the service id
//   32 u64       that process's start time (field 22 of /proc/<pid>/stat), so a
//                reused pid is not taken for the publisher's
//   40 u64       the last sequence number assigned (0: none yet)
//   48 char[128] service id
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cantina::bus {

inline constexpr std::size_t kTallyBytes = 256;
inline constexpr std::string_view kTallyMagic{"cantina-tally01\n", 16};
inline constexpr std::string_view kTallySuffix = ".tally";

// The tally directory of the bus whose publish endpoint is `endpoint`
// (tcp://host:port: "<base>/tcp-<port>"; ipc://path: "<base>/ipc-<hash of path>"),
// or empty for an endpoint that has none (inproc, a port not yet known) or when
// $CANTINA_TALLY_DIR is "off". Does not create it.
std::filesystem::path tally_directory(std::string_view endpoint);

// Creates `directory` and its parent if missing (mode 0700); empty if both are
// directories of this user that no one else may write, else why not.
std::string prepare_tally_directory(const std::filesystem::path& directory);

// The writing side, in the Logger.
class PublisherTally {
 public:
  // Makes the tally of `publisher_id` in `directory` (made if missing; empty: no
  // tally). A failure leaves error() saying why; note() then does nothing.
  PublisherTally(const std::filesystem::path& directory, std::string_view service, std::uint64_t publisher_id);
  ~PublisherTally();  // unmaps; the file stays unless remove() was called
  PublisherTally(const PublisherTally&) = delete;
  PublisherTally& operator=(const PublisherTally&) = delete;

  // The last sequence number assigned is now `last` (callers serialize).
  void note(std::uint64_t last) noexcept;
  // Everything was delivered: removes the file (only in the process that made
  // it, not in a child after fork()).
  void remove() noexcept;

  bool active() const noexcept { return slot_ != nullptr; }
  // The directory it was made in (empty unless active()).
  std::filesystem::path directory() const { return active() ? path_.parent_path() : std::filesystem::path(); }
  const std::string& error() const noexcept { return error_; }

 private:
  std::filesystem::path path_;
  void* map_ = nullptr;
  std::uint64_t* slot_ = nullptr;
  int owner_pid_ = 0;
  std::string error_;
};

// A tally whose process is gone.
struct EndedPublisher {
  std::string service;
  std::uint64_t publisher_id = 0;
  std::uint64_t last_sequence = 0;
  std::int32_t pid = 0;
  std::filesystem::path path;
};

struct TallyScan {
  std::vector<EndedPublisher> ended;
  std::size_t live = 0;     // tallies of running processes
  std::size_t invalid = 0;  // entries that are not tallies of this user (left alone)
  std::size_t unread = 0;   // entries beyond max_entries (looked at next time)
};

// Reads the tallies in `directory` (at most `max_entries` directory entries),
// returning those whose process has ended (gone, a zombie, or its pid reused).
TallyScan scan_tallies(const std::filesystem::path& directory, std::size_t max_entries);

// Field 22 of /proc/<pid>/stat (the process's start time in clock ticks since
// boot) and whether it is a zombie; false if there is no such process.
bool process_start_time(int pid, std::uint64_t& start_time, bool& zombie);

}  // namespace cantina::bus
