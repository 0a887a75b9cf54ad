#define BOOST_TEST_MODULE line_reader
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "cantina/bus/line_reader.h"

using namespace cantina::bus;
using namespace std::chrono_literals;

namespace {

using Clock = LineReader::Clock;

// A reader whose records are collected as (LEVEL, text).
struct Reader {
  explicit Reader(Level default_level = Level::info, std::size_t max_bytes = kDefaultMaxRecordBytes)
      : reader({default_level, max_bytes, 100ms, 1000ms}, [this](ReadRecord&& record) {
          records.emplace_back(std::string(to_string(record.level)), std::move(record.text));
        }) {}
  Reader& feed(const std::string& text, Clock::time_point now) {
    reader.feed(text, now);
    return *this;
  }
  std::vector<std::pair<std::string, std::string>> records;
  LineReader reader;
};

const Clock::time_point t0{};

}  // namespace

BOOST_AUTO_TEST_SUITE(line_reader)

BOOST_AUTO_TEST_CASE(a_line_may_announce_its_level) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ERROR: disk full", "ERROR"},
      {"[warn] slow", "WARNING"},
      {"error reading", "ERROR"},
      {"  [DEBUG] x", "DEBUG"},
      {"INFO:root:hello", "INFO"},
      {"Warning - hot", "WARNING"},
      {"CRITICAL", "CRITICAL"},
      {"fatal: not a git repository", "CRITICAL"},
      {"2026-11-26 17:53:20,584 ERROR boom", "ERROR"},
      {"2026-11-26T17:53:20.584Z [warn] x", "WARNING"},
      {"2026-11-26T17:53:20+01:00 notice x", "INFO"},
      {"<4>kernel says", "WARNING"},
      {"<0>emergency", "CRITICAL"},
      {"E1126 17:53:20.584440  1234 main.cc:10] bad", "ERROR"},
      {"W1126 17:53:20.584440  1234 main.cc:10] careful", "WARNING"},
      {"(error) x", "ERROR"},
      {"<crit> x", "CRITICAL"},
      {"<crit>x", "INFO"},
      {"[ERROR]x", "ERROR"},
      {"panic|x", "CRITICAL"},
      {"Errors: none", "INFO"},
      {"Information", "INFO"},
      {"I think so", "INFO"},
      {"ERR_CONNECTION_REFUSED", "INFO"},
      {"the ERROR is later", "INFO"},
      {"warnings: 3", "INFO"},
      {"(error)x", "INFO"},
      {"2026-11-26 17:53:20ERROR x", "INFO"},
  };
  for (const auto& [line, expected] : cases)
    BOOST_TEST(std::string(to_string(line_level(line, Level::info))) == expected, line);
  BOOST_TEST((line_level("plain", Level::warning) == Level::warning));
}

BOOST_AUTO_TEST_CASE(a_python_traceback_is_one_record_with_the_line_before_it) {
  Reader reader(Level::warning);
  reader.feed(
      "ERROR:root:could not divide\n"
      "Traceback (most recent call last):\n"
      "  File \"service.py\", line 3, in <module>\n"
      "    1 / 0\n"
      "ZeroDivisionError: division by zero\n"
      "next line\n",
      t0);
  reader.reader.finish();
  BOOST_REQUIRE_EQUAL(reader.records.size(), 2u);
  BOOST_TEST(reader.records[0].first == "ERROR");
  BOOST_TEST(reader.records[0].second ==
             "ERROR:root:could not divide\nTraceback (most recent call last):\n  File \"service.py\", line 3, in "
             "<module>\n    1 / 0\nZeroDivisionError: division by zero");
  BOOST_TEST(reader.records[1].first == "WARNING");
  BOOST_TEST(reader.records[1].second == "next line");
  BOOST_TEST(reader.reader.lines() == 6u);
}

BOOST_AUTO_TEST_CASE(an_uncaught_exception_is_an_error_and_chained_tracebacks_stay_together) {
  Reader reader(Level::warning);
  reader.feed(
      "Traceback (most recent call last):\n"
      "  File \"a.py\", line 1, in <module>\n"
      "KeyError: 'x'\n"
      "\n"
      "During handling of the above exception, another exception occurred:\n"
      "\n"
      "Traceback (most recent call last):\n"
      "  File \"a.py\", line 3, in <module>\n"
      "ValueError: bad\n"
      "service exiting\n",
      t0);
  reader.reader.finish();
  BOOST_REQUIRE_EQUAL(reader.records.size(), 2u);
  BOOST_TEST(reader.records[0].first == "ERROR");
  BOOST_TEST(reader.records[0].second.starts_with("Traceback (most recent call last):\n  File \"a.py\", line 1"));
  BOOST_TEST(
      reader.records[0].second.ends_with("another exception occurred:\nTraceback (most recent call last):\n"
                                         "  File \"a.py\", line 3, in <module>\nValueError: bad"));
  BOOST_TEST(reader.records[1].second == "service exiting");
}

