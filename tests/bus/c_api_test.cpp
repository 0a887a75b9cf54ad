// The C ABI (bus/include/cantina/bus/c_api.h, libcantina_bus_c.so) against a real
// cantina-busd: config loading, NULL safety, records with every detail, the
// level threshold and its run-time control, status messages.
#define BOOST_TEST_MODULE c_api
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/c_api.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

extern "C" int cantina_c_client_log(cantina_logger* logger, const char* message);

namespace {

// Waits for the next LogRecord on `subscriber` (single or in a batch); fails the
// test after 10 s.
bus::LogRecord next_record(bus::Subscriber& subscriber) {
  static std::deque<bus::LogRecord> pending;  // the rest of the last batch
  while (pending.empty()) {
    auto message = subscriber.receive(10s);
    BOOST_REQUIRE_MESSAGE(message, "no record arrived");
    auto topic = bus::topics::parse_log_topic(message->topic);
    BOOST_REQUIRE(topic);
    auto records = bus::decode_log_records(message->bytes(), topic->batch);
    BOOST_REQUIRE_MESSAGE(records, records.error);
    for (auto& record : records.value->records) pending.push_back(std::move(record));
  }
  bus::LogRecord record = std::move(pending.front());
  pending.pop_front();
  return record;
}

// A logger connected to `bus` that holds records until a subscriber is there (at most `hold_ms`).
cantina_logger* open_logger(const Bus& bus, const char* service, int level = CANTINA_LEVEL_INFO, int hold_ms = 5000) {
  char error[256] = "unset";
  cantina_logger* logger = cantina_logger_open(service, bus.publish_endpoint.c_str(), bus.subscribe_endpoint.c_str(),
                                               level, hold_ms, error, sizeof error);
  BOOST_REQUIRE_MESSAGE(logger != nullptr, error);
  BOOST_TEST(error[0] == '\0');
  return logger;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(c_api)

BOOST_AUTO_TEST_CASE(reports_the_version_of_the_header) {
  BOOST_TEST(cantina_api_version() == CANTINA_C_API_VERSION);
}

BOOST_AUTO_TEST_CASE(null_arguments_are_errors_never_crashes) {
  char buffer[64];
  char error[128];
  BOOST_TEST(cantina_config_load(nullptr, buffer, sizeof buffer, buffer, sizeof buffer, error, sizeof error) ==
             CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(std::string(error).find("required") != std::string::npos);
  BOOST_TEST(cantina_config_load("x.toml", nullptr, 0, nullptr, 0, nullptr, 0) == CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_logger_open(nullptr, nullptr, nullptr, 1, 0, nullptr, 0) == nullptr);
  BOOST_TEST(cantina_logger_log(nullptr, 1, "x", 1, nullptr, nullptr, 0, nullptr, nullptr, 0, nullptr, 0) ==
             CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_logger_level(nullptr) == -1);
  BOOST_TEST(cantina_logger_set_level(nullptr, 1) == CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_logger_flush(nullptr, 10) == CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_logger_get_counters(nullptr, nullptr) == CANTINA_ERROR_INVALID_ARGUMENT);
  cantina_logger_close(nullptr);
  BOOST_TEST(cantina_status_publisher_open(nullptr, error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).find("publish endpoint") != std::string::npos);
  BOOST_TEST(cantina_status_publish(nullptr, "x", 1, nullptr, 0, 0) == CANTINA_ERROR_INVALID_ARGUMENT);
  cantina_status_publisher_close(nullptr);
  BOOST_TEST(cantina_line_reader_open(nullptr, 1, nullptr, nullptr, 0, error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).find("a logger") != std::string::npos);
  BOOST_TEST(cantina_line_reader_feed(nullptr, "x\n", 2) == CANTINA_ERROR_INVALID_ARGUMENT);
  int next_ms = 7;
  BOOST_TEST(cantina_line_reader_poll(nullptr, &next_ms) == CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(next_ms == -1);
  BOOST_TEST(cantina_line_reader_finish(nullptr) == CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_line_reader_lines(nullptr) == 0u);
  cantina_line_reader_close(nullptr);
}

BOOST_AUTO_TEST_CASE(config_load_returns_the_endpoints_or_names_file_line_and_key) {
  TempDir dir;
  const auto good = dir.path() / "good.toml";
  write_file(good, "[bus]\npublish_endpoint = \"ipc:///tmp/p\"\nsubscribe_endpoint = \"ipc:///tmp/s\"\n");
  char publish[64], subscribe[64], error[256];
  BOOST_TEST(cantina_config_load(good.c_str(), publish, sizeof publish, subscribe, sizeof subscribe, error,
                                 sizeof error) == CANTINA_OK);
  BOOST_TEST(std::string(publish) == "ipc:///tmp/p");
  BOOST_TEST(std::string(subscribe) == "ipc:///tmp/s");
  BOOST_TEST(error[0] == '\0');

  char tiny[8];
  BOOST_TEST(cantina_config_load(good.c_str(), tiny, sizeof tiny, subscribe, sizeof subscribe, error, sizeof error) ==
             CANTINA_ERROR_BUFFER_TOO_SMALL);
  BOOST_TEST(tiny[0] == '\0');

  const auto bad = dir.path() / "bad.toml";
  write_file(bad, "[bus]\npublish_endpont = \"tcp://127.0.0.1:1\"\n");
  BOOST_TEST(cantina_config_load(bad.c_str(), publish, sizeof publish, subscribe, sizeof subscribe, error,
                                 sizeof error) == CANTINA_ERROR_CONFIG);
  BOOST_TEST(std::string(error).starts_with(bad.string() + ":2:1: bus.publish_endpont: unknown key"), error);

  char short_error[10];
  BOOST_TEST(cantina_config_load("/nonexistent.toml", publish, sizeof publish, subscribe, sizeof subscribe, short_error,
                                 sizeof short_error) == CANTINA_ERROR_CONFIG);
  BOOST_TEST(std::string(short_error) == "/nonexist");  // truncated, NUL-terminated
}

BOOST_AUTO_TEST_CASE(open_rejects_a_bad_service_level_or_endpoint_with_a_reason) {
  char error[256];
  BOOST_TEST(cantina_logger_open("no spaces", "tcp://127.0.0.1:1", nullptr, 1, 0, error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).find("invalid service id 'no spaces'") != std::string::npos, error);
  BOOST_TEST(cantina_logger_open("ok", "tcp://127.0.0.1:1", nullptr, 9, 0, error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).find("level must be") != std::string::npos, error);
  BOOST_TEST(cantina_logger_open("ok", "nonsense", nullptr, 1, 0, error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).starts_with("cantina_logger_open: "), error);
  BOOST_TEST(cantina_status_publisher_open("nonsense", error, sizeof error) == nullptr);
  BOOST_TEST(std::string(error).starts_with("cantina_status_publisher_open: "), error);
}

BOOST_AUTO_TEST_CASE(a_record_reaches_the_bus_with_every_detail) {
  TempDir dir;
  Bus bus(dir.path());
  zmq::context_t context(1);
  bus::Subscriber subscriber(context, bus.subscribe_endpoint, {bus::topics::log_topic("python_service")});
  cantina_logger* logger = open_logger(bus, "python_service");

  const std::string message("line one\nwith a \0 NUL", 21);
  const cantina_field fields[] = {{"track", "Cantina Band"}, {"volume", nullptr}};
  const std::int64_t when = 1'795'000'000'123'456'789;
  BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_ERROR, message.data(), message.size(), "cantina_os.music",
                                "music.py", 42, "set_volume", "MainThread", when, fields, 2) == CANTINA_OK);
  BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "bare", 4, nullptr, nullptr, 0, nullptr, nullptr, 0,
                                nullptr, 0) == CANTINA_OK);
  BOOST_TEST(cantina_c_client_log(logger, "from C") == CANTINA_OK);

