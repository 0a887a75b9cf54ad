// Faults with the real processes: a full disk under the logging node, the bus
// restarted under a publishing service, the web bridge frozen with SIGSTOP, a
// subscriber of the bus stopped under a flood.
#define BOOST_TEST_MODULE faults
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/config.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/tally.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// A loopback TCP port that was free a moment ago.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!bound) throw std::runtime_error("no free loopback port");
  return ntohs(address.sin_port);
}

// A small tmpfs mounted on `path` for the test's lifetime, if this machine lets us.
struct SmallDisk {
  explicit SmallDisk(const std::filesystem::path& where) : path(where) {
    std::filesystem::create_directories(path);
    mounted = mount("cantina-test", path.c_str(), "tmpfs", 0, "size=256k,mode=0755") == 0;
  }
  ~SmallDisk() {
    if (mounted) umount2(path.c_str(), MNT_DETACH);
  }
  // Fills the disk to the last byte with a file `filler`.
  void fill() const {
    const int fd = open(filler().c_str(), O_WRONLY | O_CREAT, 0644);
    const std::string block(4096, 'x');
    for (std::size_t size : {4096, 512, 1}) {
      while (write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
      }
    }
    close(fd);
  }
  std::filesystem::path filler() const { return path / "filler"; }
  std::filesystem::path path;
  bool mounted = false;
};

// The logging node's statuses, collected on a thread of its own from before the
// fault on, so that a state shown for one tick (one publication) is not missed.
class StatusLog {
 public:
  // Returns once the subscription works (a RUNNING status arrived).
  explicit StatusLog(const std::string& endpoint)
      : thread_([this, endpoint] {
          zmq::context_t context;
          bus::Subscriber statuses(context, endpoint, {bus::topics::status_topic("logging_service")});
          while (!stop_) {
            auto message = statuses.receive(50ms);
            if (!message) continue;
            auto status = bus::decode_service_status(message->bytes());
            std::lock_guard lock(mutex_);
            if (status) seen_.emplace_back(status.value->state, status.value->message);
          }
        }) {
    if (!next(bus::ServiceState::running, 15s)) throw std::runtime_error("no RUNNING status from logging_service");
  }
  ~StatusLog() {
    stop_ = true;
    thread_.join();
  }
  StatusLog(const StatusLog&) = delete;
  StatusLog& operator=(const StatusLog&) = delete;

  // Waits for the next status in `state` after the one the last call returned;
  // returns its message.
  std::optional<std::string> next(bus::ServiceState state, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (; read_ < seen_.size(); ++read_) {
          if (seen_[read_].first == state) return seen_[read_++].second;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::pair<bus::ServiceState, std::string>> seen_;  // guarded by mutex_
  std::size_t read_ = 0;                                         // guarded by mutex_
  std::thread thread_;
};

// The options of the "flood" service's Logger on `bus`: a queue large enough
// for a round of big and small records between two flushes.
bus::LoggerOptions flood_options(const Bus& bus) {
  bus::LoggerOptions options = bus::logger_options(bus::parse_config(bus_section(bus), "test.toml").bus, "flood");
  options.queue_capacity = 4096;
  return options;
}

// One round of a flood: a record "big <round> <big>", then `smalls` records
// "small <n>" numbered on from the rounds before. Returns the records logged.
std::uint64_t flood_round(bus::Logger& logger, int round, const std::string& big, int smalls) {
  logger.log(bus::Level::info, "big " + std::to_string(round) + " " + big);
  for (int i = 0; i < smalls; ++i) logger.log(bus::Level::info, "small " + std::to_string(round * smalls + i));
  return static_cast<std::uint64_t>(smalls) + 1;
}

// A bus with a 4 MiB budget, a logging node that keeps little in memory and
// streams nothing, and a watcher of its stats; up once the first stats came.
struct SmallBudget {
  SmallBudget() {
    BOOST_TEST_REQUIRE(stats.wait_until([](const bus::LoggingStats&) { return true; }, 10s).has_value());
  }
  TempDir dir;
  Bus bus{dir.path(), "[bus]\nmax_queue_bytes = " + std::to_string(std::uint64_t{4} << 20) + "\n"};
  LogNode node{dir.path(), bus, "deduplication_window = 0\nmax_memory_logs = 10\nenable_dashboard_streaming = false\n"};
  StatsWatcher stats{bus.subscribe_endpoint};
};

// What a session file says of the "flood" service's records: lines written,
// and records the node reported lost.
struct FloodAccount {
  std::uint64_t written = 0;
  std::uint64_t lost = 0;
};
FloodAccount flood_account(const std::vector<std::string>& lines) {
  FloodAccount account;
  account.written =
      count_containing(lines, "Flood                big ") + count_containing(lines, "Flood                small ");
  static const std::regex lost_line(R"(lost (\d+) records from flood )");
  for (const auto& line : lines)
    if (std::smatch m; std::regex_search(line, m, lost_line)) account.lost += std::stoull(m[1]);
  return account;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(a_full_disk_is_reported_survived_and_counted) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk");
  if (!disk.mounted) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    return;
  }
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "", disk.path / "logs");
  // ERROR may show for one second only: when the node's own ERROR line fits in what
  // is left of the file's last page, that write works and the node is RUNNING again.
  StatusLog statuses(bus.subscribe_endpoint);
  disk.fill();
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  for (int i = 0; i < 200; ++i)
    publisher.send_record(make_record("fault_probe", 77, ++sequence, "while full " + std::to_string(i)));
  auto error = statuses.next(bus::ServiceState::error, 10s);
  BOOST_REQUIRE_MESSAGE(error, "no ERROR status while the disk was full");
  BOOST_TEST(error->find("No space left on device") != std::string::npos, *error);
  // The ring buffer and the stream go on: history still answers.
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "5", "--no-follow"},
               dir.path() / "tail.out");
  BOOST_TEST(tail.wait(10s) == 0);
  BOOST_TEST(tail.output().find("while full 199") != std::string::npos, tail.output());

  std::filesystem::remove(disk.filler());
  for (int i = 0; i < 5; ++i)
    publisher.send_record(make_record("fault_probe", 77, ++sequence, "after space " + std::to_string(i)));
  BOOST_TEST(statuses.next(bus::ServiceState::running, 10s).has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) BOOST_TEST(line.starts_with("[2"), line);  // no torn line
  // At least one report; more if a small write fitted in the file's last page
  // while the disk was full (each recovery reports the lines lost since the last).
  BOOST_TEST(count_containing(lines, "lines could not be stored in the session file") >= 1u);
  BOOST_TEST(count_containing(lines, "after space 4") == 1u);
}

