#define BOOST_TEST_MODULE json
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cantina/bus/json.h"

using namespace cantina::bus;

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(keeps_valid_utf8_and_replaces_invalid_bytes) {
  BOOST_TEST(valid_utf8("plain ascii") == "plain ascii");
  BOOST_TEST(valid_utf8("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\xa4\x96") == "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\xa4\x96");
  BOOST_TEST(valid_utf8("bad \xff byte") == "bad \xef\xbf\xbd byte");
  BOOST_TEST(valid_utf8("truncated \xe2\x9c") == "truncated \xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(valid_utf8("overlong \xc0\xaf") == "overlong \xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(valid_utf8("surrogate \xed\xa0\x80") == "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(dashboard_entries_become_parseable_json_with_every_field) {
  DashboardLog entry{"2026-11-26T17:45:00.123456Z",
                     5,
                     Level::critical,
                     "Eye Lights",
                     "eye_light_controller",
                     "<script>alert(1)</script>\n\xff",
                     "s",
                     "s-3",
                     2,
                     EntryKind::repeat_summary,
                     "droid",
                     "eyes",
                     3};
  const std::string text = boost::json::serialize(to_json(entry));
  const auto parsed = boost::json::parse(text).as_object();
  BOOST_TEST(parsed.at("level").as_string() == "CRITICAL");
  BOOST_TEST(parsed.at("kind").as_string() == "repeat_summary");
  BOOST_TEST(parsed.at("message").as_string() == "<script>alert(1)</script>\n\xef\xbf\xbd");
  BOOST_TEST(parsed.at("sequence").to_number<std::uint64_t>() == 3u);
  BOOST_TEST(parsed.at("repeat_count").to_number<std::uint64_t>() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
