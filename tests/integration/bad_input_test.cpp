// Hand-made bad input against the real cantina-busd, cantina-logd and, where it
// shows, cantina-webbridge: truncated and empty payloads, wrong numbers of frames,
// topics naming no valid service, a message over the bus's size cap, a 1 MiB
// message of every byte that could break a line or a terminal, and records from a
// million distinct services. Each is counted and dropped, or stored safely as one
// line; no node crashes; memory stays bounded. (The decoders themselves are fuzzed
// in tests/fuzz/; odd bytes in a short message, a garbage payload on a log topic and
// on /dashboard/log are in logging_node_test, end_to_end_test and webbridge_test.)
#define BOOST_TEST_MODULE bad_input
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <fstream>
#include <regex>
#include <thread>

#include <boost/json/parse.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/socket.h"
#include "integration/bus_client.h"
#include "integration/process.h"
#include "integration/web_client.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;
namespace json = boost::json;

namespace {

// A whole session-file line: "[time] LEVEL    service              message". Only the
// fixed-width prefix goes through std::regex (which recurses per character).
bool well_formed(const std::string& line) {
  static const std::regex prefix(
      R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] (DEBUG   |INFO    |WARNING |ERROR   |CRITICAL) [^ ].{19} )");
  return line.size() >= 60 && std::regex_match(line.substr(0, 60), prefix);
}

// True if `text` is valid UTF-8 throughout (no overlongs, surrogates or code
// points above U+10FFFF).
bool valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = bus::utf8_sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

// True if `text` holds a raw C0 control byte, or DEL with `del`.
bool has_control_bytes(std::string_view text, bool del = true) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || (del && c == 0x7f)) return true;
  return false;
}


}  // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(broken_frames_and_topics_are_counted_and_dropped) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  const std::string whole = bus::encode(make_record("frames", 9, 1, "the whole record"));
  publisher.send("/log/frames", whole);
  publisher.send("/log/frames", whole.substr(0, whole.size() / 2));  // truncated
  publisher.send("/log/frames", whole.substr(0, 5));                 // shorter than a segment table
  publisher.send("/log/frames", "");                                 // empty payload
  publisher.send_frames({"/log/frames"});                            // the topic alone
  publisher.send_frames({"/log/frames", whole, "a third frame"});    // one frame too many
  publisher.send("/log/not a service!", whole);                      // a topic naming no valid service id
  publisher.send("/log/" + std::string(200, 'a'), whole);            // a service id too long
  publisher.send("/log/someone_else", whole);                        // the record names another service
  publisher.send("/unknown/topic", whole);                           // nobody subscribes: it never leaves the publisher
  publisher.send_record(make_record("frames", 9, 2, "after the bad ones"));

  const auto seen =
      stats.wait_until([](const bus::LoggingStats& s) { return s.received >= 2 && s.malformed >= 8; }, 10s);
  BOOST_REQUIRE_MESSAGE(seen, "the node did not account for every message");
  BOOST_TEST(seen->received == 2u);
  BOOST_TEST(seen->malformed == 8u);
  BOOST_TEST(seen->lost == 0u);
  std::this_thread::sleep_for(1500ms);  // the loss report of the second
  BOOST_TEST(bus.process.running());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) BOOST_TEST(well_formed(line), line);
  BOOST_TEST(count_containing(lines, "Frames               the whole record") == 1u);
  BOOST_TEST(count_containing(lines, "Frames               after the bad ones") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 3 malformed messages from frames") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 2 malformed messages from (wrong number of frames)") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 2 malformed messages from (invalid topic)") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 1 malformed messages from someone_else") == 1u);
}

// ZMQ_MAXMSGSIZE on busd's sockets: ZeroMQ does not drop the message alone, it
// closes the connection it came on. The publisher's socket sees the disconnect
// (a socket monitor event) and reconnects by itself, keeping its queue and its
// subscriptions; the oversized record, and any bytes of the next ones already on
// the wire, show as a sequence gap at the logging node.
BOOST_AUTO_TEST_CASE(an_oversized_message_costs_its_connection_and_the_loss_is_counted) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  publisher.send_record(make_record("oversized", 5, 1, "before"));
  publisher.send_record(
      make_record("oversized", 5, 2, std::string(static_cast<std::size_t>(bus::kMaxMessageBytes) + 1, 'x')));
  BOOST_REQUIRE_MESSAGE(publisher.wait_for_reconnect(10s), "the bus did not drop the connection, or no reconnect");
  publisher.send_record(make_record("oversized", 5, 3, "after"));
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(bus.process.running());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Oversized            before") == 1u);
  BOOST_TEST(count_containing(lines, "Oversized            after") == 1u);
  BOOST_TEST(count_containing(lines, "lost 1 records from oversized (1 gap in sequence numbers)") == 1u);
  for (const auto& line : lines) BOOST_TEST(line.size() < 1000u);
}

