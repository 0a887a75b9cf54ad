// cantina-webbridge with the real busd and logd: history then live entries over
// a real WebSocket, a malformed bus payload dropped and counted, a stalled
// browser that does not slow a fast one, and a burst that arrives whole and in
// order through the logging node's batches.
#define BOOST_TEST_MODULE webbridge
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/socket.h>

#include <set>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/logger.h"
#include "integration/bus_client.h"
#include "integration/process.h"
#include "integration/web_client.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

// A browser stand-in: a WebSocket client that reads with a timeout.
class WsClient {
 public:
  WsClient(const std::string& port, int receive_buffer = 0, const std::string& origin = "",
           const std::string& cookie = "")
      : ws_(io_) {
    auto& socket = ws_.next_layer();
    socket.open(tcp::v4());
    if (receive_buffer > 0) socket.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(port))));
    timeval timeout{5, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ws_.read_message_max(std::size_t{64} * 1024 * 1024);
    // The dashboard's own page unless told otherwise: the bridge refuses a WebSocket without an allowed Origin.
    const std::string from = origin.empty() ? "http://127.0.0.1:" + port : origin;
    ws_.set_option(websocket::stream_base::decorator([from, cookie](websocket::request_type& request) {
      request.set(http::field::origin, from);
      if (!cookie.empty()) request.set(http::field::cookie, cookie);
    }));
    ws_.handshake("127.0.0.1:" + port, "/ws");
  }

  // The next message, or nullopt on timeout/close.
  std::optional<json::object> next() {
    beast::flat_buffer buffer;
    beast::error_code error;
    ws_.read(buffer, error);
    if (error) return std::nullopt;
    return json::parse(beast::buffers_to_string(buffer.data())).as_object();
  }

 private:
  net::io_context io_;
  websocket::stream<tcp::socket> ws_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(webbridge)

