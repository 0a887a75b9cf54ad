// The web bridge writes each /dashboard/log entry's JSON straight from the
// Cap'n Proto message; the dashboard must get exactly what bus::to_json gives.
#define BOOST_TEST_MODULE entry_json
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <random>

#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"
#include "entry_json.h"

namespace {

using cantina::bus::DashboardLog;

std::string reference_json(const DashboardLog& entry) {
  return boost::json::serialize(cantina::bus::to_json(entry));
}

std::string entry_json(const std::string& payload) {
  std::string out;
  BOOST_REQUIRE(cantina::webbridge::append_entry_json(cantina::bus::as_bytes(payload), out));
  return out;
}

// Text with every kind of byte: ASCII, quotes, backslashes, control characters,
// valid and invalid UTF-8.
std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> pieces = {"a",
                                                  "Zz 09",
                                                  "\"",
                                                  "\\",
                                                  "/",
                                                  "\n",
                                                  "\r",
                                                  "\t",
                                                  "\b",
                                                  "\f",
                                                  std::string(1, '\0'),
                                                  "\x01",
                                                  "\x1f",
                                                  "\x7f",
                                                  "é",
                                                  "€",
                                                  "😀",
                                                  "\xc3",
                                                  "\x80",
                                                  "\xe2\x82",
                                                  "\xed\xa0\x80",
                                                  "\xf4\x90\x80\x80",
                                                  "\xc0\xaf",
                                                  "\xff",
                                                  "\xf0\x9f\x98"};
  std::string text;
  const int length = std::uniform_int_distribution<int>(0, 12)(random);
  for (int i = 0; i < length; ++i) text += pieces[random() % pieces.size()];
  return text;
}