  const bus::LogRecord full = next_record(subscriber);
  BOOST_TEST(full.service == "python_service");
  BOOST_TEST((full.level == bus::Level::error));
  BOOST_TEST(full.message == message);
  BOOST_TEST(full.logger == "cantina_os.music");
  BOOST_TEST(full.file == "music.py");
  BOOST_TEST(full.line == 42u);
  BOOST_TEST(full.function == "set_volume");
  BOOST_TEST(full.thread == "MainThread");
  BOOST_TEST(full.timestamp_ns == when);
  BOOST_TEST(full.pid == static_cast<std::uint32_t>(getpid()));
  BOOST_TEST(full.sequence == 1u);
  BOOST_REQUIRE_EQUAL(full.fields.size(), 2u);
  BOOST_TEST(full.fields[0].first == "track");
  BOOST_TEST(full.fields[0].second == "Cantina Band");
  BOOST_TEST(full.fields[1].first == "volume");
  BOOST_TEST(full.fields[1].second == "");

  const bus::LogRecord bare = next_record(subscriber);
  BOOST_TEST(bare.message == "bare");
  BOOST_TEST(bare.logger == "python_service");  // defaults to the service id
  BOOST_TEST(bare.file == "");
  BOOST_TEST(bare.line == 0u);
  BOOST_TEST(bare.thread.find(':') != std::string::npos, bare.thread);  // "name:tid" of this thread
  BOOST_TEST(std::abs(bare.timestamp_ns - bus::now_ns()) < 10'000'000'000);
  BOOST_TEST(bare.sequence == 2u);

  const bus::LogRecord from_c = next_record(subscriber);
  BOOST_TEST(from_c.message == "from C");
  BOOST_TEST((from_c.level == bus::Level::warning));
  BOOST_TEST(from_c.function == "cantina_c_client_log");
  BOOST_TEST(from_c.file.ends_with("c_api_header_check.c"));
  BOOST_TEST(from_c.fields.size() == 2u);

  BOOST_TEST(cantina_logger_flush(logger, 5000) == CANTINA_OK);
  cantina_logger_counters counters{};
  BOOST_TEST(cantina_logger_get_counters(logger, &counters) == CANTINA_OK);
  BOOST_TEST(counters.logged == 3u);
  BOOST_TEST(counters.published == 3u);
  BOOST_TEST(counters.dropped == 0u);
  cantina_logger_close(logger);
}

// Queue slots keep their details' strings from record to record: each record must
// carry its own details only, cut exactly as cap_fields and capped_text cut them.
BOOST_AUTO_TEST_CASE(reused_slots_carry_only_their_own_details_cut_to_the_caps) {
  TempDir dir;
  Bus bus(dir.path());
  zmq::context_t context(1);
  bus::Subscriber subscriber(context, bus.subscribe_endpoint, {bus::topics::log_topic("reuse_service")});
  cantina_logger* logger = open_logger(bus, "reuse_service");

  // Many fields (past the caps in count and in bytes), a long file name, a large value.
  const std::string long_file(5000, 'f');
  const std::string large_value(std::size_t{20} * 1024, 'v');
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("key" + std::to_string(i));
  std::vector<cantina_field> many;
  for (const std::string& key : keys) many.push_back({key.c_str(), "value"});
  many[1].value = large_value.c_str();
  // Small enough for its slot to keep them (the next record there must not show them).
  const cantina_field three[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};

  std::vector<bus::Field> many_expected;
  for (const cantina_field& field : many) many_expected.emplace_back(field.key, field.value);
  bus::cap_fields(many_expected);
  BOOST_TEST_REQUIRE(many_expected.back().second.find("truncated") != std::string::npos);
  const std::vector<bus::Field> three_expected = {{"a", "1"}, {"b", "2"}, {"c", "3"}};

  // Three batches a round: the queue's two sets of slots take turns, so each record
  // lands in a slot that held another kind of record before.
  for (int round = 0; round < 3; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "many", 4, "the.logger", long_file.c_str(), 7,
                                    "function", "thread", 0, many.data(), many.size()) == CANTINA_OK);
      BOOST_TEST(cantina_logger_flush(logger, 5000) == CANTINA_OK);
      BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "none", 4, nullptr, "b.py", 0, nullptr, nullptr, 0,
                                    nullptr, 0) == CANTINA_OK);
      BOOST_TEST(cantina_logger_flush(logger, 5000) == CANTINA_OK);
      BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "three", 5, "other", nullptr, 0, nullptr, nullptr, 0,
                                    three, 3) == CANTINA_OK);
      BOOST_TEST(cantina_logger_flush(logger, 5000) == CANTINA_OK);

      const bus::LogRecord first = next_record(subscriber);
      BOOST_TEST(first.message == "many");
      BOOST_TEST(first.logger == "the.logger");
      BOOST_TEST(first.file == bus::capped_text(long_file, bus::kMaxNameBytes));
      BOOST_TEST(first.file.size() <= bus::kMaxNameBytes);
      BOOST_TEST(first.function == "function");
      BOOST_TEST(first.thread == "thread");
      BOOST_TEST((first.fields == many_expected));
      const bus::LogRecord second = next_record(subscriber);
      BOOST_TEST(second.message == "none");
      BOOST_TEST(second.logger == "reuse_service");
      BOOST_TEST(second.file == "b.py");
      BOOST_TEST(second.function == "");
      BOOST_TEST(second.thread.find(':') != std::string::npos, second.thread);
      BOOST_TEST(second.fields.empty());
      const bus::LogRecord third = next_record(subscriber);
      BOOST_TEST(third.message == "three");
      BOOST_TEST(third.logger == "other");
      BOOST_TEST(third.file == "");
      BOOST_TEST((third.fields == three_expected));
    }
  }
  cantina_logger_close(logger);
}

