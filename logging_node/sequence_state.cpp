#include "sequence_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>

#include "cantina/bus/clock.h"
#include "cantina/bus/siphash.h"
#include "cantina/bus/topics.h"

namespace cantina::logging {

namespace {

constexpr std::string_view kHeader = "cantina-sequences 2\n";
constexpr std::string_view kHeaderV1 = "cantina-sequences 1\n";  // no conditions
// A rewrite costs an fsync and a rename: at most once a minute (the appended
// lines are synced with the session file meanwhile), or sooner once this much
// was appended.
constexpr std::int64_t kRewriteIntervalNs = std::int64_t{60} * 1'000'000'000;
// Appended bytes beyond which the file is rewritten within the interval.
constexpr std::size_t kMaxAppendedBytes = std::size_t{1} << 20;

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// Writes "<publisher, 16 hex digits> <service>" into `key` (its capacity kept).
void write_key(std::string& key, std::string_view service, std::uint64_t publisher) {
  char hex[17];
  constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    hex[i] = kDigits[publisher & 0xf];
    publisher >>= 4;
  }
  hex[16] = ' ';
  key.assign(hex, 17);
  key += service;
}

std::string key_of(std::string_view service, std::uint64_t publisher) {
  std::string key;
  write_key(key, service, publisher);
  return key;
}

// Parses one line (without its newline); false if it is not exactly as written.
bool parse_line(std::string_view line, SequenceMark& mark) {
  if (line.size() < 16 + 1 + 1 + 1 + 1 || line[16] != ' ') return false;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = line[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const auto [end_id, id_error] = std::from_chars(line.data(), line.data() + 16, mark.publisher, 16);
  if (id_error != std::errc() || end_id != line.data() + 16) return false;
  const std::string_view rest = line.substr(17);
  const std::size_t space = rest.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 20 || rest[0] == '0') return false;
  for (std::size_t i = 0; i < space; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return false;
  }
  const auto [end_last, last_error] = std::from_chars(rest.data(), rest.data() + space, mark.last);
  if (last_error != std::errc() || end_last != rest.data() + space || mark.last == 0) return false;
  const std::string_view service = rest.substr(space + 1);
  if (!bus::topics::is_valid_service_id(service)) return false;
  mark.service.assign(service);
  return true;
}

// Parses a condition line "@ <end> <file name>" (without its newline); false if
// it is not exactly as written.
bool parse_condition(std::string_view line, std::uint64_t& end, std::string_view& name) {
  if (!line.starts_with("@ ")) return false;
  line.remove_prefix(2);
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 20 || (line[0] == '0' && space > 1)) return false;
  for (std::size_t i = 0; i < space; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
  }
  const auto [stop, error] = std::from_chars(line.data(), line.data() + space, end);
  if (error != std::errc() || stop != line.data() + space) return false;
  name = line.substr(space + 1);
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace

LoadedSequences SequenceState::load(const std::filesystem::path& path, std::int64_t now_ns) {
  LoadedSequences loaded;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT) loaded.warning = "ignored " + path.string() + ": " + std::strerror(errno);
    return loaded;
  }
  auto ignore = [&](const std::string& why) {
    loaded.marks.clear();
    loaded.warning = "ignored " + path.string() + ": " + why +
                     " (records lost while no logging node ran are reported as not in this session)";
    return loaded;
  };
  struct stat info {};
  std::string text;
  bool readable = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size >= 0 &&
                  static_cast<std::uint64_t>(info.st_size) <= kMaxFileBytes;
  if (readable) {
    text.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<std::size_t>(got);
    }
    readable = done == text.size();
  }
  ::close(fd);
  if (!readable) return ignore("not a regular file of at most " + std::to_string(kMaxFileBytes) + " bytes");
  const bool conditions = text.starts_with(kHeader);
  if (!conditions && !text.starts_with(kHeaderV1)) return ignore("not a sequence state file");
  if (!text.ends_with('\n')) return ignore("its last line is incomplete");
  const std::int64_t written_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
  loaded.age_ns = std::clamp<std::int64_t>(now_ns - written_ns, 0, kMaxAgeNs);
  std::unordered_map<std::string, std::size_t, bus::KeyedHash, std::equal_to<>> index;  // keys publishers chose
  std::unordered_map<std::string, std::uint64_t> sizes;  // of the session files conditions name (max: gone)
  bool believed = true;                                  // the last condition holds
  std::string_view rest = std::string_view(text).substr(kHeader.size());
  std::size_t line_number = 1;
  SequenceMark mark;
  while (!rest.empty()) {
    ++line_number;
    const std::size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (conditions && line.starts_with('@')) {
      std::uint64_t end = 0;
      std::string_view name;
      if (!parse_condition(line, end, name)) return ignore("line " + std::to_string(line_number) + " is malformed");
      auto size = sizes.find(std::string(name));
      if (size == sizes.end()) {
        if (sizes.size() >= kMaxPublishers) return ignore("too many session files named");
        struct stat session {};
        const bool there = ::stat((path.parent_path() / name).c_str(), &session) == 0;
        size = sizes.emplace(std::string(name), there ? static_cast<std::uint64_t>(session.st_size) : UINT64_MAX).first;
      }
      believed = size->second >= end;
      continue;
    }
    if (!parse_line(line, mark)) return ignore("line " + std::to_string(line_number) + " is malformed");
    if (!believed) continue;  // noted before a write the session file did not get
    std::string key = key_of(mark.service, mark.publisher);
    if (const auto found = index.find(key); found != index.end()) {
      loaded.marks[found->second].last = mark.last;
      continue;
    }
    if (index.size() >= kMaxKeysRead) return ignore("more than " + std::to_string(kMaxKeysRead) + " publishers");
    index.emplace(std::move(key), loaded.marks.size());
    loaded.marks.push_back(mark);
  }
  return loaded;
}