// A batch's shared texts are copied into each of its records: one over the name
// cap (1 KiB) makes the message malformed at the logging node, which counts it and
// goes on; the same batch within the cap is written.
BOOST_AUTO_TEST_CASE(a_batch_whose_shared_text_is_over_its_cap_is_counted_as_malformed) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  bus::LogBatchEncoder encoder;
  std::string payload;
  std::vector<bus::LogRecordView> views(100);
  for (std::size_t i = 0; i < views.size(); ++i) {
    views[i].publisher_id = 9;
    views[i].sequence = i + 1;
    views[i].message = "amplified";
  }
  encoder.encode(views, 9, 100, payload,
                 bus::LogBatchShared{"amp", std::string(bus::kMaxNameBytes + 1, 'h'), "amp", 1});
  publisher.send("/log/amp/batch", payload);
  for (auto& view : views) view.sequence += 100;
  encoder.encode(views, 9, 200, payload, bus::LogBatchShared{"amp", std::string(bus::kMaxNameBytes, 'h'), "amp", 1});
  publisher.send("/log/amp/batch", payload);
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "dropped 1 malformed messages from amp") == 1u);
  BOOST_TEST(count_containing(lines, "Amp                  amplified") == 100u);
}

BOOST_AUTO_TEST_CASE(a_record_of_odd_bytes_as_big_as_allowed_is_one_line_in_the_file_and_text_on_the_dashboard) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  WebBridge bridge(node);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  // NUL, an ANSI colour, BEL, backspace, CR LF, DEL, a C1 control, U+2028, bytes that
  // are not UTF-8 (a lone byte, an overlong NUL, a surrogate, a cut sequence), and
  // valid multibyte text; repeated to half as much again as the record size cap (a
  // hand-made publisher sends it whole: no Logger cuts it, the node does).
  const std::string piece =
      std::string("NUL[\0] ", 7) +
      "ESC[\x1b[31mred\x1b[0m] BEL[\a] BS[\b] CRLF[\r\n] DEL[\x7f] C1[\xc2\x85] "
      "LS[\xe2\x80\xa8] bad[\xff\xc0\x80\xed\xa0\x80] cut[\xe2\x82] ok[\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80] ";
  std::string message = "odd-megabyte ";
  while (message.size() + piece.size() <= bus::kDefaultMaxRecordBytes * 3 / 2) message += piece;
  publisher.send_record(make_record("odd_bytes", 3, 1, message));
  publisher.send_record(make_record("odd_bytes", 3, 2, "the next record"));
  std::this_thread::sleep_for(1500ms);

  // The dashboard's first load (history from the ring buffer, as JSON).
  const std::string body = bridge.get("/api/logs?limit=5&service=odd_bytes");
  BOOST_TEST(valid_utf8(body));
  BOOST_TEST(!has_control_bytes(body, false));  // JSON escapes C0 controls; DEL is text to it
  const auto entries = json::parse(body).at("entries").as_array();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  const std::string shown(entries[0].at("message").as_string());
  BOOST_TEST(shown.starts_with("odd-megabyte NUL["));
  // Cut at the record cap, and marked (invalid bytes became U+FFFD).
  BOOST_TEST(shown.size() >= bus::kDefaultMaxRecordBytes - 64);
  BOOST_TEST(shown.find("\xe2\x80\xa6 [truncated ") != std::string::npos);
  BOOST_TEST(shown.ends_with(" bytes]"));
  BOOST_TEST(valid_utf8(shown));
  BOOST_TEST(shown.find("\xef\xbf\xbd") != std::string::npos);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);

  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) {
    BOOST_TEST(well_formed(line), line.substr(0, 200));
    BOOST_TEST(valid_utf8(line));
    BOOST_TEST(!has_control_bytes(line));
  }
  BOOST_REQUIRE_EQUAL(count_containing(lines, "odd-megabyte"), 1u);
  const std::string& line =
      *std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("odd-megabyte") != l.npos; });
  BOOST_TEST(line.size() > bus::kDefaultMaxRecordBytes);
  BOOST_TEST(line.find("\xe2\x80\xa6 [truncated ") != std::string::npos);
  BOOST_TEST(line.find(R"(NUL[\x00] ESC[\x1b[31mred\x1b[0m] BEL[\x07] BS[\x08] CRLF[\r\n] DEL[\x7f] C1[\u0085] )"
                       R"(LS[\u2028] bad[\xff\xc0\x80\xed\xa0\x80] cut[\xe2\x82] ok[)"
                       "\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80] ") != std::string::npos);
  BOOST_TEST(count_containing(lines, "Odd Bytes            the next record") == 1u);
}