// A burst held until a subscriber comes fills tens of thousands of queue slots. Once
// it is published, the slots that only a burst reaches give their details back: what a
// burst leaves allocated is the queue itself, not its records' names and fields.
BOOST_AUTO_TEST_CASE(a_published_burst_leaves_no_details_behind) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  BOOST_TEST_MESSAGE("skipped: a sanitizer's allocator is not glibc's, which mallinfo2 counts");
#else
  TempDir dir;
  Bus bus(dir.path());
  zmq::context_t context(1);
  cantina_logger* logger = open_logger(bus, "burst_service", CANTINA_LEVEL_INFO, 60'000);
  const std::string file(900, 'f');  // each record's details: about 1 KiB
  constexpr std::uint64_t kRecords = 40'000;
  const std::size_t before = mallinfo2().uordblks;
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    BOOST_TEST_REQUIRE(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "burst", 5, "burst.logger", file.c_str(),
                                          static_cast<std::uint32_t>(i), "f", "t", 0, nullptr, 0) == CANTINA_OK);
  }
  {
    // Held until now: the subscriber lets all of it go at once.
    bus::Subscriber subscriber(context, bus.subscribe_endpoint, {bus::topics::log_topic("burst_service")});
    for (std::uint64_t received = 0; received < kRecords; ++received) {
      const bus::LogRecord record = next_record(subscriber);
      BOOST_TEST_REQUIRE(record.line == received);
    }
  }
  BOOST_TEST(cantina_logger_flush(logger, 10000) == CANTINA_OK);
  cantina_logger_counters counters{};
  BOOST_TEST(cantina_logger_get_counters(logger, &counters) == CANTINA_OK);
  BOOST_TEST(counters.published == kRecords);
  BOOST_TEST(counters.dropped == 0u);
  // The queue's own slots stay (about 1.4 MB more in use after the burst); 40,000
  // records' details would keep about 43 MB more.
  const std::size_t after = mallinfo2().uordblks;
  BOOST_TEST(after < before + std::size_t{8} * 1024 * 1024, "in use: " << before << " before, " << after << " after");
  cantina_logger_close(logger);
