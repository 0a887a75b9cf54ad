// cantina-logd as a user runs it: real cantina-busd, real cantina-logd, records
// from separate processes or hand-made on a raw socket, session files read back.
#define BOOST_TEST_MODULE logging_node
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <string_view>
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

bool well_formed(const std::string& line) {
  static const std::regex format(
      R"(^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] (DEBUG   |INFO    |WARNING |ERROR   |CRITICAL) .{20} .*$)");
  return std::regex_match(line, format);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logging_node)

BOOST_AUTO_TEST_CASE(records_from_four_publishers_land_exactly_once_in_order) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 25'000;
  std::vector<std::unique_ptr<Process>> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    std::string text;
    for (int i = 0; i < kPerPublisher; ++i) text += "pub" + std::to_string(p) + " record " + std::to_string(i) + "\n";
    const auto input = dir.path() / ("input" + std::to_string(p));
    write_file(input, text);
    publishers.push_back(
        std::make_unique<Process>(std::vector<std::string>{bin("cantina-cli"), "log", "--config", node.config.string(),
                                                           "--service", "publisher_" + std::to_string(p), "--pipe"},
                                  dir.path() / ("pub" + std::to_string(p) + ".out"), input));
  }
  for (auto& publisher : publishers) BOOST_TEST(publisher->wait(120s) == 0, publisher->output());
  // The publishers are done once the bus has their records; the node may still be
  // working through them: stop it once its stats account for all of them.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto seen = stats.latest();
    if (seen && seen->received + seen->lost >= std::uint64_t{kPublishers * kPerPublisher}) break;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the node did not take every record");
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  std::map<int, int> next;  // publisher -> next expected record number
  std::size_t records = 0;
  for (const auto& line : read_lines(node.session_file())) {
    auto at = line.find(" pub");
    if (at == std::string::npos || line.find("Publisher ") == std::string::npos) continue;
    int p = 0, i = 0;
    BOOST_REQUIRE(std::sscanf(line.c_str() + at, " pub%d record %d", &p, &i) == 2);
    BOOST_REQUIRE_MESSAGE(i == next[p], "publisher " << p << ": expected record " << next[p] << ", found " << i);
    ++next[p];
    ++records;
  }
  BOOST_TEST(records == std::size_t{kPublishers * kPerPublisher});
  for (int p = 0; p < kPublishers; ++p) BOOST_TEST(next[p] == kPerPublisher);
}

BOOST_AUTO_TEST_CASE(a_restart_opens_a_new_session_file) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  node.start();
  BOOST_TEST(node.process->stop(SIGINT) == 0);
  const auto files = node.session_files();
  BOOST_REQUIRE_EQUAL(files.size(), 2u);
  BOOST_TEST(files[0] != files[1]);
  for (const auto& file : files) {
    const auto lines = read_lines(file);
    BOOST_TEST(count_containing(lines, "Logging Service      session ") == 2u);  // started + stopping
  }
}

