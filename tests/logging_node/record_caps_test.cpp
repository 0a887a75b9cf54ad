#define BOOST_TEST_MODULE record_caps
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "cantina/bus/limits.h"
#include "record_caps.h"

namespace {

namespace bus = cantina::bus;
using cantina::logging::RecordCaps;

bus::LogRecordView record(std::string_view message) {
  bus::LogRecordView view;
  view.service = "svc";
  view.message = message;
  return view;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(record_caps)

BOOST_AUTO_TEST_CASE(truncate_utf8_cuts_at_a_sequence_boundary_and_says_how_much_it_left_out) {
  std::string out;
  BOOST_TEST(bus::truncate_utf8("short", 5, out) == "short");
  BOOST_TEST(bus::truncate_utf8("abcdefgh", 5, out) == "abcde\xe2\x80\xa6 [truncated 3 bytes]");
  // "é" is two bytes: a cut inside it backs off to before it.
  BOOST_TEST(bus::truncate_utf8("abcd\xc3\xa9xyz", 5, out) == "abcd\xe2\x80\xa6 [truncated 5 bytes]");
  // A four-byte sequence cut after any of its first three bytes.
  const std::string emoji = "ab\xf0\x9f\x98\x80";
  for (std::size_t cap : {3u, 4u, 5u}) {
    BOOST_TEST(bus::truncate_utf8(emoji, cap, out) == "ab\xe2\x80\xa6 [truncated 4 bytes]");
  }
  const std::string huge(1'000'000, 'x');
  BOOST_TEST(bus::truncate_utf8(huge, 100, out).size() <= 100 + bus::kMaxTruncationMarkerBytes);
}

BOOST_AUTO_TEST_CASE(texts_over_their_caps_are_cut_and_marked_the_rest_untouched) {
  RecordCaps caps({.message = 10, .name = 4, .fields = 1000, .filled = 1'000'000});
  caps.start_message();
  bus::LogRecordView view = record("0123456789abc");
  view.host = "hostname";
  view.logger = "log";
  view.thread = "thread-1";
  view.file = "f.cpp";
  view.function = "fn";
  BOOST_TEST_REQUIRE(caps.apply(view));
  BOOST_TEST(view.message == "0123456789\xe2\x80\xa6 [truncated 3 bytes]");
  BOOST_TEST(view.host == "host\xe2\x80\xa6 [truncated 4 bytes]");
  BOOST_TEST(view.logger == "log");
  BOOST_TEST(view.thread == "thre\xe2\x80\xa6 [truncated 4 bytes]");
  BOOST_TEST(view.file == "f.cp\xe2\x80\xa6 [truncated 1 bytes]");
  BOOST_TEST(view.function == "fn");
  BOOST_TEST(caps.truncated() == 1u);

  bus::LogRecordView small = record("fits");
  BOOST_TEST_REQUIRE(caps.apply(small));
  BOOST_TEST(small.message == "fits");
  BOOST_TEST(caps.truncated() == 1u);
}

BOOST_AUTO_TEST_CASE(fields_that_do_not_fit_are_left_out_and_counted_in_a_last_field) {
  RecordCaps caps({.message = 100, .name = 100, .fields = 10, .filled = 1'000'000});
  caps.start_message();
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"a", "1"}, {"bb", "22"}, {"ccc", "333"}, {"d", "4"}};
  bus::LogRecordView view = record("m");
  view.fields = fields;
  BOOST_TEST_REQUIRE(caps.apply(view));
  BOOST_TEST_REQUIRE(view.fields.size() == 3u);
  BOOST_TEST(view.fields[0].first == "a");
  BOOST_TEST(view.fields[1].second == "22");
  BOOST_TEST(view.fields[2].first == "(truncated)");
  BOOST_TEST(view.fields[2].second == "2 fields left out");
}

// A batch's shared values are filled into each record: what a message fills in is
// counted, and beyond the cap the rest of the message is refused.
BOOST_AUTO_TEST_CASE(a_message_that_would_fill_in_more_than_its_cap_is_refused_from_there_on) {
  RecordCaps caps({.message = 100, .name = 1000, .fields = 100, .filled = 10'000});
  caps.start_message();
  const std::string shared_host(1000, 'h');
  int taken = 0;
  for (int i = 0; i < 100; ++i) {
    bus::LogRecordView view = record("x");
    view.host = shared_host;
    if (!caps.apply(view)) break;
    ++taken;
  }
  // Each record fills 1000 + 1 + 3 ("svc") bytes.
  BOOST_TEST(taken == 9);
  bus::LogRecordView tiny = record("");
  BOOST_TEST(!caps.apply(tiny));  // the rest of the message too
  caps.start_message();
  BOOST_TEST(caps.apply(tiny));  // a new message starts from 0
}

BOOST_AUTO_TEST_SUITE_END()
