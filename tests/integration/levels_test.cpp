// Per-service levels end to end and the logging node's own lines: real
// cantina-busd, cantina-logd and cantina-cli, records from a Logger or a raw
// socket, session files and history read back as a user would.
#define BOOST_TEST_MODULE levels
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <regex>
#include <thread>

#include "cantina/bus/clock.h"
#include "cantina/bus/config.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// A bus, a logging node (with `extra` [logging] lines) watched through its
// stats, and a raw publisher on the bus: what every case here starts from.
struct NodeOnBus {
  explicit NodeOnBus(const std::string& extra = "") : node(dir.path(), bus, extra) {}
  TempDir dir;
  Bus bus{dir.path()};
  LogNode node;
  StatsWatcher stats{bus.subscribe_endpoint};
  zmq::context_t context;
  RawPublisher publisher{context, bus.publish_endpoint};
};

// No deduplication window closes on time; the file is flushed each second.
struct NodeWithLongWindows : NodeOnBus {
  NodeWithLongWindows() : NodeOnBus("deduplication_window = 600\nfile_flush_interval = 1\n") {}
};

// Runs cantina-cli with `args` (after the command, before --config) to its end.
struct Cli {
  Cli(const TempDir& dir, const LogNode& node, const std::string& name, std::vector<std::string> args)
      : process(([&] {
                  std::vector<std::string> argv{bin("cantina-cli")};
                  argv.insert(argv.end(), args.begin(), args.end());
                  argv.insert(argv.end(), {"--config", node.config.string()});
                  return argv;
                })(),
                dir.path() / (name + ".out")) {
    status = process.wait(20s);
  }
  Process process;
  int status = -1;
};

// Lines of the node's history (`tail -n 200 --no-follow`, and `filter`).
std::string history(const TempDir& dir, const LogNode& node, const std::vector<std::string>& filter = {}) {
  std::vector<std::string> args{"tail", "-n", "200", "--no-follow"};
  args.insert(args.end(), filter.begin(), filter.end());
  Cli tail(dir, node, "tail", args);
  BOOST_TEST(tail.status == 0, tail.process.output());
  return tail.process.output();
}

