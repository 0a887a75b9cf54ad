// Request targets as a browser (or anyone) sends them: the path and the query
// parameters every route reads, decoded once.
#define BOOST_TEST_MODULE url
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "url.h"

using cantina::webbridge::parse_target;
using cantina::webbridge::url_decode;
using Strings = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(url)

BOOST_AUTO_TEST_CASE(a_target_splits_into_its_path_and_its_parameters) {
  const auto target =
      parse_target("/api/logs?limit=10&service=music_controller&service=eye_lights&text=buffer+underrun");
  BOOST_TEST(target.path == "/api/logs");
  BOOST_TEST(target.get("limit").value_or("?") == "10");
  BOOST_TEST(target.all("service") == (Strings{"music_controller", "eye_lights"}), boost::test_tools::per_element());
  BOOST_TEST(target.get("text").value_or("?") == "buffer underrun");
  BOOST_TEST(!target.get("level").has_value());
  BOOST_TEST(target.all("level").empty());
}

BOOST_AUTO_TEST_CASE(the_first_of_repeated_parameters_is_the_one_get_returns) {
  const auto target = parse_target("/api/logs?limit=1&limit=1000000");
  BOOST_TEST(target.get("limit").value_or("?") == "1");
  BOOST_TEST(target.all("limit") == (Strings{"1", "1000000"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(odd_parameters_keep_what_they_say) {
  const auto target = parse_target("/?&&flag&=orphan&a=b=c&empty=&?x=1");
  BOOST_TEST(target.path == "/");
  BOOST_TEST(target.get("flag").value_or("?") == "");
  BOOST_TEST(target.get("").value_or("?") == "orphan");
  BOOST_TEST(target.get("a").value_or("?") == "b=c");  // the first '=' splits
  BOOST_TEST(target.get("empty").value_or("?") == "");
  BOOST_TEST(target.get("?x").value_or("?") == "1");  // a second '?' is text
  BOOST_TEST(target.query.size() == 5u);  // the empty pairs are skipped
  BOOST_TEST(parse_target("/healthz?").query.empty());
  BOOST_TEST(parse_target("").path == "");
}

BOOST_AUTO_TEST_CASE(escapes_are_decoded_once_in_the_path_and_the_query) {
  BOOST_TEST(url_decode("a%20b+c%2Bd%25") == "a b c+d%");
  BOOST_TEST(url_decode("%C3%A9%e2%9c%93") == "\xc3\xa9\xe2\x9c\x93");
  BOOST_TEST(url_decode("%252e%252e") == "%2e%2e");  // not twice
  const auto target = parse_target("/static/%2e%2e%2fsecret?tok%65n=a%3Db%26c");
  BOOST_TEST(target.path == "/static/../secret");  // static_file refuses it
  BOOST_TEST(target.get("token").value_or("?") == "a=b&c");
  BOOST_TEST(target.query.size() == 1u);  // an encoded '&' does not split
}

BOOST_AUTO_TEST_CASE(invalid_escapes_stay_as_they_are) {
  BOOST_TEST(url_decode("%") == "%");
  BOOST_TEST(url_decode("%4") == "%4");
  BOOST_TEST(url_decode("abc%") == "abc%");
  BOOST_TEST(url_decode("%zz%4g%g4") == "%zz%4g%g4");
  BOOST_TEST(url_decode("%%41") == "%A");
  BOOST_TEST(url_decode("100%") == "100%");
}

BOOST_AUTO_TEST_CASE(a_nul_escape_becomes_a_nul_byte_that_later_checks_must_see) {
  const std::string decoded = url_decode("app.js%00.png");
  BOOST_TEST(decoded.size() == 11u);
  BOOST_TEST(decoded == std::string("app.js\0.png", 11));
  BOOST_TEST(parse_target("/?token=%00").get("token").value_or("?") == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE(overlong_targets_decode_whole) {
  std::string escaped;
  for (int i = 0; i < 100'000; ++i) escaped += "%41";
  BOOST_TEST(url_decode(escaped) == std::string(100'000, 'A'));
  std::string many = "/api/logs?";
  for (int i = 0; i < 10'000; ++i) many += "service=s" + std::to_string(i) + "&";
  const auto target = parse_target(many);
  BOOST_TEST(target.all("service").size() == 10'000u);
  BOOST_TEST(target.all("service").back() == "s9999");
}

BOOST_AUTO_TEST_SUITE_END()
