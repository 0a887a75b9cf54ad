#include "session_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <utility>

namespace cantina::logging {

namespace {

constexpr mode_t kDirectoryMode = 0750;
constexpr mode_t kFileMode = 0640;
constexpr int kMaxNameAttempts = 10000;

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// Creates `directory` and its missing parents with kDirectoryMode (exactly: the
// umask is overridden for the ones created here). Returns {} if it exists already.
std::error_code make_directories(const std::filesystem::path& directory) {
  if (directory.empty()) return {};
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0) {
    return S_ISDIR(info.st_mode) ? std::error_code{} : std::make_error_code(std::errc::not_a_directory);
  }
  if (errno != ENOENT) return last_error();
  const std::filesystem::path parent = directory.parent_path();
  if (parent != directory) {
    if (auto error = make_directories(parent)) return error;
  }
  if (::mkdir(directory.c_str(), kDirectoryMode) != 0) {
    if (errno == EEXIST) return {};  // created concurrently
    return last_error();
  }
  if (::chmod(directory.c_str(), kDirectoryMode) != 0) return last_error();
  return {};
}

// Opens `path` for appending, creating it (O_EXCL) with kFileMode. Returns the fd, or
// -1 with errno set.
int create_exclusive(const std::filesystem::path& path) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  // The part being written is locked, so that readers can tell it is live (a
  // failure only leaves readers taking it for finished).
  (void)::flock(fd, LOCK_EX | LOCK_NB);
  if (::fchmod(fd, kFileMode) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(path.c_str());
    errno = saved;
    return -1;
  }
  return fd;
}

// "YYYYMMDD-HHMMSS" for the UTC time `timestamp_ns`.
std::string stamp(std::int64_t timestamp_ns) {
  std::int64_t seconds = timestamp_ns / 1'000'000'000;
  if (timestamp_ns % 1'000'000'000 < 0) --seconds;
  const auto time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &utc);
  return std::string(text, length);
}

// Writes all of `data` at the end of `fd`, retrying on EINTR and short writes.
std::error_code write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (written == 0) return std::make_error_code(std::errc::io_error);
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

std::string describe(const char* what, const std::filesystem::path& path, int error) {
  return std::string(what) + " '" + path.string() + "': " + std::strerror(error);
}

}  // namespace

SessionFile::SessionFile(std::filesystem::path directory, std::int64_t start_ns, std::uint64_t max_file_bytes)
    : directory_(std::move(directory)), max_file_bytes_(max_file_bytes) {
  // Absolute, so that what the node reports is usable from any directory.
  directory_ = std::filesystem::absolute(directory_).lexically_normal();
  if (!directory_.has_filename()) directory_ = directory_.parent_path();  // "logs/" -> "logs"
  if (auto error = make_directories(directory_)) {
    throw std::runtime_error(describe("cannot create log directory", directory_, error.value()));
  }
  const std::string time_stamp = stamp(start_ns);
  for (int attempt = 1; attempt <= kMaxNameAttempts; ++attempt) {
    std::string id = time_stamp;
    if (attempt > 1) id += "-" + std::to_string(attempt);
    std::filesystem::path candidate = directory_ / ("cantina-session-" + id + ".log");
    fd_ = create_exclusive(candidate);
    if (fd_ >= 0) {
      session_id_ = std::move(id);
      path_ = std::move(candidate);
      base_ = directory_ / ("cantina-session-" + session_id_);
      return;
    }
    const int error = errno;
    if (error != EEXIST) throw std::runtime_error(describe("cannot open session file", candidate, error));
  }
  throw std::runtime_error(
      describe("cannot open session file", directory_ / ("cantina-session-" + time_stamp + "-N.log"), EEXIST));
}

SessionFile::~SessionFile() {
  close_part();
}

void SessionFile::close_part() noexcept {
  if (fd_ >= 0) ::close(fd_);  // close() is not retried on EINTR on Linux
  fd_ = -1;
}

std::error_code SessionFile::reopen() {
  int fd = -1;
  do {
    fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0 && errno == ENOENT) fd = create_exclusive(path_);  // removed meanwhile
  if (fd < 0) return last_error();
  (void)::flock(fd, LOCK_EX | LOCK_NB);

  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const auto error = last_error();
    ::close(fd);
    return error;
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > part_bytes_) {
    // A partial line from a failed write that could not be truncated then.
    if (::ftruncate(fd, static_cast<off_t>(part_bytes_)) != 0) {
      const auto error = last_error();
      ::close(fd);
      return error;
    }
  } else {
    part_bytes_ = size;  // shortened or replaced by someone else
  }
  fd_ = fd;
  return {};
}

std::error_code SessionFile::open_next_part() {
  std::uint32_t next = part_;
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    ++next;  // a name that exists already is skipped
    std::filesystem::path candidate = base_;
    candidate += ".part" + std::to_string(next) + ".log";
    const int fd = create_exclusive(candidate);
    if (fd >= 0) {
      close_part();
      fd_ = fd;
      path_ = std::move(candidate);
      part_ = next;
      part_bytes_ = 0;
      return {};
    }
    if (errno != EEXIST) return last_error();
  }
  return std::make_error_code(std::errc::file_exists);
}

std::error_code SessionFile::write(std::string_view data, const BeforeWrite& before) {
  if (data.empty()) return {};
  if (fd_ < 0) {
    if (auto error = reopen()) return error;
  }
  if (max_file_bytes_ != 0 && part_bytes_ != 0 && part_bytes_ + data.size() > max_file_bytes_) {
    if (auto error = open_next_part()) return error;
  }
  if (before) before(path_, part_bytes_ + data.size());
  const auto error = write_all(fd_, data);
  if (!error) {
    part_bytes_ += data.size();
    bytes_written_ += data.size();
    return {};
  }
  // Cut off whatever part of `data` did reach the file. If that fails too, or the
  // descriptor itself may be bad, close it: the next call reopens the part and
  // truncates it to part_bytes_ then.
  const bool truncated = ::ftruncate(fd_, static_cast<off_t>(part_bytes_)) == 0;
  const int code = error.value();
  if (!truncated || !(code == ENOSPC || code == EFBIG || code == EDQUOT)) close_part();
  return error;
}

std::error_code SessionFile::sync() {
  if (fd_ < 0) {
    if (auto error = reopen()) return error;
  }
  int result = 0;
  do {
    result = ::fdatasync(fd_);
  } while (result != 0 && errno == EINTR);
  if (result != 0) return last_error();
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

}  // namespace cantina::logging
