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
                      entry.sequence};
}

// The stream under test, and every message it sent, decoded.
struct Sent {
  std::vector<std::vector<DashboardLog>> messages;
  std::vector<std::size_t> sizes;  // bytes of each payload
  DashboardStream::Send sink() {
    return [this](std::string_view payload) {
      auto batch = cantina::bus::decode_dashboard_log_batch(cantina::bus::as_bytes(payload));
      BOOST_REQUIRE_MESSAGE(batch, batch.error);
      messages.push_back(batch.value->entries);
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
  DashboardStream stream(kSession, sent.sink(), 4);
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
  constexpr std::size_t kOverhead = std::size_t{4} * 8;  // segment table, root pointer, root struct, list tag
  Sent sent;
  DashboardStream stream(kSession, sent.sink(), 1024, kMaxBytes);
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

BOOST_AUTO_TEST_SUITE_END()