DashboardLog random_entry(std::mt19937& random) {
  DashboardLog entry;
  entry.timestamp = random_text(random);
  entry.timestamp_ns = static_cast<std::int64_t>(random()) * (random() % 2 == 0 ? 1'000'000'007 : -3);
  entry.level = static_cast<cantina::bus::Level>(random() % 5);
  entry.service = random_text(random);
  entry.service_id = random_text(random);
  entry.message = random_text(random);
  entry.session_id = random_text(random);
  entry.entry_id = random_text(random);
  entry.repeat_count = static_cast<std::uint32_t>(random());
  entry.kind = static_cast<cantina::bus::EntryKind>(random() % 4);
  entry.host = random_text(random);
  entry.logger = random_text(random);
  entry.sequence = (std::uint64_t{random()} << 32) | random();
  if (random() % 2 == 0) {  // a record's source and context, some parts empty
    entry.file = random_text(random);
    entry.line = random() % 3 == 0 ? 0 : static_cast<std::uint32_t>(random());
    entry.function = random_text(random);
    entry.thread = random_text(random);
    entry.pid = random() % 3 == 0 ? 0 : static_cast<std::uint32_t>(random());
    // Few distinct keys: repeats, also of keys that differ only in invalid UTF-8.
    static const std::vector<std::string> keys = {"a", "b", "", "\xff", "\xfe", "\xc3", "track", "\""};
    const std::size_t count = random() % 7;
    for (std::size_t i = 0; i < count; ++i)
      entry.fields.emplace_back(keys[random() % keys.size()], random_text(random));
  }
  return entry;
}

// One to four random byte flips, truncations or insertions.
void mutate(std::string& payload, std::mt19937& random) {
  const int mutations = 1 + static_cast<int>(random() % 4);
  for (int m = 0; m < mutations && !payload.empty(); ++m) {
    switch (random() % 3) {
      case 0: payload[random() % payload.size()] = static_cast<char>(random()); break;
      case 1: payload.resize(random() % (payload.size() + 1)); break;
      default: payload.insert(random() % (payload.size() + 1), std::string(random() % 16, static_cast<char>(random())));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(writes_what_to_json_writes_for_every_kind_of_text) {
  std::mt19937 random(6);
  for (int i = 0; i < 20000; ++i) {
    const DashboardLog entry = random_entry(random);
    BOOST_REQUIRE_EQUAL(entry_json(cantina::bus::encode(entry)), reference_json(entry));
  }
  const DashboardLog empty;
  BOOST_TEST(entry_json(cantina::bus::encode(empty)) == reference_json(empty));
}

BOOST_AUTO_TEST_CASE(a_record_s_source_and_fields_are_there_only_when_it_has_them) {
  DashboardLog entry;
  entry.message = "Track started";
  entry.host = "droid";
  entry.logger = "cantina_os.music";
  const std::string bare = entry_json(cantina::bus::encode(entry));
  for (const char* key : {"\"file\"", "\"line\"", "\"function\"", "\"thread\"", "\"pid\"", "\"fields\""}) {
    BOOST_TEST(bare.find(key) == std::string::npos, key);
  }
  BOOST_TEST(bare.find("\"host\":\"droid\",\"logger\":\"cantina_os.music\"") != std::string::npos);
  entry.file = "music.py";
  entry.line = 42;
  entry.function = "play";
  entry.thread = "MainThread";
  entry.pid = 4242;
  entry.fields.emplace_back("track", "Cantina Band");
  entry.fields.emplace_back("volume", "80");
  entry.fields.emplace_back("track", "Binary Sunset");  // given twice: the last value, at the first place
  const std::string full = entry_json(cantina::bus::encode(entry));
  BOOST_TEST(full.ends_with(",\"file\":\"music.py\",\"line\":42,\"function\":\"play\",\"thread\":\"MainThread\","
                            "\"pid\":4242,\"fields\":{\"track\":\"Binary Sunset\",\"volume\":\"80\"}}"),
             full);
  BOOST_TEST(full == reference_json(entry));
}

BOOST_AUTO_TEST_CASE(escapes_a_special_byte_wherever_it_is_in_a_long_text) {
  for (const char special : {'"', '\\', '\n', '\x1f', '\x7f', '\x00', '\xc3', '\xff'}) {
    for (std::size_t at = 0; at < 40; ++at) {
      DashboardLog entry;
      entry.message = std::string(40, 'x');
      entry.message[at] = special;
      BOOST_REQUIRE_EQUAL(entry_json(cantina::bus::encode(entry)), reference_json(entry));
    }
  }
}

BOOST_AUTO_TEST_CASE(appends_to_what_the_buffer_holds) {
  DashboardLog entry;
  entry.message = "hello";
  std::string out = "[1,";
  BOOST_REQUIRE(cantina::webbridge::append_entry_json(cantina::bus::as_bytes(cantina::bus::encode(entry)), out));
  BOOST_TEST(out == "[1," + reference_json(entry));
}

BOOST_AUTO_TEST_CASE(rejects_what_the_decoder_rejects_and_leaves_the_buffer_alone) {
  std::mt19937 random(7);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string payload = cantina::bus::encode(random_entry(random));
    mutate(payload, random);
    const auto decoded = cantina::bus::decode_dashboard_logs(cantina::bus::as_bytes(payload), false);
    std::string out = "kept";
    const bool accepted = cantina::webbridge::append_entry_json(cantina::bus::as_bytes(payload), out);
    BOOST_REQUIRE_EQUAL(accepted, decoded.value.has_value());
    if (accepted) {
      BOOST_REQUIRE_EQUAL(decoded.value->entries.size(), 1u);
      BOOST_REQUIRE_EQUAL(out, "kept" + reference_json(decoded.value->entries[0]));
    } else {
      BOOST_REQUIRE_EQUAL(out, "kept");
      ++rejected;
    }
  }
  BOOST_TEST(rejected > 1000);  // the mutations really produce bad payloads
}

BOOST_AUTO_TEST_CASE(writes_every_entry_of_a_batch_in_order_separated_by_commas) {
  std::mt19937 random(8);
  for (int i = 0; i < 500; ++i) {
    cantina::bus::DashboardLogBatch batch;
    batch.entries.resize(random() % 6);
    for (auto& entry : batch.entries) entry = random_entry(random);
    std::string want = "[0";
    std::string want_digits = "[\"0\"";
    for (const auto& entry : batch.entries) {
      want += "," + reference_json(entry);
      want_digits += ",\"" + std::to_string(entry.timestamp_ns) + "\"";
    }
    std::string out = "[0";
    std::string digits = "[\"0\"";
    if (!batch.entries.empty()) {
      out += ',';
      digits += ',';
    }
    const auto count = cantina::webbridge::append_entries_json(cantina::bus::as_bytes(cantina::bus::encode(batch)),
                                                               true, out, nullptr, &digits);
    BOOST_REQUIRE(count.has_value());
    BOOST_REQUIRE_EQUAL(*count, batch.entries.size());
    BOOST_REQUIRE_EQUAL(out, want);
    BOOST_REQUIRE_EQUAL(digits, want_digits);  // each entry's timestamp_ns as a string of its digits
  }
  // The single form through the same call.
  const DashboardLog entry = random_entry(random);
  std::string out;
  const auto count =
      cantina::webbridge::append_entries_json(cantina::bus::as_bytes(cantina::bus::encode(entry)), false, out);
  BOOST_REQUIRE(count.has_value());
  BOOST_TEST(*count == 1u);
  BOOST_TEST(out == reference_json(entry));
}

BOOST_AUTO_TEST_CASE(rejects_a_batch_the_decoder_rejects_and_shows_none_of_it) {
  std::mt19937 random(9);
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    cantina::bus::DashboardLogBatch batch;
    batch.entries.resize(1 + random() % 4);
    for (auto& entry : batch.entries) entry = random_entry(random);
    std::string payload = cantina::bus::encode(batch);
    mutate(payload, random);
    const auto decoded = cantina::bus::decode_dashboard_logs(cantina::bus::as_bytes(payload), true);
    std::string out = "kept";
    std::string digits = "kept";
    const auto count =
        cantina::webbridge::append_entries_json(cantina::bus::as_bytes(payload), true, out, nullptr, &digits);
    BOOST_REQUIRE_EQUAL(count.has_value(), decoded.value.has_value());
    if (count) {
      std::string want = "kept";
      std::string want_digits = "kept";
      for (std::size_t e = 0; e < decoded.value->entries.size(); ++e) {
        want += (e == 0 ? "" : ",") + reference_json(decoded.value->entries[e]);
        want_digits += (e == 0 ? "\"" : ",\"") + std::to_string(decoded.value->entries[e].timestamp_ns) + "\"";
      }
      BOOST_REQUIRE_EQUAL(*count, decoded.value->entries.size());
      BOOST_REQUIRE_EQUAL(out, want);
      BOOST_REQUIRE_EQUAL(digits, want_digits);
    } else {
      BOOST_REQUIRE_EQUAL(out, "kept");
      BOOST_REQUIRE_EQUAL(digits, "kept");
      ++rejected;
    }
  }
  BOOST_TEST(rejected > 250);
}
