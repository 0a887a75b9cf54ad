// The Logger as a unit, in this process, against a real cantina-busd and nothing
// else on it: the test decides when a subscriber to the log topic exists, sees
// every message the Logger sends (empty sequence statements included), and
// sends level-change requests. Hold until subscribed, queue overflow, the
// sequence heartbeat, linger (watched, unwatched, urgent, kWakeRecords), the
// destructor, and how an idle Logger sleeps.
#define BOOST_TEST_MODULE logger
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/chrono.h>
#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/tally.h"
#include "cantina/bus/topics.h"
#include "integration/process.h"

using namespace std::chrono_literals;
using cantina::testing::Bus;
using cantina::testing::TempDir;
namespace bus = cantina::bus;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kService = "logger_test";

// One message the Logger published on its log topic.
struct Published {
  bus::LogRecordBatch batch;
  Clock::time_point arrived;
};

// Whether process `pid` is stopped (state T in /proc/PID/stat).
bool is_stopped(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'T';
}

// Waits until `done()` or `timeout`; returns done().
template <class Done>
bool eventually(Done done, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  return done();
}

// Whether the Logger `publisher` of the bus at `endpoint` has its tally file (tally.h).
bool has_tally(const std::string& endpoint, std::uint64_t publisher) {
  const std::string name = fmt::format("{:016x}.tally", publisher);
  return std::filesystem::exists(bus::tally_directory(endpoint) / name);
}

// A real cantina-busd, a subscriber the test creates when it wants one, and a
// publisher for level-change requests.
class TestBus {
 public:
  // Options for a Logger on this bus; `control`: with a control socket. Records
  // are held up to 10 s until the Logger knows of a subscriber.
  bus::LoggerOptions options(bool control = false) const {
    bus::LoggerOptions options;
    options.service = std::string(kService);
    options.publish_endpoint = bus_.publish_endpoint;
    if (control) options.subscribe_endpoint = bus_.subscribe_endpoint;
    options.hold_until_subscribed = 10s;
    return options;
  }

  // The context for the test's Loggers (it outlives them: the Logger is
  // declared after the TestBus).
  zmq::context_t& context() { return context_; }

  // Subscribes to `prefix`: the bus passes the subscription on to the Logger.
  void subscribe(std::string_view prefix) {
    if (subscriber_ == nullptr) {
      subscriber_ = std::make_unique<bus::Subscriber>(context_, bus_.subscribe_endpoint,
                                                      std::vector<std::string>{std::string(prefix)});
    } else {
      subscriber_->subscribe(prefix);
    }
  }

  // Closes the subscriber: the bus tells the Logger that no one subscribes.
  void unsubscribe_all() { subscriber_.reset(); }

  // Stops (SIGSTOP) or continues (SIGCONT) cantina-busd: a bus that reads nothing
  // a while. Returns once the kernel says it is stopped (or running).
  void freeze(bool frozen) {
    const pid_t pid = bus_.process.pid();
    kill(pid, frozen ? SIGSTOP : SIGCONT);
    BOOST_REQUIRE(eventually([&] { return is_stopped(pid) == frozen; }));
  }

  // The next message on the Logger's log topic, or nullopt after `timeout`.
  std::optional<Published> next(std::chrono::milliseconds timeout) {
    BOOST_REQUIRE(subscriber_ != nullptr);
    auto message = subscriber_->receive(timeout);
    if (!message) return std::nullopt;
    const Clock::time_point arrived = Clock::now();
    BOOST_TEST(message->topic == bus::topics::log_batch_topic(kService));
    auto decoded = bus::decode_log_records(message->bytes(), /*batch=*/true);
    BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
    return Published{std::move(*decoded.value), arrived};
  }