BOOST_AUTO_TEST_CASE(sigterm_under_load_loses_nothing_accepted) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\nfile_flush_interval = 60\n");
  std::vector<std::unique_ptr<Process>> publishers;
  for (int p = 0; p < 2; ++p) {
    std::string text;
    for (int i = 0; i < 150'000; ++i) text += "load " + std::to_string(p) + " " + std::to_string(i) + "\n";
    const auto input = dir.path() / ("input" + std::to_string(p));
    write_file(input, text);
    publishers.push_back(
        std::make_unique<Process>(std::vector<std::string>{bin("cantina-cli"), "log", "--config", node.config.string(),
                                                           "--service", "load_" + std::to_string(p), "--pipe"},
                                  dir.path() / ("pub" + std::to_string(p) + ".out"), input));
  }
  std::this_thread::sleep_for(700ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  for (auto& publisher : publishers) publisher->wait(60s);
  std::this_thread::sleep_for(300ms);

  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) BOOST_TEST_REQUIRE(well_formed(line), line);
  const std::size_t record_lines = count_containing(lines, "Load ");
  auto final_stats = stats.latest();
  BOOST_REQUIRE(final_stats);
  BOOST_TEST(final_stats->received > 0u);
  // Every record the node took in was written, filtered, deduplicated or
  // dropped with a count: here nothing is filtered or deduplicated.
  BOOST_TEST(record_lines + final_stats->dropped == final_stats->received);
  BOOST_TEST(final_stats->written == lines.size());
  BOOST_TEST(lines.back().find("session ") != std::string::npos);
  BOOST_TEST(lines.back().find(" stopping") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_sequence_gap_is_counted_and_written_as_a_warning) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t sequence : {1, 2, 3, 7, 8}) {
    publisher.send_record(make_record("gap_test", 42, sequence, "message " + std::to_string(sequence)));
  }
  std::this_thread::sleep_for(1500ms);  // loss reports go out once a second
  auto seen = stats.latest();
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->lost == 3u);
  BOOST_TEST(seen->received == 5u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(
                 lines, "WARNING  Logging Service      lost 3 records from gap_test (1 gap in sequence numbers)") ==
             1u);
  BOOST_TEST(count_containing(lines, "Gap Test             message ") == 5u);
}

BOOST_AUTO_TEST_CASE(gaps_inside_between_and_after_batches_are_each_counted_once) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  auto batch = [](std::vector<std::uint64_t> sequences, std::uint64_t last_sequence) {
    bus::LogRecordBatch out;
    out.publisher_id = 42;
    out.last_sequence = last_sequence;
    for (auto sequence : sequences) {
      out.records.push_back(make_record("batch_test", 42, sequence, "message " + std::to_string(sequence)));
    }
    return out;
  };
  publisher.send_batch("batch_test", batch({1, 2, 4}, 4));                 // 3 missing inside
  publisher.send_batch("batch_test", batch({6, 7}, 9));                    // 5 between, 8-9 at the end
  publisher.send_batch("batch_test", batch({}, 12));                       // a heartbeat: 10-12 never came
  publisher.send_batch("batch_test", batch({}, 12));                       // the same again: nothing new
  publisher.send_record(make_record("batch_test", 42, 13, "message 13"));  // a single record still counts
  // A record naming another service or publisher in the batch is malformed, not lost.
  bus::LogRecordBatch odd = batch({14}, 14);
  odd.records.push_back(make_record("other_service", 42, 15, "message 15"));
  publisher.send_batch("batch_test", odd);
  // Stop only once the node has taken everything (its stats say so).
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto seen = stats.latest();
    if (seen && seen->received >= 7u && seen->malformed >= 1u) break;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the node did not take the batches");
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  const auto lines = read_lines(node.session_file());
  std::uint64_t lost = 0, gaps = 0;
  const std::regex report(R"(lost (\d+) records from batch_test \((\d+) gaps? in sequence numbers\))");
  for (const auto& line : lines) {
    std::smatch match;
    if (!std::regex_search(line, match, report)) continue;
    lost += std::stoull(match[1]);
    gaps += std::stoull(match[2]);
  }
  BOOST_TEST(lost == 7u);
  BOOST_TEST(gaps == 4u);
  BOOST_TEST(count_containing(lines, "Batch Test           message ") == 7u);
  BOOST_TEST(count_containing(lines, "dropped 1 malformed messages from batch_test") == 1u);
}

