#include "cantina/store/catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

namespace cantina::store {

namespace {

constexpr std::string_view kPrefix = "cantina-session-";

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A positive decimal number without a leading zero, at most `max_digits` long.
std::optional<std::uint32_t> small_number(std::string_view text, std::size_t max_digits) {
  if (!all_digits(text) || text.size() > max_digits || text[0] == '0') return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) value = value * 10 + static_cast<std::uint32_t>(c - '0');
  return value;
}

// The -N suffix of an id (1 for none).
std::uint32_t id_suffix(std::string_view id) {
  if (id.size() <= 15) return 1;
  return small_number(id.substr(16), 5).value_or(1);
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

bool valid_session_id(std::string_view id) {
  if (id.size() < 15 || !all_digits(id.substr(0, 8)) || id[8] != '-' || !all_digits(id.substr(9, 6))) return false;
  if (id.size() == 15) return true;
  if (id[15] != '-') return false;
  const auto suffix = small_number(id.substr(16), 5);
  return suffix && *suffix >= 2;
}

std::int64_t session_id_time(std::string_view id) {
  if (!valid_session_id(id)) return 0;
  const auto number = [&](std::size_t at, std::size_t count) {
    long value = 0;
    for (std::size_t i = 0; i < count; ++i) value = value * 10 + (id[at + i] - '0');
    return value;
  };
  long year = number(0, 4), month = number(4, 2), day = number(6, 2);
  year -= month <= 2 ? 1 : 0;
  const long era = (year >= 0 ? year : year - 399) / 400;
  const long yoe = year - era * 400;
  const long doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
  const std::int64_t seconds = std::int64_t{days} * 86400 + number(9, 2) * 3600 + number(11, 2) * 60 + number(13, 2);
  return seconds * 1'000'000'000;
}

bool session_id_less(std::string_view a, std::string_view b) {
  const int stamp = a.substr(0, 15).compare(b.substr(0, 15));
  if (stamp != 0) return stamp < 0;
  return id_suffix(a) < id_suffix(b);
}

std::optional<FileName> parse_file_name(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  FileName parsed;
  if (name.ends_with(".idx")) {
    parsed.index = true;
    name.remove_suffix(4);
  }
  if (name.ends_with(".zst")) {
    parsed.compressed = true;
    name.remove_suffix(4);
  }
  if (!name.ends_with(".log")) return std::nullopt;
  name.remove_suffix(4);
  if (const auto dot = name.find('.'); dot != std::string_view::npos) {
    const std::string_view part = name.substr(dot + 1);
    if (!part.starts_with("part")) return std::nullopt;
    const auto number = small_number(part.substr(4), 6);
    if (!number || *number < 2) return std::nullopt;
    parsed.part = *number;
    name = name.substr(0, dot);
  }
  if (!valid_session_id(name)) return std::nullopt;
  parsed.session_id = std::string(name);
  return parsed;
}

std::string part_file_name(std::string_view session_id, std::uint32_t part, bool compressed) {
  std::string name(kPrefix);
  name += session_id;
  if (part > 1) name += ".part" + std::to_string(part);
  name += ".log";
  if (compressed) name += ".zst";
  return name;
}

std::uint64_t SessionFiles::bytes() const {
  std::uint64_t total = 0;
  for (const PartFile& part : parts) total += part.bytes + part.index_bytes;
  return total;
}

SessionDir::SessionDir(const std::filesystem::path& path) : path_(path) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw std::runtime_error("cannot open session folder '" + path.string() + "': " + std::strerror(errno));
  fd_ = Fd(fd);
}

std::vector<SessionFiles> SessionDir::list() const {
  // A second descriptor for readdir (fdopendir takes it over; the folder's own
  // stays for openat).
  const int copy = ::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return {};
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    ::close(copy);
    return {};
  }
  struct Found {
    std::map<std::uint32_t, PartFile> parts;
  };
  std::map<std::string, Found> sessions;
  std::map<std::string, std::uint64_t> index_sizes;  // by data file name
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    const auto parsed = parse_file_name(name);
    if (!parsed) continue;
    struct stat info {};
    if (::fstatat(fd_.get(), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(info.st_mode)) continue;
    const auto bytes = static_cast<std::uint64_t>(info.st_size);
    if (parsed->index) {
      index_sizes[std::string(name.substr(0, name.size() - 4))] = bytes;
      continue;
    }
    PartFile& part = sessions[parsed->session_id].parts[parsed->part];
    // Both forms: the compression did not finish; the plain one is complete.
    if (!part.name.empty() && !part.compressed) continue;
    part.number = parsed->part;
    part.name = std::string(name);
    part.compressed = parsed->compressed;
    part.bytes = bytes;
  }
  ::closedir(dir);
  std::vector<SessionFiles> out;
  out.reserve(sessions.size());
  for (auto& [id, found] : sessions) {
    SessionFiles session;
    session.id = id;
    for (auto& [number, part] : found.parts) {
      if (auto index = index_sizes.find(part.name); index != index_sizes.end()) {
        part.has_index = true;
        part.index_bytes = index->second;
      }
      session.parts.push_back(std::move(part));
    }
    out.push_back(std::move(session));
  }
  std::sort(out.begin(), out.end(),
            [](const SessionFiles& a, const SessionFiles& b) { return session_id_less(a.id, b.id); });
  return out;
}

std::optional<SessionFiles> SessionDir::find(std::string_view id) const {
  if (!valid_session_id(id)) return std::nullopt;
  for (SessionFiles& session : list()) {
    if (session.id == id) return std::move(session);
  }
  return std::nullopt;
}

Fd SessionDir::open_file(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    errno = EINVAL;
    return Fd{};
  }
  int fd = -1;
  do {
    fd = ::openat(fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Fd{};
  Fd file(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    errno = EINVAL;
    return Fd{};
  }
  // O_NONBLOCK only kept a FIFO from blocking the open; regular files ignore it.
  return file;
}

bool SessionDir::is_live(const SessionFiles& session) const {
  if (session.parts.empty() || session.parts.back().compressed) return false;
  Fd file = open_file(session.parts.back().name);
  if (!file) return false;
  if (::flock(file.get(), LOCK_SH | LOCK_NB) != 0) return errno == EWOULDBLOCK;
  ::flock(file.get(), LOCK_UN);
  return false;
}

}  // namespace cantina::store
