#define BOOST_TEST_MODULE sequence_tracker
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>

#include "sequence_tracker.h"

namespace {

using cantina::logging::SequenceTracker;

}  // namespace

BOOST_AUTO_TEST_SUITE(sequence_tracker)

BOOST_AUTO_TEST_CASE(first_record_of_a_publisher_reports_no_gap) {
  SequenceTracker tracker;
  const auto first = tracker.observe(7, 1);
  BOOST_TEST(first.first_seen);
  BOOST_TEST(!first.restarted);
  BOOST_TEST(!first.gap.has_value());
  // Joining late: records sent before this node started are not lost.
  const auto late = tracker.observe(8, 5000);
  BOOST_TEST(late.first_seen);
  BOOST_TEST(!late.gap.has_value());
  BOOST_TEST(tracker.publishers() == 2u);
}

BOOST_AUTO_TEST_CASE(consecutive_sequences_report_nothing) {
  SequenceTracker tracker;
  tracker.observe(7, 1);
  for (std::uint64_t sequence = 2; sequence < 100; ++sequence) {
    const auto observation = tracker.observe(7, sequence);
    BOOST_REQUIRE(!observation.first_seen);
    BOOST_REQUIRE(!observation.restarted);
    BOOST_REQUIRE(!observation.gap.has_value());
  }
}

BOOST_AUTO_TEST_CASE(reports_the_numbers_skipped_as_a_gap) {
  SequenceTracker tracker;
  tracker.observe(7, 10);
  const auto observation = tracker.observe(7, 15);
  BOOST_REQUIRE(observation.gap.has_value());
  BOOST_TEST(observation.gap->missing == 4u);
  BOOST_TEST(observation.gap->first_missing == 11u);
  BOOST_TEST(observation.gap->last_missing == 14u);
  BOOST_TEST(!observation.first_seen);
  BOOST_TEST(!observation.restarted);
  BOOST_TEST(!tracker.observe(7, 16).gap.has_value());  // tracking continues from 15
}

BOOST_AUTO_TEST_CASE(a_single_missing_record_is_a_gap_of_one) {
  SequenceTracker tracker;
  tracker.observe(1, 1);
  const auto observation = tracker.observe(1, 3);
  BOOST_REQUIRE(observation.gap.has_value());
  BOOST_TEST(observation.gap->missing == 1u);
  BOOST_TEST(observation.gap->first_missing == 2u);
  BOOST_TEST(observation.gap->last_missing == 2u);
}

BOOST_AUTO_TEST_CASE(a_lower_or_equal_sequence_is_a_restart_and_resets_tracking) {
  SequenceTracker tracker;
  tracker.observe(7, 100);
  const auto restart = tracker.observe(7, 1);
  BOOST_TEST(restart.restarted);
  BOOST_TEST(!restart.gap.has_value());
  BOOST_TEST(!restart.first_seen);
  BOOST_TEST(!tracker.observe(7, 2).gap.has_value());  // counts from 1 now
  const auto duplicate = tracker.observe(7, 2);
  BOOST_TEST(duplicate.restarted);
  const auto gap = tracker.observe(7, 5);
  BOOST_REQUIRE(gap.gap.has_value());
  BOOST_TEST(gap.gap->missing == 2u);
}

BOOST_AUTO_TEST_CASE(publishers_are_tracked_independently) {
  SequenceTracker tracker;
  tracker.observe(1, 1);
  tracker.observe(2, 50);
  BOOST_TEST(!tracker.observe(1, 2).gap.has_value());
  const auto other = tracker.observe(2, 52);
  BOOST_REQUIRE(other.gap.has_value());
  BOOST_TEST(other.gap->first_missing == 51u);
}

BOOST_AUTO_TEST_CASE(forgets_the_least_recently_seen_publisher_beyond_the_limit) {
  SequenceTracker tracker(2);
  tracker.observe(1, 1);
  tracker.observe(2, 1);
  tracker.observe(1, 2);  // 2 is now the least recently seen
  BOOST_TEST(tracker.forgotten() == 0u);
  tracker.observe(3, 1);  // forgets 2
  BOOST_TEST(tracker.publishers() == 2u);
  BOOST_TEST(tracker.forgotten() == 1u);
  BOOST_TEST(!tracker.observe(1, 3).first_seen);
  const auto returning = tracker.observe(2, 10);
  BOOST_TEST(returning.first_seen);  // was forgotten: no gap reported
  BOOST_TEST(!returning.gap.has_value());
  BOOST_TEST(tracker.publishers() == 2u);
  BOOST_TEST(tracker.observe(3, 2).first_seen);  // 3 was forgotten for 2
  BOOST_TEST(tracker.forgotten() == 3u);         // 2, then 3, then 1
}

BOOST_AUTO_TEST_CASE(handles_the_largest_sequence_numbers) {
  SequenceTracker tracker;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  tracker.observe(1, kMax - 2);
  const auto jump = tracker.observe(1, kMax);
  BOOST_REQUIRE(jump.gap.has_value());
  BOOST_TEST(jump.gap->missing == 1u);
  BOOST_TEST(jump.gap->first_missing == kMax - 1);
  const auto wrap = tracker.observe(1, 0);
  BOOST_TEST(wrap.restarted);
  BOOST_TEST(!wrap.gap.has_value());
}

BOOST_AUTO_TEST_CASE(reports_records_lost_at_the_end_of_a_burst_once) {
  SequenceTracker tracker;
  tracker.observe(7, 1);
  tracker.observe(7, 2);
  BOOST_TEST(!tracker.observe_last(7, 2).has_value());  // nothing missing
  auto gap = tracker.observe_last(7, 5);                // 3, 4 and 5 never came
  BOOST_REQUIRE(gap.has_value());
  BOOST_TEST(gap->missing == 3u);
  BOOST_TEST(gap->first_missing == 3u);
  BOOST_TEST(gap->last_missing == 5u);
  BOOST_TEST(!tracker.observe_last(7, 5).has_value());  // a heartbeat again: already reported
  const auto next = tracker.observe(7, 6);              // the burst goes on without a gap
  BOOST_TEST(!next.gap.has_value());
  BOOST_TEST(!next.restarted);
}

BOOST_AUTO_TEST_CASE(starts_tracking_an_unknown_publisher_at_its_stated_last_sequence) {
  SequenceTracker tracker;
  BOOST_TEST(!tracker.observe_last(9, 40).has_value());  // sent before this node started: not lost
  BOOST_TEST(tracker.publishers() == 1u);
  const auto next = tracker.observe(9, 43);
  BOOST_REQUIRE(next.gap.has_value());
  BOOST_TEST(next.gap->missing == 2u);
}

BOOST_AUTO_TEST_CASE(stays_bounded_with_many_publishers) {
  SequenceTracker tracker(1000);
  for (std::uint64_t id = 0; id < 100000; ++id) tracker.observe(id, 1);
  BOOST_TEST(tracker.publishers() == 1000u);
  BOOST_TEST(!tracker.observe(99999, 2).first_seen);
  BOOST_TEST(tracker.observe(0, 2).first_seen);
}

BOOST_AUTO_TEST_SUITE_END()