BOOST_AUTO_TEST_CASE(forged_sequence_numbers_are_reported_never_counted_as_loss) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  constexpr std::uint64_t kVictim = 42;
  constexpr std::uint64_t kHuge = 1'000'000'000'000'000;
  auto victim = [&](std::uint64_t sequence) {
    publisher.send_record(make_record("victim_svc", kVictim, sequence, "victim " + std::to_string(sequence)));
  };
  victim(1);
  victim(2);
  // Another service's records carrying the victim's publisher id, then an
  // impossible last sequence: the victim's accounting is untouched.
  publisher.send_record(make_record("attacker", kVictim, 5, "forged"));
  bus::LogRecordBatch forged;
  forged.publisher_id = kVictim;
  forged.last_sequence = kHuge;
  publisher.send_batch("attacker", forged);
  victim(3);
  // On the victim's own topic: a jump to 1e15, the victim going on, a number
  // going back, the victim going on.
  publisher.send_record(make_record("victim_svc", kVictim, kHuge, "forged jump"));
  victim(4);
  publisher.send_record(make_record("victim_svc", kVictim, 1, "forged back"));
  victim(5);
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.received >= 8; }, 20s).has_value());
  std::this_thread::sleep_for(1500ms);  // the reports of the last second
  const auto seen = stats.latest();
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->lost == 0u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Logging Service      lost ") == 0u);
  BOOST_TEST(count_containing(lines, "Victim Svc           victim ") == 5u);
  BOOST_TEST(count_containing(lines,
                              "WARNING  Logging Service      sequence from attacker (publisher 000000000000002a) "
                              "jumped from 5 to 1000000000000000: not counted as loss") == 1u);
  BOOST_TEST(count_containing(lines,
                              "sequence from victim_svc (publisher 000000000000002a) jumped from 3 to "
                              "1000000000000000: not counted as loss") == 1u);
  BOOST_TEST(count_containing(lines,
                              "sequence from victim_svc (publisher 000000000000002a) went back from "
                              "1000000000000000 to 4: the publisher restarted, or another process "
                              "publishes as it") == 1u);
  // The second backward jump, in the same report or the next.
  BOOST_TEST(count_containing(lines, "publishes as it (2 times in all)") +
                 count_containing(lines, "(publisher 000000000000002a) went back from 4 to 1: ") ==
             1u);
}

BOOST_AUTO_TEST_CASE(records_a_logger_drops_at_the_end_of_a_burst_are_reported_lost) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  constexpr std::uint64_t kRecords = 5000;
  std::uint64_t dropped = 0;
  {
    zmq::context_t context;
    // A tiny queue: most of a burst is dropped, the last records included, and no
    // later record reveals those: only the Logger's stated last sequence does.
    bus::LoggerOptions options;
    options.service = "burst_test";
    options.publish_endpoint = bus.publish_endpoint;
    options.queue_capacity = 16;
    options.hold_until_subscribed = 10s;
    bus::Logger log(context, options);
    for (std::uint64_t i = 0; i < kRecords; ++i) log.info("burst record {}", i);
    BOOST_TEST(log.flush(10s));
    dropped = log.counters().dropped;
  }
  BOOST_TEST(dropped > 0u);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {  // until the node has accounted for every record
    auto seen = stats.latest();
    if (seen && seen->received + seen->lost >= kRecords) break;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the node did not account for the burst");
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  std::uint64_t lost = 0;
  const std::regex report(R"(lost (\d+) records from burst_test)");
  for (const auto& line : lines) {
    std::smatch match;
    if (std::regex_search(line, match, report)) lost += std::stoull(match[1]);
  }
  const std::uint64_t written = count_containing(lines, "burst record ");
  BOOST_TEST(written + lost == kRecords);
  BOOST_TEST(lost == dropped);
}

BOOST_AUTO_TEST_CASE(loggers_send_sooner_while_someone_watches_the_dashboard) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  LingerProbe probe(context, bus, "watched_test");
  auto& log = probe.log;
  std::this_thread::sleep_for(500ms);  // the Logger sees the node's subscription
  log.info("nobody watches");
  BOOST_TEST(!probe.record_arrives(1500ms));  // lingering, as asked
  BOOST_TEST(log.flush(5s));
  BOOST_TEST(probe.record_arrives(5s));

  // A dashboard subscriber alone (the web bridge with no browser) is no viewer:
  // the record still lingers.
  bus::Subscriber dashboard(context, bus.subscribe_endpoint, {std::string(bus::topics::kDashboardLog)});
  std::this_thread::sleep_for(500ms);
  log.info("the bridge streams to no one");
  BOOST_TEST(!probe.record_arrives(1500ms));
  BOOST_TEST(log.flush(5s));
  BOOST_TEST(probe.record_arrives(5s));
  // A live viewer subscribes to /watching (the bridge while a browser is
  // connected, tail while it follows), which reaches the Logger through the bus;
  // its records then go at once.
  bus::Subscriber viewer(context, bus.subscribe_endpoint, {std::string(bus::topics::kWatching)});
  bool prompt = false;
  for (int attempt = 0; attempt < 60 && !prompt; ++attempt) {
    log.info("someone watches ({})", attempt);
    prompt = probe.record_arrives(300ms);
  }
  BOOST_TEST(prompt);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(count_containing(read_lines(node.session_file()), "nobody watches") == 1u);
}

