#define BOOST_TEST_MODULE bounded_queue
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bounded_queue.h"

namespace {

using cantina::logging::BoundedQueue;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

}  // namespace

BOOST_AUTO_TEST_SUITE(bounded_queue)

BOOST_AUTO_TEST_CASE(pops_items_in_order_up_to_the_batch_limit) {
  BoundedQueue<int> queue(10);
  for (int i = 0; i < 5; ++i) BOOST_TEST(queue.try_push(int{i}));
  BOOST_TEST(queue.size() == 5u);
  std::vector<int> out{-1};
  BOOST_TEST(queue.pop_batch(out, 3, 0ms) == 3u);
  BOOST_TEST(out == (std::vector<int>{-1, 0, 1, 2}), boost::test_tools::per_element());  // appended
  BOOST_TEST(queue.pop_batch(out, 100, 0ms) == 2u);
  BOOST_TEST(out == (std::vector<int>{-1, 0, 1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(queue.size() == 0u);
}

BOOST_AUTO_TEST_CASE(rejects_items_when_full_and_leaves_them_untouched) {
  BoundedQueue<std::unique_ptr<std::string>> queue(2);
  BOOST_TEST(queue.capacity() == 2u);
  BOOST_TEST(queue.try_push(std::make_unique<std::string>("a")));
  BOOST_TEST(queue.try_push(std::make_unique<std::string>("b")));
  // A refused item is left untouched, so using it after std::move is the point here.
  // NOLINTBEGIN(bugprone-use-after-move)
  auto rejected = std::make_unique<std::string>("c");
  BOOST_TEST(!queue.try_push(std::move(rejected)));
  BOOST_REQUIRE(rejected != nullptr);
  BOOST_TEST(*rejected == "c");
  BOOST_TEST(queue.size() == 2u);

  std::vector<std::unique_ptr<std::string>> out;
  BOOST_TEST(queue.pop_batch(out, 1, 0ms) == 1u);
  BOOST_TEST(queue.try_push(std::move(rejected)));  // room again
  BOOST_TEST(!queue.try_push(std::make_unique<std::string>("d")));
  // NOLINTEND(bugprone-use-after-move)
}

// Strings that weigh their length.
struct Length {
  std::size_t operator()(const std::string& text) const noexcept { return text.size(); }
};

BOOST_AUTO_TEST_CASE(refuses_items_past_its_bytes_and_pops_at_most_a_byte_budget) {
  BoundedQueue<std::string, Length> queue(100, 1, 10);
  BOOST_TEST(queue.max_bytes() == 10u);
  BOOST_TEST(queue.try_push(std::string(6, 'a')));
  BOOST_TEST(!queue.try_push(std::string(5, 'b')));  // 11 bytes
  BOOST_TEST(queue.try_push(std::string(4, 'c')));   // 10: full
  BOOST_TEST(queue.bytes() == 10u);
  std::vector<std::string> batch = {"d", "", "ee"};
  BOOST_TEST(queue.push_batch(
                 batch, [](const std::string& text) { return text == "ee"; },
                 [](const std::string&) { return false; }) == 1u);  // "d" refused, "" fits, "ee" kept regardless
  BOOST_TEST(queue.bytes() == 12u);
  std::vector<std::string> out;
  // At most 7 bytes: the first item alone is 6, the second takes it past.
  BOOST_TEST(queue.pop_batch(out, 100, 0ms, decltype(queue)::Idle::linger, Clock::time_point::max(), 7) == 2u);
  BOOST_TEST(queue.bytes() == 2u);
  BOOST_TEST(queue.pop_batch(out, 100, 0ms) == 2u);
  BOOST_TEST(queue.bytes() == 0u);
  // Alone, an item larger than the budget goes in (else it never could).
  BOOST_TEST(queue.try_push(std::string(50, 'x')));
  BOOST_TEST(!queue.try_push(std::string(1, 'y')));
}

BOOST_AUTO_TEST_CASE(push_unbounded_ignores_the_capacity) {
  BoundedQueue<int> queue(1);
  BOOST_TEST(queue.try_push(1));
  BOOST_TEST(!queue.try_push(2));
  queue.push_unbounded(3);
  queue.push_unbounded(4);
  BOOST_TEST(queue.size() == 3u);
  BOOST_TEST(!queue.try_push(5));
  std::vector<int> out;
  BOOST_TEST(queue.pop_batch(out, 10, 0ms) == 3u);
  BOOST_TEST(out == (std::vector<int>{1, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pop_batch_times_out_when_empty) {
  BoundedQueue<int> queue(4);
  std::vector<int> out;
  const auto start = Clock::now();
  BOOST_TEST(queue.pop_batch(out, 10, 50ms) == 0u);
  const auto waited = Clock::now() - start;
  BOOST_TEST(out.empty());
  BOOST_TEST((waited >= 50ms));
  BOOST_TEST((waited < 5s));
  BOOST_TEST(queue.pop_batch(out, 0, 1000ms) == 0u);  // nothing asked: no wait
}

BOOST_AUTO_TEST_CASE(pop_batch_wakes_when_an_item_arrives) {
  BoundedQueue<int> queue(4);
  std::vector<int> out;
  const auto start = Clock::now();
  std::thread producer([&] {
    std::this_thread::sleep_for(50ms);
    BOOST_CHECK(queue.try_push(42));
  });
  const std::size_t moved = queue.pop_batch(out, 10, 10s);
  const auto waited = Clock::now() - start;
  producer.join();
  BOOST_TEST(moved == 1u);
  BOOST_TEST(out == (std::vector<int>{42}), boost::test_tools::per_element());
  BOOST_TEST((waited < 5s));  // woken, not timed out
}

BOOST_AUTO_TEST_CASE(an_idle_consumer_sleeps_until_the_first_item_then_lingers) {
  // wake_items 100: one item alone would not wake a lingering consumer, but it ends
  // the idle wait; the consumer then lingers `timeout` for more and takes both.
  BoundedQueue<int> queue(1000, 100);
  std::vector<int> out;
  const auto start = Clock::now();
  std::thread producer([&] {
    std::this_thread::sleep_for(300ms);  // longer than the linger: the idle wait has no timeout
    BOOST_CHECK(queue.try_push(1));
    std::this_thread::sleep_for(20ms);
    BOOST_CHECK(queue.try_push(2));
  });
  const std::size_t moved = queue.pop_batch(out, 10, 100ms, BoundedQueue<int>::Idle::wait_for_first);
  const auto waited = Clock::now() - start;
  producer.join();
  BOOST_TEST(moved == 2u);
  BOOST_TEST(out == (std::vector<int>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST((waited >= 300ms));
}

BOOST_AUTO_TEST_CASE(the_linger_counts_from_the_oldest_items_arrival_not_from_the_call) {
  // The writer finds entries that came while it was writing: they have waited
  // already, so it takes them when the linger since their arrival is up.
  BoundedQueue<int> queue(1000, 100);
  BOOST_REQUIRE(queue.try_push(1));
  std::this_thread::sleep_for(2500ms);
  std::vector<int> out;
  const auto start = Clock::now();
  BOOST_TEST(queue.pop_batch(out, 10, 2000ms, BoundedQueue<int>::Idle::wait_for_first) == 1u);
  BOOST_TEST((Clock::now() - start < 1500ms));  // counted from the call it would be 2 s
}

BOOST_AUTO_TEST_CASE(an_idle_consumer_wakes_at_its_idle_deadline_with_nothing) {
  // The writer sleeps on an empty queue until an fdatasync is due, no longer.
  BoundedQueue<int> queue(1000, 100);
  std::vector<int> out;
  const auto start = Clock::now();
  BOOST_TEST(queue.pop_batch(out, 10, 100ms, BoundedQueue<int>::Idle::wait_for_first, start + 50ms) == 0u);
  const auto waited = Clock::now() - start;
  BOOST_TEST((waited >= 50ms));
  BOOST_TEST((waited < 5s));
}

BOOST_AUTO_TEST_CASE(an_idle_consumer_is_woken_by_an_urgent_item_or_shutdown) {
  BoundedQueue<int> queue(1000, 100);
  std::vector<int> out;
  std::thread producer([&] {
    std::this_thread::sleep_for(50ms);
    queue.push_unbounded(7);  // urgent: no linger either
  });
  const auto start = Clock::now();
  BOOST_TEST(queue.pop_batch(out, 10, 10s, BoundedQueue<int>::Idle::wait_for_first) == 1u);
  BOOST_TEST((Clock::now() - start < 5s));  // not the 10 s linger
  producer.join();
  BOOST_TEST(out == (std::vector<int>{7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(items_pushed_for_later_wait_for_wake_unless_urgent) {
  // The receive thread pushes a wake-up's entries message by message and wakes
  // the writer once at the end: woken by the first, it would write it alone
  // after its 50 ms linger, long before the second comes.
  using Queue = BoundedQueue<int>;
  Queue queue(1000, 100);
  const auto never = [](const int&) { return false; };
  std::vector<int> out;
  const auto start = Clock::now();
  std::thread producer([&] {
    std::this_thread::sleep_for(300ms);  // the consumer is asleep on the empty queue by then
    std::vector<int> first = {1};
    queue.push_batch(first, never, never, Queue::Wake::later);
    std::this_thread::sleep_for(300ms);
    std::vector<int> second = {2};
    queue.push_batch(second, never, never, Queue::Wake::later);
    queue.wake();
  });
  BOOST_TEST(queue.pop_batch(out, 10, 50ms, Queue::Idle::wait_for_first) == 2u);
  BOOST_TEST((Clock::now() - start >= 600ms));
  producer.join();
  BOOST_TEST(out == (std::vector<int>{1, 2}), boost::test_tools::per_element());

  // An urgent item (an ERROR entry) wakes the consumer at once all the same.
  out.clear();
  std::thread urgent_producer([&] {
    std::this_thread::sleep_for(50ms);
    std::vector<int> items = {3};
    queue.push_batch(
        items, never, [](const int&) { return true; }, Queue::Wake::later);
  });
  const auto urgent_start = Clock::now();
  BOOST_TEST(queue.pop_batch(out, 10, 10s, Queue::Idle::wait_for_first) == 1u);
  BOOST_TEST((Clock::now() - urgent_start < 5s));  // not the 10 s linger
  urgent_producer.join();

  // wake() with nothing queued leaves an idle consumer asleep until its deadline.
  out.clear();
  queue.wake();
  BOOST_TEST(queue.pop_batch(out, 10, 50ms, Queue::Idle::wait_for_first, Clock::now() + 100ms) == 0u);
}

BOOST_AUTO_TEST_CASE(delivers_a_million_items_in_order_exactly_once_across_threads) {
  constexpr std::uint64_t kItems = 1'000'000;
  BoundedQueue<std::uint64_t> queue(1024);
  std::uint64_t rejected = 0;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kItems; ++i) {
      while (!queue.try_push(std::uint64_t{i})) {
        ++rejected;
        std::this_thread::yield();
      }
    }
    queue.push_unbounded(std::uint64_t{kItems});  // end marker
  });

  std::vector<std::uint64_t> batch;
  std::uint64_t expected = 0;
  bool in_order = true;
  bool done = false;
  const auto start = Clock::now();
  while (!done) {
    BOOST_REQUIRE((Clock::now() - start < 120s));
    batch.clear();
    queue.pop_batch(batch, 256, 1000ms);
    BOOST_REQUIRE(batch.size() <= 256u);
    for (std::uint64_t value : batch) {
      if (value == kItems) {
        done = true;
        break;
      }
      if (value != expected) in_order = false;
      ++expected;
    }
  }
  producer.join();
  BOOST_TEST(in_order);
  BOOST_TEST(expected == kItems);
  BOOST_TEST(queue.size() == 0u);
  BOOST_TEST_MESSAGE("producer found the queue full " << rejected << " times");
}

BOOST_AUTO_TEST_SUITE_END()
