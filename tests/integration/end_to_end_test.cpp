// The first end-to-end slice with the real executables: cantina-busd on
// ephemeral ports, cantina-logd writing into a temp dir, records published by
// separate processes (cantina-cli log, and a bare ZeroMQ + Cap'n Proto client),
// and cantina-cli tail following live.
#define BOOST_TEST_MODULE end_to_end
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <thread>

#include <zmq.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/config.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// `cantina-cli tail --topic /dashboard/log --service burst` on `node`, once its
// subscription has reached the logging node (entries are built only while someone
// subscribes): warm-up records of "burst" (publisher 7), one per 200 ms at most,
// until tail prints one. `sequence` is the last one sent.
std::unique_ptr<Process> follow_dashboard(const TempDir& dir, const LogNode& node, RawPublisher& publisher,
                                          std::uint64_t& sequence) {
  auto tail = std::make_unique<Process>(
      std::vector<std::string>{bin("cantina-cli"), "tail", "--config", node.config.string(), "--topic",
                               std::string(bus::topics::kDashboardLog), "--service", "burst"},
      dir.path() / "tail.out");
  const auto warm_deadline = std::chrono::steady_clock::now() + 10s;
  bool following = false;
  while (!following && std::chrono::steady_clock::now() < warm_deadline) {
    publisher.send_record(make_record("burst", 7, ++sequence, "warm up"));
    following = tail->wait_for_output("warm up", 200ms);
  }
  BOOST_REQUIRE(following);
  return tail;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(end_to_end)

BOOST_AUTO_TEST_CASE(records_from_two_processes_land_exactly_once_with_all_fields) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");

  // Two publishing processes, 300 distinct records each, one with multi-line text.
  std::string music, eyes;
  for (int i = 0; i < 300; ++i) {
    music += "track " + std::to_string(i) + " playing\n";
    eyes += "pattern " + std::to_string(i) + " shown\n";
  }
  write_file(dir.path() / "music.txt", music);
  write_file(dir.path() / "eyes.txt", eyes);
  Process music_publisher({bin("cantina-cli"), "log", "--config", node.config.string(), "--service", "music_controller",
                           "--level", "WARNING", "--pipe"},
                          dir.path() / "music.out", dir.path() / "music.txt");
  Process eyes_publisher(
      {bin("cantina-cli"), "log", "--config", node.config.string(), "--service", "eye_light_controller", "--pipe"},
      dir.path() / "eyes.out", dir.path() / "eyes.txt");
  BOOST_TEST(music_publisher.wait(20s) == 0, music_publisher.output());
  BOOST_TEST(eyes_publisher.wait(20s) == 0, eyes_publisher.output());

  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (int i = 0; i < 300; ++i) {
    const std::string track = "track " + std::to_string(i) + " playing";
    const std::string pattern = "pattern " + std::to_string(i) + " shown";
    BOOST_TEST(count_containing(lines, "WARNING  Music Controller     " + track) == 1u, track);
    BOOST_TEST(count_containing(lines, "INFO     Eye Lights           " + pattern) == 1u, pattern);
  }
  // Every line has the seed's format: [ISO-8601] LEVEL(8) SERVICE(20) MESSAGE.
  for (const auto& line : lines) {
    BOOST_TEST_REQUIRE(line.size() > 60u, line);
    BOOST_TEST(line[0] == '[');
    BOOST_TEST(line.substr(28, 2) == "] ", line);
    BOOST_TEST(line[27] == 'Z', line);
  }
  BOOST_TEST(node.session_file().filename().string().starts_with("cantina-session-"));
}

