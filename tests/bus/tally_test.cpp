// The sequence tally of tally.h: what a Logger leaves behind, and what a reader
// accepts of a directory any local process may have written into.
#define BOOST_TEST_MODULE tally
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "cantina/bus/tally.h"

using namespace cantina::bus;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/cantina-tally-test.XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The tally a child process leaves when it dies without removing it.
fs::path tally_of_a_dead_process(const fs::path& directory, const std::string& service, std::uint64_t publisher,
                                 std::uint64_t last, pid_t& pid) {
  const pid_t child = fork();
  if (child == 0) {
    PublisherTally tally(directory, service, publisher);
    tally.note(last);
    _exit(tally.active() ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  pid = child;
  return directory / "0000000000000abc.tally";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_directory_belongs_to_the_bus_s_endpoint) {
  setenv("CANTINA_TALLY_DIR", "/somewhere", 1);
  BOOST_TEST(tally_directory("tcp://127.0.0.1:5555") == fs::path("/somewhere/tcp-5555"));
  BOOST_TEST(tally_directory("tcp://*:5555") == fs::path("/somewhere/tcp-5555"));
  BOOST_TEST(tally_directory("tcp://[::1]:6000") == fs::path("/somewhere/tcp-6000"));
  BOOST_TEST(tally_directory("tcp://127.0.0.1:*").empty());  // not bound yet: no port to name it by
  BOOST_TEST(tally_directory("inproc://x").empty());
  BOOST_TEST(tally_directory("ipc:///run/a") != tally_directory("ipc:///run/b"));
  setenv("CANTINA_TALLY_DIR", "off", 1);
  BOOST_TEST(tally_directory("tcp://127.0.0.1:5555").empty());
  unsetenv("CANTINA_TALLY_DIR");
  BOOST_TEST(tally_directory("tcp://127.0.0.1:5555").string().ends_with("-" + std::to_string(geteuid()) + "/tcp-5555"));
}

BOOST_AUTO_TEST_CASE(a_live_tally_is_left_alone_and_an_ended_one_is_read) {
  TempDir dir;
  const fs::path bus = dir.path / "tcp-1";
  {
    PublisherTally mine(bus, "alive_service", 0x1234);
    BOOST_REQUIRE(mine.active());
    BOOST_TEST(mine.error().empty());
    mine.note(41);
    BOOST_TEST(((fs::status(bus).permissions() & fs::perms::all) == fs::perms::owner_all));
    const std::string bytes = read_file(bus / "0000000000001234.tally");
    BOOST_REQUIRE(bytes.size() == kTallyBytes);
    std::uint64_t last = 0;
    std::memcpy(&last, bytes.data() + 40, sizeof last);
    BOOST_TEST(last == 41u);  // the file follows note() at once: it is the process's memory

    pid_t pid = 0;
    const fs::path dead = tally_of_a_dead_process(bus, "dead_service", 0xabc, 77, pid);
    const TallyScan scan = scan_tallies(bus, 100);
    BOOST_TEST(scan.live == 1u);  // this process's
    BOOST_TEST(scan.invalid == 0u);
    BOOST_REQUIRE(scan.ended.size() == 1u);
    BOOST_TEST(scan.ended[0].service == "dead_service");
    BOOST_TEST(scan.ended[0].publisher_id == 0xabcu);
    BOOST_TEST(scan.ended[0].last_sequence == 77u);
    BOOST_TEST(scan.ended[0].pid == pid);
    BOOST_TEST(scan.ended[0].path == dead);
    mine.remove();
  }
  BOOST_TEST(!fs::exists(bus / "0000000000001234.tally"));  // delivered: gone
}

BOOST_AUTO_TEST_CASE(a_tally_not_removed_stays_for_its_reader) {
  TempDir dir;
  { PublisherTally tally(dir.path / "tcp-2", "svc", 7); }
  BOOST_TEST(fs::exists(dir.path / "tcp-2" / "0000000000000007.tally"));
}

BOOST_AUTO_TEST_CASE(a_child_after_fork_does_not_remove_its_parent_s_tally) {
  TempDir dir;
  PublisherTally tally(dir.path / "tcp-3", "svc", 8);
  const pid_t child = fork();
  if (child == 0) {
    tally.remove();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  BOOST_TEST(fs::exists(dir.path / "tcp-3" / "0000000000000008.tally"));
}

BOOST_AUTO_TEST_CASE(a_directory_others_may_write_is_refused) {
  TempDir dir;
  const fs::path bus = dir.path / "tcp-4";
  fs::create_directory(bus);
  chmod(bus.c_str(), 0777);
  PublisherTally tally(bus, "svc", 9);
  BOOST_TEST(!tally.active());
  BOOST_TEST(tally.error().find("may be written by other users") != std::string::npos);
  tally.note(5);  // does nothing, and does not crash
  fs::remove(bus);
  fs::create_symlink(dir.path, bus);
  PublisherTally through_link(bus, "svc", 9);
  BOOST_TEST(!through_link.active());
  BOOST_TEST(through_link.error().find("is not a directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(planted_files_are_skipped_and_never_block_the_reader) {
  TempDir dir;
  const fs::path bus = dir.path / "tcp-5";
  pid_t pid = 0;
  tally_of_a_dead_process(bus, "dead_service", 0xabc, 3, pid);
  const std::string good = read_file(bus / "0000000000000abc.tally");
  // A FIFO under a tally's name (opening it for reading would wait for a writer).
  BOOST_REQUIRE(mkfifo((bus / "0000000000000001.tally").c_str(), 0600) == 0);
  // A symlink to a valid tally.
  fs::create_symlink(bus / "0000000000000abc.tally", bus / "0000000000000002.tally");
  // Wrong sizes, a wrong magic, a name that is not its publisher's.
  write_file(bus / "0000000000000003.tally", good + "x");
  write_file(bus / "0000000000000004.tally", good.substr(0, 100));
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  write_file(bus / "0000000000000005.tally", bad_magic);
  write_file(bus / "0000000000000006.tally", good);
  // A service id that is no service id, and one longer than the file holds.
  std::string bad_service = good;
  bad_service[48] = '/';
  write_file(bus / "0000000000000abd.tally", bad_service);
  std::string long_service = good;
  const std::uint32_t length = 5000;
  std::memcpy(long_service.data() + 28, &length, sizeof length);
  write_file(bus / "0000000000000abe.tally", long_service);
  fs::create_directory(bus / "0000000000000007.tally");
  write_file(bus / "notes.txt", "hello");
  const auto started = std::chrono::steady_clock::now();
  const TallyScan scan = scan_tallies(bus, 100);
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(5)));
  BOOST_REQUIRE(scan.ended.size() == 1u);
  BOOST_TEST(scan.ended[0].service == "dead_service");
  BOOST_TEST(scan.invalid == 10u);
}

BOOST_AUTO_TEST_CASE(a_sweep_reads_a_bounded_number_of_entries) {
  TempDir dir;
  const fs::path bus = dir.path / "tcp-6";
  fs::create_directories(bus);
  for (int i = 0; i < 50; ++i) write_file(bus / ("junk" + std::to_string(i)), "x");
  const TallyScan scan = scan_tallies(bus, 20);
  BOOST_TEST(scan.invalid == 20u);
  BOOST_TEST(scan.unread == 30u);
}

BOOST_AUTO_TEST_CASE(a_reused_pid_is_not_taken_for_the_publisher) {
  TempDir dir;
  const fs::path bus = dir.path / "tcp-7";
  pid_t pid = 0;
  const fs::path path = tally_of_a_dead_process(bus, "dead_service", 0xabc, 3, pid);
  // The same tally claiming this (live) process's pid, with another start time.
  std::string bytes = read_file(path);
  const std::int32_t mine = getpid();
  std::memcpy(bytes.data() + 24, &mine, sizeof mine);
  std::uint64_t start = 0;
  bool zombie = false;
  BOOST_REQUIRE(process_start_time(mine, start, zombie));
  BOOST_TEST(!zombie);
  const std::uint64_t other = start + 1;
  std::memcpy(bytes.data() + 32, &other, sizeof other);
  write_file(path, bytes);
  BOOST_TEST(scan_tallies(bus, 100).ended.size() == 1u);
  std::memcpy(bytes.data() + 32, &start, sizeof start);  // now it is this process's: live
  write_file(path, bytes);
  BOOST_TEST(scan_tallies(bus, 100).ended.size() == 0u);
  BOOST_TEST(scan_tallies(bus, 100).live == 1u);
}