BOOST_AUTO_TEST_CASE(repeats_are_summarised_when_the_window_closes_without_more_traffic) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 1\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 5; ++i)
    publisher.send_record(make_record("music_controller", 9, i, "buffer underrun"));
  std::this_thread::sleep_for(2500ms);  // no further traffic: the timer must close the window
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Music Controller     buffer underrun") == 2u);
  BOOST_TEST(count_containing(lines, "buffer underrun (repeated 4 times between ") == 1u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(pending_repeats_are_summarised_at_shutdown) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);  // the default 30 s window
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 3; ++i)
    publisher.send_record(make_record("eye_light_controller", 5, i, "frame retry"));
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Eye Lights           frame retry (repeated 2 times between ") == 1u);
}

// The lines of `file` holding `text`, polled until there is one or `timeout` passes.
std::size_t wait_for_line(const std::filesystem::path& file, const std::string& text,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::size_t found = count_containing(read_lines(file), text);
    if (found > 0 || std::chrono::steady_clock::now() >= deadline) return found;
    std::this_thread::sleep_for(20ms);
  }
}

// The time at the start of a session file line, as text (ISO-8601 sorts as time does).
std::string line_time(const std::string& line) {
  return line.substr(1, line.find(']') - 1);
}

BOOST_AUTO_TEST_CASE(repeats_reach_the_file_and_the_history_within_seconds_not_at_the_windows_end) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);  // a 30 s window, summaries within 2 s (1 s for ERROR and CRITICAL)
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  const auto sent = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    publisher.send_record(make_record("music_controller", 9, ++sequence, "buffer underrun"));
    publisher.send_record(make_record("music_controller", 9, ++sequence, "motor stalled", bus::Level::critical));
  }
  const auto file = node.session_file();
  BOOST_TEST(wait_for_line(file, "CRITICAL Music Controller     motor stalled (repeated 2 times between ", 5s) == 1u);
  const auto critical_after = std::chrono::steady_clock::now() - sent;
  BOOST_TEST(wait_for_line(file, "INFO     Music Controller     buffer underrun (repeated 2 times between ", 8s) == 1u);
  const auto info_after = std::chrono::steady_clock::now() - sent;
  // 1 s and 2 s after the first repeat, with room for a loaded machine; the
  // window (30 s) is far from over.
  BOOST_TEST(critical_after < 2500ms, std::chrono::duration<double>(critical_after).count() << " s");
  BOOST_TEST(info_after < 4000ms, std::chrono::duration<double>(info_after).count() << " s");
  BOOST_TEST(critical_after < info_after);
  // The history has them too.
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "10", "--no-follow"},
               dir.path() / "tail.out");
  BOOST_TEST(tail.wait(10s) == 0);
  BOOST_TEST(tail.output().find("motor stalled (repeated 2 times between ") != std::string::npos, tail.output());
  BOOST_TEST(tail.output().find("buffer underrun (repeated 2 times between ") != std::string::npos, tail.output());
  // A further repeat in the same window is folded and summarised in turn.
  publisher.send_record(make_record("music_controller", 9, ++sequence, "buffer underrun"));
  BOOST_TEST(wait_for_line(file, "buffer underrun (repeated 1 time between ", 8s) == 1u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(file);
  BOOST_TEST(count_containing(lines, "Music Controller     buffer underrun") == 3u);  // the first and 2 summaries
  for (std::size_t i = 1; i < lines.size(); ++i) {
    BOOST_TEST(line_time(lines[i - 1]) <= line_time(lines[i]), lines[i - 1] << "\n" << lines[i]);
  }
}

