#include "cantina/bus/tally.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "cantina/bus/topics.h"

namespace cantina::bus {

namespace {

constexpr std::size_t kPublisherOffset = 16;
constexpr std::size_t kPidOffset = 24;
constexpr std::size_t kServiceLengthOffset = 28;
constexpr std::size_t kStartTimeOffset = 32;
constexpr std::size_t kLastOffset = 40;
constexpr std::size_t kServiceOffset = 48;
constexpr std::size_t kMaxService = 128;
static_assert(kServiceOffset + kMaxService <= kTallyBytes);

// 16 hex digits, as the tallies' names and the ipc directories use them.
std::string hex16(std::uint64_t value) {
  return fmt::format("{:016x}", value);
}

// Empty if `path` is a directory of this user that no one else may write
// (made with mode 0700 if missing), else why not.
std::string private_directory(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create " + path.string() + ": " + std::strerror(errno);
  }
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return "cannot read " + path.string() + ": " + std::strerror(errno);
  if (!S_ISDIR(info.st_mode)) return path.string() + " is not a directory";
  if (info.st_uid != ::geteuid()) return path.string() + " belongs to another user";
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) return path.string() + " may be written by other users";
  return {};
}

template <typename T>
T load(const unsigned char* bytes, std::size_t offset) {
  T value{};
  std::memcpy(&value, bytes + offset, sizeof value);
  return value;
}

}  // namespace

std::filesystem::path tally_directory(std::string_view endpoint) {
  const char* override_dir = std::getenv("CANTINA_TALLY_DIR");
  std::filesystem::path base;
  if (override_dir != nullptr && *override_dir != '\0') {
    if (std::string_view(override_dir) == "off") return {};
    base = override_dir;
  } else {
    struct stat shm {};
    const bool tmpfs = ::stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode);
    base = (tmpfs ? "/dev/shm/cantina-" : "/tmp/cantina-tally-") + std::to_string(::geteuid());
  }
  if (endpoint.starts_with("tcp://")) {
    const std::size_t colon = endpoint.rfind(':');
    const std::string_view port = endpoint.substr(colon + 1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (colon <= 5 || error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return {};
    }
    return base / ("tcp-" + std::to_string(value));
  }
  if (endpoint.starts_with("ipc://") && endpoint.size() > 6) {
    std::uint64_t hash = 0xcbf29ce484222325;  // FNV-1a: a name, not a secret
    for (const char c : endpoint.substr(6)) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3;
    return base / ("ipc-" + hex16(hash));
  }
  return {};
}

std::string prepare_tally_directory(const std::filesystem::path& directory) {
  if (directory.empty()) return "no tally directory";
  if (directory.has_parent_path()) {
    std::string why = private_directory(directory.parent_path());
    if (!why.empty()) return why;
  }
  return private_directory(directory);
}

bool process_start_time(int pid, std::uint64_t& start_time, bool& zombie) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1024];
  const ssize_t got = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (got <= 0) return false;
  const std::string_view text(buffer, static_cast<std::size_t>(got));
  // "pid (comm) state ..." where comm may hold spaces and parentheses: the
  // fields follow the last ')'.
  const std::size_t paren = text.rfind(')');
  if (paren == std::string_view::npos || paren + 3 >= text.size()) return false;
  std::string_view rest = text.substr(paren + 2);  // field 3 on
  zombie = rest[0] == 'Z' || rest[0] == 'X';
  for (int field = 3; field < 22; ++field) {
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    rest.remove_prefix(space + 1);
  }
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), start_time);
  return error == std::errc() && end != rest.data();
}