// A write that fails and a later one that works, both between two of the node's
// once-a-second status publications, still show: ERROR, then RUNNING again.
BOOST_AUTO_TEST_CASE(a_write_failure_between_two_status_ticks_still_shows_as_error) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk");
  if (!disk.mounted) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    return;
  }
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "", disk.path / "logs");
  StatusLog statuses(bus.subscribe_endpoint);
  disk.fill();
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  // 200 lines do not fit in what is left of the session file's last page; 150 ms
  // later, one line (and the report of the 200) does.
  std::uint64_t sequence = 0;
  for (int i = 0; i < 200; ++i)
    publisher.send_record(make_record("fault_probe", 77, ++sequence, "while full " + std::to_string(i)));
  std::this_thread::sleep_for(150ms);
  publisher.send_record(make_record("fault_probe", 77, ++sequence, "small enough"));
  auto error = statuses.next(bus::ServiceState::error, 5s);
  BOOST_REQUIRE_MESSAGE(error, "no ERROR status for a failed write");
  BOOST_TEST(error->find("No space left on device") != std::string::npos, *error);
  BOOST_TEST(statuses.next(bus::ServiceState::running, 5s).has_value());
  std::filesystem::remove(disk.filler());  // room for the node's last lines
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  // Every record is in the file or in the count of lines that could not be stored
  // (on a loaded machine "small enough" may share the failing batch); the count
  // may also hold the node's own lines.
  const std::uint64_t written = count_containing(lines, "while full ") + count_containing(lines, "small enough");
  const std::uint64_t unwritten = sum_reported(lines, "Logging Service      ", " lines could not be stored");
  BOOST_TEST(count_containing(lines, "lines could not be stored in the session file") >= 1u);
  BOOST_TEST(written + unwritten >= sequence, written << " written + " << unwritten << " unwritten");
}