  // The records of the messages that arrive within `timeout`, until there are
  // `count`; `last` is set to the last message's.
  std::vector<bus::LogRecord> records(std::size_t count, std::chrono::milliseconds timeout,
                                      std::optional<Published>* last = nullptr) {
    std::vector<bus::LogRecord> out;
    const auto deadline = Clock::now() + timeout;
    while (out.size() < count && Clock::now() < deadline) {
      auto message = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (!message) break;
      for (auto& record : message->batch.records) out.push_back(std::move(record));
      if (last != nullptr) *last = std::move(message);
    }
    return out;
  }

  // Sends `request` until `done()` (at most 5 s, resent every 100 ms: the
  // subscription of the Logger's control socket takes a moment to reach this
  // publisher through the bus; the Logger skips resends by their request id).
  template <class Done>
  bool request_level(const bus::SetLogLevel& request, Done done) {
    bus::Publisher control(context_, bus_.publish_endpoint);
    for (int attempt = 0; attempt < 50; ++attempt) {
      control.publish(bus::topics::set_log_level_topic(request.service), request);
      for (int wait = 0; wait < 10; ++wait) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
      }
    }
    return done();
  }

 private:
  TempDir dir_;
  Bus bus_{dir_.path()};
  zmq::context_t context_;
  std::unique_ptr<bus::Subscriber> subscriber_;
};

std::vector<std::string> messages_of(const std::vector<bus::LogRecord>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) out.push_back(record.message);
  return out;
}

std::vector<std::uint64_t> sequences_of(const std::vector<bus::LogRecord>& records) {
  std::vector<std::uint64_t> out;
  for (const auto& record : records) out.push_back(record.sequence);
  return out;
}

// Voluntary context switches of the Logger's background thread ("cantina-logger"),
// that is how often it went to sleep; -1 if there is no such thread.
long long logger_thread_wakeups() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name != "cantina-logger") continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:")) return std::stoll(line.substr(24));
    }
  }
  return -1;
}

// Counts how often it is formatted (by its operator<<, which the Logger uses for a
// type {fmt} cannot format).
struct Counted {
  int* formatted;
};
std::ostream& operator<<(std::ostream& out, const Counted& counted) {
  ++*counted.formatted;
  return out << "counted";
}

// The usual start: the test subscribes to the log topic, then a Logger of
// `bus` with `options` sends a first record ("subscribed"), which arrives.
std::unique_ptr<bus::Logger> subscribed_logger(TestBus& bus, const bus::LoggerOptions& options) {
  bus.subscribe("/log/");
  auto log = std::make_unique<bus::Logger>(bus.context(), options);
  log->info("subscribed");
  BOOST_REQUIRE(log->flush(10s));
  BOOST_REQUIRE(messages_of(bus.records(1, 10s)) == std::vector<std::string>{"subscribed"});
  return log;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logger)

