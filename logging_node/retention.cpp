#include "retention.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "cantina/bus/clock.h"
#include "cantina/store/compress.h"
#include "cantina/store/part.h"

namespace cantina::logging {

namespace {

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassIdle = 3;
constexpr int kIoprioClassShift = 13;

// "52.1 MB" style, for the INFO lines.
std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

// Last modification of a file of the folder, seconds since the epoch (0 if gone).
std::time_t modified(const store::SessionDir& dir, const std::string& name) {
  struct stat info {};
  if (::fstatat(dir.fd(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return info.st_mtime;
}

std::time_t last_written(const store::SessionDir& dir, const store::SessionFiles& session) {
  std::time_t newest = 0;
  for (const store::PartFile& part : session.parts) newest = std::max(newest, modified(dir, part.name));
  return newest;
}

// Lowest priority for the calling thread: SCHED_IDLE, nice 19, idle I/O class.
void lower_priority() {
  const auto thread = static_cast<pid_t>(::syscall(SYS_gettid));
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(thread), 19);
  (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, thread, kIoprioClassIdle << kIoprioClassShift);
}

}  // namespace

Retention::Retention(RetentionOptions options) : options_(std::move(options)) {}

Retention::~Retention() {
  stop();
}

void Retention::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "logd-retention");
    lower_priority();
    run();
  });
}

void Retention::stop() {
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
}

void Retention::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

std::vector<Retention::Note> Retention::take_notes() {
  std::lock_guard lock(mutex_);
  std::vector<Note> out;
  out.swap(notes_);
  if (notes_dropped_ > 0) {
    out.push_back(
        {bus::Level::info, "retention: " + std::to_string(notes_dropped_) + " more lines like these not written"});
    notes_dropped_ = 0;
  }
  return out;
}

std::uint64_t Retention::bytes_kept() const {
  const std::uint64_t written = options_.bytes_written == nullptr ? 0 : options_.bytes_written->load();
  return kept_.load() + (written - std::min(written, written_at_pass_.load()));
}

void Retention::note(bus::Level level, std::string text) {
  std::lock_guard lock(mutex_);
  if (notes_.size() >= kMaxNotes) {
    ++notes_dropped_;
    return;
  }
  notes_.push_back({level, std::move(text)});
}

void Retention::run() {
  while (!stopping()) {
    pass();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.period, [this] { return woken_ || stopping(); });
    woken_ = false;
  }
}

void Retention::pass() {
  try {
    if (!dir_) dir_ = std::make_unique<store::SessionDir>(options_.directory);
    if (!first_done_) {
      first_pass();
      first_done_ = true;
    }
    if (options_.bytes_written != nullptr) written_at_pass_.store(options_.bytes_written->load());
    enforce_limits();
    if (options_.compress_level > 0 && !stopping()) {
      compress(dir_->list());
      enforce_limits();
    }
  } catch (const std::exception& error) {
    const std::string text = std::string("retention: ") + error.what();
    if (failed_.insert(text).second) note(bus::Level::warning, text);
  }
  passes_.fetch_add(1);
}

