// The Inbox between the web bridge's bus thread and its io thread: bounded by
// entries and bytes, every entry it cannot take counted and told, one wake-up
// per take however much arrives.
#define BOOST_TEST_MODULE inbox
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bus_feed.h"

using cantina::webbridge::Inbox;

namespace {

constexpr std::string_view kPrefix = "{\"type\":\"entries\",\"entries\":[";

// `count` entries {"n":first},{"n":first+1},... as the bus thread joins them.
std::string entries(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) out += (i == first ? "" : ",") + ("{\"n\":" + std::to_string(i) + "}");
  return out;
}

Inbox::Batch take(Inbox& inbox) {
  Inbox::Batch batch;
  inbox.take(batch);
  return batch;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inbox)

BOOST_AUTO_TEST_CASE(entries_arrive_as_one_message_in_order) {
  Inbox inbox(100, 1 << 20);
  inbox.add_entries(entries(1, 2), 2);
  inbox.add_entries(entries(3, 1), 1);
  const auto batch = take(inbox);
  BOOST_TEST(batch.entries == 3u);
  BOOST_TEST(batch.entries_message == std::string(kPrefix) + entries(1, 3) + "]}");
  BOOST_TEST(batch.dropped == 0u);
  BOOST_TEST(!batch.empty());
  // Taken: nothing waits any more.
  const auto again = take(inbox);
  BOOST_TEST(again.empty());
  BOOST_TEST(again.entries_message.empty());
}

BOOST_AUTO_TEST_CASE(a_chunk_beyond_the_entry_limit_is_dropped_whole_and_counted) {
  Inbox inbox(5, 1 << 20);
  inbox.add_entries(entries(1, 3), 3);
  inbox.add_entries(entries(4, 3), 3);  // 6 > 5: all three go
  inbox.add_entries(entries(7, 2), 2);  // 5: fits
  inbox.add_entries(entries(9, 1), 1);  // 6 > 5
  auto batch = take(inbox);
  BOOST_TEST(batch.entries == 5u);
  BOOST_TEST(batch.entries_message == std::string(kPrefix) + entries(1, 3) + "," + entries(7, 2) + "]}");
  BOOST_TEST(batch.dropped == 4u);
  BOOST_TEST(batch.entries + batch.dropped == 9u);  // every entry either delivered or counted
  // The count is told once, with the next batch, then starts again.
  inbox.add_entries(entries(10, 1), 1);
  batch = take(inbox);
  BOOST_TEST(batch.entries == 1u);
  BOOST_TEST(batch.dropped == 0u);
}

BOOST_AUTO_TEST_CASE(a_chunk_beyond_the_byte_limit_is_dropped_whole_and_counted) {
  Inbox inbox(1000, 100);
  const std::string big(60, 'x');
  inbox.add_entries(big, 1);
  inbox.add_entries(big, 1);  // 120 bytes > 100
  inbox.add_entries(std::string(2000, 'y'), 1);
  auto batch = take(inbox);
  BOOST_TEST(batch.entries == 1u);
  BOOST_TEST(batch.dropped == 2u);
  // A chunk bigger than the whole limit can never go in, even into an empty inbox.
  inbox.add_entries(std::string(101, 'z'), 7);
  batch = take(inbox);
  BOOST_TEST(batch.entries == 0u);
  BOOST_TEST(batch.entries_message.empty());
  BOOST_TEST(batch.dropped == 7u);
  BOOST_TEST(!batch.empty());  // a count to tell is something
}

BOOST_AUTO_TEST_CASE(once_taken_the_inbox_has_room_again) {
  Inbox inbox(2, 1 << 20);
  for (int round = 0; round < 3; ++round) {
    inbox.add_entries(entries(1, 2), 2);
    inbox.add_entries(entries(3, 1), 1);
    const auto batch = take(inbox);
    BOOST_TEST(batch.entries == 2u);
    BOOST_TEST(batch.dropped == 1u);
  }
}

BOOST_AUTO_TEST_CASE(each_entry_s_timestamp_digits_follow_the_entries_in_the_same_order) {
  // JavaScript numbers hold only 2^53 exactly: the page takes each entry's
  // timestamp_ns from "timestamps_ns", as strings, without scanning the text.
  Inbox inbox(5, 1 << 20);
  inbox.add_entries(entries(1, 2), 2, 0, "\"1796553362928334201\",\"1796553362928334202\"");
  inbox.add_entries(entries(3, 4), 4, 0, "\"3\",\"4\",\"5\",\"6\"");  // 6 > 5: these go, digits too
  inbox.add_entries(entries(7, 1), 1, 0, "\"-1796553362928334207\"");
  auto batch = take(inbox);
  BOOST_TEST(batch.entries == 3u);
  BOOST_TEST(batch.dropped == 4u);
  BOOST_TEST(batch.entries_message ==
             std::string(kPrefix) + entries(1, 2) + "," + entries(7, 1) +
                 "],\"timestamps_ns\":[\"1796553362928334201\",\"1796553362928334202\",\"-1796553362928334207\"]}");
  // The digits count against the byte bound with their entries.
  Inbox small(100, 40);
  small.add_entries(entries(1, 1), 1, 0, std::string(40, '1'));
  batch = take(small);
  BOOST_TEST(batch.entries == 0u);
  BOOST_TEST(batch.dropped == 1u);
}