BOOST_AUTO_TEST_CASE(records_are_held_until_a_subscriber_is_known) {
  TestBus bus;
  bus::Logger log(bus.context(), bus.options());
  log.info("first");
  log.warning("second");
  log.error("third");  // urgent, but held all the same
  std::this_thread::sleep_for(500ms);
  // Not sent: a send without a subscriber would count them as dropped.
  BOOST_TEST(log.counters().logged == 3u);
  BOOST_TEST(log.counters().published == 0u);
  BOOST_TEST(log.counters().dropped == 0u);

  bus.subscribe("/log/");
  std::optional<Published> last;
  const auto records = bus.records(3, 5s, &last);
  BOOST_TEST(messages_of(records) == (std::vector<std::string>{"first", "second", "third"}),
             boost::test_tools::per_element());
  BOOST_TEST(sequences_of(records) == (std::vector<std::uint64_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_REQUIRE(last.has_value());
  BOOST_TEST(last->batch.publisher_id == log.publisher_id());
  BOOST_TEST(last->batch.last_sequence == 3u);
  BOOST_TEST(eventually([&] { return log.counters().published == 3; }));
  BOOST_TEST(log.counters().dropped == 0u);
}

BOOST_AUTO_TEST_CASE(records_sent_before_anyone_subscribed_are_dropped_and_stated_to_the_first_subscriber) {
  TestBus bus;
  auto options = bus.options();
  options.hold_until_subscribed = 300ms;
  bus::Logger log(bus.context(), options);
  log.info("into the void");
  log.info("into the void too");
  // The hold ends: they go out with no subscriber, and count as dropped.
  BOOST_TEST(eventually([&] { return log.counters().dropped == 2; }));
  BOOST_TEST(log.counters().published == 0u);

  // The first subscriber hears of them: an empty message states their last number.
  bus.subscribe("/log/");
  auto statement = bus.next(5s);
  BOOST_REQUIRE(statement.has_value());
  BOOST_TEST(statement->batch.records.empty());
  BOOST_TEST(statement->batch.last_sequence == 2u);
}

// Every subscriber gone a moment (busd disconnects the stalled ones; they come
// back): what the Logger sends meanwhile is dropped, for want of a subscriber.
// A service that then exits must still state its last number when one returns
// (within shutdown_timeout): nothing later would show the gap.
BOOST_AUTO_TEST_CASE(a_logger_that_lost_its_subscribers_states_its_last_number_to_one_that_returns_at_exit) {
  TestBus bus;
  auto options = bus.options();
  options.hold_until_subscribed = 2s;  // then, with no subscriber, records are dropped
  options.shutdown_timeout = 5s;
  bus.subscribe("/log/");
  std::optional<bus::Logger> log(std::in_place, bus.context(), options);
  log->info("heard");
  BOOST_REQUIRE_EQUAL(bus.records(1, 5s).size(), 1u);
  std::this_thread::sleep_for(2s);  // past the start-up hold
  bus.unsubscribe_all();
  std::uint64_t calls = 1;
  for (int i = 0; i < 200 && log->counters().dropped == 0; ++i) {
    log->info("unheard");
    ++calls;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_REQUIRE(log->counters().dropped > 0u);

  std::thread exiting([&] { log.reset(); });
  std::this_thread::sleep_for(500ms);
  bus.subscribe("/log/");
  std::uint64_t stated = 0;
  for (auto message = bus.next(5s); message; message = bus.next(1s)) {
    stated = std::max(stated, message->batch.last_sequence);
  }
  exiting.join();
  BOOST_TEST(stated == calls);
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_records_and_the_next_batch_states_the_gap) {
  TestBus bus;
  auto options = bus.options();  // nothing leaves the queue until the subscription
  options.queue_capacity = 4;
  bus::Logger log(bus.context(), options);
  std::vector<bool> queued;
  for (int i = 1; i <= 10; ++i)
    queued.push_back(log.log(bus::Level::info, "record " + std::to_string(i), bus::RecordDetails{}));
  BOOST_TEST(queued == (std::vector<bool>{true, true, true, true, false, false, false, false, false, false}),
             boost::test_tools::per_element());
  BOOST_TEST(log.counters().logged == 4u);
  BOOST_TEST(log.counters().dropped == 6u);

  bus.subscribe("/log/");
  std::optional<Published> last;
  const auto records = bus.records(4, 5s, &last);
  BOOST_TEST(sequences_of(records) == (std::vector<std::uint64_t>{1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_REQUIRE(last.has_value());
  BOOST_TEST(last->batch.last_sequence == 10u);  // 5 to 10 were lost: the reader sees the gap at once
  BOOST_TEST(eventually([&] { return log.counters().published == 4; }));
  BOOST_TEST(log.counters().dropped == 6u);
}

BOOST_AUTO_TEST_CASE(an_empty_batch_states_the_last_sequence_a_second_after_the_last_send) {
  TestBus bus;
  bus.subscribe("/log/");
  bus::Logger log(bus.context(), bus.options());
  log.info("one");
  log.info("two");
  BOOST_TEST(log.flush(10s));
  std::optional<Published> sent;
  BOOST_TEST(messages_of(bus.records(2, 10s, &sent)) == (std::vector<std::string>{"one", "two"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(sent.has_value());
  BOOST_TEST(sent->batch.last_sequence == 2u);

  auto heartbeat = bus.next(5s);
  BOOST_REQUIRE(heartbeat.has_value());
  BOOST_TEST(heartbeat->batch.records.empty());
  BOOST_TEST(heartbeat->batch.publisher_id == log.publisher_id());
  BOOST_TEST(heartbeat->batch.last_sequence == 2u);
  const auto after_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat->arrived - sent->arrived).count();
  // kSequenceHeartbeat (1 s) after the send; the lower bound leaves room for a
  // first message that was slow to arrive on a busy machine.
  BOOST_TEST(after_ms >= 500, after_ms << " ms after the last send");
  BOOST_TEST(after_ms <= 3000, after_ms << " ms after the last send");
  // Stated once: nothing more until there is news (past the idle safety wake-up).
  BOOST_TEST(!bus.next(2500ms).has_value());
  BOOST_TEST(log.counters().published == 2u);
}

BOOST_AUTO_TEST_CASE(records_linger_unless_urgent_or_512_are_queued) {
  TestBus bus;
  auto options = bus.options();
  options.batch_linger_unwatched = 20s;  // nobody watches live
  auto log = subscribed_logger(bus, options);

  log->info("lingers");
  BOOST_TEST(!bus.next(1s).has_value());
  log->error("goes at once");  // and takes the lingering one along
  BOOST_TEST(messages_of(bus.records(2, 5s)) == (std::vector<std::string>{"lingers", "goes at once"}),
             boost::test_tools::per_element());

  for (std::size_t i = 1; i < bus::kWakeRecords; ++i) log->info("bulk {}", i);
  BOOST_TEST(!bus.next(1s).has_value());
  log->info("bulk {}", bus::kWakeRecords);  // the 512th
  const auto bulk = bus.records(bus::kWakeRecords, 5s);
  BOOST_REQUIRE_EQUAL(bulk.size(), bus::kWakeRecords);
  BOOST_TEST(bulk.back().message == "bulk 512");
}

BOOST_AUTO_TEST_CASE(records_linger_less_while_someone_watches_live) {
  TestBus bus;
  auto options = bus.options();
  options.batch_linger = 50ms;
  options.batch_linger_unwatched = 20s;
  auto log = subscribed_logger(bus, options);
  bus.subscribe(bus::topics::kWatching);  // as the logging node does while a dashboard streams
  std::this_thread::sleep_for(1s);        // through the bus to the Logger, which wakes for it
  log->info("watched");
  BOOST_TEST(messages_of(bus.records(1, 5s)) == std::vector<std::string>{"watched"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_destructor_sends_what_is_queued_and_states_the_last_sequence) {
  TestBus bus;
  auto options = bus.options();
  options.batch_linger_unwatched = 20s;
  auto log = subscribed_logger(bus, options);
  log->info("last words");
  log.reset();
  std::optional<Published> last;
  BOOST_TEST(messages_of(bus.records(1, 5s, &last)) == std::vector<std::string>{"last words"},
             boost::test_tools::per_element());
  BOOST_REQUIRE(last.has_value());
  BOOST_TEST(last->batch.last_sequence == 2u);
  auto statement = bus.next(5s);
  BOOST_REQUIRE(statement.has_value());
  BOOST_TEST(statement->batch.records.empty());
  BOOST_TEST(statement->batch.last_sequence == 2u);
}

// ZeroMQ closes a connection once it has handed the queue to the kernel, and
// what the kernel still holds is lost if the connection is then reset (as when
// the bus sends a subscription change to the closed socket): so a closing
// Logger waits until its receipt comes back through the bus.
BOOST_AUTO_TEST_CASE(a_closing_logger_waits_until_the_bus_has_its_last_records) {
  TestBus bus;
  auto log = subscribed_logger(bus, bus.options(/*control=*/true));
  const std::uint64_t publisher = log->publisher_id();
  BOOST_TEST(has_tally(bus.options().publish_endpoint, publisher));  // kept while it runs
  const std::string big(64 * 1024, 'x');
  constexpr int kRecords = 200;  // 13 MB: more than the kernel's buffers between the Logger and the bus
  for (int i = 0; i < kRecords; ++i) log->info("{} {}", i, big);
  BOOST_REQUIRE(log->flush(10s));
  bus.freeze(true);
  std::atomic<bool> closed{false};
  std::thread exiting([&] {
    log.reset();
    closed = true;
  });
  std::this_thread::sleep_for(500ms);
  const bool closed_while_frozen = closed;
  bus.freeze(false);
  exiting.join();
  BOOST_TEST(!closed_while_frozen);
  std::optional<Published> last;
  const auto records = bus.records(kRecords, 10s, &last);
  BOOST_TEST(records.size() == static_cast<std::size_t>(kRecords));
  std::uint64_t stated = last ? last->batch.last_sequence : 0;
  while (auto statement = bus.next(1s)) stated = std::max(stated, statement->batch.last_sequence);
  BOOST_TEST(stated == kRecords + 1u);  // "subscribed" and the records
  // The bus has everything: no tally is left for busd to state (tally.h).
  BOOST_TEST(!has_tally(bus.options().publish_endpoint, publisher));
}

// A Logger that had a subscriber but cannot hear back from the bus (frozen) waits
// no longer than its shutdown_timeout.
BOOST_AUTO_TEST_CASE(a_closing_logger_gives_up_on_its_receipt_after_the_shutdown_timeout) {
  TestBus bus;
  auto options = bus.options(/*control=*/true);
  options.shutdown_timeout = 1s;
  auto log = subscribed_logger(bus, options);
  const std::uint64_t publisher = log->publisher_id();
  log->info("last words");
  BOOST_REQUIRE(log->flush(10s));
  bus.freeze(true);
  const auto start = Clock::now();
  log.reset();
  const auto took = Clock::now() - start;
  bus.freeze(false);
  BOOST_TEST(took >= 900ms);
  BOOST_TEST(took < 3s);
  // Not known to have reached the bus: its tally stays, for busd to state.
  BOOST_TEST(has_tally(options.publish_endpoint, publisher));
}

BOOST_AUTO_TEST_CASE(an_idle_logger_sleeps_until_a_record_or_a_level_change) {
  TestBus bus;
  bus.subscribe("/log/");
  bus::Logger log(bus.context(), bus.options(/*control=*/true));
  log.info("one record");
  BOOST_TEST(log.flush(10s));
  BOOST_TEST(messages_of(bus.records(1, 10s)) == std::vector<std::string>{"one record"},
             boost::test_tools::per_element());
  BOOST_REQUIRE(bus.next(5s).has_value());  // the sequence heartbeat, due within a second

  const long long before = logger_thread_wakeups();
  BOOST_REQUIRE(before >= 0);
  std::this_thread::sleep_for(3s);
  const long long idle = logger_thread_wakeups() - before;
  // It used to wake every 50 ms (60 times here); now at most once a second, as a safety net.
  BOOST_TEST(idle <= 6, idle << " wake-ups in 3 s of idleness");

  // A level change reaches it at once all the same, and so does the next record.
  BOOST_TEST(bus.request_level({std::string(kService), bus::Level::debug, 42},
                               [&] { return log.level() == bus::Level::debug; }));
  log.info("after the change");
  BOOST_TEST(log.flush(10s));
  // The thread logs the change itself, so the two may come in either order.
  auto messages = messages_of(bus.records(2, 10s));
  std::sort(messages.begin(), messages.end());
  BOOST_TEST(messages == (std::vector<std::string>{"after the change",
                                                   "log level changed from INFO to DEBUG by an unnamed requester"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_idle_logger_wakes_for_a_record_at_once) {
  TestBus bus;
  auto log = subscribed_logger(bus, bus.options());
  BOOST_REQUIRE(bus.next(5s).has_value());  // the sequence heartbeat: idle from now on
  // Asleep in poll(2) with a 1 s safety timeout: an ERROR (no linger) must end the
  // sleep by the eventfd, not by the timeout. Five times, the median judged.
  std::vector<long long> delays_ms;
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(300ms);
    const auto logged = Clock::now();
    log->error("wake up {}", i);
    auto message = bus.next(5s);
    BOOST_REQUIRE(message.has_value());
    BOOST_REQUIRE_EQUAL(message->batch.records.size(), 1u);
    delays_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(message->arrived - logged).count());
    BOOST_REQUIRE(bus.next(5s).has_value());  // its heartbeat
  }
  std::sort(delays_ms.begin(), delays_ms.end());
  BOOST_TEST(delays_ms[2] < 300, "median " << delays_ms[2] << " ms from the log call to the bus");
}

// The caller's {fmt} format specs reach the record as written; the call site
// (file, line) is the caller's.
BOOST_AUTO_TEST_CASE(format_specs_reach_the_record_as_written) {
  TestBus bus;
  auto log = subscribed_logger(bus, bus.options());
  log->info("temperature {:.1f} C", 36.6666);
  const std::uint32_t line = __LINE__ - 1;
  log->info("[{:>8}] [{:<6}] [{:^7}]", "right", "left", "mid");
  log->info("frame {:x} {:#06X} {:b}", 255, 0xbeef, 5);
  log->warning("battery {:.0f}% after {:%H:%M:%S}", 42.4, std::chrono::seconds(3723));
  log->info("{{literal}} {} {{{}}}", "braces", 7);
  log->info("plain {} {} {} {}", 1.5, true, 'x', std::string("text"));
  BOOST_REQUIRE(log->flush(10s));
  const auto records = bus.records(6, 10s);
  BOOST_TEST(messages_of(records) == (std::vector<std::string>{"temperature 36.7 C", "[   right] [left  ] [  mid  ]",
                                                               "frame ff 0XBEEF 101", "battery 42% after 01:02:03",
                                                               "{literal} braces {7}", "plain 1.5 true x text"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(!records.empty());
  BOOST_TEST(records[0].line == line);
  BOOST_TEST(records[0].file.ends_with("logger_test.cpp"));
}

// A formatted message over max_record_bytes is cut at a UTF-8 character boundary
// and says how much was cut; a level below the threshold is not formatted at all.
BOOST_AUTO_TEST_CASE(a_long_formatted_message_is_cut_and_a_filtered_one_is_not_formatted) {
  TestBus bus;
  auto options = bus.options();
  options.max_record_bytes = bus::kMinRecordBytesSetting;
  auto log = subscribed_logger(bus, options);
  // "a" then 4,999 two-byte "é" (9,999 bytes): cut to fit in 4,096 with the marker.
  log->info("a{:é>{}}", "", 4999);
  int formatted = 0;
  log->debug("{}", Counted{&formatted});  // below the threshold (INFO)
  BOOST_REQUIRE(log->flush(10s));
  const auto records = bus.records(1, 10s);
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  const std::string& message = records[0].message;
  const std::size_t kept = message.find("… [truncated ");
  BOOST_REQUIRE(kept != std::string::npos);
  BOOST_TEST(message.size() <= bus::kMinRecordBytesSetting);
  BOOST_TEST(kept > bus::kMinRecordBytesSetting - 64);
  BOOST_TEST(kept % 2 == 1u, "cut inside a character: " << kept << " bytes kept");
  BOOST_TEST(message.substr(0, 3) == "aé");
  BOOST_TEST(message.substr(kept) == bus::truncation_marker(9999 - kept));
  BOOST_TEST(formatted == 0);
  log->info("{}", Counted{&formatted});
  BOOST_TEST(formatted == 1);
}

BOOST_AUTO_TEST_SUITE_END()