std::size_t count_in(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(levels)

// `level demo DEBUG` sets demo's Logger and the node's threshold for demo: its
// DEBUG records reach the file and the history, another service's do not (and are
// counted); the node names who asked in a WARNING line; `level` shows the table.
BOOST_FIXTURE_TEST_CASE(a_level_for_one_service_brings_its_debug_records_into_file_and_history, NodeOnBus) {
  bus::LoggerOptions options;
  options.service = "demo";
  options.publish_endpoint = bus.publish_endpoint;
  options.subscribe_endpoint = bus.subscribe_endpoint;  // takes level requests
  options.hold_until_subscribed = 10s;
  bus::Logger demo(context, options);

  demo.debug("demo debug before");
  BOOST_TEST(demo.flush(10s));
  Cli level(dir, node, "level", {"level", "demo", "DEBUG"});
  BOOST_TEST(level.status == 0, level.process.output());
  BOOST_TEST(level.process.output() == "demo: log level INFO -> DEBUG (pid " + std::to_string(getpid()) +
                                           ")\nlogging node: writes demo's records from DEBUG (was INFO)\n");
  demo.debug("demo debug after");
  BOOST_TEST(demo.flush(10s));
  publisher.send_record(make_record("other", 5, 1, "other debug", bus::Level::debug));
  BOOST_TEST(
      stats.wait_until([](const bus::LoggingStats& s) { return s.filtered >= 1 && s.received >= 3; }, 20s).has_value());

  // The thresholds, as the node publishes them.
  Cli own(dir, node, "level-own", {"level", "logging", "WARNING"});
  BOOST_TEST(own.status == 0, own.process.output());
  BOOST_TEST(own.process.output() ==
             "logging_service: log level INFO -> WARNING (pid " + std::to_string(node.process->pid()) + ")\n");
  BOOST_TEST(
      stats.wait_until([](const bus::LoggingStats& s) { return s.log_level == bus::Level::warning; }, 10s).has_value());
  Cli table(dir, node, "level-table", {"level"});
  BOOST_TEST(table.status == 0, table.process.output());
  BOOST_TEST(table.process.output() ==
             "the logging node writes records from WARNING (its own level), and of these services from:\n"
             "  demo  DEBUG\n");
  Cli one(dir, node, "level-one", {"level", "demo"});
  BOOST_TEST(one.process.output() == "demo: the logging node writes its records from DEBUG (set for demo)\n");
  Cli other(dir, node, "level-other", {"level", "other"});
  BOOST_TEST(other.process.output() == "other: the logging node writes its records from WARNING (its own level)\n");

  const std::string past = history(dir, node);
  BOOST_TEST(count_in(past, "demo debug after") == 1u, past);
  BOOST_TEST(count_in(past, "demo debug before") == 0u, past);
  BOOST_TEST(count_in(past, "other debug") == 0u, past);

  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  const std::string by =
      "by cantina-cli level (pid " + std::to_string(level.process.pid()) + " on host " + bus::host_name() + ")";
  BOOST_TEST(count_containing(lines, "DEBUG    Demo                 demo debug after") == 1u);
  BOOST_TEST(count_containing(lines, "demo debug before") == 0u);
  BOOST_TEST(count_containing(lines, "other debug") == 0u);
  BOOST_TEST(count_containing(
                 lines, "WARNING  Logging Service      log level for demo changed from INFO to DEBUG " + by) == 1u);
  BOOST_TEST(count_containing(lines, "INFO     Demo                 log level changed from INFO to DEBUG " + by) == 1u);
  BOOST_TEST(count_containing(lines,
                              "WARNING  Logging Service      log level changed from INFO to WARNING by "
                              "cantina-cli level (pid " +
                                  std::to_string(own.process.pid())) == 1u);
  BOOST_TEST(count_containing(lines,
                              "INFO     Logging Service      filtered 1 DEBUG records from other below level "
                              "INFO in the last minute") == 1u);
}

// A process that sets the node to CRITICAL without naming itself is still named
// as far as it can be, and the ERROR records it hides are counted in a WARNING.
BOOST_FIXTURE_TEST_CASE(silencing_the_node_is_never_silent, NodeOnBus) {
  bus::SetLogLevel silence;
  silence.service = std::string(bus::topics::kLoggingServiceId);
  silence.level = bus::Level::critical;
  silence.request_id = 0xabc;
  publisher.send(bus::topics::set_log_level_topic(bus::topics::kLoggingServiceId), bus::encode(silence));
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.log_level == bus::Level::critical; }, 10s)
                 .has_value());
  for (std::uint64_t i = 1; i <= 3; ++i) {
    publisher.send_record(make_record("victim", 7, i, "victim error " + std::to_string(i), bus::Level::error));
  }
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.filtered >= 3; }, 10s).has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines,
                              "WARNING  Logging Service      log level changed from INFO to CRITICAL by an "
                              "unnamed requester (request 0000000000000abc)") == 1u);
  BOOST_TEST(count_containing(lines,
                              "WARNING  Logging Service      filtered 3 ERROR records from victim below level "
                              "CRITICAL in the last minute") == 1u);
  BOOST_TEST(count_containing(lines, "victim error") == 0u);
}

// Counts of filtered records: the first at once, then at most one line a minute
// per service, summed; what is pending is written at shutdown.
BOOST_FIXTURE_TEST_CASE(filtered_records_are_reported_at_most_once_a_minute_and_summed, NodeOnBus) {
  std::uint64_t sequence = 0;
  auto chatter = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ++sequence;
      publisher.send_record(make_record("chatty", 9, sequence, "chat " + std::to_string(sequence), bus::Level::debug));
    }
  };
  chatter(3);
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.filtered >= 3; }, 10s).has_value());
  std::this_thread::sleep_for(1500ms);  // a tick or more: the first count is written
  chatter(4);
  publisher.send_record(make_record("chatty", 9, ++sequence, "chat info", bus::Level::info));
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.received >= 8; }, 10s).has_value());
  std::this_thread::sleep_for(2500ms);  // ticks: the second count must wait for its minute
  const std::string past = history(dir, node);
  BOOST_TEST(count_in(past, "records from chatty below level INFO") == 1u, past);
  BOOST_TEST(count_in(past, "filtered 3 DEBUG records from chatty below level INFO in the last minute") == 1u, past);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "records from chatty below level INFO") == 2u);
  BOOST_TEST(count_containing(lines, "filtered 4 DEBUG records from chatty below level INFO in the last minute") == 1u);
  BOOST_TEST(count_containing(lines, "chat info") == 1u);
}

