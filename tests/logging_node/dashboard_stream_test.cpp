#define BOOST_TEST_MODULE dashboard_stream
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "dashboard_stream.h"

namespace {

using cantina::bus::DashboardLog;
using cantina::bus::EntryKind;
using cantina::bus::Level;
using cantina::logging::DashboardStream;
using cantina::logging::LogEntry;

constexpr const char* kSession = "20261126-174500";

LogEntry make_entry(std::uint64_t sequence, std::string message = {}) {
  LogEntry entry;
  entry.timestamp_ns = 1'795'000'000'000'000'000 + static_cast<std::int64_t>(sequence) * 1000;
  entry.level = sequence % 4 == 0 ? Level::error : Level::info;
  entry.service = "Music Controller";
  entry.service_id = "music_controller";
  entry.message = message.empty() ? "entry " + std::to_string(sequence) : std::move(message);
  entry.kind = sequence % 3 == 0 ? EntryKind::repeat_summary : EntryKind::record;
  entry.repeat_count = sequence % 3 == 0 ? 2 : 0;
  entry.host = "droid";
  entry.logger = "cantina_os.music";
  entry.sequence = sequence;
  if (entry.kind == EntryKind::record && sequence % 2 == 1) {  // a record's source and context
    entry.file = "music.py";
    entry.line = static_cast<std::uint32_t>(sequence);
    entry.function = "play";
    entry.thread = "MainThread";
    entry.pid = 4242;
    for (std::uint64_t i = 0; i < sequence % 5; ++i) entry.fields.emplace_back("k" + std::to_string(i), "value");
  }
  return entry;
}

// What a viewer must receive for `entry`.
DashboardLog expected(const LogEntry& entry) {
  return DashboardLog{cantina::bus::iso8601(entry.timestamp_ns),
                      entry.timestamp_ns,
                      entry.level,
                      entry.service,
                      entry.service_id,
                      entry.message,
                      kSession,
                      std::string(kSession) + "-" + std::to_string(entry.sequence),
                      entry.repeat_count,
                      entry.kind,
                      entry.host,
                      entry.logger,
                      entry.sequence,
                      entry.file,
                      entry.line,
                      entry.function,
                      entry.thread,
                      entry.pid,
                      entry.fields};
}

// The stream under test, and every message it sent, decoded.
struct Sent {
  std::vector<std::vector<DashboardLog>> messages;
  std::vector<std::uint64_t> not_streamed;  // each message's count of entries left out
  std::vector<std::size_t> sizes;           // bytes of each payload
  DashboardStream::Send sink() {
    return [this](std::string_view payload) {
      auto batch = cantina::bus::decode_dashboard_logs(cantina::bus::as_bytes(payload), true);
      BOOST_REQUIRE_MESSAGE(batch, batch.error);
      messages.push_back(batch.value->entries);
      not_streamed.push_back(batch.value->not_streamed);
      sizes.push_back(payload.size());
    };
  }
  std::vector<DashboardLog> all() const {
    std::vector<DashboardLog> entries;
    for (const auto& message : messages) entries.insert(entries.end(), message.begin(), message.end());
    return entries;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(dashboard_stream)

BOOST_AUTO_TEST_CASE(sends_what_a_wakeup_added_as_one_message_on_flush) {
  Sent sent;
  DashboardStream stream(kSession, sent.sink());
  std::vector<DashboardLog> want;
  for (std::uint64_t sequence = 1; sequence <= 10; ++sequence) {
    LogEntry entry = make_entry(sequence);
    stream.add(entry);
    want.push_back(expected(entry));
    entry.message = "changed after add";  // the stream keeps its own copy
  }
  BOOST_TEST(sent.messages.empty());
  BOOST_TEST(stream.pending() == 10u);
  stream.flush();
  BOOST_TEST(stream.pending() == 0u);
  BOOST_REQUIRE(sent.messages.size() == 1u);
  BOOST_TEST((sent.messages[0] == want));
}

BOOST_AUTO_TEST_CASE(flush_with_nothing_waiting_sends_nothing) {
  Sent sent;
  DashboardStream stream(kSession, sent.sink());
  stream.flush();
  stream.add(make_entry(1));
  stream.flush();
  stream.flush();
  BOOST_TEST(sent.messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(splits_at_the_entry_bound_and_sends_a_full_batch_at_once) {
  Sent sent;
  DashboardStream stream(kSession, sent.sink(), 0, 4);
  std::vector<DashboardLog> want;
  for (std::uint64_t sequence = 1; sequence <= 10; ++sequence) {
    stream.add(make_entry(sequence));
    want.push_back(expected(make_entry(sequence)));
  }
  BOOST_TEST(sent.messages.size() == 2u);  // 4 and 8 entries in: sent without waiting for flush()
  stream.flush();
  BOOST_REQUIRE(sent.messages.size() == 3u);
  BOOST_TEST(sent.messages[0].size() == 4u);
  BOOST_TEST(sent.messages[1].size() == 4u);
  BOOST_TEST(sent.messages[2].size() == 2u);
  BOOST_TEST((sent.all() == want));  // every entry once, in order
}

BOOST_AUTO_TEST_CASE(splits_at_the_byte_bound_and_sends_a_large_entry_alone) {
  constexpr std::size_t kMaxBytes = 2048;
  // segment table, root pointer, root struct (notStreamed and the list pointer), list tag
  constexpr std::size_t kOverhead = std::size_t{5} * 8;
  Sent sent;
  DashboardStream stream(kSession, sent.sink(), 0, 1024, kMaxBytes);
  std::vector<DashboardLog> want;
  for (std::uint64_t sequence = 1; sequence <= 40; ++sequence) {
    // Entry 20 is larger than a whole message may be.
    LogEntry entry = make_entry(sequence, sequence == 20 ? std::string(5000, 'x') : std::string());
    stream.add(entry);
    want.push_back(expected(entry));
  }
  stream.flush();
  BOOST_TEST((sent.all() == want));
  BOOST_TEST(sent.messages.size() > 3u);
  for (std::size_t i = 0; i < sent.messages.size(); ++i) {
    if (sent.messages[i].size() == 1 && sent.messages[i][0].sequence == 20) continue;  // alone
    BOOST_TEST(sent.sizes[i] <= kMaxBytes + kOverhead, "message " << i << ": " << sent.sizes[i] << " bytes");
  }
  bool large_alone = false;
  for (const auto& message : sent.messages) large_alone |= message.size() == 1 && message[0].sequence == 20;
  BOOST_TEST(large_alone);
}

BOOST_AUTO_TEST_CASE(streams_at_most_max_rate_a_second_and_says_how_many_it_left_out) {
  Sent sent;
  DashboardStream stream(kSession, sent.sink(), 100);  // 100 entries/s, bursts of 100
  constexpr std::int64_t kSecondNs = 1'000'000'000;
  std::int64_t now = 5 * kSecondNs;
  std::uint64_t sequence = 0;
  std::uint64_t streamed_records = 0, always = 0;
  // Three seconds of 1,000 INFO records a second, one wake-up per 10 ms (10 each),
  // with a WARNING and a repeat summary among them every 100 records.
  for (int wakeup = 0; wakeup < 300; ++wakeup) {
    stream.refill(now);
    for (int i = 0; i < 10; ++i) {
      LogEntry entry = make_entry(++sequence);
      entry.level = sequence % 100 == 0 ? Level::warning : Level::info;
      entry.kind = sequence % 100 == 50 ? EntryKind::repeat_summary : EntryKind::record;
      const bool must = entry.level == Level::warning || entry.kind != EntryKind::record;
      const bool streamed = stream.add(entry);
      BOOST_REQUIRE(streamed || !must);  // warnings and summaries always go
      if (streamed) (must ? always : streamed_records) += 1;
    }
    stream.flush();
    now += kSecondNs / 100;
  }
  const std::vector<DashboardLog> got = sent.all();
  BOOST_TEST(got.size() == streamed_records + always);
  BOOST_TEST(always == 60u);
  // The first second's burst (100) plus 100 a second for the 2.99 s after it, and
  // the 60 that always go (taking from the same budget while it lasts).
  BOOST_TEST(streamed_records + always >= 399u);
  BOOST_TEST(streamed_records + always <= 459u);
  // Every entry is either streamed or counted, and the counts come with the messages
  // that follow the entries left out: sequence gaps match them exactly.
  std::uint64_t counted = 0, last_sequence = 0;
  for (std::size_t m = 0; m < sent.messages.size(); ++m) {
    counted += sent.not_streamed[m];
    for (const auto& entry : sent.messages[m]) {
      BOOST_REQUIRE(entry.sequence > last_sequence);
      last_sequence = entry.sequence;
    }
  }
  BOOST_TEST(stream.not_streamed() == sequence - got.size());
  BOOST_TEST(counted + got.size() + (sequence - last_sequence) >= sequence);  // the tail may still be pending
}

BOOST_AUTO_TEST_CASE(a_count_left_out_with_nothing_after_it_goes_alone_and_not_too_often) {
  Sent sent;
  DashboardStream stream(kSession, sent.sink(), 10);
  constexpr std::int64_t kMs = 1'000'000;
  std::int64_t now = 1000 * kMs;
  stream.refill(now);
  std::uint64_t sequence = 0;
  for (int i = 0; i < 25; ++i) {
    LogEntry entry = make_entry(++sequence);
    entry.level = Level::info;
    entry.kind = EntryKind::record;
    stream.add(entry);
  }
  stream.flush();  // the 10 of the burst, and 15 left out
  BOOST_REQUIRE(sent.messages.size() == 1u);
  BOOST_TEST(sent.messages[0].size() == 10u);
  BOOST_TEST(sent.not_streamed[0] == 15u);
  // More left out within 100 ms of that message: the count waits.
  now += 10 * kMs;
  stream.refill(now);
  for (int i = 0; i < 5; ++i) {
    LogEntry entry = make_entry(++sequence);
    entry.level = Level::debug;
    entry.kind = EntryKind::record;
    BOOST_TEST(!stream.add(entry));
  }
  stream.flush();
  BOOST_TEST(sent.messages.size() == 1u);
  // After the interval it goes alone, as a message with no entries.
  now += DashboardStream::kCountOnlyInterval;
  stream.refill(now);
  stream.flush();
  BOOST_REQUIRE(sent.messages.size() == 2u);
  BOOST_TEST(sent.messages[1].empty());
  BOOST_TEST(sent.not_streamed[1] == 5u);
  BOOST_TEST(stream.not_streamed() == 20u);
  stream.flush();
  BOOST_TEST(sent.messages.size() == 2u);  // nothing more to say
}

BOOST_AUTO_TEST_SUITE_END()
