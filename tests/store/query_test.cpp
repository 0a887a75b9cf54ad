// Queries over a session of several parts against a plain filter over every line
// written: forward, backward, in pages (by the positions they return, and when a
// byte budget stops them), with mapped and read bytes, and the entry sequences
// the index gives.
#define BOOST_TEST_MODULE store_query
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <optional>

#include "cantina/store/query.h"
#include "store/store_test_support.h"

using namespace cantina::store;
using namespace cantina::store::testing;
namespace bus = cantina::bus;

namespace {

constexpr std::int64_t kStart = 1'764'000'000'000'000'000;
constexpr std::int64_t kStep = 10'000'000;  // 10 ms a line
constexpr std::size_t kLines = 30000;

struct Fixture {
  Fixture() { written = write_session(folder.path, "20261126-174500", kLines, 900'000, kStart, kStep, droid_mix()); }
  TempFolder folder;
  std::vector<Written> written;
};

struct Case {
  std::optional<std::int64_t> since, until;
  bus::Level level = bus::Level::debug;
  std::vector<std::string> services = {};
  std::string grep = {};
  bool caseless = false;
};

std::vector<std::string> oracle(const std::vector<Written>& written, const Case& c) {
  std::optional<Regex> regex;
  if (!c.grep.empty()) regex.emplace(c.grep, c.caseless);
  std::vector<std::string> out;
  for (const Written& w : written) {
    if (c.since && w.timestamp_ns < *c.since) continue;
    if (c.until && w.timestamp_ns > *c.until) continue;
    if (w.level < c.level) continue;
    if (!c.services.empty() && std::find(c.services.begin(), c.services.end(), w.service) == c.services.end()) continue;
    if (regex && !regex->matches(w.line)) continue;
    out.push_back(w.line);
  }
  return out;
}

struct Query {
  Filter filter;
  std::optional<Regex> regex;
  explicit Query(const Case& c) {
    filter.since_ns = c.since;
    filter.until_ns = c.until;
    filter.min_level = c.level;
    filter.services = c.services;
    if (!c.grep.empty()) {
      regex.emplace(c.grep, c.caseless);
      filter.grep = &*regex;
    }
  }
};

// Every match, in pages of `page` (0 = one go) and with a byte budget per call.
std::vector<std::string> run(const SessionDir& dir, const Case& c, bool backward, std::size_t page,
                             std::uint64_t budget_bytes, ReadMode mode) {
  const Query query(c);
  SessionScan scan(dir, *dir.find("20261126-174500"), mode);
  std::vector<std::string> out;
  std::optional<Position> at;
  for (int calls = 0; calls < 100000; ++calls) {
    Budget budget;
    budget.max_bytes = budget_bytes;
    std::size_t taken = 0;
    const Emit emit = [&](const Match& match) {
      out.emplace_back(match.line);
      return page == 0 || ++taken < page;
    };
    at = backward ? scan.backward(query.filter, at, budget, emit) : scan.forward(query.filter, at, budget, emit);
    if (!at) break;
  }
  if (backward) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Case> cases() {
  const std::int64_t minute = 60'000'000'000;
  return {
      {},
      {kStart + minute, std::nullopt},
      {std::nullopt, kStart + 2 * minute},
      {kStart + 90'000'000'000, kStart + 91'000'000'000},
      {kStart + 10 * minute, std::nullopt},  // after the end
      {std::nullopt, kStart - minute},       // before the start
      {std::nullopt, std::nullopt, bus::Level::error},
      {std::nullopt, std::nullopt, bus::Level::critical},
      {std::nullopt, std::nullopt, bus::Level::warning, {"Mode Manager"}},
      {std::nullopt, std::nullopt, bus::Level::debug, {"Mode Manager", "Eye Lights"}},
      {std::nullopt, std::nullopt, bus::Level::debug, {"Nobody"}},
      {kStart + minute, kStart + 3 * minute, bus::Level::error, {"Voice Input", "Mode Manager"}},
      {std::nullopt, std::nullopt, bus::Level::debug, {}, "value 99[0-9]$"},
      {std::nullopt, std::nullopt, bus::Level::debug, {}, "MESSAGE 1[0-9]{2} ", true},
      {std::nullopt, std::nullopt, bus::Level::debug, {}, "message 12345 "},
      {std::nullopt, std::nullopt, bus::Level::info, {"Music Controller"}, "value [1-3]"},
      {kStart + 2 * minute, std::nullopt, bus::Level::debug, {}, "^\\[.*ERROR"},
      {std::nullopt, std::nullopt, bus::Level::debug, {}, "test, value 7\\s*\\["},  // \s could cross a line end
  };
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_query, Fixture)

BOOST_AUTO_TEST_CASE(the_session_has_several_parts) {
  const SessionDir dir(folder.path);
  const auto session = dir.find("20261126-174500");
  BOOST_REQUIRE(session);
  BOOST_TEST(session->parts.size() >= 3u);
  BOOST_TEST(written.back().part == session->parts.back().number);
  SessionScan scan(dir, *session, ReadMode::pread);
  const SessionSummary summary = scan.summary();
  BOOST_TEST(summary.lines == kLines);
  std::uint64_t errors = 0;
  for (const auto& w : written) errors += w.level == bus::Level::error ? 1 : 0;
  BOOST_TEST(summary.level_counts[3] == errors);
  BOOST_TEST(summary.start_ns <= written.front().timestamp_ns);
  BOOST_TEST(summary.end_ns >= written.back().timestamp_ns);
}

BOOST_AUTO_TEST_CASE(every_query_gives_what_a_plain_filter_gives) {
  const SessionDir dir(folder.path);
  int number = 0;
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT("case " << number++) {
      const auto expected = oracle(written, c);
      BOOST_TEST(run(dir, c, false, 0, ~0ULL, ReadMode::mmap) == expected);
      BOOST_TEST(run(dir, c, false, 0, ~0ULL, ReadMode::pread) == expected);
      BOOST_TEST(run(dir, c, true, 0, ~0ULL, ReadMode::pread) == expected);
      BOOST_TEST(run(dir, c, false, 7, ~0ULL, ReadMode::mmap) == expected);
      BOOST_TEST(run(dir, c, true, 7, ~0ULL, ReadMode::mmap) == expected);
      // A budget smaller than a block: every call still moves on.
      BOOST_TEST(run(dir, c, false, 5, 20'000, ReadMode::pread) == expected);
      BOOST_TEST(run(dir, c, true, 5, 20'000, ReadMode::pread) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(matches_carry_their_position_and_sequence) {
  const SessionDir dir(folder.path);
  SessionScan scan(dir, *dir.find("20261126-174500"), ReadMode::mmap);
  scan.want_sequences(true);
  Filter filter;
  filter.min_level = bus::Level::error;
  Budget budget;
  std::size_t checked = 0;
  scan.forward(filter, std::nullopt, budget, [&](const Match& match) {
    const auto found = std::find_if(written.begin(), written.end(), [&](const Written& w) {
      return w.part == match.position.part && w.offset == match.position.offset;
    });
    BOOST_REQUIRE(found != written.end());
    BOOST_TEST(found->line == match.line);
    BOOST_TEST(found->sequence == match.sequence);
    BOOST_TEST(match.parsed.has_value());
    ++checked;
    return true;
  });
  BOOST_TEST(checked > 100u);
  // Starting at a match's position gives that match first.
  const Written& middle = written[kLines / 2];
  Budget again;
  std::string first;
  scan.forward(Filter{}, Position{middle.part, middle.offset}, again, [&](const Match& match) {
    first = std::string(match.line);
    return false;
  });
  BOOST_TEST(first == middle.line);
  std::string before;
  scan.backward(Filter{}, Position{middle.part, middle.offset}, again, [&](const Match& match) {
    before = std::string(match.line);
    return false;
  });
  BOOST_TEST(before == written[kLines / 2 - 1].line);
}

BOOST_AUTO_TEST_CASE(a_rare_level_reads_a_small_part_of_the_session) {
  const SessionDir dir(folder.path);
  SessionScan scan(dir, *dir.find("20261126-174500"), ReadMode::mmap);
  Filter filter;
  filter.min_level = bus::Level::critical;
  Budget budget;
  scan.forward(filter, std::nullopt, budget, [](const Match&) { return true; });
  std::uint64_t total = 0;
  for (const auto& w : written) total += w.line.size() + 1;
  // 0.2 % of the lines: only their 1 KiB sub-blocks are read.
  BOOST_TEST(budget.scanned < total / 10);
}

BOOST_AUTO_TEST_CASE(a_regex_that_backtracks_without_end_is_stopped_not_silent) {
  const Regex hostile("^(a+)+$", false);
  BOOST_CHECK_THROW(hostile.matches(std::string(40, 'a') + "!"), RegexLimitError);
  // Over a buffer, a limit reached by the whole is retried line by line.
  const Regex fine("x[0-9]+y", false);
  std::string lines;
  for (int i = 0; i < 200000; ++i) lines += "x123 no match here\n";
  lines += "x42y\n";
  const auto [start, end] = fine.find_line(lines, 0);
  BOOST_TEST(lines.substr(start, end - start) == "x42y");
  BOOST_CHECK_THROW(Regex("(unclosed", false), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(positions_parse_only_in_their_exact_form) {
  BOOST_TEST(to_string(Position{3, 1234}) == "3:1234");
  BOOST_TEST((parse_position("3:1234") == Position{3, 1234}));
  for (const char* bad : {"", ":", "3:", ":5", "0:5", "3:-1", "3:5x", "x3:5", "3:5:6", "3:123456789012345678"}) {
    BOOST_TEST(!parse_position(bad), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
