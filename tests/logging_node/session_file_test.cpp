#define BOOST_TEST_MODULE session_file
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

#include "session_file.h"

namespace {

namespace fs = std::filesystem;
using cantina::logging::SessionFile;

constexpr std::int64_t kSecond = 1'000'000'000;
// 2026-11-26T17:45:00.750Z
constexpr std::int64_t kStartNs = 1795715100LL * kSecond + 750'000'000;

// A fresh directory under the temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "session_file_test-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  BOOST_REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

// Sets the umask for the scope.
struct ScopedUmask {
  mode_t saved;
  explicit ScopedUmask(mode_t mask) : saved(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved); }
};

// Limits the size of files this process may write for the scope; writes beyond it
// fail with EFBIG (SIGXFSZ is ignored) instead of killing the process.
struct ScopedFileSizeLimit {
  rlimit saved{};
  void (*saved_handler)(int);
  explicit ScopedFileSizeLimit(rlim_t bytes) : saved_handler(std::signal(SIGXFSZ, SIG_IGN)) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    rlimit limited = saved;
    limited.rlim_cur = bytes;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~ScopedFileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
};

// The descriptor number this process has open on `path`, or -1.
int find_descriptor(const fs::path& path) {
  for (const auto& link : fs::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    const fs::path target = fs::read_symlink(link.path(), error);
    if (!error && target == path) return std::stoi(link.path().filename().string());
  }
  return -1;
}