BOOST_AUTO_TEST_CASE(serves_history_then_live_entries_and_drops_malformed_payloads) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 5; ++i)
    publisher.send_record(make_record("music_controller", 1234, i, "before " + std::to_string(i)));
  std::this_thread::sleep_for(300ms);

  const auto history = json::parse(bridge.get("/api/logs?limit=3&service=music_controller")).as_object();
  const auto& entries = history.at("entries").as_array();
  BOOST_REQUIRE_EQUAL(entries.size(), 3u);
  BOOST_TEST(entries[0].at("message").as_string() == "before 3");
  BOOST_TEST(entries[2].at("message").as_string() == "before 5");
  BOOST_TEST(entries[2].at("service").as_string() == "Music Controller");

  WsClient client(bridge.port);
  auto hello = client.next();
  BOOST_REQUIRE(hello);
  BOOST_TEST(hello->at("type").as_string() == "hello");
  // A malformed payload straight onto /dashboard/log must never reach a browser.
  publisher.send(std::string(bus::topics::kDashboardLog), "garbage!");
  for (std::uint64_t i = 6; i <= 8; ++i)
    publisher.send_record(make_record("music_controller", 1234, i, "after " + std::to_string(i)));
  std::vector<std::string> live;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (live.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    auto message = client.next();
    if (!message || message->at("type").as_string() != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) {
      const std::string text(entry.at("message").as_string());
      if (text.starts_with("after ")) live.push_back(text);
    }
  }
  BOOST_TEST((live == std::vector<std::string>{"after 6", "after 7", "after 8"}));
  const auto stats = json::parse(bridge.get("/api/stats")).as_object();
  BOOST_TEST(stats.at("webbridge").at("malformed").to_number<int>() == 1);
  BOOST_TEST(json::parse(bridge.get("/healthz")).at("status").as_string() == "ok");
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_stalled_client_does_not_slow_a_fast_one) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\ndashboard_max_rate = 0\n");  // the bridge's own skipping
  WebBridge bridge(node, "max_client_queue = 10000\n");
  WsClient stalled(bridge.port, 4096);  // connects, then never reads
  WsClient fast(bridge.port);
  BOOST_REQUIRE(fast.next());  // hello
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  constexpr int kRecords = 60'000;
  std::thread flood([&] {
    for (int i = 1; i <= kRecords; ++i) {
      publisher.send_record(make_record("flood", 1234, static_cast<std::uint64_t>(i),
                                        "flood " + std::to_string(i) + std::string(200, '.')));
      if (i % 100 == 0) std::this_thread::sleep_for(5ms);  // about 20,000 records/s
    }
  });
  std::set<std::uint64_t> seen;
  bool fast_was_skipped = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (seen.size() < kRecords && std::chrono::steady_clock::now() < deadline) {
    auto message = fast.next();
    if (!message) break;
    if (message->at("type").as_string() == "skipped") fast_was_skipped = true;
    if (message->at("type").as_string() != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) {
      if (entry.at("service_id").as_string() == "flood") seen.insert(entry.at("sequence").to_number<std::uint64_t>());
    }
  }
  flood.join();
  BOOST_TEST(!fast_was_skipped);
  BOOST_TEST(seen.size() == std::size_t{kRecords});
  const auto stats = json::parse(bridge.get("/api/stats")).as_object();
  BOOST_TEST(stats.at("webbridge").at("skipped").to_number<std::uint64_t>() > 0u);         // the stalled one
  BOOST_TEST(stats.at("webbridge").at("inbox_dropped").to_number<std::uint64_t>() == 0u);  // the bridge kept up
  // The fast one is still there; the stalled one too, unless it took nothing for
  // 5 s (a slow run): then it was dropped and counted.
  const int stalled_dropped = stats.at("webbridge").at("stalled_dropped").to_number<int>();
  BOOST_TEST(stalled_dropped <= 1);
  BOOST_TEST(stats.at("webbridge").at("clients").to_number<int>() == 2 - stalled_dropped);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_burst_reaches_a_client_completely_and_in_order_through_batches) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\ndashboard_max_rate = 0\n");  // no live-view limit
  WebBridge bridge(node);
  WsClient client(bridge.port);
  BOOST_REQUIRE(client.next());  // hello
  // A plain subscriber to the prefix "/dashboard/log" beside the bridge: it gets the
  // node's batches too, and counts messages against entries.
  zmq::context_t context;
  bus::Subscriber watcher(context, bus.subscribe_endpoint, {std::string(bus::topics::kDashboardLog)});
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  // Until the watcher's subscription has reached the logging node.
  const auto warm_deadline = std::chrono::steady_clock::now() + 10s;
  bool watching = false;
  while (!watching && std::chrono::steady_clock::now() < warm_deadline) {
    publisher.send_record(make_record("warm_up", 99, ++sequence, "warm up"));
    watching = watcher.receive(200ms).has_value();
  }
  BOOST_REQUIRE(watching);
  while (watcher.receive(300ms)) {
  }

  // The burst: 20,000 records in batches of 500, as fast as they go.
  constexpr std::uint64_t kRecords = 20'000;
  for (std::uint64_t first = 1; first <= kRecords; first += 500) {
    bus::LogRecordBatch batch;
    batch.publisher_id = 4321;
    for (std::uint64_t i = first; i < first + 500; ++i)
      batch.records.push_back(make_record("burst", 4321, i, "burst " + std::to_string(i)));
    batch.last_sequence = first + 499;
    publisher.send_batch("burst", batch);
  }
  // A hand-made single entry on /dashboard/log and a malformed batch: the bridge
  // takes the one and counts the other.
  bus::DashboardLog single;
  single.message = "single form";
  single.service_id = "hand_made";
  publisher.send(std::string(bus::topics::kDashboardLog), bus::encode(single));
  publisher.send(std::string(bus::topics::kDashboardLogBatch), "garbage!");

  std::vector<std::uint64_t> seen;  // the burst's record numbers, in the order received
  bool skipped = false, single_seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((seen.size() < kRecords || !single_seen) && std::chrono::steady_clock::now() < deadline) {
    auto message = client.next();
    if (!message) break;
    if (message->at("type").as_string() == "skipped") skipped = true;
    if (message->at("type").as_string() != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) {
      if (entry.at("service_id").as_string() == "hand_made") single_seen = true;
      if (entry.at("service_id").as_string() != "burst") continue;
      const std::string text(entry.at("message").as_string());
      seen.push_back(std::stoull(text.substr(6)));
    }
  }
  BOOST_TEST(!skipped);
  BOOST_TEST(single_seen);
  BOOST_REQUIRE_EQUAL(seen.size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) BOOST_REQUIRE_EQUAL(seen[i], i + 1);

  // The node sent the burst as batches, many entries a message.
  std::uint64_t messages = 0, entries = 0;
  while (auto message = watcher.receive(500ms)) {
    auto dashboard = bus::topics::parse_dashboard_topic(message->topic);
    BOOST_REQUIRE(dashboard.has_value());
    auto decoded = bus::decode_dashboard_logs(message->bytes(), dashboard->batch);
    if (!decoded) continue;  // the garbage above
    ++messages;
    for (const auto& entry : decoded.value->entries) entries += entry.service_id == "burst";
  }
  BOOST_TEST(entries == kRecords);
  BOOST_TEST(messages * 10 < entries, messages << " messages for " << entries << " entries");
  const auto stats = json::parse(bridge.get("/api/stats")).as_object();
  BOOST_TEST(stats.at("webbridge").at("malformed").to_number<int>() == 1);
  BOOST_TEST(stats.at("webbridge").at("inbox_dropped").to_number<std::uint64_t>() == 0u);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(beyond_the_live_view_limit_a_client_is_told_how_many_and_gets_every_warning) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\ndashboard_max_rate = 1000\n");
  WebBridge bridge(node);
  WsClient client(bridge.port);
  BOOST_REQUIRE(client.next());  // hello
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  // Until the node streams (a subscriber beside the bridge sees it; the bridge
  // subscribed long before), then until the client has had the warm-up entry.
  bus::Subscriber watcher(context, bus.subscribe_endpoint, {std::string(bus::topics::kDashboardLog)});
  std::uint64_t sequence = 0;
  bool streaming = false;
  const auto warm_deadline = std::chrono::steady_clock::now() + 10s;
  while (!streaming && std::chrono::steady_clock::now() < warm_deadline) {
    publisher.send_record(make_record("warm_up", 99, ++sequence, "warm up"));
    streaming = watcher.receive(200ms).has_value();
  }
  BOOST_REQUIRE(streaming);
  bool warm = false;
  while (!warm) {
    auto message = client.next();
    BOOST_REQUIRE(message);
    if (message->at("type").as_string() != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) warm = warm || entry.at("service_id") == "warm_up";
  }
  std::this_thread::sleep_for(1500ms);  // the budget refills to a second's worth (1,000)

  // 10,000 records at once, every 100th a WARNING: far beyond 1,000 a second.
  constexpr std::uint64_t kRecords = 10'000;
  for (std::uint64_t first = 1; first <= kRecords; first += 500) {
    bus::LogRecordBatch batch;
    batch.publisher_id = 4321;
    for (std::uint64_t i = first; i < first + 500; ++i) {
      bus::LogRecord record = make_record("flood", 4321, i, "flood " + std::to_string(i));
      if (i % 100 == 0) record.level = bus::Level::warning;
      batch.records.push_back(std::move(record));
    }
    batch.last_sequence = first + 499;
    publisher.send_batch("flood", batch);
  }
  std::uint64_t infos = 0, warnings = 0, limited = 0, last_sequence = 0;
  bool in_order = true;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (infos + warnings + limited < kRecords && std::chrono::steady_clock::now() < deadline) {
    auto message = client.next();
    if (!message) break;
    const std::string type(message->at("type").as_string());
    BOOST_TEST(type != "skipped");  // the browser kept up: nothing of the bridge's own
    if (type == "limited") limited += message->at("count").to_number<std::uint64_t>();
    if (type != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) {
      if (entry.at("service_id").as_string() != "flood") continue;
      const auto entry_sequence = entry.at("sequence").to_number<std::uint64_t>();
      in_order = in_order && entry_sequence > last_sequence;
      last_sequence = entry_sequence;
      (entry.at("level").as_string() == "WARNING" ? warnings : infos) += 1;
    }
  }
  BOOST_TEST(in_order);
  BOOST_TEST(warnings == 100u);                        // every WARNING, however far over the limit
  BOOST_TEST(infos + warnings >= 1000u);               // the second's worth the budget held
  BOOST_TEST(infos + warnings < 3000u);                // and not much more (it refills at 1,000/s)
  BOOST_TEST(infos + warnings + limited == kRecords);  // the rest announced, to the entry

  // Counted by the node (in its stats) and by the bridge; every record is in the file.
  bool counted = false;
  for (int attempt = 0; attempt < 50 && !counted; ++attempt) {
    const auto stats = json::parse(bridge.get("/api/stats")).as_object();
    counted = stats.at("logging").is_object() &&
              stats.at("logging").at("not_streamed").to_number<std::uint64_t>() == limited &&
              stats.at("webbridge").at("not_streamed").to_number<std::uint64_t>() == limited;
    if (!counted) std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST(counted);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  BOOST_TEST(count_containing(read_lines(node.session_file()), "flood ") == kRecords);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(api_stats_names_the_services_as_the_config_does) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "[logging.service_names]\nmusic_controller = \"Jukebox \\\"7\\\"\"\n");
  WebBridge bridge(node);
  const auto names = json::parse(bridge.get("/api/stats")).at("service_names").as_object();
  BOOST_TEST(names.at("music_controller").as_string() == "Jukebox \"7\"");   // the config's
  BOOST_TEST(names.at("logging_service").as_string() == "Logging Service");  // and the defaults
  BOOST_TEST(names.at("web_bridge").as_string() == "Web Bridge");
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(serves_the_page_and_refuses_paths_outside_it) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);
  BOOST_TEST(bridge.get("/").find("<html") != std::string::npos);
  BOOST_TEST(bridge.get("/static/..%2f..%2fCMakeLists.txt").find("not found") != std::string::npos);
  BOOST_TEST(bridge.get("/static/../../CMakeLists.txt").find("not found") != std::string::npos);
  BOOST_TEST(bridge.get("/api/logs?level=LOUD").find("level must be") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(websockets_from_other_sites_are_refused) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);
  BOOST_CHECK_THROW(WsClient(bridge.port, 0, "http://evil.example"), boost::system::system_error);
  WsClient own_page(bridge.port, 0, "http://127.0.0.1:" + bridge.port);
  BOOST_TEST(own_page.next().has_value());
}