// What a killed bus costs depends on timing (what it held, what was in flight,
// how soon each side noticed): often some records, sometimes none. Whatever it is,
// it is reported: every record the service logged is in the file or in a "lost N
// records" report, and a report appears only for a loss.
BOOST_AUTO_TEST_CASE(publishers_and_subscribers_reconnect_when_the_bus_restarts) {
  TempDir dir;
  const std::string publish = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string subscribe = "tcp://127.0.0.1:" + std::to_string(free_port());
  write_file(dir.path() / "bus.toml", "");
  auto start_bus = [&] {
    return std::make_unique<Process>(
        std::vector<std::string>{bin("cantina-busd"), "--config", (dir.path() / "bus.toml").string(), "--publish",
                                 publish, "--subscribe", subscribe},
        dir.path() / "busd.out");
  };
  auto busd = start_bus();
  BOOST_REQUIRE(busd->wait_for_output("subscribe endpoint", 10s));
  const auto config = dir.path() / "cantina.toml";
  write_file(config, "[bus]\npublish_endpoint = \"" + publish + "\"\nsubscribe_endpoint = \"" + subscribe +
                         "\"\n[logging]\nsession_file_path = \"" + (dir.path() / "logs").string() +
                         "\"\nquery_endpoint = \"\"\ndeduplication_window = 0\n");
  Process logd({bin("cantina-logd"), "--config", config.string()}, dir.path() / "logd.out");
  BOOST_REQUIRE(wait_for_status(subscribe, "logging_service", bus::ServiceState::running, 15s));
  // A service logging 200 records a second through the real Logger; on SIGTERM it
  // stops, flushes and prints how many it logged.
  Process service({bin("cantina-bench-load"), "publish", "--publish", publish, "--service", "fault_probe",
                   "--publisher", "0", "--count", "1000000", "--rate", "200", "--tag", "bus"},
                  dir.path() / "service.out");
  BOOST_REQUIRE(service.wait_for_output("ready", 15s));
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(busd->stop(SIGKILL) == 128 + SIGKILL);
  std::this_thread::sleep_for(1s);
  busd = start_bus();
  BOOST_REQUIRE(busd->wait_for_output("subscribe endpoint", 10s));
  std::this_thread::sleep_for(2500ms);  // reconnect, then log for a while
  BOOST_TEST(service.stop(SIGTERM) == 0);
  // Every record the service tried to log used a sequence number: those it logged,
  // those its full queue dropped (counted), and its "ready" record.
  const std::string result = service.output();
  std::smatch logged_match;
  std::smatch dropped_match;
  BOOST_REQUIRE_MESSAGE(std::regex_search(result, logged_match, std::regex(R"("logged":(\d+))")) &&
                            std::regex_search(result, dropped_match, std::regex(R"("dropped":(\d+))")),
                        result);
  const std::uint64_t sent = std::stoull(logged_match[1]) + std::stoull(dropped_match[1]) + 1;
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(logd.stop(SIGTERM) == 0);  // its last loss reports are written as it stops
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "logs")) {
    if (entry.path().extension() == ".log") files.push_back(entry.path());  // not the .idx indexes
  }
  BOOST_REQUIRE_EQUAL(files.size(), 1u);
  const auto lines = read_lines(files.front());
  // Records from after the restart arrived: the last one the service logged is there.
  BOOST_TEST(count_containing(lines, "bench bus p0 s" + std::to_string(sent - 1) + " ") == 1u);
  std::uint64_t received = count_containing(lines, "bench bus p0 ");
  std::uint64_t reported_lost = 0;
  std::size_t reports = 0;
  const std::regex lost_report(R"(lost (\d+) records from fault_probe \()");
  for (const auto& line : lines) {
    std::smatch match;
    if (std::regex_search(line, match, lost_report)) {
      reported_lost += std::stoull(match[1]);
      ++reports;
    }
  }
  BOOST_TEST_MESSAGE("sent " << sent << ", in the file " << received << ", reported lost " << reported_lost);
  // ...and whatever the dead bus swallowed is counted, not silently gone.
  BOOST_TEST(received + reported_lost == sent);
  BOOST_TEST((reports > 0) == (received < sent));
}

// A bus and a logging node, and a service "doomed" whose "ready" record went at
// once (flushed) and whose kRecords records then wait up to 1 s in its Logger
// (the unwatched linger) when it is killed (SIGKILL). `busd_env`: an environment
// assignment for busd (none: "").
class KilledService {
 public:
  static constexpr std::uint64_t kRecords = 40;

  explicit KilledService(const std::string& busd_env)
      : publish("tcp://127.0.0.1:" + std::to_string(free_port())),
        subscribe_("tcp://127.0.0.1:" + std::to_string(free_port())) {
    write_file(dir.path() / "bus.toml", "");
    std::vector<std::string> busd_argv{"/usr/bin/env"};
    if (!busd_env.empty()) busd_argv.push_back(busd_env);
    for (const std::string& arg : {bin("cantina-busd"), std::string("--config"), (dir.path() / "bus.toml").string(),
                                   std::string("--publish"), publish, std::string("--subscribe"), subscribe_}) {
      busd_argv.push_back(arg);
    }
    busd_ = std::make_unique<Process>(busd_argv, dir.path() / "busd.out");
    BOOST_REQUIRE(busd_->wait_for_output("subscribe endpoint", 10s));
    const auto config = dir.path() / "cantina.toml";
    write_file(config, "[bus]\npublish_endpoint = \"" + publish + "\"\nsubscribe_endpoint = \"" + subscribe_ +
                           "\"\n[logging]\nsession_file_path = \"" + (dir.path() / "logs").string() +
                           "\"\nquery_endpoint = \"\"\ndeduplication_window = 0\n");
    logd_ = std::make_unique<Process>(std::vector<std::string>{bin("cantina-logd"), "--config", config.string()},
                                      dir.path() / "logd.out");
    BOOST_REQUIRE(wait_for_status(subscribe_, "logging_service", bus::ServiceState::running, 15s));
    Process service({bin("cantina-bench-load"), "publish", "--publish", publish, "--service", "doomed", "--publisher",
                     "0", "--count", std::to_string(kRecords), "--rate", "0", "--tag", "kill", "--linger-unwatched",
                     "1000", "--idle-seconds", "60"},
                    dir.path() / "service.out");
    BOOST_REQUIRE(service.wait_for_output("ready", 15s));
    std::this_thread::sleep_for(100ms);
    BOOST_TEST(service.stop(SIGKILL) == 128 + SIGKILL);
  }

