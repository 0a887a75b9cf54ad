// Start-up order (issue 7): ZeroMQ's slow-joiner problem and a logging node
// that is not up yet. A service logs in its first millisecond with `cantina-cli
// log --pipe` (a real Logger in a fresh process); the records must reach the
// session file, or be counted when the Logger's hold ([bus] logger_hold_ms) or
// queue ([bus] logger_queue) runs out.
#define BOOST_TEST_MODULE startup
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <set>
#include <thread>

#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;

namespace {

// Writes `count` lines "startup record N" and a config with the Bus's endpoints
// plus `bus_extra` [bus] lines; returns a `cantina-cli log --pipe` reading them.
std::unique_ptr<Process> early_service(const TempDir& dir, const Bus& bus, int count, const std::string& bus_extra) {
  std::string lines;
  for (int n = 1; n <= count; ++n) lines += "startup record " + std::to_string(n) + "\n";
  write_file(dir.path() / "records", lines);
  write_file(dir.path() / "service.toml", bus_section(bus) + bus_extra);
  return std::make_unique<Process>(
      std::vector<std::string>{bin("cantina-cli"), "log", "--config", (dir.path() / "service.toml").string(),
                               "--service", "early_bird", "--pipe"},
      dir.path() / "service.out", dir.path() / "records");
}

// The record numbers in the session file, in file order.
std::vector<int> numbers_written(const LogNode& node) {
  std::vector<int> numbers;
  for (const auto& line : read_lines(node.session_file())) {
    const auto at = line.find("startup record ");
    if (at != std::string::npos) numbers.push_back(std::stoi(line.substr(at + 15)));
  }
  return numbers;
}

std::vector<int> one_to(int count) {
  std::vector<int> numbers;
  for (int n = 1; n <= count; ++n) numbers.push_back(n);
  return numbers;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(startup)

BOOST_AUTO_TEST_CASE(records_logged_in_the_first_millisecond_all_arrive) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  auto service = early_service(dir, bus, 1000, "");
  BOOST_TEST(service->wait(60s) == 0, service->output());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(numbers_written(node) == one_to(1000));
}

BOOST_AUTO_TEST_CASE(records_wait_for_a_logging_node_that_starts_later) {
  TempDir dir;
  Bus bus(dir.path());
  auto service = early_service(dir, bus, 500, "logger_hold_ms = 20000\n");
  std::this_thread::sleep_for(1500ms);  // the service has logged everything; nobody subscribes yet
  BOOST_TEST(service->running(), "the Logger should still be holding its records: " << service->output());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  BOOST_TEST(service->wait(60s) == 0, service->output());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(numbers_written(node) == one_to(500));
}

BOOST_AUTO_TEST_CASE(the_hold_is_bounded_in_records_and_what_does_not_fit_is_counted) {
  TempDir dir;
  Bus bus(dir.path());
  // 300 records, room for 100 while waiting: 200 are dropped and counted.
  auto service = early_service(dir, bus, 300, "logger_hold_ms = 20000\nlogger_queue = 100\n");
  std::this_thread::sleep_for(1500ms);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  BOOST_TEST(service->wait(60s) == 1);
  BOOST_TEST(service->output().find("200 of 300 records were not taken by the bus") != std::string::npos,
             service->output());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(numbers_written(node) == one_to(100));
}

BOOST_AUTO_TEST_CASE(the_hold_is_bounded_in_time_and_what_times_out_is_counted) {
  TempDir dir;
  Bus bus(dir.path());
  auto service = early_service(dir, bus, 50, "logger_hold_ms = 300\n");
  // No logging node at all: after 300 ms the Logger gives up waiting; ZeroMQ
  // has no subscriber, so every record is counted as not taken.
  BOOST_TEST(service->wait(30s) == 1);
  BOOST_TEST(service->output().find("50 of 50 records were not taken by the bus") != std::string::npos,
             service->output());
}

BOOST_AUTO_TEST_SUITE_END()