BOOST_AUTO_TEST_CASE(entries_left_out_by_the_logging_node_are_counted_with_or_without_entries) {
  Inbox inbox(2, 1 << 20);
  inbox.add_entries("", 0, 5);
  inbox.add_entries(entries(1, 1), 1, 3);
  inbox.add_entries(entries(2, 5), 5, 2);  // dropped here, but the node's count still goes
  auto batch = take(inbox);
  BOOST_TEST(batch.not_streamed == 10u);
  BOOST_TEST(batch.dropped == 5u);
  BOOST_TEST(batch.entries == 1u);
  inbox.add_entries("", 0, 0);  // nothing at all
  batch = take(inbox);
  BOOST_TEST(batch.empty());
}

BOOST_AUTO_TEST_CASE(the_io_thread_is_woken_once_per_take) {
  Inbox inbox(1000, 1 << 20);
  int wakes = 0;
  inbox.on_arrival([&] { ++wakes; });
  inbox.add_entries("", 0, 0);
  BOOST_TEST(wakes == 0);  // nothing arrived
  inbox.add_entries(entries(1, 1), 1);
  inbox.add_entries(entries(2, 1), 1);
  inbox.add_event(R"({"type":"status"})");
  inbox.add_entries(entries(3, 1000), 1000);  // dropped: still an arrival, already announced
  BOOST_TEST(wakes == 1);
  take(inbox);
  inbox.add_event(R"({"type":"stats"})");
  BOOST_TEST(wakes == 2);
  take(inbox);
  take(inbox);
  BOOST_TEST(wakes == 2);
  inbox.add_entries("", 0, 1);  // a count alone is worth a wake-up
  BOOST_TEST(wakes == 3);
}

BOOST_AUTO_TEST_CASE(events_are_kept_in_order_up_to_a_thousand) {
  Inbox inbox(10, 1 << 20);
  for (int i = 0; i < 1005; ++i) inbox.add_event("{\"n\":" + std::to_string(i) + "}");
  auto batch = take(inbox);
  BOOST_TEST(batch.events.size() == 1000u);
  BOOST_TEST(batch.events.front() == "{\"n\":0}");
  BOOST_TEST(batch.events.back() == "{\"n\":999}");
  BOOST_TEST(batch.entries == 0u);
  inbox.add_event("{\"n\":1005}");
  batch = take(inbox);
  BOOST_TEST(batch.events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_latest_stats_and_status_per_service_are_kept_for_a_thousand_services) {
  Inbox inbox(10, 1 << 20);
  BOOST_TEST(inbox.stats_json() == "null");
  inbox.set_stats("{\"received\":1}");
  inbox.set_stats("{\"received\":2}");
  BOOST_TEST(inbox.stats_json() == "{\"received\":2}");
  for (int i = 0; i < 1005; ++i) inbox.set_status("service" + std::to_string(i), "old");
  BOOST_TEST(inbox.status_jsons().size() == 1000u);
  inbox.set_status("service0", "new");  // a known service is updated even when full
  inbox.set_status("service1004", "new");
  const auto statuses = inbox.status_jsons();
  BOOST_TEST(statuses.size() == 1000u);
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), "new") == 1);
}

BOOST_AUTO_TEST_CASE(every_entry_is_delivered_or_counted_across_threads) {
  Inbox inbox(500, std::size_t{64} * 1024);
  std::atomic<int> wakes{0};
  inbox.on_arrival([&] { wakes.fetch_add(1, std::memory_order_relaxed); });
  constexpr int kChunks = 20'000;
  constexpr int kPerChunk = 7;
  std::atomic<bool> done{false};
  std::thread bus_thread([&] {
    std::string digits;
    for (int i = 0; i < kPerChunk; ++i) digits += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "\"";
    for (int i = 0; i < kChunks; ++i) inbox.add_entries(entries(i * kPerChunk, kPerChunk), kPerChunk, 1, digits);
    done = true;
  });
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t not_streamed = 0;
  std::uint64_t takes = 0;
  Inbox::Batch batch;
  bool well_formed = true;
  for (;;) {
    const bool last = done.load();
    inbox.take(batch);
    ++takes;
    delivered += batch.entries;
    dropped += batch.dropped;
    not_streamed += batch.not_streamed;
    if (batch.entries > 0) {
      // the entries, then as many timestamps
      const std::string& text = batch.entries_message;
      const auto split = text.find("],\"timestamps_ns\":[");
      well_formed =
          well_formed && text.starts_with(kPrefix) && split != std::string::npos && text.ends_with("\"]}") &&
          static_cast<std::size_t>(std::count(text.begin(), text.begin() + split, '{')) == batch.entries + 1 &&
          static_cast<std::size_t>(std::count(text.begin() + split, text.end(), ',')) == batch.entries;
    }
    if (last) break;
  }
  bus_thread.join();
  BOOST_TEST(well_formed);
  BOOST_TEST(delivered + dropped == std::uint64_t{kChunks} * kPerChunk);
  BOOST_TEST(delivered % kPerChunk == 0u);  // whole chunks only
  BOOST_TEST(not_streamed == std::uint64_t{kChunks});
  BOOST_TEST(static_cast<std::uint64_t>(wakes.load()) <= takes);
}

BOOST_AUTO_TEST_SUITE_END()