BOOST_AUTO_TEST_CASE(a_token_guards_everything_but_the_health_check) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  const std::string token = "droid-0123456789abcdef";
  WebBridge bridge(node, "token = \"" + token + "\"\n");
  BOOST_TEST(http_request(bridge.port, "/").status == 401u);
  BOOST_TEST(http_request(bridge.port, "/api/logs").status == 401u);
  BOOST_TEST(http_request(bridge.port, "/?token=wrong-wrong-wrong-wrong").status == 401u);
  BOOST_TEST(http_request(bridge.port, "/healthz").status == 200u);
  const HttpResult page = http_request(bridge.port, "/?token=" + token);
  BOOST_TEST(page.status == 200u);
  BOOST_TEST(page.set_cookie.find("cantina_token=" + token) != std::string::npos, page.set_cookie);
  BOOST_TEST(page.set_cookie.find("HttpOnly") != std::string::npos);
  const std::string cookie = "cantina_token=" + token;
  BOOST_TEST(http_request(bridge.port, "/api/stats", {{http::field::cookie, cookie}}).status == 200u);
  BOOST_TEST(http_request(bridge.port, "/api/stats", {{http::field::authorization, "Bearer " + token}}).status == 200u);
  BOOST_CHECK_THROW(WsClient(bridge.port, 0, "http://127.0.0.1:" + bridge.port), boost::system::system_error);
  WsClient with_cookie(bridge.port, 0, "http://127.0.0.1:" + bridge.port, cookie);
  BOOST_TEST(with_cookie.next().has_value());
}