BOOST_AUTO_TEST_CASE(a_traceback_makes_a_record_an_error_unless_it_announced_its_level) {
  Reader reader(Level::info);
  reader.feed("state:\n  volume = 45\nTraceback (most recent call last):\n  File \"a.py\"\nKeyError: 1\n", t0);
  reader.feed("WARNING:root:retrying\nTraceback (most recent call last):\n  File \"a.py\"\nKeyError: 1\n", t0);
  reader.reader.finish();
  BOOST_REQUIRE_EQUAL(reader.records.size(), 2u);
  BOOST_TEST(reader.records[0].first == "ERROR");
  BOOST_TEST(reader.records[0].second.starts_with("state:\n  volume = 45\nTraceback"));
  BOOST_TEST(reader.records[1].first == "WARNING");
}

BOOST_AUTO_TEST_CASE(indented_lines_continue_the_record_before_them) {
  Reader reader;
  reader.feed("Config:\r\n  volume = 45\r\n\tpattern = LISTENING\r\nWARN: done\r\n", t0);
  BOOST_REQUIRE_EQUAL(reader.records.size(), 1u);  // "WARN: done" may still be continued
  BOOST_TEST(reader.records[0].second == "Config:\n  volume = 45\n\tpattern = LISTENING");
  reader.reader.finish();
  BOOST_TEST(reader.records[1].first == "WARNING");
  BOOST_TEST(reader.records[1].second == "WARN: done");
}

BOOST_AUTO_TEST_CASE(a_record_waits_at_most_100_ms_after_its_last_line_and_1_s_after_its_first) {
  Reader reader;
  reader.feed("ERROR: boom\n", t0);
  BOOST_TEST((reader.reader.deadline() == t0 + 100ms));
  reader.reader.poll(t0 + 99ms);
  BOOST_TEST(reader.records.empty());
  reader.reader.poll(t0 + 100ms);
  BOOST_REQUIRE_EQUAL(reader.records.size(), 1u);
  BOOST_TEST(!reader.reader.deadline().has_value());

  // Indented lines every 50 ms would continue it forever: it goes after 1 s.
  Reader busy;
  busy.feed("table:\n", t0);
  for (int i = 1; i <= 30; ++i) busy.feed("  row " + std::to_string(i) + "\n", t0 + i * 50ms);
  BOOST_REQUIRE_GE(busy.records.size(), 1u);
  BOOST_TEST(busy.records[0].second.starts_with("table:\n  row 1\n"));
  BOOST_TEST(busy.records[0].second.ends_with("\n  row 20"));  // the line fed at 1 s closed it
}

BOOST_AUTO_TEST_CASE(records_are_bounded_in_bytes_and_nothing_is_dropped) {
  Reader reader(Level::info, 64);
  reader.feed("ERROR: first\n", t0);
  for (int i = 0; i < 10; ++i) reader.feed("  detail line number " + std::to_string(i) + "\n", t0);
  reader.reader.finish();
  std::string joined;
  for (const auto& [level, text] : reader.records) {
    BOOST_TEST(level == "ERROR");  // the rest of a record keeps its level
    BOOST_TEST(text.size() <= 64u);
    joined += (joined.empty() ? "" : "\n") + text;
  }
  BOOST_TEST(reader.records.size() > 1u);
  std::string expected = "ERROR: first";
  for (int i = 0; i < 10; ++i) expected += "\n  detail line number " + std::to_string(i);
  BOOST_TEST(joined == expected);

  // One line of 200 bytes of two-byte characters, fed in odd chunks: pieces of at most
  // 64 bytes, never cutting a character, together the whole line.
  Reader pieces(Level::info, 64);
  std::string line = "E: ";
  for (int i = 0; i < 100; ++i) line += "\xc3\xa9";  // é
  for (std::size_t at = 0; at < line.size(); at += 7) pieces.feed(line.substr(at, 7), t0);
  pieces.feed("\n", t0);
  pieces.reader.finish();
  std::string whole;
  for (const auto& [level, text] : pieces.records) {
    BOOST_TEST(text.size() <= 64u);
    BOOST_TEST((static_cast<unsigned char>(text.front()) & 0xC0) != 0x80, "a piece starts inside a character");
    whole += text;
  }
  BOOST_TEST(whole == line);
  BOOST_TEST(pieces.records.size() == 4u);
}

BOOST_AUTO_TEST_CASE(the_end_of_the_stream_emits_a_last_line_without_newline) {
  Reader reader;
  reader.feed("one\n\n   \ntwo", t0);
  BOOST_TEST(reader.records.empty());  // "one" may still be continued; "two" has no end yet
  reader.reader.finish();
  BOOST_REQUIRE_EQUAL(reader.records.size(), 2u);
  BOOST_TEST(reader.records[1].second == "two");
  BOOST_TEST(reader.reader.lines() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
