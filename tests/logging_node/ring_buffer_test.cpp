#define BOOST_TEST_MODULE ring_buffer
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "history_filter.h"
#include "history_server.h"
#include "ring_buffer.h"

namespace {

using cantina::bus::HistoryQuery;
using cantina::bus::Level;
using cantina::logging::EntryHold;
using cantina::logging::EntryRing;
using cantina::logging::EntryRingTraits;
using cantina::logging::LogEntry;
using cantina::logging::matches;
using cantina::logging::RingBuffer;
using cantina::logging::SpareEntries;

const auto kAll = [](const auto&) { return true; };

std::vector<int> all_of(const RingBuffer<int>& buffer) {
  return buffer.newest(0, kAll);
}

LogEntry entry(Level level, std::string service, std::string service_id, std::string message) {
  LogEntry result;
  result.level = level;
  result.service = std::move(service);
  result.service_id = std::move(service_id);
  result.message = std::move(message);
  return result;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ring_buffer)

BOOST_AUTO_TEST_CASE(keeps_items_oldest_first_until_full) {
  RingBuffer<int> buffer(4);
  BOOST_TEST(buffer.size() == 0u);
  BOOST_TEST(buffer.capacity() == 4u);
  BOOST_TEST(all_of(buffer).empty());
  buffer.push(1);
  buffer.push(2);
  buffer.push(3);
  BOOST_TEST(buffer.size() == 3u);
  BOOST_TEST(all_of(buffer) == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(overwrites_the_oldest_when_full) {
  RingBuffer<int> buffer(3);
  for (int i = 1; i <= 7; ++i) buffer.push(i);
  BOOST_TEST(buffer.size() == 3u);
  BOOST_TEST(all_of(buffer) == (std::vector<int>{5, 6, 7}), boost::test_tools::per_element());
  buffer.push(8);
  BOOST_TEST(all_of(buffer) == (std::vector<int>{6, 7, 8}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(returns_the_newest_matches_up_to_the_limit_oldest_first) {
  RingBuffer<int> buffer(10);
  for (int i = 1; i <= 15; ++i) buffer.push(i);  // holds 6..15
  const auto even = [](int value) { return value % 2 == 0; };
  BOOST_TEST(buffer.newest(3, even) == (std::vector<int>{10, 12, 14}), boost::test_tools::per_element());
  BOOST_TEST(buffer.newest(0, even) == (std::vector<int>{6, 8, 10, 12, 14}), boost::test_tools::per_element());
  BOOST_TEST(buffer.newest(100, even) == (std::vector<int>{6, 8, 10, 12, 14}), boost::test_tools::per_element());
  BOOST_TEST(buffer.newest(2, kAll) == (std::vector<int>{14, 15}), boost::test_tools::per_element());
  BOOST_TEST(buffer.newest(0, [](int) { return false; }).empty());
}

BOOST_AUTO_TEST_CASE(stops_testing_items_once_the_limit_is_reached) {
  RingBuffer<int> buffer(100);
  for (int i = 0; i < 100; ++i) buffer.push(i);
  int calls = 0;
  const auto counted = [&](int) {
    ++calls;
    return true;
  };
  BOOST_TEST(buffer.newest(5, counted).size() == 5u);
  BOOST_TEST(calls == 5);
}

BOOST_AUTO_TEST_CASE(clear_empties_but_keeps_capacity) {
  RingBuffer<int> buffer(3);
  for (int i = 0; i < 5; ++i) buffer.push(i);
  buffer.clear();
  BOOST_TEST(buffer.size() == 0u);
  BOOST_TEST(buffer.capacity() == 3u);
  buffer.push(42);
  buffer.push(43);
  BOOST_TEST(all_of(buffer) == (std::vector<int>{42, 43}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(capacity_one_keeps_only_the_latest) {
  RingBuffer<int> buffer(1);
  buffer.push(1);
  buffer.push(2);
  BOOST_TEST(all_of(buffer) == (std::vector<int>{2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(releases_overwritten_items) {
  RingBuffer<std::shared_ptr<int>> buffer(2);
  auto first = std::make_shared<int>(1);
  std::weak_ptr<int> watch = first;
  buffer.push(std::move(first));
  buffer.push(std::make_shared<int>(2));
  buffer.push(std::make_shared<int>(3));  // overwrites (and releases) the first
  BOOST_TEST(watch.expired());
  const auto items = buffer.newest(0, kAll);
  BOOST_REQUIRE(items.size() == 2u);
  BOOST_TEST(*items[0] == 2);
  BOOST_TEST(*items[1] == 3);
}

// Items that weigh their string's length (besides their slot).
struct StringWeight {
  static std::size_t heap_bytes(const std::string& text) noexcept { return text.size(); }
  static void assign(std::string& slot, const std::string& value) { slot = value; }
  static void release(std::string& slot) { slot = std::string(); }
};

BOOST_AUTO_TEST_CASE(drops_the_oldest_items_to_stay_within_its_bytes) {
  constexpr std::size_t kSlots = 16 * sizeof(std::string);  // the first 16 slots
  RingBuffer<std::string, StringWeight> buffer(1000, kSlots + 100);
  for (int i = 0; i < 5; ++i) buffer.push(std::string(30, char('a' + i)));  // 150 bytes: the first two go
  BOOST_TEST(buffer.size() == 3u);
  BOOST_TEST(buffer.at(0) == std::string(30, 'c'));
  BOOST_TEST(buffer.at(2) == std::string(30, 'e'));
  BOOST_TEST(buffer.bytes() <= buffer.max_bytes());
  BOOST_TEST(buffer.dropped() == 2u);
  // One item over the budget alone is still kept, as the only one.
  buffer.push(std::string(500, 'z'));
  BOOST_TEST(buffer.size() == 1u);
  BOOST_TEST(buffer.at(0).size() == 500u);
  buffer.push("small");
  BOOST_TEST(buffer.size() == 1u);
  BOOST_TEST(buffer.at(0) == "small");
  BOOST_TEST(buffer.bytes() <= buffer.max_bytes());
}

// The slots count too: with tiny items the budget bounds how many slots exist.
BOOST_AUTO_TEST_CASE(its_slots_never_grow_past_its_bytes) {
  const std::size_t budget = 100 * sizeof(std::string);
  RingBuffer<std::string, StringWeight> buffer(1'000'000, budget);
  for (int i = 0; i < 10'000; ++i) buffer.push(std::to_string(i));
  BOOST_TEST(buffer.bytes() <= budget);
  BOOST_TEST(buffer.size() >= 40u);  // the slots doubled to 64, the items' bytes take a few
  BOOST_TEST(buffer.size() < 100u);
  // Still oldest first, consecutive, newest last.
  for (std::size_t i = 0; i + 1 < buffer.size(); ++i) {
    BOOST_TEST(std::stoi(buffer.at(i)) + 1 == std::stoi(buffer.at(i + 1)));
  }
  BOOST_TEST(buffer.at(buffer.size() - 1) == "9999");
}

// Growing after a wrap-around keeps the order (the new slots go between the
// newest and the oldest).
BOOST_AUTO_TEST_CASE(keeps_the_order_when_it_grows_after_dropping) {
  RingBuffer<std::string, StringWeight> buffer(1000, 32 * sizeof(std::string) + 60);
  int next = 0;
  for (; next < 20; ++next) buffer.push(std::string(2, char('a' + next % 26)));
  buffer.push(std::string(50, '#'));  // drops the oldest, wraps
  ++next;
  for (; next < 200; ++next) {
    buffer.push(std::to_string(next));
    for (std::size_t i = 1; i + 1 < buffer.size(); ++i) {
      if (buffer.at(i).size() < 50 && buffer.at(i + 1).size() < 50 && std::isdigit(buffer.at(i)[0]) &&
          std::isdigit(buffer.at(i + 1)[0])) {
        BOOST_TEST_REQUIRE(std::stoi(buffer.at(i)) + 1 == std::stoi(buffer.at(i + 1)));
      }
    }
    BOOST_TEST_REQUIRE(buffer.at(buffer.size() - 1) == std::to_string(next));
    BOOST_TEST_REQUIRE(buffer.bytes() <= buffer.max_bytes());
  }
}

// The ring of entries shares each entry with the writer queue instead of copying it:
// an entry it lets go of last is kept for reuse (within the spares' bounds, its
// oversize buffers given back); one the writer still holds is the writer's to give back.
BOOST_AUTO_TEST_CASE(the_entry_ring_shares_entries_and_recycles_those_it_held_last) {
  SpareEntries spares(2, 1 << 20);
  EntryRing buffer(2, 1 << 20, EntryRingTraits{&spares});
  const auto hold = [](LogEntry e) { return EntryHold(std::make_unique<LogEntry>(std::move(e))); };
  EntryHold big = hold(entry(Level::info, "S", "s", std::string(200'000, 'x')));
  const LogEntry* big_address = &*big;
  buffer.push(big);
  BOOST_TEST(&*buffer.at(0) == big_address);  // the same entry, not a copy
  BOOST_TEST(buffer.bytes() > 200'000u);
  EntryHold writer = hold(entry(Level::info, "S", "s", "held by the writer"));
  buffer.push(writer);
  BOOST_TEST(!big.release());                            // the ring still holds it
  buffer.push(hold(entry(Level::info, "S", "s", "c")));  // pushes out the big one: the ring held it last
  BOOST_TEST_REQUIRE(spares.size() == 1u);
  BOOST_TEST(spares.bytes() < 4096u);  // its 200 kB text given back
  BOOST_TEST(buffer.bytes() < 64 * 1024u);
  buffer.push(hold(entry(Level::info, "S", "s", "d")));  // pushes out the writer's
  BOOST_TEST(spares.size() == 1u);
  std::unique_ptr<LogEntry> last = writer.release();  // the writer let go last: it gets it
  BOOST_TEST_REQUIRE(last != nullptr);
  BOOST_TEST(last->message == "held by the writer");
  BOOST_TEST(buffer.at(0)->message == "c");
  BOOST_TEST(buffer.at(1)->message == "d");
  buffer.push(hold(entry(Level::info, "S", "s", "e")));
  buffer.push(hold(entry(Level::info, "S", "s", "f")));
  BOOST_TEST(spares.size() == 2u);  // at most 2: the third is freed
  std::unique_ptr<LogEntry> reused = spares.take();
  BOOST_TEST(reused->message == "c");  // the newest kept first
  BOOST_TEST(spares.take().get() == big_address);
  BOOST_TEST(spares.take() == nullptr);
  BOOST_TEST(spares.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(spare_entries_are_bounded_in_bytes) {
  SpareEntries spares(100, 3 * cantina::logging::entry_bytes(LogEntry{}));
  for (int i = 0; i < 10; ++i) spares.put(std::make_unique<LogEntry>());
  BOOST_TEST(spares.size() == 3u);
  LogEntry wide;
  wide.message = std::string(100'000, 'x');  // given back before it is weighed
  spares.put(std::make_unique<LogEntry>(std::move(wide)));
  BOOST_TEST(spares.size() == 3u);
  BOOST_TEST(spares.bytes() == 3 * cantina::logging::entry_bytes(LogEntry{}));
}

BOOST_AUTO_TEST_CASE(entry_source_and_fields_count_in_the_bytes) {
  SpareEntries spares(8, 1 << 20);
  EntryRing buffer(2, 1 << 20, EntryRingTraits{&spares});
  const auto hold = [](LogEntry e) { return EntryHold(std::make_unique<LogEntry>(std::move(e))); };
  LogEntry large = entry(Level::info, "S", "s", "m");
  large.file = std::string(1000, 'f');
  large.function = std::string(1000, 'g');
  large.thread = std::string(1000, 't');
  for (int i = 0; i < 60; ++i) large.fields.emplace_back("key " + std::to_string(i), std::string(std::size_t{16} * 1024, 'v'));
  buffer.push(hold(entry(Level::info, "S", "s", "small")));
  const std::size_t small = buffer.bytes();
  buffer.push(hold(large));
  BOOST_TEST(buffer.bytes() > small + std::size_t{60} * 16 * 1024 + 3000);
  // Over its 1 MiB: the older entries go, the newest is kept whole.
  buffer.push(hold(large));
  BOOST_TEST(buffer.size() == 1u);
  BOOST_TEST(buffer.at(0)->fields.size() == 60u);
  BOOST_TEST(buffer.at(0)->thread.size() == 1000u);
  // Pushed out by small entries, its memory is given back.
  buffer.push(hold(entry(Level::info, "S", "s", "c")));
  buffer.push(hold(entry(Level::info, "S", "s", "d")));
  BOOST_TEST(buffer.at(0)->message == "c");
  BOOST_TEST(buffer.bytes() < 64 * 1024u);
  BOOST_TEST(spares.bytes() < 64 * 1024u);
}

BOOST_AUTO_TEST_CASE(history_filter_checks_the_minimum_level) {
  HistoryQuery query;
  query.min_level = Level::warning;
  BOOST_TEST(!matches(entry(Level::info, "S", "s", "m"), query));
  BOOST_TEST(matches(entry(Level::warning, "S", "s", "m"), query));
  BOOST_TEST(matches(entry(Level::critical, "S", "s", "m"), query));
  BOOST_TEST(matches(entry(Level::debug, "S", "s", "m"), HistoryQuery{}));
}

BOOST_AUTO_TEST_CASE(history_filter_matches_service_id_or_friendly_name_ignoring_case) {
  HistoryQuery query;
  query.services = {"other", "MUSIC_controller"};
  BOOST_TEST(matches(entry(Level::info, "Music Controller", "music_controller", "m"), query));
  BOOST_TEST(!matches(entry(Level::info, "Lights", "lights", "m"), query));
  query.services = {"music controller"};
  BOOST_TEST(matches(entry(Level::info, "Music Controller", "music_controller", "m"), query));
  query.services = {"music"};  // services compare whole names, not substrings
  BOOST_TEST(!matches(entry(Level::info, "Music Controller", "music_controller", "m"), query));
}

BOOST_AUTO_TEST_CASE(history_filter_finds_text_anywhere_in_the_message_ignoring_case) {
  HistoryQuery query;
  query.text = "TRACK started";
  BOOST_TEST(matches(entry(Level::info, "S", "s", "New track Started: 7"), query));
  BOOST_TEST(!matches(entry(Level::info, "S", "s", "New track stopped"), query));
  BOOST_TEST(!matches(entry(Level::info, "S", "s", "track"), query));
  BOOST_TEST(!matches(entry(Level::info, "Track Started", "s", "other"), query));  // message only
}

BOOST_AUTO_TEST_CASE(history_filter_requires_every_condition) {
  HistoryQuery query;
  query.min_level = Level::error;
  query.services = {"lights"};
  query.text = "fail";
  BOOST_TEST(matches(entry(Level::error, "Lights", "lights", "bulb failed"), query));
  BOOST_TEST(!matches(entry(Level::warning, "Lights", "lights", "bulb failed"), query));
  BOOST_TEST(!matches(entry(Level::error, "Music", "music", "bulb failed"), query));
  BOOST_TEST(!matches(entry(Level::error, "Lights", "lights", "bulb ok"), query));
}

BOOST_AUTO_TEST_CASE(filters_the_buffer_with_a_history_query) {
  RingBuffer<LogEntry> buffer(3);
  buffer.push(entry(Level::error, "Lights", "lights", "dropped by the buffer"));
  buffer.push(entry(Level::error, "Lights", "lights", "one"));
  buffer.push(entry(Level::info, "Lights", "lights", "two"));
  buffer.push(entry(Level::error, "Lights", "lights", "three"));
  HistoryQuery query;
  query.min_level = Level::error;
  const auto found = buffer.newest(query.limit, [&](const LogEntry& item) { return matches(item, query); });
  BOOST_REQUIRE(found.size() == 2u);
  BOOST_TEST(found[0].message == "one");
  BOOST_TEST(found[1].message == "three");
}

BOOST_AUTO_TEST_SUITE_END()