BOOST_AUTO_TEST_CASE(a_demo_session_file_reads_in_time_order) {
  // The demo's five services, and a sixth that repeats itself between their
  // records (stamped just after a demo record, and sent once it has passed the
  // bus), so that summaries are made all along: here 900 ms after a repeat, while
  // the next demo record waits in its Logger (its linger, 1000 ms); a summary
  // stamped with the time it is made would come before it in the file.
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "dedup_summary_interval_ms = 900\ndeduplication_window = 10\n");
  zmq::context_t context;
  bus::Subscriber demo_records(context, bus.subscribe_endpoint, {"/log/"});
  RawPublisher heartbeat(context, bus.publish_endpoint);
  Process demo({bin("cantina-demo"), "--config", node.config.string(), "--rate", "1"}, dir.path() / "demo.out");
  std::uint64_t sequence = 0;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    auto message = demo_records.receive(100ms);
    // A demo record (not a Logger's empty sequence batch, nor our own).
    if (!message || message->topic.starts_with("/log/heartbeat")) continue;
    const auto records = records_of(*message);
    if (records.empty()) continue;
    ++sequence;
    bus::LogRecord record = make_record("heartbeat", 77, sequence, "heartbeat " + std::to_string(sequence % 3));
    record.timestamp_ns = records.back().timestamp_ns + 1000;
    heartbeat.send_record(record);
  }
  BOOST_TEST(demo.stop(SIGTERM) == 0);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "(repeated ") >= 4u);
  BOOST_TEST(lines.size() > 40u);
  std::size_t out_of_order = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (line_time(lines[i - 1]) > line_time(lines[i])) {
      ++out_of_order;
      BOOST_TEST_MESSAGE("out of order:\n" << lines[i - 1] << "\n" << lines[i]);
    }
  }
  BOOST_TEST(out_of_order == 0u);
}

BOOST_AUTO_TEST_CASE(odd_bytes_and_multi_line_messages_stay_on_one_line) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  publisher.send_record(
      make_record("odd", 1, 1, std::string("line one\nline two\r\n\ttab \x1b[31mred\x1b[0m \xff\xfe end")));
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) BOOST_TEST(well_formed(line), line);
  BOOST_TEST(count_containing(
                 lines, R"(Odd                  line one\nline two\r\n\ttab \x1b[31mred\x1b[0m \xff\xfe end)") == 1u);
}

BOOST_AUTO_TEST_CASE(the_level_command_changes_the_nodes_threshold_at_run_time) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  StatsWatcher stats(bus.subscribe_endpoint);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  publisher.send_record(make_record("probe", 3, 1, "debug before", bus::Level::debug));
  Process level({bin("cantina-cli"), "level", "--config", node.config.string(), "logging", "DEBUG"},
                dir.path() / "level.out");
  BOOST_TEST(level.wait(10s) == 0, level.output());
  BOOST_TEST(level.output() ==
             "logging_service: log level INFO -> DEBUG (pid " + std::to_string(node.process->pid()) + ")\n");
  publisher.send_record(make_record("probe", 3, 2, "debug after", bus::Level::debug));
  // Sequence 2 has reached the node once it has received or counted lost both.
  BOOST_TEST(stats.wait_until([](const bus::LoggingStats& s) { return s.received + s.lost >= 2; }, 20s).has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "debug before") == 0u);
  BOOST_TEST(count_containing(lines, "DEBUG    Probe                debug after") == 1u);
  BOOST_TEST(count_containing(lines, "log level changed from INFO to DEBUG") == 1u);
}

