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

BOOST_AUTO_TEST_CASE(a_literal_prefilter_never_drops_a_matching_line) {
  // Lines a wrong literal extraction would miss: optional letters, alternation,
  // escapes, classes, repeats, case folding beyond ASCII (KELVIN SIGN is a k, LONG S
  // an s), multi-byte UTF-8, and option settings inside the pattern.
  const std::vector<std::string> lines = {
      "timeout after 123 ms on channel 75",
      "timeout after 12 ms on channel 75",
      "TIMEOUT AFTER 456 MS ON CHANNEL 71",
      "color and colour",
      "a.b a+b a*b a?b",
      "abc{2} abcc",
      "tea for two",
      "coffee",
      "\u00e9t\u00e9 caf\u00e9",
      "caf\u00e9 CAF\u00c9",
      "\u212aelvin",
      "ma\u017fk",
      "x[y]z x]z",
      "tab\there",
      "back\\slash",
      "foo(bar) foobar",
      "ccc",
      "line with \x01 control",
      "12ab",
      "ab",
  };
  std::string buffer;
  for (const auto& line : lines) buffer += line + "\n";
  const std::vector<std::pair<std::string, bool>> patterns = {
      {"timeout after [0-9]{3} ms on channel 7[0-9]", false},
      {"timeout after [0-9]{3} ms on channel 7[0-9]", true},
      {"colou?r and", false},
      {"colou*r", false},
      {"colo(u)?r", false},
      {"tea|coffee", false},
      {"te(a|x) for", false},
      {"a\\.b", false},
      {"a\\+b", false},
      {"a\\*b a\\?b", false},
      {"abc{2}", false},
      {"abc{1,2} ab", false},
      {"abc\\{2\\}", false},
      {"x\\[y\\]z", false},
      {"[xy]\\]z", false},
      {"KELVIN", true},
      {"kelvin", true},
      {"MASK", true},
      {"CAF\u00c9", true},
      {"caf\u00e9", false},
      {"\u00e9t\u00e9", false},
      {"(?i)TEA FOR", false},
      {"(?i:TEA) for", false},
      {"\\x41?b", false},
      {"\\x{63}cc", false},
      {"\\cA control", false},
      {"\\Qa.b\\E", false},
      {"tab\\there", false},
      {"back\\\\slash", false},
      {"foo\\(bar\\)", false},
      {"foo(?=bar)bar", false},
      {"\\bfoobar\\b", false},
      {"12ab|^ab$", false},
      {"on channel 7[0-9]$", false},
  };
  for (const auto& [pattern_text, caseless] : patterns) {
    const std::string& pattern = pattern_text;
    BOOST_TEST_CONTEXT("pattern " << pattern << (caseless ? " (caseless)" : "")) {
      const Regex regex(pattern, caseless);
      std::vector<std::string> expected, found;
      for (const auto& line : lines) {
        if (regex.matches(line)) expected.push_back(line);
      }
      for (std::size_t at = 0;;) {
        const auto [start, end] = regex.find_line(buffer, at);
        if (start == std::string::npos) break;
        found.push_back(buffer.substr(start, end - start));
        at = end + 1;
      }
      BOOST_TEST(found == expected);
    }
  }
  // The fast path exists: the search pattern's literal is found, an alternation's is not.
  BOOST_TEST(Regex("timeout after [0-9]{3} ms", false).required_literal() == "timeout after ");
  BOOST_TEST(Regex("TIMEOUT after", true).required_literal() == "timeout after");
  BOOST_TEST(Regex("colou?r and", false).required_literal() == "r and");
  BOOST_TEST(Regex("tea|coffee", false).required_literal().empty());
  BOOST_TEST(Regex("(?i)tea for", false).required_literal().empty());
}

BOOST_AUTO_TEST_CASE(a_service_or_level_named_in_a_message_is_not_the_lines_own) {
  // Messages that name a service or a level (as the file shows them, padding
  // included) must not make their line match, and lines of a service whose name
  // is 20 code points or more, or is a prefix of another's, must; lines longer
  // than a 1 KiB sub-block are read whole.
  TempFolder other;
  const std::string id = "20261126-180000";
  const auto path = other.path / part_file_name(id, 1, false);
  const std::vector<std::pair<bus::Level, std::string>> kinds = {
      {bus::Level::info, "Mode Manager"},      {bus::Level::critical, "Mode"},
      {bus::Level::info, "Eye Lights"},        {bus::Level::warning, "Service_With_A_Long_Name"},
      {bus::Level::info, "Caf\u00e9 Service"},
  };
  const std::vector<std::string> messages = {
      "plain",
      "from Mode Manager to Eye Lights",
      "] CRITICAL Mode Manager        x",
      " Mode Manager ",
      "WARNING  Service_With_A_Long_Name says Service_With_A_Long ",
      "Caf\u00e9 Service ",
      std::string(2500, 'x') + " a line longer than a sub-block",
  };
  std::string text;
  std::vector<std::string> lines;
  std::vector<std::pair<bus::Level, std::string>> fields;
  for (std::size_t i = 0; i < 3000; ++i) {
    cantina::logging::LogEntry entry;
    entry.timestamp_ns = kStart + static_cast<std::int64_t>(i) * kStep;
    // One line in 60 of a rare service (every other one long), so that its
    // query reads single sub-blocks.
    const bool rare = i % 60 == 7;
    const auto& kind = rare ? std::pair<bus::Level, std::string>{bus::Level::info, "Rare"} : kinds[i % kinds.size()];
    entry.level = kind.first;
    entry.service = unescape(kind.second);
    entry.message = rare && i % 120 == 7 ? messages.back() : unescape(messages[i % messages.size()]);
    std::string line;
    cantina::logging::append_line(line, entry);
    text += line;
    lines.push_back(line.substr(0, line.size() - 1));
    fields.emplace_back(entry.level, kind.second);
  }
  write_all(path, text);
  IndexWriter index;
  index.open(path);
  index.add(0, text, {});
  index.close();
  const SessionDir dir(other.path);
  for (const char* name : {"Rare", "Mode Manager", "Mode", "Eye Lights", "Service_With_A_Long_Name",
                           "Service_With_A_Long", "Caf\\u00e9 Service", "Nobody"}) {
    const std::string service = name;
    for (const bus::Level level : {bus::Level::debug, bus::Level::warning, bus::Level::critical}) {
      for (const bool by_service : {true, false}) {
        BOOST_TEST_CONTEXT(service << " " << static_cast<int>(level) << " " << by_service) {
          Filter filter;
          filter.min_level = level;
          if (by_service) filter.services = {unescape(service)};
          std::vector<std::string> expected, found;
          for (std::size_t i = 0; i < lines.size(); ++i) {
            if (fields[i].first < level) continue;
            if (by_service && unescape(fields[i].second) != unescape(service)) continue;
            expected.push_back(lines[i]);
          }
          for (const ReadMode mode : {ReadMode::mmap, ReadMode::pread}) {
            SessionScan scan(dir, *dir.find(id), mode);
            found.clear();
            Budget budget;
            scan.forward(filter, std::nullopt, budget, [&](const Match& match) {
              found.emplace_back(match.line);
              return true;
            });
            BOOST_TEST(found == expected);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(positions_parse_only_in_their_exact_form) {
  BOOST_TEST(to_string(Position{3, 1234}) == "3:1234");
  BOOST_TEST((parse_position("3:1234") == Position{3, 1234}));
  for (const char* bad : {"", ":", "3:", ":5", "0:5", "3:-1", "3:5x", "x3:5", "3:5:6", "3:123456789012345678"}) {
    BOOST_TEST(!parse_position(bad), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