  std::vector<std::string> lines() const {
    for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "logs")) {
      if (entry.path().extension() == ".log") return read_lines(entry.path());
    }
    return {};
  }

  // The session file's lines once its loss reports for "doomed" account for every
  // number the service used, or after `timeout`; `lost`: what they report.
  std::vector<std::string> lines_accounting(std::chrono::seconds timeout, std::uint64_t& lost) const {
    const std::regex lost_report(R"(lost (\d+) records from doomed \()");
    std::vector<std::string> found;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      found = lines();
      lost = 0;
      for (const auto& line : found) {
        std::smatch match;
        if (std::regex_search(line, match, lost_report)) lost += std::stoull(match[1]);
      }
      if (count_containing(found, "bench kill p0 ") + lost == kRecords + 1) break;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return found;
  }

  TempDir dir;
  const std::string publish;

 private:
  const std::string subscribe_;
  std::unique_ptr<Process> busd_;
  std::unique_ptr<Process> logd_;
};

// A service killed (SIGKILL) while its Logger still holds records it has not
// sent (they wait for the unwatched linger): its tally outlives it, busd states
// its last number for it, and the node counts every record it never got.
BOOST_AUTO_TEST_CASE(a_killed_service_s_unsent_records_are_counted_lost) {
  KilledService killed("");
  // busd looks once a second and waits a second more for what the service sent.
  std::uint64_t reported_lost = 0;
  const auto lines = killed.lines_accounting(20s, reported_lost);
  const std::uint64_t received = count_containing(lines, "bench kill p0 ");
  BOOST_TEST_MESSAGE("in the file " << received << ", reported lost " << reported_lost);
  BOOST_TEST(count_containing(lines, "bench kill p0 ready") == 1u);
  BOOST_TEST(received + reported_lost == KilledService::kRecords + 1);  // every number it used, once
  BOOST_TEST(reported_lost > 0u);                                       // it died within its linger
  // busd says why, in the same file.
  BOOST_TEST(count_containing(lines, "service doomed (pid ") == 1u);
  BOOST_TEST(count_containing(lines, "ended without sending its last " + std::to_string(reported_lost) + " records") ==
             1u);
  // Its tally is gone once stated.
  const auto tallies = bus::tally_directory(killed.publish);
  BOOST_REQUIRE(!tallies.empty());
  std::size_t doomed_tallies = 0;
  if (std::filesystem::exists(tallies)) {
    for (const auto& entry : std::filesystem::directory_iterator(tallies)) {
      if (read_file(entry.path()).find("doomed") != std::string::npos) ++doomed_tallies;
    }
  }
  BOOST_TEST(doomed_tallies == 0u);
}

// Where no busd reads the tallies (a LAN host that runs only its services; here a
// busd told not to), the next Logger started on the bus states a killed
// service's tally for it, kOrphanGrace (5 s) after its own start.
BOOST_AUTO_TEST_CASE(without_busd_the_next_service_started_states_a_killed_one_s_tally) {
  KilledService killed("CANTINA_TALLY_DIR=off");
  std::this_thread::sleep_for(3s);  // busd would have stated it by now
  BOOST_TEST(count_containing(killed.lines(), "lost ") == 0u);
  Process heir({bin("cantina-bench-load"), "publish", "--publish", killed.publish, "--service", "heir", "--publisher",
                "1", "--count", "1", "--rate", "0", "--tag", "heir", "--idle-seconds", "30"},
               killed.dir.path() / "heir.out");
  BOOST_REQUIRE(heir.wait_for_output("ready", 15s));
  std::uint64_t reported_lost = 0;
  const auto lines = killed.lines_accounting(20s, reported_lost);
  const std::uint64_t received = count_containing(lines, "bench kill p0 ");
  BOOST_TEST_MESSAGE("in the file " << received << ", reported lost " << reported_lost);
  BOOST_TEST(received + reported_lost == KilledService::kRecords + 1);
  BOOST_TEST(count_containing(lines, "ended without sending") == 0u);  // busd read no tally
}