BOOST_AUTO_TEST_CASE(refuses_to_listen_beyond_loopback_without_a_token) {
  TempDir dir;
  const auto config = dir.path() / "open.toml";
  write_file(config, "[webbridge]\nlisten = \"0.0.0.0:0\"\n");
  Process bridge({bin("cantina-webbridge"), "--config", config.string()}, dir.path() / "webbridge.out");
  BOOST_TEST(bridge.wait(10s) == 1);
  BOOST_TEST(bridge.output().find("set [webbridge] token") != std::string::npos, bridge.output());
}

// A record's file:line, function, logger, thread, pid, host and fields, as a
// Logger publishes them, in every view: /api/logs, the dashboard's live entries,
// `tail -n --json` (the same as live `tail --json`), and the session file with
// [logging] session_fields = true.
BOOST_AUTO_TEST_CASE(a_record_s_source_and_fields_reach_every_view) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "session_fields = true\ndeduplication_window = 0\n");
  WebBridge bridge(node);
  WsClient client(bridge.port);
  Process live({bin("cantina-cli"), "tail", "--config", node.config.string(), "--json"}, dir.path() / "live.out");
  std::this_thread::sleep_for(500ms);  // let the tail and the bridge subscribe

  zmq::context_t context;
  bus::LoggerOptions options;
  options.service = "music_controller";
  options.publish_endpoint = bus.publish_endpoint;
  options.logger_name = "cantina_os.music";
  {
    bus::Logger logger(context, options);
    bus::RecordDetails details;
    details.file = "music.py";
    details.line = 42;
    details.function = "play";
    details.thread = "audio";
    details.fields = {{"track", "Cantina Band"}, {"note", "two words\nand a line"}};
    BOOST_TEST(logger.log(bus::Level::warning, "Track started", details));
    BOOST_TEST(logger.log(bus::Level::info, "Plain record", bus::RecordDetails{}));
  }

  const auto check = [&](const json::object& entry, const std::string& where) {
    BOOST_TEST_CONTEXT(where << ": " << json::serialize(entry)) {
      BOOST_TEST(entry.at("file").as_string() == "music.py");
      BOOST_TEST(entry.at("line").to_number<int>() == 42);
      BOOST_TEST(entry.at("function").as_string() == "play");
      BOOST_TEST(entry.at("logger").as_string() == "cantina_os.music");
      BOOST_TEST(entry.at("thread").as_string() == "audio");
      BOOST_TEST(entry.at("pid").to_number<int>() == getpid());
      BOOST_TEST(!entry.at("host").as_string().empty());
      BOOST_TEST((entry.at("fields").as_object() ==
                  json::object{{"track", "Cantina Band"}, {"note", "two words\nand a line"}}));
    }
  };

  // The dashboard's live entries.
  std::optional<json::object> streamed;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !streamed && std::chrono::steady_clock::now() < deadline;) {
    auto message = client.next();
    if (!message || message->at("type").as_string() != "entries") continue;
    for (const auto& entry : message->at("entries").as_array()) {
      if (entry.at("message").as_string() == "Track started") streamed = entry.as_object();
    }
  }
  BOOST_REQUIRE(streamed);
  check(*streamed, "live dashboard entry");

  // The history: /api/logs, and `tail -n 5 --no-follow --json`.
  const auto history = json::parse(bridge.get("/api/logs?limit=5&service=music_controller")).as_object();
  const auto& entries = history.at("entries").as_array();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  check(entries[0].as_object(), "/api/logs");
  const auto& plain = entries[1].as_object();
  BOOST_TEST(plain.at("message").as_string() == "Plain record");
  BOOST_TEST(!plain.contains("fields"));
  BOOST_TEST(!plain.contains("file"));

  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "5", "--no-follow", "--json"},
               dir.path() / "tail.out");
  BOOST_REQUIRE_EQUAL(tail.wait(10s), 0);
  BOOST_REQUIRE(live.wait_for_output("Plain record", 10s));
  BOOST_TEST(live.stop(SIGINT) == 0);
  const auto line_of = [](const std::filesystem::path& path, const std::string& message) {
    for (const auto& line : read_lines(path)) {
      auto object = json::parse(line).as_object();
      if (object.at("message").as_string() == message) return object;
    }
    BOOST_FAIL("no line with " + message + " in " + path.string());
    return json::object();
  };
  const json::object told = line_of(dir.path() / "tail.out", "Track started");
  const json::object seen = line_of(dir.path() / "live.out", "Track started");
  check(told, "tail -n");
  check(seen, "live tail");
  // The same keys with the same values, in history and live, also for a record without them.
  const json::object told_plain = line_of(dir.path() / "tail.out", "Plain record");
  const json::object seen_plain = line_of(dir.path() / "live.out", "Plain record");
  for (const char* key : {"file", "line", "function", "logger", "thread", "pid", "host", "fields", "service",
                          "service_name", "level", "message", "timestamp"}) {
    BOOST_TEST(told.at(key) == seen.at(key), key);
    BOOST_TEST(told_plain.at(key) == seen_plain.at(key), key);
  }

  // The session file: the fields after the message, escaped like it; none after a plain one.
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines,
                              "WARNING  Music Controller     Track started track=Cantina Band "
                              "note=two words\\nand a line") == 1u);
  bool plain_line = false;
  for (const auto& line : lines) plain_line = plain_line || line.ends_with("Music Controller     Plain record");
  BOOST_TEST(plain_line);
}