#endif
}

BOOST_AUTO_TEST_CASE(the_threshold_filters_and_follows_level_requests_from_the_bus) {
  TempDir dir;
  Bus bus(dir.path());
  cantina_logger* logger = open_logger(bus, "levelled", CANTINA_LEVEL_WARNING, 100);  // no one reads its records
  BOOST_TEST(cantina_logger_level(logger) == CANTINA_LEVEL_WARNING);
  BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_INFO, "quiet", 5, nullptr, nullptr, 0, nullptr, nullptr, 0,
                                nullptr, 0) == CANTINA_FILTERED);
  BOOST_TEST(cantina_logger_log(logger, 7, "x", 1, nullptr, nullptr, 0, nullptr, nullptr, 0, nullptr, 0) ==
             CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_logger_set_level(logger, CANTINA_LEVEL_ERROR) == CANTINA_OK);
  BOOST_TEST(cantina_logger_level(logger) == CANTINA_LEVEL_ERROR);
  BOOST_TEST(cantina_logger_set_level(logger, -1) == CANTINA_ERROR_INVALID_ARGUMENT);

  // What `tools/cantina level levelled DEBUG` sends.
  zmq::context_t context(1);
  bus::Publisher control(context, bus.publish_endpoint);
  const bus::SetLogLevel request{"levelled", bus::Level::debug, 77, "", 0, ""};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (cantina_logger_level(logger) != CANTINA_LEVEL_DEBUG && std::chrono::steady_clock::now() < deadline) {
    control.publish(bus::topics::set_log_level_topic("levelled"), request);
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST(cantina_logger_level(logger) == CANTINA_LEVEL_DEBUG);
  BOOST_TEST(cantina_logger_log(logger, CANTINA_LEVEL_DEBUG, "loud", 4, nullptr, nullptr, 0, nullptr, nullptr, 0,
                                nullptr, 0) == CANTINA_OK);
  cantina_logger_close(logger);
}