BOOST_AUTO_TEST_CASE(a_frozen_web_bridge_costs_the_logging_node_nothing) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  write_file(dir.path() / "webbridge.toml", read_file(node.config) + "[webbridge]\nlisten = \"127.0.0.1:0\"\n");
  Process bridge({bin("cantina-webbridge"), "--config", (dir.path() / "webbridge.toml").string()},
                 dir.path() / "webbridge.out");
  BOOST_REQUIRE(bridge.wait_for_output("listening on", 10s));
  kill(bridge.pid(), SIGSTOP);
  const auto frozen_at = std::chrono::steady_clock::now();
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  // 50,000 records over about 10 s while the bridge stays frozen.
  constexpr int kRecords = 50'000;
  for (int i = 1; i <= kRecords; ++i) {
    publisher.send_record(
        make_record("fault_probe", 77, static_cast<std::uint64_t>(i), "while frozen " + std::to_string(i)));
    if (i % 1000 == 0) std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_until(frozen_at + 10s);
  // The node has taken every record: on a busy machine it may lag them by seconds.
  BOOST_TEST(stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= std::uint64_t{kRecords}; }, 60s)
                 .has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  kill(bridge.pid(), SIGCONT);
  BOOST_TEST(bridge.stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "while frozen ") == std::size_t{kRecords});
  BOOST_TEST(count_containing(lines, "lost ") == 0u);
  BOOST_TEST(count_containing(lines, "dropped ") == 0u);
}

// cantina-busd's byte budget ([bus] max_queue_bytes, here 8 MiB) with a subscriber
// that stops reading (`cantina-cli tail`, SIGSTOP) while a service logs big and
// small records: busd runs under a hard address-space limit the test sets; its
// RssAnon stays within the budget plus a fixed overhead (ZeroMQ would otherwise
// queue every message for the stopped reader, up to high_water_mark messages of
// up to ~490 KiB each), it disconnects the stopped reader and says so in a
// WARNING record, and every record is either in the session file or reported
// lost by the logging node.
BOOST_AUTO_TEST_CASE(a_subscriber_that_stops_reading_costs_the_bus_at_most_its_budget) {
  constexpr std::uint64_t kBudget = std::uint64_t{8} << 20;
  constexpr std::uint64_t kOverhead = std::uint64_t{24} << 20;  // libzmq, threads, malloc's slack
  TempDir dir;
  Bus bus(dir.path(), "[bus]\nmax_queue_bytes = " + std::to_string(kBudget) + "\n",
          address_space_cap(std::uint64_t{1} << 30));
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\nmax_memory_logs = 10\nenable_dashboard_streaming = false\n");
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string()}, dir.path() / "tail.out");
  std::this_thread::sleep_for(1s);  // its subscription reaches busd
  kill(tail.pid(), SIGSTOP);

  std::atomic<bool> sending{true};
  std::atomic<std::uint64_t> peak_kib{0};
  std::thread sampler([&] {
    while (sending) {
      peak_kib = std::max<std::uint64_t>(peak_kib, rss_anon_kib(bus.process.pid()));
      std::this_thread::sleep_for(10ms);
    }
  });
  // About 100 MiB: 500 rounds of a 200 KiB record and 20 small ones.
  std::uint64_t calls = 0;
  {
    zmq::context_t context;
    bus::Logger logger(context, flood_options(bus));
    const std::string big(200 * 1024, 'b');
    for (int round = 0; round < 500; ++round) {
      calls += flood_round(logger, round, big, 20);
      if (round % 8 == 7) logger.flush(5s);
    }
    BOOST_TEST(logger.flush(10s));
  }
  // The node has taken (or found missing) every record: on a busy machine it may
  // lag the flood by seconds.
  BOOST_TEST(
      stats.wait_until([&](const bus::LoggingStats& s) { return s.received + s.lost >= calls; }, 60s).has_value());
  std::this_thread::sleep_for(2s);
  sending = false;
  sampler.join();
  const std::uint64_t after_kib = rss_anon_kib(bus.process.pid());
  BOOST_TEST_MESSAGE("cantina-busd RssAnon: peak " << peak_kib / 1024 << " MiB, 2 s after the flood "
                                                   << after_kib / 1024 << " MiB (budget " << (kBudget >> 20)
                                                   << " MiB)");
  BOOST_TEST(bus.process.running());
  if (kMemoryMeasurable) BOOST_TEST(peak_kib * 1024 <= kBudget + kOverhead);

  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  kill(tail.pid(), SIGCONT);
  const auto lines = read_lines(node.session_file());
  const auto [written, lost] = flood_account(lines);
  BOOST_TEST_MESSAGE(calls << " records logged, " << written << " written, " << lost << " reported lost");
  BOOST_TEST(written + lost == calls);
  // The stopped reader was disconnected, perhaps with the node (on a busy machine
  // the node too may take nothing between two looks while the budget is full).
  std::string busd_lines;
  std::size_t disconnects = 0;
  static const std::regex disconnected(
      R"((WARNING  Cantina Busd         |; )disconnected [1-9]\d* subscriber\(s\) that stopped reading)");
  for (const auto& line : lines) {
    if (line.find("Cantina Busd") == std::string::npos && line.find("cantina_busd") == std::string::npos) continue;
    busd_lines += line.substr(0, 300) + "\n";
    if (std::regex_search(line, disconnected)) ++disconnects;
  }
  BOOST_TEST(disconnects >= 1u, busd_lines);
}