BOOST_AUTO_TEST_CASE(tail_prints_history_from_the_ring_buffer) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "max_memory_logs = 5\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 10; ++i) {
    publisher.send_record(
        make_record("history", 8, i, "entry " + std::to_string(i), i % 2 ? bus::Level::info : bus::Level::error));
  }
  std::this_thread::sleep_for(300ms);
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "3", "--no-follow"},
               dir.path() / "tail.out");
  BOOST_TEST(tail.wait(10s) == 0);
  const std::string output = tail.output();
  BOOST_TEST(output.find("entry 7") == std::string::npos, output);
  BOOST_TEST(output.find("entry 8") != std::string::npos, output);
  BOOST_TEST(output.find("entry 10") != std::string::npos, output);
  Process errors(
      {bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "10", "--level", "ERROR", "--no-follow"},
      dir.path() / "errors.out");
  BOOST_TEST(errors.wait(10s) == 0);
  BOOST_TEST(errors.output().find("entry 9") == std::string::npos);  // INFO
  BOOST_TEST(errors.output().find("entry 10") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_files_are_private_to_the_owner_and_group) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  struct stat file_stat {
  }, dir_stat{};
  BOOST_REQUIRE(stat(node.session_file().c_str(), &file_stat) == 0);
  BOOST_REQUIRE(stat(node.logs.c_str(), &dir_stat) == 0);
  BOOST_TEST((file_stat.st_mode & 0777) == 0640u);
  BOOST_TEST((dir_stat.st_mode & 0777) == 0750u);
}

BOOST_AUTO_TEST_CASE(a_session_folder_others_may_read_or_change_is_warned_about) {
  for (const mode_t mode : {0777, 0755, 0770, 0750, 0700}) {
    BOOST_TEST_CONTEXT("folder mode " << std::oct << mode) {
      TempDir dir;
      Bus bus(dir.path());
      const auto logs = dir.path() / "logs";
      std::filesystem::create_directory(logs);
      BOOST_REQUIRE(chmod(logs.c_str(), mode) == 0);
      LogNode node(dir.path(), bus, "", logs);
      BOOST_TEST(node.process->stop(SIGTERM) == 0);
      const auto lines = read_lines(node.session_file());
      const bool loose = (mode & 027) != 0;  // group-writable, or anything for others
      char octal[8];
      std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
      const std::string warning =
          "WARNING  Logging Service      session folder " + logs.string() + " has mode " + octal + ": ";
      BOOST_TEST(count_containing(lines, warning) == (loose ? 1u : 0u));
      BOOST_TEST(
          (node.process->output().find("session folder " + logs.string() + " has mode ") != std::string::npos) == loose,
          node.process->output());
    }
  }
}

namespace {

// The session files, oldest first (two made within a second may not sort by name).
std::vector<std::filesystem::path> by_age(std::vector<std::filesystem::path> files) {
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    return std::filesystem::last_write_time(a) < std::filesystem::last_write_time(b);
  });
  return files;
}

// Sends records `first`..`last` of publisher 77 of restart_svc.
void send_range(RawPublisher& publisher, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t sequence = first; sequence <= last; ++sequence) {
    publisher.send_record(make_record("restart_svc", 77, sequence, "record " + std::to_string(sequence)));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(records_sent_while_the_node_was_down_are_reported_exactly) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  send_range(publisher, 1, 20);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(node.process->stop(SIGKILL) == 128 + SIGKILL);
  // 21..30 are what the publisher sent while no node ran (not sent here: a bus that
  // has not yet seen the node go might still hand them to the next one).
  node.start();
  std::this_thread::sleep_for(1s);  // the new node's subscription reaches the publisher
  send_range(publisher, 31, 40);
  const auto counted =
      stats.wait_until([](const bus::LoggingStats& seen) { return seen.received >= 10 && seen.lost == 10; }, 5s);
  BOOST_TEST(counted.has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto files = by_age(node.session_files());
  BOOST_REQUIRE_EQUAL(files.size(), 2u);
  const auto old_lines = read_lines(files[0]);
  const auto new_lines = read_lines(files[1]);
  BOOST_TEST(count_containing(old_lines, "Restart Svc          record ") == 20u);
  BOOST_TEST(count_containing(new_lines, "Restart Svc          record ") == 10u);
  BOOST_TEST(count_containing(new_lines,
                              "WARNING  Logging Service      lost 10 records from restart_svc while the "
                              "logging node was not running (sequences 21\u201330)") == 1u);
  BOOST_TEST(count_containing(new_lines, " lost ") == 1u);
  BOOST_TEST(count_containing(new_lines, "earlier records") == 0u);
}

BOOST_AUTO_TEST_CASE(a_restart_that_missed_nothing_reports_no_loss) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  send_range(publisher, 1, 20);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(std::filesystem::exists(node.logs / ".cantina-sequences"));
  node.start();
  std::this_thread::sleep_for(1s);
  send_range(publisher, 21, 40);
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto files = by_age(node.session_files());
  BOOST_REQUIRE_EQUAL(files.size(), 2u);
  const auto new_lines = read_lines(files[1]);
  BOOST_TEST(count_containing(new_lines, "Restart Svc          record ") == 20u);
  BOOST_TEST(count_containing(new_lines, "WARNING") == 0u);
}

