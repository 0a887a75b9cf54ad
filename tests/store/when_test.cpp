// --since/--until times as people write them, in UTC and in a local zone.
#define BOOST_TEST_MODULE store_when
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>

#include "cantina/store/when.h"

using cantina::store::parse_when;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// 2026-11-26T15:30:45Z, a Thursday.
constexpr std::int64_t kNow = 1'795'707'045LL * kSecond;
constexpr std::int64_t kMidnightUtc = 1'795'651'200LL * kSecond;  // 2026-11-26T00:00:00Z

struct Zone {
  explicit Zone(const char* tz) {
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~Zone() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(iso_times_with_and_without_a_zone) {
  const Zone paris("Europe/Paris");  // UTC+1 in November
  BOOST_TEST(*parse_when("2026-11-26T14:03:00Z", kNow, false) == kMidnightUtc + (14 * 3600 + 3 * 60) * kSecond);
  BOOST_TEST(*parse_when("2026-11-26T14:03:00.25Z", kNow, false) ==
             kMidnightUtc + (14 * 3600 + 3 * 60) * kSecond + kSecond / 4);
  BOOST_TEST(*parse_when("2026-11-26T14:03:00+01:00", kNow, false) == kMidnightUtc + (13 * 3600 + 3 * 60) * kSecond);
  BOOST_TEST(*parse_when("2026-11-26 14:03-0530", kNow, true) == kMidnightUtc + (19 * 3600 + 33 * 60) * kSecond);
  // No zone: local time by default, UTC with utc.
  BOOST_TEST(*parse_when("2026-11-26T14:03", kNow, false) == kMidnightUtc + (13 * 3600 + 3 * 60) * kSecond);
  BOOST_TEST(*parse_when("2026-11-26T14:03", kNow, true) == kMidnightUtc + (14 * 3600 + 3 * 60) * kSecond);
  BOOST_TEST(*parse_when("2026-11-26", kNow, true) == kMidnightUtc);
  BOOST_TEST(*parse_when("2026-11-26", kNow, false) == kMidnightUtc - 3600 * kSecond);
  // Summer time in July: UTC+2.
  BOOST_TEST(*parse_when("2026-07-01T12:00", kNow, false) == *parse_when("2026-07-01T10:00Z", kNow, false));
}

BOOST_AUTO_TEST_CASE(times_of_day_and_day_words) {
  BOOST_TEST(*parse_when("14:03", kNow, true) == kMidnightUtc + (14 * 3600 + 3 * 60) * kSecond);
  BOOST_TEST(*parse_when("14:03:20.5", kNow, true) == kMidnightUtc + (14 * 3600 + 3 * 60 + 20) * kSecond + kSecond / 2);
  BOOST_TEST(*parse_when("today", kNow, true) == kMidnightUtc);
  BOOST_TEST(*parse_when("Yesterday", kNow, true) == kMidnightUtc - 86400 * kSecond);
  BOOST_TEST(*parse_when("yesterday 14:03", kNow, true) ==
             kMidnightUtc - 86400 * kSecond + (14 * 3600 + 180) * kSecond);
  BOOST_TEST(*parse_when("tomorrow", kNow, true) == kMidnightUtc + 86400 * kSecond);
  BOOST_TEST(*parse_when("now", kNow, true) == kNow);
  const Zone tokyo("Asia/Tokyo");  // UTC+9: 15:30Z is 00:30 on the 27th there
  BOOST_TEST(*parse_when("today", kNow, false) == kMidnightUtc + 15 * (3600 * kSecond));
  // 14:03 on the 27th in Tokyo is 05:03Z on the 27th.
  BOOST_TEST(*parse_when("14:03", kNow, false) == kMidnightUtc + (24 + 5) * (3600 * kSecond) + 180 * kSecond);
}

BOOST_AUTO_TEST_CASE(relative_times_and_epoch_seconds) {
  BOOST_TEST(*parse_when("10 min ago", kNow, false) == kNow - 600 * kSecond);
  BOOST_TEST(*parse_when("10min ago", kNow, false) == kNow - 600 * kSecond);
  BOOST_TEST(*parse_when("2 hours ago", kNow, false) == kNow - 7200 * kSecond);
  BOOST_TEST(*parse_when("1.5h ago", kNow, false) == kNow - 5400 * kSecond);
  BOOST_TEST(*parse_when("3d ago", kNow, false) == kNow - 3 * (86400 * kSecond));
  BOOST_TEST(*parse_when("-90s", kNow, false) == kNow - 90 * kSecond);
  BOOST_TEST(*parse_when("+1 week", kNow, false) == kNow + 7 * (86400 * kSecond));
  BOOST_TEST(*parse_when("@1795707045.5", kNow, false) == kNow + kSecond / 2);
}

BOOST_AUTO_TEST_CASE(anything_else_is_no_time) {
  for (const char* bad : {"", "soon", "14", "14:3", "25:00", "14:60", "2026-13-01", "2026-02-30", "2026-11-26T",
                          "2026-11-26X14:03", "2026-11-26T14:03+25:00", "10 parsecs ago", "ago", "-", "@", "@x",
                          "yesterday at noon", "2026/11/26", "1e9 min ago"}) {
    BOOST_TEST(!parse_when(bad, kNow, true), bad);
  }
}