// The logging node frozen (SIGSTOP) while a service floods and then exits: busd
// finds the node stopped reading, disconnects it, and the service's last records
// and its final statement of its last sequence number go to the other
// subscriber only. Nothing later from that service would tell the node what it
// missed; busd restates how far each recent publisher got once the node
// reconnects, so every record is in the session file or reported lost.
BOOST_FIXTURE_TEST_CASE(a_node_that_missed_a_publishers_last_records_reports_them_when_it_returns, SmallBudget) {
  // Another subscriber that keeps reading: the service goes on publishing.
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string()}, dir.path() / "tail.out");
  kill(node.process->pid(), SIGSTOP);

  std::uint64_t calls = 0;
  {
    zmq::context_t context;
    bus::Logger logger(context, flood_options(bus));
    const std::string big(64 * 1024, 'b');
    for (int round = 0; round < 200; ++round) {
      calls += flood_round(logger, round, big, 10);
      if (round % 8 == 7) BOOST_TEST(logger.flush(5s));
    }
    BOOST_TEST(logger.flush(10s));
  }                                 // the final statement, while the node is away
  std::this_thread::sleep_for(2s);  // past busd's first restating round, which the node misses too
  kill(node.process->pid(), SIGCONT);

  BOOST_TEST(
      stats.wait_until([&](const bus::LoggingStats& s) { return s.received + s.lost >= calls; }, 30s).has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  const auto [written, lost] = flood_account(lines);
  BOOST_TEST_MESSAGE(calls << " records logged, " << written << " written, " << lost << " reported lost");
  // The scenario happened: busd dropped records meant for the stopped node, or
  // disconnected it (and perhaps the tail): it says so on stderr.
  const std::string said = bus.process.output();
  BOOST_TEST(written + lost == calls, written << " written + " << lost << " lost != " << calls
                                              << " logged; busd said:\n"
                                              << said);
  BOOST_TEST(lost > 0u);  // the node did miss the last ones
  BOOST_TEST((said.find(" subscriber(s) that stopped reading") != std::string::npos ||
              said.find("for every subscriber") != std::string::npos),
             said);
  tail.stop(SIGTERM);
  for (const auto& line : lines)
    if (line.find("Cantina Busd") != std::string::npos || line.find("cantina_busd") != std::string::npos)
      BOOST_TEST_MESSAGE(line);
}

// A subscriber of a bus endpoint "tcp://127.0.0.1:<port>" that speaks ZMTP 3.0
// (NULL mechanism) by hand, so that the test decides when it subscribes: a
// ZeroMQ SUB socket sends its subscriptions when its own thread next uses it
// after connecting, which for a busy or frozen process may be seconds later.
class HandSubscriber {
 public:
  explicit HandSubscriber(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to " + endpoint);
    std::string greeting(64, '\0');
    greeting[0] = '\xff';
    greeting[9] = '\x7f';
    greeting[10] = 3;  // version 3.0
    greeting.replace(12, 4, "NULL");
    send_all(greeting);
    std::string ready = "\x05READY";
    ready += '\x0b';
    ready += "Socket-Type";
    ready += std::string("\0\0\0\x03", 4) + "SUB";
    send_all(std::string(1, '\x04') + static_cast<char>(ready.size()) + ready);
    if (read_exactly(64, 5s).size() != 64) throw std::runtime_error("no ZMTP greeting from " + endpoint);
    if (!read_frame(5s)) throw std::runtime_error("no READY from " + endpoint);
  }
  ~HandSubscriber() { close(fd_); }
  HandSubscriber(const HandSubscriber&) = delete;
  HandSubscriber& operator=(const HandSubscriber&) = delete;

  void subscribe(std::string_view prefix) {
    send_all(std::string(1, '\0') + static_cast<char>(prefix.size() + 1) + '\x01' + std::string(prefix));
  }

  // The next message's frames (commands skipped), or nullopt after `timeout`.
  std::optional<std::vector<std::string>> receive(std::chrono::milliseconds timeout) {
    std::vector<std::string> frames;
    for (;;) {
      auto frame = read_frame(timeout);
      if (!frame) return std::nullopt;
      if ((frame->first & 0x04) != 0) continue;  // a command (PING)
      frames.push_back(std::move(frame->second));
      if ((frame->first & 0x01) == 0) return frames;
    }
  }