BOOST_AUTO_TEST_CASE(a_corrupt_or_forged_sequence_state_never_crashes_nor_forges_a_loss) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  const auto logs = dir.path() / "logs";
  std::filesystem::create_directory(logs);
  std::filesystem::permissions(logs, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                         std::filesystem::perms::group_exec);
  zmq::context_t context;
  const std::vector<std::string> hostile = {
      std::string("\0\xff\xfe garbage\n", 12),
      "cantina-sequences 1\n000000000000004d 12 restart_svc\n000000000000004d 99999999999999999999999 restart_svc\n",
      "cantina-sequences 1\n000000000000004d 12 bad/service\n",
      "cantina-sequences 1\n000000000000004d 12 restart_svc",  // torn: no newline at the end
      "cantina-sequences 9\n",
  };
  for (const std::string& text : hostile) {
    write_file(logs / ".cantina-sequences", text);
    LogNode node(dir.path(), bus);
    RawPublisher publisher(context, bus.publish_endpoint);
    send_range(publisher, 5, 6);
    std::this_thread::sleep_for(1500ms);
    BOOST_TEST(node.process->stop(SIGTERM) == 0);
    const auto lines = read_lines(by_age(node.session_files()).back());
    BOOST_TEST(count_containing(
                   lines, "WARNING  Logging Service      ignored " + (logs / ".cantina-sequences").string()) == 1u);
    BOOST_TEST(count_containing(lines, "4 earlier records from restart_svc are not in this session") == 1u);
    BOOST_TEST(count_containing(lines, "Logging Service      lost ") == 0u);
  }
  // Well-formed but forged: a publisher "left at 1" that now sends 10^12 has jumped
  // beyond what it could have sent; not a loss.
  write_file(logs / ".cantina-sequences", "cantina-sequences 1\n000000000000004d 1 restart_svc\n");
  LogNode node(dir.path(), bus);
  RawPublisher publisher(context, bus.publish_endpoint);
  send_range(publisher, 1'000'000'000'000, 1'000'000'000'000);
  std::this_thread::sleep_for(1500ms);
  auto seen = stats.latest();
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->lost == 0u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(by_age(node.session_files()).back());
  BOOST_TEST(count_containing(lines, " lost ") == 0u);
  BOOST_TEST(count_containing(lines, "jumped from 1 to 1000000000000: not counted as loss") == 1u);
  BOOST_TEST(count_containing(lines, "ignored ") == 0u);
}

BOOST_AUTO_TEST_CASE(an_unusable_session_directory_is_a_clear_error) {
  TempDir dir;
  write_file(dir.path() / "not_a_dir", "");
  const auto config = dir.path() / "cantina.toml";
  write_file(config, "[logging]\nsession_file_path = \"" + (dir.path() / "not_a_dir" / "logs").string() +
                         "\"\nquery_endpoint = \"\"\n");
  Process logd({bin("cantina-logd"), "--config", config.string()}, dir.path() / "logd.out");
  BOOST_TEST(logd.wait(10s) == 1);
  BOOST_TEST(logd.output().find("not_a_dir/logs") != std::string::npos, logd.output());
}

BOOST_AUTO_TEST_SUITE_END()
