#define BOOST_TEST_MODULE unreported
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdint>

#include "cantina/bus/unreported.h"

using cantina::bus::Unreported;

BOOST_AUTO_TEST_SUITE(unreported)

BOOST_AUTO_TEST_CASE(nothing_to_report_until_the_count_grows) {
  Unreported count;
  BOOST_TEST(count.pending() == 0u);
  BOOST_TEST(count.take() == 0u);
  BOOST_TEST(count.total() == 0u);
}

BOOST_AUTO_TEST_CASE(take_reports_what_was_added_since_the_last_take_once) {
  Unreported count;
  count.add(3);
  count.add(4);
  BOOST_TEST(count.pending() == 7u);
  BOOST_TEST(count.take() == 7u);
  BOOST_TEST(count.pending() == 0u);
  BOOST_TEST(count.take() == 0u);  // reported once: no second report of the same count
  count.add(2);
  BOOST_TEST(count.take() == 2u);
  BOOST_TEST(count.total() == 9u);  // the total keeps what was reported
}

BOOST_AUTO_TEST_CASE(adding_zero_changes_nothing) {
  Unreported count;
  count.add(5);
  BOOST_TEST(count.take() == 5u);
  count.add(0);
  BOOST_TEST(count.take() == 0u);
}

BOOST_AUTO_TEST_CASE(follows_a_count_kept_elsewhere_reporting_its_growth) {
  Unreported forgotten;
  BOOST_TEST(forgotten.take(0) == 0u);
  BOOST_TEST(forgotten.take(10) == 10u);
  BOOST_TEST(forgotten.take(10) == 0u);  // unchanged: nothing to say
  BOOST_TEST(forgotten.take(25) == 15u);
  BOOST_TEST(forgotten.total() == 25u);
}

BOOST_AUTO_TEST_CASE(a_followed_count_that_falls_reports_only_growth_past_what_was_reported) {
  Unreported count;
  BOOST_TEST(count.take(10) == 10u);
  BOOST_TEST(count.take(4) == 0u);
  BOOST_TEST(count.pending() == 0u);
  BOOST_TEST(count.take(12) == 2u);
}

BOOST_AUTO_TEST_CASE(is_usable_in_constant_expressions) {
  constexpr std::uint64_t taken = [] {
    Unreported count;
    count.add(1);
    count.add(1);
    return count.take();
  }();
  static_assert(taken == 2);
  BOOST_TEST(taken == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