 private:
  void send_all(const std::string& bytes) const {
    if (write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
      throw std::runtime_error("short write to busd");
  }
  std::string read_exactly(std::size_t size, std::chrono::milliseconds timeout) const {
    std::string bytes;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (bytes.size() < size) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd item{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&item, 1, static_cast<int>(left.count())) != 1) break;
      char chunk[65536];
      const ssize_t got = read(fd_, chunk, std::min(sizeof chunk, size - bytes.size()));
      if (got <= 0) break;
      bytes.append(chunk, static_cast<std::size_t>(got));
    }
    return bytes;
  }
  // Flags and body of the next frame.
  std::optional<std::pair<unsigned char, std::string>> read_frame(std::chrono::milliseconds timeout) const {
    const std::string flags = read_exactly(1, timeout);
    if (flags.empty()) return std::nullopt;
    const auto flag = static_cast<unsigned char>(flags[0]);
    const std::string length = read_exactly((flag & 0x02) != 0 ? 8 : 1, 5s);
    std::uint64_t size = 0;
    for (const char byte : length) size = size << 8 | static_cast<unsigned char>(byte);
    return std::pair{flag, read_exactly(size, 5s)};
  }
  int fd_ = -1;
};

// busd restates how far publishers got after a loss, for subscribers that
// missed their last records. One that subscribes long after it connects (see
// HandSubscriber), while another (the logging node) holds the same subscription
// all along, must be told too: then busd's subscribe socket has nothing new to
// pass on by default, and rounds at fixed times after the connection are over.
BOOST_FIXTURE_TEST_CASE(a_subscriber_that_subscribes_late_after_a_loss_is_told_how_far_publishers_got, SmallBudget) {
  zmq::context_t context;
  std::uint64_t calls = 0;
  {
    // The loss: a subscriber that takes nothing during a flood, until busd
    // disconnects it.
    zmq::socket_t stopped(context, zmq::socket_type::sub);
    stopped.set(zmq::sockopt::rcvhwm, 1);
    stopped.set(zmq::sockopt::rcvbuf, 4096);
    stopped.set(zmq::sockopt::linger, 0);
    stopped.set(zmq::sockopt::subscribe, std::string(bus::topics::kLogPrefix));
    stopped.connect(bus.subscribe_endpoint);
    std::this_thread::sleep_for(1s);  // its subscription reaches busd

    bus::Logger logger(context, flood_options(bus));
    const std::string big(64 * 1024, 'b');
    const auto disconnected = [&] { return bus.process.output().find("that stopped reading") != std::string::npos; };
    for (int round = 0; round < 2000 && !disconnected(); ++round) {
      calls += flood_round(logger, round, big, 10);
      if (round % 8 != 7) continue;
      BOOST_TEST(logger.flush(5s));
      for (int look = 0; look < 20 && !disconnected(); ++look) std::this_thread::sleep_for(100ms);  // busd reports
    }
    BOOST_TEST_REQUIRE(disconnected(), bus.process.output());
    for (int i = 0; i < 10; ++i) logger.log(bus::Level::info, "small after " + std::to_string(i));
    calls += 10;
    BOOST_TEST(logger.flush(10s));
  }  // the service exits: its final statement of its last sequence number

  HandSubscriber late(bus.subscribe_endpoint);
  std::this_thread::sleep_for(6s);  // connected, not yet subscribed
  late.subscribe(bus::topics::kLogPrefix);
  const std::string flood_topic = bus::topics::log_batch_topic("flood");
  std::uint64_t highest = 0;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (highest < calls && std::chrono::steady_clock::now() < until) {
    const auto message = late.receive(500ms);
    if (!message || message->size() != 2 || (*message)[0] != flood_topic) continue;
    const std::string& payload = (*message)[1];
    const auto peek =
        bus::peek_log_sequence(bus::Bytes(reinterpret_cast<const std::byte*>(payload.data()), payload.size()), true);
    if (peek) highest = std::max(highest, peek->highest);
  }
  BOOST_TEST_MESSAGE(calls << " records logged; the late subscriber was told of " << highest);
  BOOST_TEST(highest == calls);
}