SequenceState::SequenceState(std::filesystem::path path, const std::vector<SequenceMark>& initial)
    : path_(std::move(path)) {
  for (const SequenceMark& mark : initial) keys_[key_of(mark.service, mark.publisher)] = Value{mark.last, 0};
  rewrite(true);
}

SequenceState::~SequenceState() {
  if (fd_ >= 0) ::close(fd_);
}

void SequenceState::append_line(std::string& out, const std::string& key, std::uint64_t last) {
  out.append(key, 0, 17);
  char number[24];
  const auto [end, error] = std::to_chars(number, number + sizeof number, last);
  (void)error;
  out.append(number, end);
  out += ' ';
  out.append(key, 17);
  out += '\n';
}

void SequenceState::note(std::span<const SequenceMark> marks, std::string_view file_name, std::uint64_t end) {
  if (marks.empty()) return;
  ++tick_;
  line_.clear();
  if (!file_name.empty()) {
    line_ += "@ ";
    char number[24];
    const auto [stop, error] = std::to_chars(number, number + sizeof number, end);
    (void)error;
    line_.append(number, stop);
    line_ += ' ';
    line_ += file_name;
    line_ += '\n';
  }
  const std::size_t condition = line_.size();
  for (const SequenceMark& mark : marks) {
    write_key(key_, mark.service, mark.publisher);  // looked up without a string of its own
    auto found = keys_.find(std::string_view(key_));
    if (found == keys_.end()) found = keys_.try_emplace(key_).first;
    Value& value = found->second;
    if (mark.last <= value.last) continue;
    value = Value{mark.last, tick_};
    append_line(line_, found->first, mark.last);
  }
  if (line_.size() == condition) return;  // nothing new
  // Never rewritten from here: a rewrite states its marks unconditionally, and
  // these may precede their write. rewrite(), after the write, catches up.
  if (fd_ < 0) {  // the file could not be written: rewritten whole, once a second
    behind_ = true;
    return;
  }
  if (!write_all(fd_, line_)) {
    error_ = "cannot write " + path_.string() + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    behind_ = true;
    return;
  }
  appended_ += line_.size();
  unsynced_ = true;
}

void SequenceState::rewrite(bool force) {
  const std::int64_t now = bus::monotonic_ns();
  const bool overfull = keys_.size() > 2 * kMaxPublishers || appended_ > kMaxAppendedBytes;
  if (!force && !overfull && ((appended_ == 0 && !behind_) || now - last_rewrite_ns_ < kRewriteIntervalNs)) return;
  last_rewrite_ns_ = now;
  if (keys_.size() > kMaxPublishers) {
    // Keep the most recently changed.
    std::vector<std::pair<std::uint64_t, const std::string*>> order;
    order.reserve(keys_.size());
    for (const auto& [key, value] : keys_) order.emplace_back(value.tick, &key);
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kMaxPublishers), order.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> dropped;
    for (auto it = order.begin() + static_cast<std::ptrdiff_t>(kMaxPublishers); it != order.end(); ++it) {
      dropped.push_back(*it->second);
    }
    for (const std::string& key : dropped) keys_.erase(key);
  }
  line_.assign(kHeader);
  for (const auto& [key, value] : keys_) append_line(line_, key, value.last);
  std::filesystem::path temporary = path_;
  temporary += ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  bool done = fd >= 0 && write_all(fd, line_) && ::fsync(fd) == 0;
  const int saved_errno = errno;
  if (fd >= 0) ::close(fd);
  done = done && ::rename(temporary.c_str(), path_.c_str()) == 0;
  if (!done) {
    error_ = "cannot write " + path_.string() + ": " + std::strerror(saved_errno != 0 ? saved_errno : errno);
    (void)::unlink(temporary.c_str());
    return;
  }
  error_.clear();
  behind_ = false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  appended_ = 0;
  unsynced_ = false;
}

void SequenceState::sync() {
  if (!unsynced_ || fd_ < 0) return;
  (void)::fdatasync(fd_);
  unsynced_ = false;
}

}  // namespace cantina::logging
