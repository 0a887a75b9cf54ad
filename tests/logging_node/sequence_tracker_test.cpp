#define BOOST_TEST_MODULE sequence_tracker
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "sequence_tracker.h"

namespace {

using cantina::logging::SequenceTracker;
using Event = SequenceTracker::Event;

constexpr std::int64_t kSecond = 1'000'000'000;

// Observations at time 0 unless given: a tracker's notion of plausibility grows
// with the time since a publisher was last seen.
SequenceTracker::Observation see(SequenceTracker& tracker, std::uint64_t publisher, std::uint64_t sequence,
                                 std::int64_t now_ns = 0, const std::string& service = "svc") {
  return tracker.observe(service, publisher, sequence, now_ns);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sequence_tracker)

BOOST_AUTO_TEST_CASE(first_record_of_a_publisher_reports_no_gap) {
  SequenceTracker tracker;
  const auto first = see(tracker, 7, 1);
  BOOST_TEST((first.event == Event::first_seen));
  BOOST_TEST(first.missing == 0u);
  // Joining late: records sent before this node started are not lost.
  const auto late = see(tracker, 8, 5000);
  BOOST_TEST((late.event == Event::first_seen));
  BOOST_TEST(late.to == 5000u);
  BOOST_TEST(late.missing == 0u);
  BOOST_TEST(tracker.publishers() == 2u);
}

BOOST_AUTO_TEST_CASE(consecutive_sequences_report_nothing) {
  SequenceTracker tracker;
  see(tracker, 7, 1);
  for (std::uint64_t sequence = 2; sequence < 100; ++sequence) {
    BOOST_REQUIRE((see(tracker, 7, sequence).event == Event::none));
  }
}

BOOST_AUTO_TEST_CASE(reports_the_numbers_skipped_as_a_gap) {
  SequenceTracker tracker;
  see(tracker, 7, 10);
  const auto observation = see(tracker, 7, 15);
  BOOST_TEST((observation.event == Event::gap));
  BOOST_TEST(observation.missing == 4u);
  BOOST_TEST(observation.first_missing == 11u);
  BOOST_TEST(observation.last_missing == 14u);
  BOOST_TEST(!observation.across_restart);
  BOOST_TEST((see(tracker, 7, 16).event == Event::none));  // tracking continues from 15
}

BOOST_AUTO_TEST_CASE(a_single_missing_record_is_a_gap_of_one) {
  SequenceTracker tracker;
  see(tracker, 1, 1);
  const auto observation = see(tracker, 1, 3);
  BOOST_TEST((observation.event == Event::gap));
  BOOST_TEST(observation.missing == 1u);
  BOOST_TEST(observation.first_missing == 2u);
  BOOST_TEST(observation.last_missing == 2u);
}

BOOST_AUTO_TEST_CASE(unnumbered_records_are_neither_tracked_nor_reported) {
  SequenceTracker tracker;
  BOOST_TEST((see(tracker, 1, 0).event == Event::none));
  BOOST_TEST((see(tracker, 1, 0).event == Event::none));
  BOOST_TEST(tracker.publishers() == 0u);
  BOOST_TEST((tracker.observe_last("svc", 1, 0, 0).event == Event::none));
}

BOOST_AUTO_TEST_CASE(a_publisher_is_tracked_per_service) {
  // A record on /log/attacker with the publisher id of victim_svc's Logger does
  // not touch victim_svc's accounting, whatever its number.
  SequenceTracker tracker;
  BOOST_TEST((see(tracker, 42, 1, 0, "victim_svc").event == Event::first_seen));
  BOOST_TEST((see(tracker, 42, 2, 0, "victim_svc").event == Event::none));
  BOOST_TEST((see(tracker, 42, 1'000'000'000'000'000, 0, "attacker").event == Event::first_seen));
  BOOST_TEST((tracker.observe_last("attacker", 42, 2'000'000'000'000'000, 0).event == Event::jump));
  BOOST_TEST((see(tracker, 42, 3, 0, "victim_svc").event == Event::none));
  BOOST_TEST((tracker.observe_last("victim_svc", 42, 3, 0).event == Event::none));
  BOOST_TEST(tracker.publishers() == 2u);
}

BOOST_AUTO_TEST_CASE(an_implausible_jump_is_reported_as_such_never_as_a_loss) {
  SequenceTracker tracker;
  see(tracker, 7, 1);
  see(tracker, 7, 2);
  const auto jump = see(tracker, 7, 1'000'000'000'000'000);
  BOOST_TEST((jump.event == Event::jump));
  BOOST_TEST(jump.from == 2u);
  BOOST_TEST(jump.to == 1'000'000'000'000'000u);
  BOOST_TEST(jump.missing == 0u);
  const auto stated = tracker.observe_last("svc", 8, 5, 0);  // unknown: starts being tracked
  BOOST_TEST((stated.event == Event::first_seen));
  BOOST_TEST(stated.to == 6u);  // 1..5 are not in this session
  const auto last_jump = tracker.observe_last("svc", 8, 1'000'000'000'000'000, 0);
  BOOST_TEST((last_jump.event == Event::jump));
  BOOST_TEST(last_jump.from == 5u);
  // The bound: a million at once, plus ten million a second since last seen.
  SequenceTracker bounds;
  see(bounds, 1, 1);
  BOOST_TEST((see(bounds, 1, 1 + SequenceTracker::kPlausibleGap + 1).event == Event::gap));
  see(bounds, 2, 1);
  BOOST_TEST((see(bounds, 2, 1 + SequenceTracker::kPlausibleGap + 2).event == Event::jump));
  see(bounds, 3, 1, 0);
  const auto after_a_while = see(bounds, 3, 2 + SequenceTracker::kPlausibleGap + 20'000'000, 2 * kSecond);
  BOOST_TEST((after_a_while.event == Event::gap));
  BOOST_TEST(after_a_while.missing == SequenceTracker::kPlausibleGap + 20'000'000);
  see(bounds, 4, 1, 0);
  BOOST_TEST((see(bounds, 4, 3 + SequenceTracker::kPlausibleGap + 20'000'000, 2 * kSecond).event == Event::jump));
}

BOOST_AUTO_TEST_CASE(a_backward_jump_is_reported_and_does_not_fake_a_gap_later) {
  SequenceTracker tracker;
  see(tracker, 7, 99);
  see(tracker, 7, 100);
  // Someone else sends number 1 as publisher 7.
  const auto back = see(tracker, 7, 1);
  BOOST_TEST((back.event == Event::back));
  BOOST_TEST(back.from == 100u);
  BOOST_TEST(back.to == 1u);
  // Publisher 7 goes on where it was: not a gap of 99.
  BOOST_TEST((see(tracker, 7, 101).event == Event::none));
  BOOST_TEST((see(tracker, 7, 102).event == Event::none));
  const auto repeated = see(tracker, 7, 102);
  BOOST_TEST((repeated.event == Event::back));
  BOOST_TEST(repeated.from == 102u);
  // A forged jump forward, then the publisher's own numbers, then a forged number
  // back: only reports, never a gap.
  BOOST_TEST((see(tracker, 7, 1'000'000'000'000'000).event == Event::jump));
  BOOST_TEST((see(tracker, 7, 103).event == Event::back));
  BOOST_TEST((see(tracker, 7, 104).event == Event::none));
  BOOST_TEST((see(tracker, 7, 1).event == Event::back));
  BOOST_TEST((see(tracker, 7, 105).event == Event::none));
  BOOST_TEST((see(tracker, 7, 106).event == Event::none));
}

BOOST_AUTO_TEST_CASE(a_publisher_restarted_with_the_same_id_is_followed_from_its_new_numbers) {
  SequenceTracker tracker;
  see(tracker, 7, 100);
  BOOST_TEST((see(tracker, 7, 1).event == Event::back));
  BOOST_TEST((see(tracker, 7, 2).event == Event::none));  // counts from 1 now
  const auto gap = see(tracker, 7, 5);
  BOOST_TEST((gap.event == Event::gap));
  BOOST_TEST(gap.missing == 2u);
}

BOOST_AUTO_TEST_CASE(publishers_are_tracked_independently) {
  SequenceTracker tracker;
  see(tracker, 1, 1);
  see(tracker, 2, 50);
  BOOST_TEST((see(tracker, 1, 2).event == Event::none));
  const auto other = see(tracker, 2, 52);
  BOOST_TEST((other.event == Event::gap));
  BOOST_TEST(other.first_missing == 51u);
}

BOOST_AUTO_TEST_CASE(runs_of_one_publisher_and_their_neighbours_are_counted_apart) {
  // The publisher seen last is found without a lookup: a run of its records, then
  // one of the same id on a service that extends its name, then one of another id
  // on the same service, each keeps its own numbers.
  SequenceTracker tracker;
  for (std::uint64_t sequence = 1; sequence <= 5; ++sequence) see(tracker, 7, sequence, 0, "svc");
  BOOST_TEST((see(tracker, 7, 1, 0, "svc_b").event == Event::first_seen));
  BOOST_TEST((see(tracker, 8, 1, 0, "svc").event == Event::first_seen));
  const auto gap = see(tracker, 7, 9, 0, "svc");  // 6..8 lost
  BOOST_TEST((gap.event == Event::gap));
  BOOST_TEST(gap.missing == 3u);
  BOOST_TEST((see(tracker, 7, 10, 0, "svc").event == Event::none));
  BOOST_TEST((see(tracker, 7, 2, 0, "svc_b").event == Event::none));
  BOOST_TEST((see(tracker, 8, 1, 0, "svc").event == Event::back));
  BOOST_TEST(tracker.publishers() == 3u);
}

BOOST_AUTO_TEST_CASE(forgets_the_least_recently_seen_publisher_beyond_the_limit) {
  SequenceTracker tracker(2);
  see(tracker, 1, 1);
  see(tracker, 2, 1);
  see(tracker, 1, 2);  // 2 is now the least recently seen
  BOOST_TEST(tracker.forgotten() == 0u);
  see(tracker, 3, 1);  // forgets 2
  BOOST_TEST(tracker.publishers() == 2u);
  BOOST_TEST(tracker.forgotten() == 1u);
  BOOST_TEST((see(tracker, 1, 3).event == Event::none));
  BOOST_TEST((see(tracker, 2, 10).event == Event::first_seen));  // was forgotten: no gap reported
  BOOST_TEST(tracker.publishers() == 2u);
  BOOST_TEST((see(tracker, 3, 2).event == Event::first_seen));  // 3 was forgotten for 2
  BOOST_TEST(tracker.forgotten() == 3u);                        // 2, then 3, then 1
}

BOOST_AUTO_TEST_CASE(handles_the_largest_sequence_numbers) {
  SequenceTracker tracker;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  see(tracker, 1, kMax - 2);
  const auto jump = see(tracker, 1, kMax);
  BOOST_TEST((jump.event == Event::gap));
  BOOST_TEST(jump.missing == 1u);
  BOOST_TEST(jump.first_missing == kMax - 1);
  BOOST_TEST((see(tracker, 1, 1).event == Event::back));
}

BOOST_AUTO_TEST_CASE(reports_records_lost_at_the_end_of_a_burst_once) {
  SequenceTracker tracker;
  see(tracker, 7, 1);
  see(tracker, 7, 2);
  BOOST_TEST((tracker.observe_last("svc", 7, 2, 0).event == Event::none));  // nothing missing
  const auto gap = tracker.observe_last("svc", 7, 5, 0);                    // 3, 4 and 5 never came
  BOOST_TEST((gap.event == Event::gap));
  BOOST_TEST(gap.missing == 3u);
  BOOST_TEST(gap.first_missing == 3u);
  BOOST_TEST(gap.last_missing == 5u);
  BOOST_TEST((tracker.observe_last("svc", 7, 5, 0).event == Event::none));  // a heartbeat again: reported
  BOOST_TEST((see(tracker, 7, 6).event == Event::none));                    // the burst goes on
}

BOOST_AUTO_TEST_CASE(starts_tracking_an_unknown_publisher_at_its_stated_last_sequence) {
  SequenceTracker tracker;
  // Sent before this node saw it: not lost, but not in this session either.
  const auto first = tracker.observe_last("svc", 9, 40, 0);
  BOOST_TEST((first.event == Event::first_seen));
  BOOST_TEST(first.to == 41u);
  BOOST_TEST(tracker.publishers() == 1u);
  const auto next = see(tracker, 9, 43);
  BOOST_TEST((next.event == Event::gap));
  BOOST_TEST(next.missing == 2u);
}

BOOST_AUTO_TEST_CASE(compares_a_publisher_with_where_a_previous_node_left_it) {
  SequenceTracker tracker;
  tracker.restore("svc", 1, 100, 10 * kSecond, kSecond);
  tracker.restore("svc", 2, 100, 10 * kSecond, kSecond);
  tracker.restore("svc", 3, 100, 10 * kSecond, kSecond);
  tracker.restore("svc", 4, 100, 10 * kSecond, kSecond);
  BOOST_TEST(tracker.publishers() == 4u);
  // Nothing lost: it goes on at 101 (what its Logger held arrives now).
  BOOST_TEST((see(tracker, 1, 101, 10 * kSecond).event == Event::none));
  // 101..150 were sent while no node ran.
  const auto down = see(tracker, 2, 151, 10 * kSecond);
  BOOST_TEST((down.event == Event::gap));
  BOOST_TEST(down.across_restart);
  BOOST_TEST(down.first_missing == 101u);
  BOOST_TEST(down.last_missing == 150u);
  BOOST_TEST(down.missing == 50u);
  // Only the first number after the restart is compared with the old state.
  BOOST_TEST(!see(tracker, 2, 153, 10 * kSecond).across_restart);
  // A heartbeat may reveal it too.
  const auto stated = tracker.observe_last("svc", 3, 120, 10 * kSecond);
  BOOST_TEST((stated.event == Event::gap));
  BOOST_TEST(stated.across_restart);
  BOOST_TEST(stated.missing == 20u);
  // Beyond what it could have sent in the time since the state was written: a jump.
  BOOST_TEST((see(tracker, 4, 100 + 50'000'000, 10 * kSecond).event == Event::jump));
  // A publisher this node tracks already is not restored over.
  tracker.restore("svc", 1, 5, 10 * kSecond, 0);
  BOOST_TEST((see(tracker, 1, 102, 10 * kSecond).event == Event::none));
}

BOOST_AUTO_TEST_CASE(lists_each_publisher_whose_number_changed_once) {
  SequenceTracker tracker;
  see(tracker, 1, 1);
  see(tracker, 1, 2);
  see(tracker, 2, 7, 0, "other");
  tracker.observe_last("svc", 3, 9, 0);
  tracker.restore("svc", 4, 100, 0, 0);  // the node keeps these itself
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> changes;
  std::size_t calls = 0;
  auto collect = [&](std::string_view service, std::uint64_t publisher, std::uint64_t last) {
    changes[{std::string(service), publisher}] = last;
    ++calls;
  };
  tracker.take_changes(collect);
  BOOST_TEST(calls == 3u);
  BOOST_TEST((changes == std::map<std::pair<std::string, std::uint64_t>, std::uint64_t>{
                             {{"svc", 1}, 2}, {{"other", 2}, 7}, {{"svc", 3}, 9}}));
  changes.clear();
  calls = 0;
  tracker.take_changes(collect);
  BOOST_TEST(calls == 0u);
  see(tracker, 1, 3);
  see(tracker, 4, 101);
  tracker.take_changes(collect);
  BOOST_TEST(calls == 2u);
  BOOST_TEST(changes.at({"svc", 4}) == 101u);
}

BOOST_AUTO_TEST_CASE(stays_bounded_with_many_publishers) {
  SequenceTracker tracker(1000);
  for (std::uint64_t id = 0; id < 100000; ++id) see(tracker, id, 1);
  BOOST_TEST(tracker.publishers() == 1000u);
  BOOST_TEST((see(tracker, 99999, 2).event == Event::none));
  BOOST_TEST((see(tracker, 0, 2).event == Event::first_seen));
  std::size_t changes = 0;
  tracker.take_changes([&](std::string_view, std::uint64_t, std::uint64_t) { ++changes; });
  BOOST_TEST(changes <= 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
