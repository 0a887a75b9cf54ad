// The sessions API's bounds, on real session files: a page stops at its entry
// limit or its byte cap, a request at its scan budget (and the pages that follow
// give exactly what one unbounded request gives), and requests beyond the cap on
// those under way are refused at once.
#define BOOST_TEST_MODULE sessions_api
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "sessions_api.h"
#include "store/store_test_support.h"

using namespace cantina::webbridge;
using namespace cantina::store::testing;
namespace json = boost::json;

namespace {

constexpr std::int64_t kStart = 1'764'000'000'000'000'000;
const std::string kId = "20261126-174500";

struct Fixture {
  Fixture() { write_session(folder.path, kId, 30000, 1'000'000, kStart, 10'000'000, droid_mix()); }
  SessionsApiOptions options() const {
    SessionsApiOptions options;
    options.directory = folder.path;
    return options;
  }
  TempFolder folder;
};

json::object get(const SessionsApi& api, const std::string& target, unsigned status = 200) {
  const auto reply = api.answer(parse_target(target));
  BOOST_TEST(reply.status == status, target << ": " << reply.body);
  return json::parse(reply.body).as_object();
}

// The messages of every page of `target`, following "next" while a page stopped.
std::vector<std::string> paged(const SessionsApi& api, const std::string& target, int& pages) {
  std::vector<std::string> out;
  std::string cursor;
  for (pages = 1; pages < 100000; ++pages) {
    std::string page = target;
    if (!cursor.empty()) page.append("&cursor=").append(cursor);
    const auto body = get(api, page);
    for (const auto& entry : body.at("entries").as_array()) out.emplace_back(entry.at("message").as_string());
    if (body.at("stopped").is_null()) break;
    cursor = std::string(body.at("next").as_string());
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sessions_api, Fixture)

BOOST_AUTO_TEST_CASE(a_page_stops_at_its_limit_or_its_size) {
  SessionsApiOptions small = options();
  small.max_body_bytes = 20'000;
  const SessionsApi api(small);
  const auto page = get(api, "/api/sessions/" + kId + "/entries?limit=1000");
  const auto& entries = page.at("entries").as_array();
  BOOST_TEST(entries.size() < 1000u);
  BOOST_TEST(entries.size() > 10u);
  BOOST_TEST(json::serialize(entries).size() < 20'000u + 1'000u);
  BOOST_TEST(page.at("stopped").as_string() == "limit");
  const SessionsApi normal(options());
  BOOST_TEST(get(normal, "/api/sessions/" + kId + "/entries").at("entries").as_array().size() == 200u);
  BOOST_TEST(get(normal, "/api/sessions/" + kId + "/entries?limit=5000").at("entries").as_array().size() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_request_stops_at_its_budget_and_the_next_pages_go_on) {
  const SessionsApi unbounded(options());
  int pages = 0;
  const std::string query = "/api/sessions/" + kId + "/entries?q=value%2099%5B0-9%5D&limit=1000";
  const auto all = paged(unbounded, query, pages);
  BOOST_TEST(pages == 1);
  BOOST_REQUIRE(all.size() > 10u);
  SessionsApiOptions small = options();
  small.max_scan_bytes = std::uint64_t{64} << 10;
  const SessionsApi bounded(small);
  const auto first = get(bounded, query);
  BOOST_TEST(first.at("stopped").as_string() == "budget");
  BOOST_TEST(first.at("scanned_bytes").as_int64() < 200'000);
  BOOST_TEST(paged(bounded, query, pages) == all);
  BOOST_TEST(pages > 20);
  // Backward, and a search across the folder, the same.
  const auto backward_all = paged(unbounded, query + "&order=desc", pages);
  BOOST_TEST(paged(bounded, query + "&order=desc", pages) == backward_all);
  const std::string search = "/api/search?q=value%2099%5B0-9%5D&limit=1000";
  BOOST_TEST(paged(bounded, search, pages) == paged(unbounded, search, pages));
}

BOOST_AUTO_TEST_CASE(a_huge_entry_is_sent_cut_and_the_reply_stays_bounded) {
  // Lines of 3 MiB of control characters (6 bytes of JSON each): whole, one
  // would be 18 MiB of JSON.
  const std::string id = "20261127-080000";
  std::string text;
  for (std::uint64_t i = 0; i < 8; ++i) {
    cantina::logging::LogEntry entry;
    entry.timestamp_ns = kStart + 86'400'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000'000;
    entry.level = cantina::bus::Level::info;
    entry.service = "Voice Input";
    entry.message = "huge " + std::to_string(i) + " " + std::string(std::size_t{3} << 20, '\x01');
    entry.sequence = i + 1;
    cantina::logging::append_line(text, entry);
  }
  write_all(folder.path / cantina::store::part_file_name(id, 1, false), text);
  const SessionsApi api(options());
  // Every page stays bounded; a page may stop short (its size or its time budget,
  // on a slow machine): its `next` goes on.
  json::array entries;
  std::string cursor;
  for (int page = 0; page < 100 && entries.size() < 8u; ++page) {
    const auto reply = api.answer(
        parse_target("/api/sessions/" + id + "/entries?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor)));
    BOOST_TEST_REQUIRE(reply.status == 200u);
    BOOST_TEST(reply.body.size() < options().max_body_bytes);
    const auto body = json::parse(reply.body).as_object();
    for (const auto& entry : body.at("entries").as_array()) entries.push_back(entry);
    if (body.at("stopped").is_null()) break;
    cursor = std::string(body.at("next").as_string());
  }
  BOOST_REQUIRE_EQUAL(entries.size(), 8u);
  for (const auto& entry : entries) {
    BOOST_TEST(entry.at("truncated").as_bool());
    BOOST_TEST(entry.at("line_bytes").as_int64() > std::int64_t{3} << 20);
    BOOST_TEST(entry.at("raw").as_string().size() <= 32u * 1024u);
  }
  // The cursor of a cut entry still leads to it.
  const std::string cut_cursor(entries.at(3).at("cursor").as_string());
  const auto again = get(api, "/api/sessions/" + id + "/entries?limit=1&cursor=" + cut_cursor);
  BOOST_TEST(again.at("entries").as_array().at(0).at("raw") == entries.at(3).at("raw"));
}

BOOST_AUTO_TEST_CASE(bad_parameters_get_a_400_that_says_what_is_wrong) {
  // A line on which a backtracking pattern reaches PCRE2's limit.
  const std::string id = "20261127-090000";
  std::string text;
  cantina::logging::LogEntry entry;
  entry.timestamp_ns = kStart + 90'000'000'000'000;
  entry.level = cantina::bus::Level::info;
  entry.service = "Voice Input";
  entry.message = std::string(40, 'a') + "!";
  entry.sequence = 1;
  cantina::logging::append_line(text, entry);
  write_all(folder.path / cantina::store::part_file_name(id, 1, false), text);
  const SessionsApi api(options());
  const std::string entries = "/api/sessions/" + id + "/entries?";
  std::string many;
  for (int i = 0; i < 33; ++i) many += "&service=s" + std::to_string(i);
  for (const auto& [target, says] : std::vector<std::pair<std::string, std::string>>{
           {entries + "q=(a%2B)%2B%24", "backtracks"},
           {entries + "q=(unclosed", "regular expression"},
           {entries + "icase=yes", "icase"},
           {entries + "level=LOUD", "level"},
           {entries + "since=teatime", "since"},
           {entries + "limit=-1", "limit"},
           {entries + "order=up", "order"},
           {entries + "cursor=1:5", "cursor"},
           {entries + many, "services"},
           {"/api/search?q=(a%2B)%2B%24", "backtracks"},
           {"/api/sessions?limit=x", "limit"},
           {"/api/sessions?before=../x", "before"},
       }) {
    const auto body = get(api, target, 400);
    BOOST_TEST(std::string(body.at("error").as_string()).find(says) != std::string::npos, target << ": " << body);
  }
  BOOST_TEST(api.answer(parse_target("/api/sessions/..%2F" + id + "/entries")).status == 404u);
  BOOST_TEST(api.answer(parse_target("/api/sessions/" + id + "/../entries")).status == 404u);
}

BOOST_AUTO_TEST_CASE(requests_beyond_the_cap_are_refused_at_once) {
  SessionsApiOptions few = options();
  few.threads = 1;
  few.max_requests = 2;
  boost::asio::io_context io;  // outlives the API, whose threads post to it
  SessionsApi api(few);
  const auto busy = boost::asio::make_work_guard(io);  // run_one() waits for the replies
  std::map<unsigned, int> statuses;
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    // A regex that matches nothing: each request reads the whole session.
    api.serve(parse_target("/api/search?q=no%20such%20text" + std::to_string(i)), io,
              [&](const SessionsApi::Reply& reply) { ++statuses[reply.status]; });
  }
  while (statuses[200] + statuses[503] < kRequests) io.run_one();
  BOOST_TEST(statuses[200] >= 2);
  BOOST_TEST(statuses[503] >= kRequests - 4);
  BOOST_TEST(statuses.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
