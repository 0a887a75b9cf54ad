// The session folder ([logging] session_file_path) as readers see it: its
// sessions and their parts, plain or compressed, read only through the folder's
// own descriptor (openat, O_NOFOLLOW: no path ever leaves the folder, no symlink
// is followed, only regular files are opened).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cantina::store {

// An open file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// A file name of the folder split into its parts:
// cantina-session-<id>[.part<N>].log[.zst][.idx]
struct FileName {
  std::string session_id;  // "20261126-174500" or "20261126-174500-2"
  std::uint32_t part = 1;
  bool compressed = false;
  bool index = false;
};

// nullopt for any name not of that form (temporary files, anything else).
std::optional<FileName> parse_file_name(std::string_view name);
// The data file's name for part `part` of `session_id`.
std::string part_file_name(std::string_view session_id, std::uint32_t part, bool compressed);

// True for "YYYYMMDD-HHMMSS" optionally followed by "-N" (N from 2 to 99999, no
// leading zero): the only session ids readers accept.
bool valid_session_id(std::string_view id);

// UTC start time of a session from its id (its name's stamp), ns since the epoch.
std::int64_t session_id_time(std::string_view id);

struct PartFile {
  std::uint32_t number = 1;
  std::string name;  // the data file: plain if both forms exist (a compression that did not finish)
  bool compressed = false;
  std::uint64_t bytes = 0;  // on disk
  bool has_index = false;
  std::uint64_t index_bytes = 0;
};

struct SessionFiles {
  std::string id;
  std::vector<PartFile> parts;  // by number, ascending
  std::uint64_t bytes() const;  // data and index files on disk
};

class SessionDir {
 public:
  // Opens `path` (O_DIRECTORY). Throws std::runtime_error naming it if impossible.
  explicit SessionDir(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // Every session in the folder, oldest first (by id: start time, then -N).
  std::vector<SessionFiles> list() const;
  // The session with this id (which must be valid_session_id).
  std::optional<SessionFiles> find(std::string_view id) const;

  // Opens a file of the folder for reading: a plain name only, no symlink, a
  // regular file. Invalid Fd (errno set) otherwise.
  Fd open_file(const std::string& name) const;

  // True while a logging node writes `session` (it holds a lock on the part it
  // writes, the last one).
  bool is_live(const SessionFiles& session) const;

 private:
  std::filesystem::path path_;
  Fd fd_;
};

// Orders session ids by start time, then by their -N suffix numerically.
bool session_id_less(std::string_view a, std::string_view b);

}  // namespace cantina::store
