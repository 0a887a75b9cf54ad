#define BOOST_TEST_MODULE session_writer
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "cantina/bus/clock.h"
#include "session_writer.h"

using namespace cantina::logging;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = "/tmp/session-writer-XXXXXX";
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

LogEntry entry(const std::string& message, Level level = Level::info) {
  LogEntry e;
  e.timestamp_ns = cantina::bus::now_ns();
  e.level = level;
  e.service = "Music Controller";
  e.service_id = "music_controller";
  e.message = message;
  return e;
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// A writer running on its own thread, as in the node.
struct Running {
  Running(SessionFile& file, std::size_t batch, std::chrono::seconds interval)
      : queue(100000),
        writer(file, queue, counters, WriterOptions{batch, interval}),
        thread([this] { writer.run(); }) {}
  ~Running() {
    if (thread.joinable()) stop();
  }
  void push(LogEntry e) {
    const bool pushed = queue.try_push(WriterItem{EntryHold(std::make_unique<LogEntry>(std::move(e))), false});
    BOOST_REQUIRE(pushed);
  }
  void stop() {
    queue.push_unbounded(WriterItem{{}, true});
    thread.join();
  }
  bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  NodeCounters counters;
  WriterQueue queue;
  SessionWriter writer;
  std::thread thread;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(session_writer)

BOOST_AUTO_TEST_CASE(writes_every_entry_once_in_order_and_drains_at_stop) {
  TempDir dir;
  SessionFile file(dir.path, cantina::bus::now_ns(), 0);
  {
    Running writer(file, 7, 3600s);
    for (int i = 0; i < 1000; ++i) writer.push(entry("entry " + std::to_string(i)));
    writer.stop();
    BOOST_TEST(writer.counters.written.load() == 1000u);
    BOOST_TEST(writer.counters.bytes_written.load() == std::filesystem::file_size(file.path()));
  }
  const auto lines = lines_of(file.path());
  BOOST_REQUIRE_EQUAL(lines.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    BOOST_TEST(lines[static_cast<std::size_t>(i)].ends_with(" entry " + std::to_string(i)));
}

BOOST_AUTO_TEST_CASE(syncs_at_once_after_an_error_but_not_for_info_lines) {
  TempDir dir;
  SessionFile file(dir.path, cantina::bus::now_ns(), 0);
  Running writer(file, 100, 3600s);
  writer.push(entry("just info"));
  BOOST_REQUIRE(writer.wait_until([&] { return writer.counters.written.load() == 1; }));
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(file.syncs() == 0u);  // the interval is an hour away
  writer.push(entry("disk on fire", Level::error));
  BOOST_TEST(writer.wait_until([&] { return file.syncs() == 1; }));
  writer.stop();
}

BOOST_AUTO_TEST_CASE(syncs_within_the_flush_interval_when_idle) {
  TempDir dir;
  SessionFile file(dir.path, cantina::bus::now_ns(), 0);
  Running writer(file, 100, 1s);
  writer.push(entry("info that must reach the disk"));
  BOOST_TEST(writer.wait_until([&] { return file.syncs() >= 1; }, 2500ms));
  writer.stop();
}

BOOST_AUTO_TEST_CASE(counts_lines_it_cannot_store_and_reports_them_when_writing_works_again) {
  TempDir dir;
  SessionFile file(dir.path, cantina::bus::now_ns(), 0);
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  getrlimit(RLIMIT_FSIZE, &old_limit);
  Running writer(file, 100, 3600s);
  writer.push(entry("stored before"));
  BOOST_REQUIRE(writer.wait_until([&] { return writer.counters.written.load() == 1; }));
  // The file may not grow any more: the next writes fail with EFBIG.
  rlimit tiny{std::filesystem::file_size(file.path()), old_limit.rlim_max};
  BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &tiny) == 0);
  writer.push(entry("lost one"));
  writer.push(entry("lost two"));
  BOOST_REQUIRE(writer.wait_until([&] { return writer.counters.unwritten.load() == 2; }));
  BOOST_TEST(writer.writer.health().failing);
  BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  writer.push(entry("stored after"));
  BOOST_REQUIRE(writer.wait_until([&] { return !writer.writer.health().failing; }));
  // The failure stays visible to a reader that looks only now (the node's
  // once-a-second status): counted, with its error.
  const auto health = writer.writer.health();
  BOOST_TEST(health.failures >= 1u);
  BOOST_TEST(health.error.find("File too large") != std::string::npos, health.error);
  writer.stop();
  const auto lines = lines_of(file.path());
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  BOOST_TEST(lines[0].ends_with("stored before"));
  BOOST_TEST(lines[1].find("WARNING  Logging Service      2 lines could not be stored") != std::string::npos, lines[1]);
  BOOST_TEST(lines[2].ends_with("stored after"));
  BOOST_TEST(writer.counters.written.load() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
