// SessionFile: the log file of one logging-node session, split into parts by size.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

namespace cantina::logging {

// Owns the file descriptor of the part being written. Writes whole lines and never
// leaves a partial line behind on error. Not thread-safe: the writer thread owns it.
class SessionFile {
 public:
  // Creates `directory` (and missing parents, mode 0750) if needed and opens a new
  // file <directory>/cantina-session-YYYYMMDD-HHMMSS.log (UTC time of start_ns),
  // created with O_EXCL and mode 0640 (set with fchmod, so the umask cannot change
  // it). If that name exists (a restart within the same second), uses
  // cantina-session-YYYYMMDD-HHMMSS-2.log, -3, ... max_file_bytes 0 = no rotation.
  // Holds an exclusive flock(2) on the part it writes, so that readers can tell
  // a session being written (store::SessionDir::is_live).
  // Throws std::runtime_error, with a one-line message naming the path and the
  // strerror text, if the directory cannot be created or the file opened.
  SessionFile(std::filesystem::path directory, std::int64_t start_ns, std::uint64_t max_file_bytes);

  // Closes the current part. Does not sync (call sync() first for durability).
  ~SessionFile();

  SessionFile(const SessionFile&) = delete;
  SessionFile& operator=(const SessionFile&) = delete;

  // The file name without "cantina-session-" and ".log": "20261126-174500", or
  // "20261126-174500-2" after a collision.
  const std::string& session_id() const { return session_id_; }

  // The directory holding the session's parts: absolute and lexically normal (a
  // relative `directory` is taken from the current directory at construction).
  const std::filesystem::path& directory() const { return directory_; }

  // The part being written now (absolute, inside directory()).
  const std::filesystem::path& path() const { return path_; }

  // Appends `data` (whole lines). If max_file_bytes != 0 and this part is non-empty
  // and would exceed it, first continues the session in a new part:
  // <base>.part2.log, <base>.part3.log, ... (base = the first part's path without
  // ".log"; a name that exists already is skipped). On a write error (e.g. ENOSPC,
  // EFBIG, EIO, or the file became unwritable) the part is truncated back to its
  // size before this call, so no partial line remains, and the error is returned;
  // a later call tries again, reopening the part if needed. Returns {} on success.
  // `before`, if given, is called just before the bytes go to the file, with the
  // part they go to and its size once they are in (not if opening the part failed).
  using BeforeWrite = std::function<void(const std::filesystem::path& part, std::uint64_t end)>;
  std::error_code write(std::string_view data, const BeforeWrite& before = {});

  // fdatasync of the current part (reopening it first if a failure closed it).
  // Returns {} on success.
  std::error_code sync();

  // Bytes written successfully, over all parts.
  std::uint64_t bytes_written() const { return bytes_written_; }
  // Successful fdatasync calls so far.
  // Any thread may read it.
  std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

  // The current part's number: 1, 2, ...
  std::uint32_t part() const { return part_; }
  // Bytes of whole lines in the current part.
  std::uint64_t part_bytes() const { return part_bytes_; }

 private:
  // Opens the current part again after a failure closed it, cutting off anything
  // past part_bytes_ (a partial line that could not be truncated before).
  std::error_code reopen();
  // Opens the next part (<base>.partN.log) and makes it current.
  std::error_code open_next_part();
  // Closes fd_ if open.
  void close_part() noexcept;

  std::filesystem::path directory_;
  std::filesystem::path base_;  // first part's path without ".log"
  std::filesystem::path path_;  // current part
  std::string session_id_;
  std::uint64_t max_file_bytes_;
  int fd_ = -1;  // -1 after a failure that needs a reopen
  std::uint32_t part_ = 1;
  std::uint64_t part_bytes_ = 0;  // complete lines in the current part
  std::uint64_t bytes_written_ = 0;
  std::atomic<std::uint64_t> syncs_{0};
};

}  // namespace cantina::logging