// busd's report of the messages it drops goes through the same byte budget as
// the flood it reports on. A subscriber that keeps reading, but slower than a
// service floods (so it is never disconnected as stopped), keeps the budget
// full for seconds: the report must still reach the logging node, and no
// record of busd's own be lost.
BOOST_FIXTURE_TEST_CASE(busds_report_of_drops_is_not_dropped_by_the_flood_it_reports, SmallBudget) {
  std::atomic<bool> flooding{true};
  zmq::context_t context;
  // Takes one message every 20 ms, with the smallest queues ZeroMQ and the kernel
  // allow, so that what it has not taken stays in busd's budget.
  std::thread slow_reader([&] {
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::rcvhwm, 1);
    sub.set(zmq::sockopt::rcvbuf, 4096);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(bus.subscribe_endpoint);
    while (flooding) {
      zmq::message_t message;
      (void)sub.recv(message, zmq::recv_flags::dontwait);
      std::this_thread::sleep_for(20ms);
    }
  });
  std::this_thread::sleep_for(1s);  // its subscription reaches busd

  {
    bus::Logger logger(context, flood_options(bus));
    const std::string big(100 * 1024, 'b');
    const auto until = std::chrono::steady_clock::now() + 5s;
    for (int round = 0; std::chrono::steady_clock::now() < until; ++round) {
      flood_round(logger, round, big, 10);
      std::this_thread::sleep_for(1ms);
    }
    BOOST_TEST(logger.flush(10s));
  }
  flooding = false;
  slow_reader.join();
  std::this_thread::sleep_for(3s);  // busd's last report and its restating round
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  std::string busd_lines;
  for (const auto& line : lines)
    if (line.find("Cantina Busd") != std::string::npos || line.find("cantina_busd") != std::string::npos)
      busd_lines += line.substr(0, 300) + "\n";
  const std::string said = bus.process.output();
  const bool dropped = said.find("for every subscriber") != std::string::npos;
  BOOST_TEST_REQUIRE(dropped, "busd dropped nothing: the flood did not fill its budget\n" << said);
  BOOST_TEST(count_containing(lines, "WARNING  Cantina Busd         dropped ") >= 1u, busd_lines);
  BOOST_TEST(count_containing(lines, "records from cantina_busd") == 0u, busd_lines);
}

// A node stopped while the bus still holds records for it takes them before it closes
// its session: what busd had accepted and forwarded is not silently left behind.
BOOST_AUTO_TEST_CASE(a_stopping_node_takes_what_the_bus_already_forwarded) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\nenable_dashboard_streaming = false\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  kill(node.process->pid(), SIGSTOP);  // the node lags: everything waits in busd and in its sockets
  constexpr int kRecords = 30'000;
  for (int i = 1; i <= kRecords; ++i) {
    publisher.send_record(make_record("drain_probe", 78, static_cast<std::uint64_t>(i), "held " + std::to_string(i)));
  }
  std::this_thread::sleep_for(1s);
  kill(node.process->pid(), SIGCONT);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  const std::size_t held = count_containing(lines, "held ");
  BOOST_TEST_MESSAGE(held << " of " << kRecords << " records in the file");
  BOOST_TEST(held == std::size_t{kRecords});
}

namespace {

// Stops `node` while a thread publishes records without end, `per_10ms` every 10 ms,
// stamped `age` before they are sent; how long the stop took, and the session file's lines.
std::pair<std::chrono::milliseconds, std::vector<std::string>> stop_while_publishing(const Bus& bus, LogNode& node,
                                                                                     std::chrono::nanoseconds age,
                                                                                     std::uint64_t per_10ms) {
  std::atomic<bool> sending{true};
  std::thread publisher_thread([&] {
    zmq::context_t context;
    RawPublisher publisher(context, bus.publish_endpoint);
    for (std::uint64_t i = 1; sending; ++i) {
      auto record = make_record("endless_probe", 79, i, "endless " + std::to_string(i));
      record.timestamp_ns -= age.count();
      publisher.send_record(record);
      if (i % per_10ms == 0) std::this_thread::sleep_for(10ms);
    }
  });
  std::this_thread::sleep_for(1s);
  const auto asked = std::chrono::steady_clock::now();
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asked);
  sending = false;
  publisher_thread.join();
  BOOST_TEST_MESSAGE("the node stopped in " << took.count() << " ms");
  return {took, read_lines(node.session_file())};
}

constexpr const char* kCutReport = "stopping with records still arriving from the bus after 2000 ms";

}  // namespace

// ...services that go on logging do not keep it: once records made after the stop
// come, everything made before them is in.
BOOST_AUTO_TEST_CASE(a_stopping_node_does_not_wait_for_services_still_logging) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\nenable_dashboard_streaming = false\n");
  // 100 a second: a node keeps up with that in any build on a busy machine
  const auto [took, lines] = stop_while_publishing(bus, node, std::chrono::nanoseconds(0), 1);
  BOOST_TEST(took < 8s);  // about 0.4 s in a release build; a sanitizer's exit takes longer
  BOOST_TEST(count_containing(lines, kCutReport) == 0u);
  BOOST_TEST(count_containing(lines, "endless ") > 0u);
}

// ...and a backlog that does not end (records made before the stop keep coming) stops
// it after 2 s, and its session file says so.
BOOST_AUTO_TEST_CASE(a_stopping_node_says_it_left_records_still_arriving) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\nenable_dashboard_streaming = false\n");
  const auto [took, lines] = stop_while_publishing(bus, node, std::chrono::hours(1), 100);
  BOOST_TEST(took >= 1900ms);
  BOOST_TEST(took < 8s);
  BOOST_TEST(count_containing(lines, kCutReport) == 1u);
  BOOST_TEST(count_containing(lines, "endless ") > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
