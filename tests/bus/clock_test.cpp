#define BOOST_TEST_MODULE wall_clock
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <ctime>

#include "cantina/bus/clock.h"

using cantina::bus::iso8601;

BOOST_AUTO_TEST_SUITE(wall_clock)

BOOST_AUTO_TEST_CASE(formats_utc_with_microseconds) {
  BOOST_TEST(iso8601(0) == "1970-01-01T00:00:00.000000Z");
  // 2026-11-26T17:45:00.123456789Z
  BOOST_TEST(iso8601(1'795'715'100'123'456'789) == "2026-11-26T17:45:00.123456Z");
  BOOST_TEST(iso8601(951'782'400'000'000'000) == "2000-02-29T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(agrees_with_gmtime_for_the_current_time) {
  const std::int64_t now = cantina::bus::now_ns();
  const std::time_t seconds = static_cast<std::time_t>(now / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char expected[32];
  std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%S", &tm);
  BOOST_TEST(iso8601(now).substr(0, 19) == std::string(expected));
}

BOOST_AUTO_TEST_CASE(consecutive_times_in_and_across_seconds_format_alike) {
  // The text of a second is kept between calls: times in the same second, the next
  // one, an earlier one and one before 1970 must each still be formatted afresh.
  BOOST_TEST(iso8601(1'795'715'100'000'000'001) == "2026-11-26T17:45:00.000000Z");
  BOOST_TEST(iso8601(1'795'715'100'999'999'999) == "2026-11-26T17:45:00.999999Z");
  BOOST_TEST(iso8601(1'795'715'101'000'001'000) == "2026-11-26T17:45:01.000001Z");
  BOOST_TEST(iso8601(1'795'715'099'500'000'000) == "2026-11-26T17:44:59.500000Z");
  BOOST_TEST(iso8601(-1'000) == "1969-12-31T23:59:59.999999Z");
  BOOST_TEST(iso8601(-1'000'000'000) == "1969-12-31T23:59:59.000000Z");
  BOOST_TEST(iso8601(0) == "1970-01-01T00:00:00.000000Z");
  std::string out = "[";
  cantina::bus::append_iso8601(out, 1'795'715'100'123'456'789);
  cantina::bus::append_iso8601(out, 1'795'715'100'223'456'789);
  BOOST_TEST(out == "[2026-11-26T17:45:00.123456Z2026-11-26T17:45:00.223456Z");
}

BOOST_AUTO_TEST_SUITE_END()