BOOST_AUTO_TEST_CASE(a_bare_zeromq_client_using_only_the_schema_is_logged) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);

  zmq::context_t context;
  zmq::socket_t publisher(context, zmq::socket_type::pub);
  publisher.connect(bus.publish_endpoint);
  std::this_thread::sleep_for(500ms);  // a bare PUB has no way to know when subscriptions arrived
  bus::LogRecord record;
  record.timestamp_ns = bus::now_ns();
  record.level = bus::Level::error;
  record.service = "gpt_service";
  record.message = "raw client says hello";
  record.publisher_id = 7;
  record.sequence = 1;
  const std::string payload = bus::encode(record);
  publisher.send(zmq::buffer(bus::topics::log_topic("gpt_service")), zmq::send_flags::sndmore);
  publisher.send(zmq::buffer(payload));
  // A malformed one on the same topic is counted and dropped, not fatal.
  publisher.send(zmq::str_buffer("/log/gpt_service"), zmq::send_flags::sndmore);
  publisher.send(zmq::str_buffer("not cap'n proto"));
  std::this_thread::sleep_for(300ms);

  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "ERROR    AI Assistant         raw client says hello") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 1 malformed messages from gpt_service") == 1u);
}

// The record size cap ([bus] max_record_bytes, 256 KiB by default) for a C++
// service: a 3 MB message (through the "{}" formatter) and a 10 MB one arrive cut
// at a character boundary with "… [truncated N bytes]", neither lost nor costing
// the connection; the records after them arrive too, and nothing is reported lost.
BOOST_AUTO_TEST_CASE(huge_messages_of_a_cpp_service_arrive_cut_with_a_marker) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  const std::string three = "cpp-3MB " + std::string(3'000'000, 'x') + " never seen";
  std::string ten = "cpp-10MB ";
  while (ten.size() < 10'000'000) ten += "caf\xC3\xA9 ";  // two-byte characters against the cut
  {
    zmq::context_t context;
    bus::Logger logger(context, bus::logger_options(bus::parse_config(bus_section(bus), "test.toml").bus, "huge_cpp"));
    logger.info("{}", three);
    logger.log(bus::Level::warning, ten);
    logger.info("after the huge ones");
    BOOST_TEST(logger.flush(10s));
    BOOST_TEST(logger.counters().dropped == 0u);
  }
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(bus.process.running());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& [head, message] :
       {std::pair<std::string, const std::string*>{"cpp-3MB ", &three}, {"cpp-10MB ", &ten}}) {
    BOOST_REQUIRE_EQUAL(count_containing(lines, head), 1u);
    const std::string& line =
        *std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(head) != l.npos; });
    const std::size_t kept = bus::kept_bytes(*message, bus::kDefaultMaxRecordBytes);
    const std::string marker = bus::truncation_marker(message->size() - kept);
    BOOST_TEST(line.ends_with(marker), line.substr(line.size() - 80));
    BOOST_TEST(line.size() < bus::kDefaultMaxRecordBytes + 100);  // the prefix: time, level, service
    BOOST_TEST(line.find("never seen") == std::string::npos);
    BOOST_TEST(line.find("\\x") == std::string::npos);  // no escaped byte: no character was cut in two
  }
  BOOST_TEST(count_containing(lines, "Huge Cpp             after the huge ones") == 1u);
  BOOST_TEST(count_containing(lines, "lost") == 0u);
  BOOST_TEST(count_containing(lines, "malformed") == 0u);
}