// The bridge streams the dashboard entries all the time, but it is a live viewer
// only while a browser is connected: then it subscribes to /watching and the
// services' Loggers send at once; otherwise they keep their unwatched linger.
BOOST_AUTO_TEST_CASE(loggers_send_at_once_only_while_a_browser_is_connected) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);
  zmq::context_t context;
  LingerProbe probe(context, bus, "watched_svc");
  auto& log = probe.log;
  std::this_thread::sleep_for(1s);  // the bridge and the node are subscribed
  log.info("no browser");
  BOOST_TEST(!probe.record_arrives(1500ms));  // lingers: the bridge alone watches no one
  BOOST_TEST(log.flush(5s));
  BOOST_TEST(probe.record_arrives(5s));
  {
    WsClient browser(bridge.port);
    BOOST_REQUIRE(browser.next());  // hello
    bool prompt = false;
    for (int attempt = 0; attempt < 60 && !prompt; ++attempt) {
      log.info("a browser watches ({})", attempt);
      prompt = probe.record_arrives(300ms);
    }
    BOOST_TEST(prompt);
  }
  // The browser left: after the bridge's next look (100 ms) and the Logger's next
  // message, records linger again.
  std::this_thread::sleep_for(1s);
  log.info("the browser left");
  BOOST_TEST(log.flush(5s));
  while (probe.record_arrives(200ms)) {
  }
  log.info("no browser again");
  BOOST_TEST(!probe.record_arrives(1500ms));
}

BOOST_AUTO_TEST_SUITE_END()