// Per-service state is bounded: the sequence tracker follows at most 100,000
// publishers (forgetting the least recently seen, counted and reported), the
// friendly-name cache 4,096 names, the pending loss reports 1,000 services a
// second. (deduplication_window = 0: the dedup table is bounded on its own.)
BOOST_AUTO_TEST_CASE(a_million_distinct_services_leave_the_logging_nodes_memory_bounded) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  constexpr std::uint64_t kServices = 1'000'000;
  constexpr std::uint64_t kChunk = 10'000;
  std::uint64_t sent = 0;
  // Sends up to `until` at most 100,000 a second (a chunk every 100 ms), never more
  // than 100,000 ahead of the node: little is in flight when memory is measured, and
  // the bus's and the node's queues (100,000 messages each) never overflow.
  auto send_until = [&](std::uint64_t until) {
    auto next = std::chrono::steady_clock::now();
    while (sent < until) {
      const std::uint64_t behind = sent < 100'000 ? 0 : sent - 100'000;
      BOOST_REQUIRE(stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= behind; }, 60s));
      std::this_thread::sleep_until(next);
      next += 100ms;
      for (std::uint64_t end = sent + kChunk; sent < end; ++sent) {
        publisher.send_record(make_record("svc_" + std::to_string(sent), sent + 1, 1, "hello"));
      }
    }
    BOOST_REQUIRE(
        stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= until && s.queue_depth == 0; }, 60s));
  };
  // RssAnon after every 100,000 services, the node idle each time. It wanders by
  // tens of MiB with what malloc keeps; without the bounds, a tracked publisher and
  // a cached name (~100 bytes each) for a million services would add ~200 MiB.
  std::string figures;
  std::uint64_t most_kib = 0;
  for (std::uint64_t n = 100'000; n <= kServices; n += 100'000) {
    send_until(n);
    const std::uint64_t kib = rss_anon_kib(node.process->pid());
    most_kib = std::max(most_kib, kib);
    figures += " " + std::to_string(kib / 1024);
  }
  BOOST_TEST_MESSAGE("cantina-logd RssAnon (MiB) after each 100,000 services:" << figures);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // their shadow memory is anonymous too
  BOOST_TEST(most_kib < 96 * 1024u);
#endif
  const auto last = stats.wait_until([](const bus::LoggingStats& s) { return s.received == kServices; }, 10s);
  BOOST_REQUIRE(last);
  BOOST_TEST(last->publishers == 100'000u);
  BOOST_TEST(last->lost == 0u);
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  std::ifstream file(node.session_file(), std::ios::binary);
  std::uint64_t records = 0, bad = 0;
  std::vector<std::string> reports;
  for (std::string line; std::getline(file, line);) {
    if (line.find("] INFO     Svc ") == 28 && line.ends_with(" hello"))
      ++records;
    else if (line.find("Logging Service") != std::string::npos)
      reports.push_back(line);
    else
      ++bad;
  }
  // A writer slower than the burst drops entries, counted and reported.
  const std::uint64_t dropped = sum_reported(reports, "Logging Service      dropped ", " entries: writer queue full");
  BOOST_TEST(dropped == last->dropped);
  BOOST_TEST(records + dropped == kServices);
  BOOST_TEST(bad == 0u);
  BOOST_TEST(sum_reported(reports, "Logging Service      forgot ", " publishers (more than 100000 at once)") ==
             kServices - 100'000);
}

BOOST_AUTO_TEST_CASE(losses_from_thousands_of_services_are_reported_in_bounded_lines) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  constexpr std::uint64_t kServices = 5000;
  for (std::uint64_t i = 0; i < kServices; ++i) publisher.send("/log/broken_" + std::to_string(i), "not a record");
  BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.malformed == kServices; }, 10s));
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  const auto reports = count_containing(lines, " malformed messages from ");
  BOOST_TEST(sum_reported(lines, "Logging Service      dropped ", " malformed messages from ") == kServices);
  BOOST_TEST(count_containing(lines, " malformed messages from (other services)") >= 1u);
  BOOST_TEST(reports <= 2 * 1001u);  // one second's report, or two if the burst straddled a tick
}

BOOST_AUTO_TEST_SUITE_END()