BOOST_AUTO_TEST_CASE(tail_prints_live_records_as_text_and_json) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "--level", "WARNING"},
               dir.path() / "tail.out");
  Process tail_json(
      {bin("cantina-cli"), "tail", "--config", node.config.string(), "--json", "--service", "music_controller"},
      dir.path() / "tail_json.out");
  std::this_thread::sleep_for(500ms);  // let the tails subscribe
  for (auto [service, level, message] : {std::tuple{"music_controller", "ERROR", "needle one"},
                                         std::tuple{"eye_light_controller", "INFO", "needle two"}}) {
    Process publisher(
        {bin("cantina-cli"), "log", "--config", node.config.string(), "--service", service, "--level", level, message},
        dir.path() / "log.out");
    BOOST_TEST(publisher.wait(20s) == 0, publisher.output());
  }
  BOOST_TEST(tail.wait_for_output("needle one", 10s), tail.output());
  BOOST_TEST(tail_json.wait_for_output("needle one", 10s), tail_json.output());
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(tail.output().find("needle two") == std::string::npos);       // below --level
  BOOST_TEST(tail_json.output().find("needle two") == std::string::npos);  // other service
  const std::string json = tail_json.output();
  BOOST_TEST(json.find("\"level\":\"ERROR\"") != std::string::npos, json);
  BOOST_TEST(json.find("\"service\":\"music_controller\"") != std::string::npos, json);
  BOOST_TEST(json.find("\"sequence\":1") != std::string::npos, json);
  BOOST_TEST(tail.stop(SIGINT) == 0);
  BOOST_TEST(tail_json.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(tail_follows_the_dashboard_stream_completely_and_in_order) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  const auto follower = follow_dashboard(dir, node, publisher, sequence);
  Process& tail = *follower;

  // 5,000 records in batches of 250: the node streams them as batches of entries.
  constexpr std::uint64_t kRecords = 5000;
  const std::uint64_t first = sequence + 1;
  for (std::uint64_t start = first; start < first + kRecords; start += 250) {
    bus::LogRecordBatch batch;
    batch.publisher_id = 7;
    for (std::uint64_t i = start; i < start + 250; ++i)
      batch.records.push_back(make_record("burst", 7, i, "burst " + std::to_string(i - first + 1)));
    publisher.send_batch("burst", batch);
  }
  BOOST_TEST(tail.wait_for_output("burst " + std::to_string(kRecords) + "\n", 30s), tail.output());
  BOOST_TEST(tail.stop(SIGINT) == 0);
  std::vector<std::uint64_t> seen;
  for (const auto& line : read_lines(dir.path() / "tail.out")) {
    const auto at = line.find("Burst");  // the friendly name: "[time] INFO     Burst ... burst N"
    const auto text = line.find(" burst ");
    if (at == std::string::npos || text == std::string::npos) continue;
    seen.push_back(std::stoull(line.substr(text + 7)));
  }
  BOOST_REQUIRE_EQUAL(seen.size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) BOOST_REQUIRE_EQUAL(seen[i], i + 1);
}

BOOST_AUTO_TEST_CASE(tail_says_how_many_entries_the_live_view_limit_left_out) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\ndashboard_max_rate = 10\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  const auto follower = follow_dashboard(dir, node, publisher, sequence);  // at most 5 a second: under the limit
  Process& tail = *follower;
  std::this_thread::sleep_for(1500ms);  // the budget refills to a second's worth (10)

  constexpr std::uint64_t kRecords = 500;
  bus::LogRecordBatch batch;
  batch.publisher_id = 7;
  for (std::uint64_t i = 1; i <= kRecords; ++i) batch.records.push_back(make_record("burst", 7, ++sequence, "flood"));
  publisher.send_batch("burst", batch);
  BOOST_TEST(tail.wait_for_output("not streamed live", 10s), tail.output());
  std::this_thread::sleep_for(500ms);  // a count-only message follows at most 100 ms later
  BOOST_TEST(tail.stop(SIGINT) == 0);
  std::uint64_t shown = 0, announced = 0;
  static const std::regex notice(R"(^cantina-cli tail: (\d+) DEBUG/INFO entries not streamed live)");
  for (const auto& line : read_lines(dir.path() / "tail.out")) {
    std::smatch match;
    if (std::regex_search(line, match, notice)) announced += std::stoull(match[1].str());
    if (line.ends_with(" flood")) ++shown;
  }
  BOOST_TEST(shown >= 10u);  // the second's worth
  BOOST_TEST(shown < 100u);
  BOOST_TEST(shown + announced == kRecords);
}

BOOST_AUTO_TEST_CASE(a_broken_config_stops_the_node_with_one_clear_line) {
  TempDir dir;
  const auto config = dir.path() / "bad.toml";
  write_file(config, "[logging]\nbatch_size = \"big\"\n");
  Process logd({bin("cantina-logd"), "--config", config.string()}, dir.path() / "logd.out");
  BOOST_TEST(logd.wait(10s) == 1);
  BOOST_TEST(logd.output() ==
             "cantina-logd: " + config.string() + ":2:14: logging.batch_size: must be an integer, not a string\n");
}

BOOST_AUTO_TEST_SUITE_END()