// The node keeps levels for at most 256 services: the rest are refused, each in a
// WARNING line, and the table it publishes stays within the bound.
BOOST_FIXTURE_TEST_CASE(the_per_service_table_is_bounded, NodeOnBus) {
  constexpr int kServices = 300;
  for (int i = 0; i < kServices; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "svc%03d", i);
    bus::SetLogLevel request;
    request.service = name;
    request.level = bus::Level::debug;
    request.request_id = static_cast<std::uint64_t>(i) + 1;
    request.tool = "flood";
    publisher.send(bus::topics::set_log_level_topic(name), bus::encode(request));
  }
  publisher.send_record(make_record("svc299", 3, 1, "svc299 debug", bus::Level::debug));
  publisher.send_record(make_record("svc000", 3, 1, "svc000 debug", bus::Level::debug));
  auto seen = stats.wait_until([](const bus::LoggingStats& s) { return s.received >= 2; }, 20s);
  BOOST_REQUIRE(seen.has_value());
  BOOST_TEST(seen->service_levels.size() == 256u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "log level for svc") == 256u);
  BOOST_TEST(count_containing(lines, "refused log level DEBUG for svc") == static_cast<std::size_t>(kServices - 256));
  BOOST_TEST(count_containing(lines,
                              "refused log level DEBUG for svc299 requested by flood (request "
                              "000000000000012c): levels are kept for at most 256 services") == 1u);
  BOOST_TEST(count_containing(lines, "svc000 debug") == 1u);
  BOOST_TEST(count_containing(lines, "svc299 debug") == 0u);
}

// The node's informational "closed N deduplication windows early" is summed, at
// most one line a minute (a flood once wrote one a second).
BOOST_FIXTURE_TEST_CASE(closing_dedup_windows_early_is_reported_at_most_once_a_minute, NodeWithLongWindows) {
  std::uint64_t sequence = 0;
  auto flood = [&](int count) {  // distinct messages, in batches of 500
    for (int sent = 0; sent < count;) {
      bus::LogRecordBatch batch;
      batch.publisher_id = 11;
      for (int i = 0; i < 500 && sent < count; ++i, ++sent) {
        ++sequence;
        batch.records.push_back(make_record("flood", 11, sequence, "distinct " + std::to_string(sequence)));
      }
      batch.last_sequence = sequence;
      publisher.send_batch("flood", batch);
    }
  };
  flood(10500);
  BOOST_TEST(stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= sequence; }, 30s).has_value());
  std::this_thread::sleep_for(1500ms);
  for (int round = 0; round < 3; ++round) {
    flood(3000);
    BOOST_TEST(stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= sequence; }, 30s).has_value());
    std::this_thread::sleep_for(1200ms);
  }
  std::this_thread::sleep_for(1500ms);  // flushed (the flood pushed the line out of the history)
  BOOST_TEST(count_containing(read_lines(node.session_file()), "deduplication windows early") == 1u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  std::uint64_t closed = 0;
  std::size_t reports = 0;
  const std::regex report(
      R"(INFO     Logging Service      closed (\d+) deduplication windows early in the last minute)");
  for (const auto& line : lines) {
    std::smatch match;
    if (std::regex_search(line, match, report)) {
      closed += std::stoull(match[1]);
      ++reports;
    }
  }
  BOOST_TEST(reports == 2u);
  BOOST_TEST(closed == sequence - 10000);  // every distinct message beyond the 10,000 kept
  BOOST_TEST(count_containing(lines, "Flood                distinct ") == sequence);
}

BOOST_AUTO_TEST_SUITE_END()