void Retention::first_pass() {
  for (const std::string& name : store::clean_up_interrupted(*dir_)) {
    note(bus::Level::info, "removed " + name + ", left by an interrupted compression");
  }
  // Index files whose part is gone (deleted by hand, or by a tool).
  std::vector<std::string> orphans;
  const int copy = ::openat(dir_->fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (DIR* folder = copy >= 0 ? ::fdopendir(copy) : nullptr) {
    while (const dirent* entry = ::readdir(folder)) {
      const std::string name = entry->d_name;
      const auto parsed = store::parse_file_name(name);
      if (!parsed || !parsed->index || parsed->session_id == options_.current_session) continue;
      struct stat info {};
      const std::string data = name.substr(0, name.size() - store::kIndexSuffix.size());
      if (::fstatat(dir_->fd(), data.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        orphans.push_back(name);
      }
    }
    ::closedir(folder);
  } else if (copy >= 0) {
    ::close(copy);
  }
  std::size_t removed = 0;
  for (const std::string& name : orphans) removed += ::unlinkat(dir_->fd(), name.c_str(), 0) == 0 ? 1 : 0;
  if (removed > 0) note(bus::Level::info, "removed " + std::to_string(removed) + " index files without their part");
  // Finished plain parts whose index a crash left behind or damaged.
  for (const store::SessionFiles& session : dir_->list()) {
    if (stopping()) return;
    if (session.id == options_.current_session || dir_->is_live(session)) continue;
    for (const store::PartFile& part : session.parts) {
      if (part.compressed) continue;
      try {
        store::PartReader reader(*dir_, part, store::ReadMode::pread);
        if (reader.index_complete()) continue;
        const std::string error =
            store::write_index_file(*dir_, part.name, reader.index_file_contents(/*finished=*/true));
        if (error.empty()) {
          note(bus::Level::info, "rebuilt the index of " + part.name + " (" + std::to_string(reader.blocks().size()) +
                                     " blocks; it was missing, behind or damaged)");
        } else if (failed_.insert(error).second) {
          note(bus::Level::warning, error);
        }
      } catch (const std::exception& error) {
        if (failed_.insert(error.what()).second) note(bus::Level::warning, error.what());
      }
    }
  }
}

void Retention::compress(const std::vector<store::SessionFiles>& sessions) {
  const std::time_t now = std::time(nullptr);
  for (const store::SessionFiles& session : sessions) {
    const bool current = session.id == options_.current_session;
    if (!current && dir_->is_live(session)) continue;
    for (const store::PartFile& part : session.parts) {
      if (stopping()) return;
      if (part.compressed || failed_.count(part.name) != 0) continue;
      // The current session's last part is being written.
      if (current && part.number == session.parts.back().number) continue;
      const std::time_t written = modified(*dir_, part.name);
      if (written == 0 || now - written < static_cast<std::time_t>(options_.compress_after.count())) continue;
      const store::CompressResult result =
          store::compress_part(*dir_, part, options_.compress_level, [this] { return stopping(); });
      if (result.done) {
        note(bus::Level::info, "compressed " + part.name + ": " + human_bytes(result.plain_bytes) + " -> " +
                                   human_bytes(result.compressed_bytes) + " (zstd level " +
                                   std::to_string(options_.compress_level) + ", with its index)");
      } else if (!result.error.empty()) {
        failed_.insert(part.name);
        note(bus::Level::warning, "cannot compress " + part.name + ": " + result.error);
      }
    }
  }
}

std::uint64_t Retention::free_bytes() const {
  struct statvfs info {};
  if (::fstatvfs(dir_->fd(), &info) != 0) return ~std::uint64_t{0};
  return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

std::uint64_t Retention::delete_part(const store::PartFile& part) {
  std::uint64_t freed = 0;
  for (const std::string& name : {part.name, part.name + std::string(store::kIndexSuffix)}) {
    struct stat info {};
    if (::fstatat(dir_->fd(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(info.st_mode)) continue;
    if (::unlinkat(dir_->fd(), name.c_str(), 0) == 0) freed += static_cast<std::uint64_t>(info.st_size);
  }
  return freed;
}

void Retention::enforce_limits() {
  std::vector<store::SessionFiles> sessions = dir_->list();
  std::uint64_t total = 0;
  for (const auto& session : sessions) total += session.bytes();
  // What may go, oldest first: finished sessions no other node writes.
  std::vector<store::SessionFiles> deletable;
  for (const auto& session : sessions) {
    if (session.id != options_.current_session && !dir_->is_live(session)) deletable.push_back(session);
  }
  std::size_t count = sessions.size();
  auto delete_session = [&](const store::SessionFiles& session, const std::string& reason) {
    std::uint64_t freed = 0;
    for (const store::PartFile& part : session.parts) freed += delete_part(part);
    total -= std::min(total, freed);
    --count;
    note(bus::Level::info, "deleted session " + session.id + " (" + std::to_string(session.parts.size()) +
                               (session.parts.size() == 1 ? " part, " : " parts, ") + human_bytes(freed) +
                               "): " + reason);
  };

  if (options_.max_sessions != 0) {
    while (count > options_.max_sessions && !deletable.empty()) {
      delete_session(deletable.front(), "more than max_sessions " + std::to_string(options_.max_sessions));
      deletable.erase(deletable.begin());
    }
  }
  if (options_.max_age_days != 0) {
    const std::time_t oldest = std::time(nullptr) - static_cast<std::time_t>(options_.max_age_days) * 86400;
    for (auto it = deletable.begin(); it != deletable.end();) {
      const std::time_t written = last_written(*dir_, *it);
      if (written != 0 && written < oldest) {
        delete_session(*it, "last written " + bus::iso8601(std::int64_t{written} * 1'000'000'000).substr(0, 19) +
                                "Z, more than max_age_days " + std::to_string(options_.max_age_days) + " ago");
        it = deletable.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Part by part, oldest first, for the byte limits.
  auto delete_oldest_part = [&](const std::string& reason) -> std::uint64_t {
    store::SessionFiles& session = deletable.front();
    const store::PartFile part = session.parts.front();
    session.parts.erase(session.parts.begin());
    const std::uint64_t freed = delete_part(part);
    total -= std::min(total, freed);
    note(bus::Level::info, "deleted " + part.name + " (" + human_bytes(freed) + "): " + reason);
    if (session.parts.empty()) {
      deletable.erase(deletable.begin());
      --count;
    }
    return freed;
  };
  if (options_.max_total_bytes != 0) {
    while (total > options_.max_total_bytes && !deletable.empty() && !stopping()) {
      delete_oldest_part("the session folder held more than max_total_bytes " +
                         std::to_string(options_.max_total_bytes));
    }
    if (total > options_.max_total_bytes) {
      if (!over_total_said_) {
        note(bus::Level::warning, "the session folder holds " + human_bytes(total) + ", more than max_total_bytes " +
                                      std::to_string(options_.max_total_bytes) +
                                      ", and nothing is left to delete but the current session");
      }
      over_total_said_ = true;
    } else {
      over_total_said_ = false;
    }
  }
  if (options_.min_free_bytes != 0) {
    std::uint64_t free = free_bytes();
    auto low = [&](const std::string& what) {
      return "low disk: " + human_bytes(free) + " free on " + options_.directory.string() +
             ", less than min_free_bytes " + std::to_string(options_.min_free_bytes) + what;
    };
    if (free >= options_.min_free_bytes) {
      low_disk_said_ = false;
      low_disk_stuck_said_ = false;
    } else {
      if (!low_disk_said_ && !deletable.empty()) note(bus::Level::warning, low(": deleting the oldest session files"));
      low_disk_said_ = true;
      while (free < options_.min_free_bytes && !deletable.empty() && !stopping()) {
        delete_oldest_part("low disk (min_free_bytes " + std::to_string(options_.min_free_bytes) + ")");
        free = free_bytes();
      }
      if (free < options_.min_free_bytes && deletable.empty() && !low_disk_stuck_said_) {
        note(bus::Level::warning, low(", and nothing is left to delete but the current session"));
        low_disk_stuck_said_ = true;
      }
    }
  }
  kept_.store(total);
}

}  // namespace cantina::logging