PublisherTally::PublisherTally(const std::filesystem::path& directory, std::string_view service,
                               std::uint64_t publisher_id) {
  if (directory.empty()) return;
  if (service.size() > kMaxService) {
    error_ = "service id too long for a tally";
    return;
  }
  error_ = prepare_tally_directory(directory);
  if (!error_.empty()) return;
  owner_pid_ = static_cast<int>(::getpid());
  std::uint64_t start_time = 0;
  bool zombie = false;
  if (!process_start_time(owner_pid_, start_time, zombie)) {
    error_ = "cannot read /proc/self/stat";
    return;
  }
  unsigned char header[kTallyBytes] = {};
  std::memcpy(header, kTallyMagic.data(), kTallyMagic.size());
  std::memcpy(header + kPublisherOffset, &publisher_id, sizeof publisher_id);
  const std::int32_t pid = owner_pid_;
  std::memcpy(header + kPidOffset, &pid, sizeof pid);
  const auto length = static_cast<std::uint32_t>(service.size());
  std::memcpy(header + kServiceLengthOffset, &length, sizeof length);
  std::memcpy(header + kStartTimeOffset, &start_time, sizeof start_time);
  std::memcpy(header + kServiceOffset, service.data(), service.size());
  // Written whole under a temporary name, then renamed: a reader never sees half a header.
  const std::string name = hex16(publisher_id);
  const std::filesystem::path temporary = directory / (name + "." + std::to_string(owner_pid_) + ".tmp");
  path_ = directory / (name + std::string(kTallySuffix));
  const int fd = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error_ = "cannot create " + temporary.string() + ": " + std::strerror(errno);
    return;
  }
  const bool written = ::pwrite(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header);
  void* map = written ? ::mmap(nullptr, kTallyBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  const int saved = errno;
  ::close(fd);
  if (map == MAP_FAILED || ::rename(temporary.c_str(), path_.c_str()) != 0) {
    error_ = "cannot write " + path_.string() + ": " + std::strerror(map == MAP_FAILED ? saved : errno);
    if (map != MAP_FAILED) ::munmap(map, kTallyBytes);
    (void)::unlink(temporary.c_str());
    return;
  }
  map_ = map;
  slot_ = reinterpret_cast<std::uint64_t*>(static_cast<unsigned char*>(map) + kLastOffset);
}

PublisherTally::~PublisherTally() {
  if (map_ != nullptr) ::munmap(map_, kTallyBytes);
}

void PublisherTally::note(std::uint64_t last) noexcept {
  if (slot_ != nullptr) std::atomic_ref<std::uint64_t>(*slot_).store(last, std::memory_order_relaxed);
}

void PublisherTally::remove() noexcept {
  if (slot_ == nullptr || ::getpid() != owner_pid_) return;
  (void)::unlink(path_.c_str());
  ::munmap(map_, kTallyBytes);
  map_ = nullptr;
  slot_ = nullptr;
}

TallyScan scan_tallies(const std::filesystem::path& directory, std::size_t max_entries) {
  TallyScan scan;
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return scan;
  const int dir_fd = ::dirfd(dir);
  std::size_t seen = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    if (++seen > max_entries) {
      ++scan.unread;
      continue;
    }
    if (!name.ends_with(kTallySuffix)) {
      if (!name.ends_with(".tmp")) ++scan.invalid;
      continue;
    }
    // O_NONBLOCK: a FIFO planted under a tally's name must not block the reader.
    const int fd = ::openat(dir_fd, entry->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
      ++scan.invalid;
      continue;
    }
    struct stat info {};
    unsigned char bytes[kTallyBytes];
    const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == ::geteuid() &&
                         info.st_size == static_cast<off_t>(kTallyBytes);
    const bool read_whole = regular && ::pread(fd, bytes, sizeof bytes, 0) == static_cast<ssize_t>(sizeof bytes);
    ::close(fd);
    if (!read_whole || std::memcmp(bytes, kTallyMagic.data(), kTallyMagic.size()) != 0) {
      ++scan.invalid;
      continue;
    }
    EndedPublisher ended;
    ended.publisher_id = load<std::uint64_t>(bytes, kPublisherOffset);
    ended.pid = load<std::int32_t>(bytes, kPidOffset);
    const auto length = load<std::uint32_t>(bytes, kServiceLengthOffset);
    const auto start_time = load<std::uint64_t>(bytes, kStartTimeOffset);
    ended.last_sequence = load<std::uint64_t>(bytes, kLastOffset);
    if (length > kMaxService || ended.pid <= 0 || ended.publisher_id == 0 ||
        name != hex16(ended.publisher_id) + std::string(kTallySuffix)) {
      ++scan.invalid;
      continue;
    }
    ended.service.assign(reinterpret_cast<const char*>(bytes + kServiceOffset), length);
    if (!topics::is_valid_service_id(ended.service)) {
      ++scan.invalid;
      continue;
    }
    std::uint64_t now_start = 0;
    bool zombie = false;
    if (process_start_time(ended.pid, now_start, zombie) && !zombie && now_start == start_time) {
      ++scan.live;
      continue;
    }
    ended.path = directory / name;
    scan.ended.push_back(std::move(ended));
  }
  ::closedir(dir);
  return scan;
}

}  // namespace cantina::bus