std::string line(char fill, std::size_t length) {
  return std::string(length - 1, fill) + "\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(session_file)

BOOST_AUTO_TEST_CASE(creates_the_directory_and_names_the_file_after_the_start_time) {
  TempDir temp;
  const fs::path directory = temp.path / "a" / "b" / "logs";
  SessionFile file(directory, kStartNs, 0);
  BOOST_TEST(file.session_id() == "20261126-174500");
  BOOST_TEST(file.path() == directory / "cantina-session-20261126-174500.log");
  BOOST_TEST(fs::is_regular_file(file.path()));
  BOOST_TEST(fs::file_size(file.path()) == 0u);
  BOOST_TEST(file.part() == 1u);
  BOOST_TEST(file.bytes_written() == 0u);
}

BOOST_AUTO_TEST_CASE(reports_absolute_normal_paths_for_a_relative_directory) {
  TempDir temp;
  const fs::path saved = fs::current_path();
  fs::current_path(temp.path);
  try {
    SessionFile file("./logs/../logs/", kStartNs, 0);
    fs::current_path(saved);
    BOOST_TEST(file.directory() == temp.path / "logs");
    BOOST_TEST(file.path() == temp.path / "logs" / "cantina-session-20261126-174500.log");
    BOOST_TEST(fs::is_regular_file(file.path()));
  } catch (...) {
    fs::current_path(saved);
    throw;
  }
}

BOOST_AUTO_TEST_CASE(sets_modes_0750_and_0640_whatever_the_umask) {
  TempDir temp;
  for (const mode_t mask : {mode_t{0077}, mode_t{0}}) {
    ScopedUmask umask(mask);
    const fs::path directory = temp.path / ("mask" + std::to_string(mask)) / "logs";
    SessionFile file(directory, kStartNs, 0);
    BOOST_TEST(mode_of(file.path()) == 0640u);
    BOOST_TEST(mode_of(directory) == 0750u);
    BOOST_TEST(mode_of(directory.parent_path()) == 0750u);
  }
}

BOOST_AUTO_TEST_CASE(leaves_an_existing_directory_mode_alone) {
  TempDir temp;
  BOOST_REQUIRE(::chmod(temp.path.c_str(), 0755) == 0);
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(mode_of(temp.path) == 0755u);
}

BOOST_AUTO_TEST_CASE(adds_a_counter_when_the_name_is_taken) {
  TempDir temp;
  SessionFile first(temp.path, kStartNs, 0);
  SessionFile second(temp.path, kStartNs, 0);
  SessionFile third(temp.path, kStartNs + kSecond / 10, 0);  // same second
  BOOST_TEST(first.session_id() == "20261126-174500");
  BOOST_TEST(second.session_id() == "20261126-174500-2");
  BOOST_TEST(third.session_id() == "20261126-174500-3");
  BOOST_TEST(second.path() == temp.path / "cantina-session-20261126-174500-2.log");
  BOOST_TEST(third.path() == temp.path / "cantina-session-20261126-174500-3.log");
  SessionFile next_second(temp.path, kStartNs + kSecond, 0);
  BOOST_TEST(next_second.session_id() == "20261126-174501");
}

BOOST_AUTO_TEST_CASE(never_reuses_an_existing_file) {
  TempDir temp;
  const fs::path taken = temp.path / "cantina-session-20261126-174500.log";
  std::ofstream(taken) << "someone else's data\n";
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(file.session_id() == "20261126-174500-2");
  BOOST_TEST(!file.write("mine\n"));
  BOOST_TEST(read_file(taken) == "someone else's data\n");
}

BOOST_AUTO_TEST_CASE(appends_lines_and_counts_bytes) {
  TempDir temp;
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(!file.write("first line\n"));
  BOOST_TEST(!file.write("second line\nthird line\n"));
  BOOST_TEST(!file.write(""));
  BOOST_TEST(!file.sync());
  BOOST_TEST(read_file(file.path()) == "first line\nsecond line\nthird line\n");
  BOOST_TEST(file.bytes_written() == 34u);
}

// Whether someone holds a lock on `path` (as store::SessionDir::is_live asks).
bool locked(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

BOOST_AUTO_TEST_CASE(the_part_being_written_is_locked) {
  TempDir temp;
  fs::path first_part;
  {
    SessionFile file(temp.path, kStartNs, 100);
    first_part = file.path();
    BOOST_TEST(locked(first_part));
    BOOST_TEST(!file.write(line('a', 90)));
    BOOST_TEST(!file.write(line('b', 90)));
    BOOST_TEST(file.part() == 2u);
    BOOST_TEST(!locked(first_part));
    BOOST_TEST(locked(file.path()));
    first_part = file.path();
  }
  BOOST_TEST(!locked(first_part));
}

BOOST_AUTO_TEST_CASE(continues_in_a_new_part_when_the_size_limit_would_be_exceeded) {
  TempDir temp;
  SessionFile file(temp.path, kStartNs, 100);
  const fs::path first_part = file.path();
  BOOST_TEST(!file.write(line('a', 40)));
  BOOST_TEST(!file.write(line('b', 40)));
  BOOST_TEST(!file.write(line('c', 20)));  // exactly 100: still fits
  BOOST_TEST(file.part() == 1u);
  BOOST_TEST(!file.write(line('d', 40)));
  BOOST_TEST(file.part() == 2u);
  BOOST_TEST(file.path() == temp.path / "cantina-session-20261126-174500.part2.log");
  BOOST_TEST(!file.write(line('e', 150)));  // larger than the limit: its own part
  BOOST_TEST(file.part() == 3u);
  BOOST_TEST(file.path() == temp.path / "cantina-session-20261126-174500.part3.log");
  BOOST_TEST(!file.write(line('f', 10)));
  BOOST_TEST(file.part() == 4u);

  BOOST_TEST(read_file(first_part) == line('a', 40) + line('b', 40) + line('c', 20));
  BOOST_TEST(read_file(temp.path / "cantina-session-20261126-174500.part2.log") == line('d', 40));
  BOOST_TEST(read_file(temp.path / "cantina-session-20261126-174500.part3.log") == line('e', 150));
  BOOST_TEST(read_file(file.path()) == line('f', 10));
  BOOST_TEST(file.bytes_written() == 300u);
  BOOST_TEST(mode_of(file.path()) == 0640u);
  BOOST_TEST(file.session_id() == "20261126-174500");  // parts share the session
}

BOOST_AUTO_TEST_CASE(parts_of_a_renamed_session_keep_its_suffix) {
  TempDir temp;
  SessionFile first(temp.path, kStartNs, 0);
  SessionFile second(temp.path, kStartNs, 10);
  BOOST_TEST(!second.write(line('x', 10)));
  BOOST_TEST(!second.write(line('y', 10)));
  BOOST_TEST(second.path() == temp.path / "cantina-session-20261126-174500-2.part2.log");
}

BOOST_AUTO_TEST_CASE(skips_a_part_name_that_exists_already) {
  TempDir temp;
  std::ofstream(temp.path / "cantina-session-20261126-174500.part2.log") << "stale\n";
  SessionFile file(temp.path, kStartNs, 10);
  BOOST_TEST(!file.write(line('x', 10)));
  BOOST_TEST(!file.write(line('y', 10)));
  BOOST_TEST(file.part() == 3u);
  BOOST_TEST(file.path() == temp.path / "cantina-session-20261126-174500.part3.log");
  BOOST_TEST(read_file(temp.path / "cantina-session-20261126-174500.part2.log") == "stale\n");
}

BOOST_AUTO_TEST_CASE(truncates_a_partial_line_when_a_write_fails_and_retries_later) {
  TempDir temp;
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(!file.write(line('a', 60)));
  {
    ScopedFileSizeLimit limit(100);  // the next 80-byte write gets 40 bytes in, then EFBIG
    const std::error_code error = file.write(line('b', 80));
    BOOST_TEST(error.value() == EFBIG);
    BOOST_TEST(fs::file_size(file.path()) == 60u);
    BOOST_TEST(!file.write(line('c', 40)));  // still fits under the limit
  }
  BOOST_TEST(read_file(file.path()) == line('a', 60) + line('c', 40));
  BOOST_TEST(file.bytes_written() == 100u);
  BOOST_TEST(!file.write(line('b', 80)));  // limit lifted: the retry succeeds
  BOOST_TEST(read_file(file.path()) == line('a', 60) + line('c', 40) + line('b', 80));
  BOOST_TEST(file.bytes_written() == 180u);
}

BOOST_AUTO_TEST_CASE(reopens_the_part_after_its_descriptor_became_unwritable) {
  TempDir temp;
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(!file.write("before\n"));
  // Replace the file's descriptor with a read-only one, as if it had gone bad.
  const int descriptor = find_descriptor(file.path());
  BOOST_REQUIRE(descriptor >= 0);
  const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(read_only >= 0);
  BOOST_REQUIRE(::dup2(read_only, descriptor) == descriptor);
  ::close(read_only);

  BOOST_TEST(static_cast<bool>(file.write("lost\n")));
  // A partial line that could not be cut off then is cut off on reopening.
  std::ofstream(file.path(), std::ios::app) << "partial li";
  BOOST_TEST(!file.write("after\n"));
  BOOST_TEST(!file.sync());
  BOOST_TEST(read_file(file.path()) == "before\nafter\n");
  BOOST_TEST(file.bytes_written() == 13u);
}

BOOST_AUTO_TEST_CASE(recreates_the_part_if_it_was_removed_while_closed) {
  TempDir temp;
  SessionFile file(temp.path, kStartNs, 0);
  BOOST_TEST(!file.write("before\n"));
  const int descriptor = find_descriptor(file.path());
  BOOST_REQUIRE(descriptor >= 0);
  const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(::dup2(read_only, descriptor) == descriptor);
  ::close(read_only);
  BOOST_TEST(static_cast<bool>(file.write("lost\n")));
  fs::remove(file.path());
  BOOST_TEST(!file.write("after\n"));
  BOOST_TEST(read_file(file.path()) == "after\n");
  BOOST_TEST(mode_of(file.path()) == 0640u);
}

BOOST_AUTO_TEST_CASE(throws_naming_the_path_when_the_directory_cannot_be_created) {
  TempDir temp;
  std::ofstream(temp.path / "not_a_directory") << "x";
  const fs::path directory = temp.path / "not_a_directory" / "logs";
  try {
    SessionFile file(directory, kStartNs, 0);
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    BOOST_TEST_MESSAGE(message);
    BOOST_TEST(message.find(directory.string()) != std::string::npos);
    BOOST_TEST(message.find("Not a directory") != std::string::npos);
    BOOST_TEST(message.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(throws_naming_the_path_when_the_file_cannot_be_created) {
  // /proc is a directory in which no file can be created, even by root (ENOENT).
  try {
    SessionFile file("/proc", kStartNs, 0);
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    BOOST_TEST_MESSAGE(message);
    BOOST_TEST(message.find("/proc/cantina-session-20261126-174500.log") != std::string::npos);
    BOOST_TEST(message.find("No such file or directory") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