BOOST_AUTO_TEST_CASE(the_status_publisher_sends_service_status) {
  TempDir dir;
  Bus bus(dir.path());
  zmq::context_t context(1);
  bus::Subscriber subscriber(context, bus.subscribe_endpoint, {bus::topics::status_topic("crashy")});
  char error[128];
  cantina_status_publisher* publisher =
      cantina_status_publisher_open(bus.publish_endpoint.c_str(), error, sizeof error);
  BOOST_REQUIRE_MESSAGE(publisher != nullptr, error);
  BOOST_TEST(cantina_status_publish(publisher, "bad id", CANTINA_STATE_RUNNING, nullptr, 1, 0) ==
             CANTINA_ERROR_INVALID_ARGUMENT);
  BOOST_TEST(cantina_status_publish(publisher, "crashy", 6, nullptr, 1, 0) == CANTINA_ERROR_INVALID_ARGUMENT);

  std::optional<bus::Received> received;
  for (int attempt = 0; attempt < 100 && !received; ++attempt) {  // the first sends may reach no one
    BOOST_TEST(cantina_status_publish(publisher, "crashy", CANTINA_STATE_FATAL, "gave up after 5 failures", 4321,
                                      1'000) == CANTINA_OK);
    received = subscriber.receive(100ms);
  }
  BOOST_REQUIRE(received);
  auto status = bus::decode_service_status(received->bytes());
  BOOST_REQUIRE_MESSAGE(status, status.error);
  BOOST_TEST(status.value->service == "crashy");
  BOOST_TEST((status.value->state == bus::ServiceState::fatal));
  BOOST_TEST(status.value->message == "gave up after 5 failures");
  BOOST_TEST(status.value->pid == 4321u);
  BOOST_TEST(status.value->since_ns == 1'000);
  BOOST_TEST(status.value->host == bus::host_name());
  cantina_status_publisher_close(publisher);
}

BOOST_AUTO_TEST_SUITE_END()
