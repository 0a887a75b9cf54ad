// Many services at once, as the droid runs them: a real cantina-busd and
// cantina-logd, 50 Loggers (each its own socket and thread), the session file read
// back and the node's receive thread's wake-ups read from /proc.
#define BOOST_TEST_MODULE many_services
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "cantina/bus/logger.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// Voluntary context switches (times it went to sleep) of `pid`'s thread `name`; -1 if none.
long long thread_wakeups(pid_t pid, const std::string& name) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream comm(task.path() / "comm");
    std::string found;
    if (!std::getline(comm, found) || found != name) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:")) return std::stoll(line.substr(24));
    }
  }
  return -1;
}

struct Services {
  Services(zmq::context_t& context, const Bus& bus, int count) {
    for (int s = 0; s < count; ++s) {
      bus::LoggerOptions options;
      options.service = "service_" + std::to_string(s);
      options.publish_endpoint = bus.publish_endpoint;
      options.hold_until_subscribed = 10s;
      loggers.push_back(std::make_unique<bus::Logger>(context, options));
    }
  }
  std::vector<std::unique_ptr<bus::Logger>> loggers;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(many_services)

// 50 services at 20 records/s each (1,000/s in all) while no one watches: every
// record is written exactly once, and the node's receive thread wakes about as often
// as for one service (their Loggers send on a shared grid and the node gathers what
// arrives together), not once per service's message (about 250 a second).
BOOST_AUTO_TEST_CASE(fifty_services_land_exactly_once_and_wake_the_node_as_one_does) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  constexpr int kServices = 50;
  constexpr int kRounds = 80;  // 4 s at 20 rounds a second
  Services services(context, bus, kServices);
  for (auto& log : services.loggers) log->info("ready");
  for (auto& log : services.loggers) BOOST_REQUIRE(log->flush(10s));

  long long wakeups_before = 0;
  auto measured_from = std::chrono::steady_clock::now();
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < kRounds; ++round) {
    if (round == 20) {  // after a second of ramp
      wakeups_before = thread_wakeups(node.process->pid(), "logd-receive");
      measured_from = std::chrono::steady_clock::now();
    }
    // Each service logs at its own moment within the round, as independent services do.
    for (int s = 0; s < kServices; ++s) {
      std::this_thread::sleep_until(start + round * 50ms + s * 1ms);
      services.loggers[static_cast<std::size_t>(s)]->info("service {} record {}", s, round);
    }
  }
  std::this_thread::sleep_until(start + kRounds * 50ms);
  const long long wakeups = thread_wakeups(node.process->pid(), "logd-receive") - wakeups_before;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_from).count();
  BOOST_REQUIRE(wakeups_before > 0);
  const double per_second = static_cast<double>(wakeups) / seconds;
  BOOST_TEST_MESSAGE("logd-receive: " << per_second << " wake-ups a second");
  BOOST_TEST(per_second < 40.0);  // one per message: about 250

  for (auto& log : services.loggers) BOOST_REQUIRE(log->flush(10s));
  for (auto& log : services.loggers) BOOST_TEST(log->counters().dropped == 0u);
  services.loggers.clear();
  // The node has taken every record (ready lines included) before it is stopped: a
  // flushed Logger has handed its records to the bus, not yet to the node.
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.received >= kServices * (kRounds + 1); }, 30s)
                 .has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  std::map<std::pair<int, int>, int> seen;  // (service, record) -> lines
  for (const auto& line : read_lines(node.session_file())) {
    const auto at = line.find(" service ");
    if (at == std::string::npos || line.find(" record ") == std::string::npos) continue;
    int s = -1, round = -1;
    BOOST_REQUIRE(std::sscanf(line.c_str() + at, " service %d record %d", &s, &round) == 2);
    ++seen[{s, round}];
  }
  BOOST_TEST(seen.size() == std::size_t{kServices * kRounds});
  BOOST_TEST(std::all_of(seen.begin(), seen.end(), [](const auto& entry) { return entry.second == 1; }));
  BOOST_TEST(count_containing(read_lines(node.session_file()), "lost ") == 0u);
}

// While the node gathers its wake-ups (no one watches, other services trickle),
// ERROR records are not held back, neither by their Logger nor by the node nor by
// its writer: a burst of them is in the session file within a few milliseconds,
// well before the Logger's linger (1000 ms) or the writer's (100 ms) would send it.
BOOST_AUTO_TEST_CASE(a_burst_of_errors_is_written_at_once_while_the_node_gathers) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  Services services(context, bus, 21);
  for (auto& log : services.loggers) log->info("ready");
  for (auto& log : services.loggers) BOOST_REQUIRE(log->flush(10s));
  std::unique_ptr<bus::Logger> alarm = std::move(services.loggers.back());
  services.loggers.pop_back();  // the other 20 trickle in a thread
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int round = 0; !stop; ++round) {
      for (auto& log : services.loggers) log->info("trickle {}", round);
      std::this_thread::sleep_for(20ms);
    }
  });
  std::vector<double> latencies_ms;
  for (int burst = 0; burst < 7; ++burst) {
    std::this_thread::sleep_for(137ms);  // off any grid
    const std::string marker = "burst " + std::to_string(burst) + " ";
    const auto sent = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) alarm->error("burst {} error {}", burst, i);
    for (;;) {
      if (count_containing(read_lines(node.session_file()), marker) == 20u) break;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() - sent < 5s, "burst " << burst << " not written");
      std::this_thread::sleep_for(1ms);
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
  }
  stop = true;
  trickle.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  BOOST_TEST_MESSAGE("ERROR burst -> session file: median " << latencies_ms[latencies_ms.size() / 2] << " ms, max "
                                                            << latencies_ms.back() << " ms");
  BOOST_TEST(latencies_ms[latencies_ms.size() / 2] < 60.0);
  // The services exit first, as under the supervisor: a Logger that has lost its
  // subscriber waits up to its shutdown_timeout for one to come back.
  alarm.reset();
  services.loggers.clear();
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
