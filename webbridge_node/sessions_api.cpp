#include "sessions_api.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/json.h"
#include "cantina/store/catalog.h"
#include "cantina/store/query.h"
#include "cantina/store/regex.h"
#include "cantina/store/when.h"

namespace cantina::webbridge {

namespace {

namespace json = boost::json;
namespace net = boost::asio;
using Reply = SessionsApi::Reply;

constexpr std::string_view kSessions = "/api/sessions";
constexpr std::string_view kSessionsPrefix = "/api/sessions/";
constexpr std::string_view kSearch = "/api/search";
constexpr std::size_t kMaxServices = 32;
// An entry whose JSON is larger than this is sent cut: its place, its size in
// the file, and the first kCutBytes of its line ("truncated": true).
constexpr std::size_t kMaxEntryBytes = std::size_t{256} << 10;
constexpr std::size_t kCutBytes = std::size_t{32} << 10;

Reply error(unsigned status, const std::string& message) {
  return {status, json::serialize(json::object{{"error", bus::valid_utf8(message)}})};
}

// A query's parameters, checked; or the 400 that says what is wrong.
struct Request {
  store::Filter filter;
  std::optional<store::Regex> regex;
  bool descending = false;
  std::size_t limit = 0;
  std::optional<std::string> cursor;
};

std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now) {
  if (!text.empty() && text.size() <= 19 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t ns = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), ns).ec == std::errc{}) return ns;
  }
  return store::parse_when(text, now, /*utc=*/true);
}

std::optional<Reply> parse_request(const Target& target, const SessionsApiOptions& options,
                                   const store::ServiceMatcher& services, bool descending_by_default,
                                   Request& request) {
  const std::int64_t now = bus::now_ns();
  for (const char* key : {"since", "until"}) {
    if (auto text = target.get(key); text && !text->empty()) {
      auto when = parse_time(*text, now);
      if (!when) return error(400, std::string(key) + " is not a time (" + std::string(store::kWhenExamples) + ")");
      (std::string_view(key) == "since" ? request.filter.since_ns : request.filter.until_ns) = when;
    }
  }
  if (auto level = target.get("level"); level && !level->empty()) {
    auto parsed = bus::parse_level(*level);
    if (!parsed) return error(400, "level must be DEBUG, INFO, WARNING, ERROR or CRITICAL");
    request.filter.min_level = *parsed;
  }
  std::size_t names = 0;
  for (const auto& value : target.all("service")) {
    std::size_t start = 0;
    while (start <= value.size()) {  // "a,b" and repeated service= both work
      const auto comma = value.find(',', start);
      const std::string one = value.substr(start, comma - start);
      if (!one.empty()) {
        if (one.size() > 256) return error(400, "service names are at most 256 bytes");
        if (++names > kMaxServices) {
          return error(400, "at most " + std::to_string(kMaxServices) + " services at once");
        }
        for (auto& field : services.fields_for(one)) request.filter.services.push_back(std::move(field));
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const std::string icase = target.get("icase").value_or("0");
  if (icase != "0" && icase != "1") return error(400, "icase must be 0 or 1");
  if (auto q = target.get("q"); q && !q->empty()) {
    if (q->size() > 4096) return error(400, "q is at most 4096 bytes");
    try {
      request.regex.emplace(*q, icase == "1");
    } catch (const std::invalid_argument& bad) {
      return error(400, std::string("q is not a valid regular expression: ") + bad.what());
    }
    request.filter.grep = &*request.regex;
  }
  const std::string order = target.get("order").value_or(descending_by_default ? "desc" : "asc");
  if (order != "asc" && order != "desc") return error(400, "order must be asc or desc");
  request.descending = order == "desc";
  request.limit = options.default_limit;
  if (auto limit = target.get("limit")) {
    std::size_t value = 0;
    const auto parsed = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (parsed.ec != std::errc{} || parsed.ptr != limit->data() + limit->size() || value == 0) {
      return error(400, "limit must be a number from 1 to " + std::to_string(options.max_limit));
    }
    request.limit = std::min(value, options.max_limit);
  }
  if (auto cursor = target.get("cursor"); cursor && !cursor->empty()) request.cursor = *cursor;
  return std::nullopt;
}

// Checks that `position` names a line start of `scan`'s session.
bool valid_position(store::SessionScan& scan, const store::Position& position) {
  const auto& parts = scan.session().parts;
  if (std::none_of(parts.begin(), parts.end(),
                   [&](const store::PartFile& part) { return part.number == position.part; })) {
    return false;
  }
  return scan.part(position.part).line_starts_at(position.offset);
}

// A page of entries being built: stops at the entry limit or the body size.
class Page {
 public:
  Page(std::size_t limit, std::size_t max_bytes, const store::ServiceMatcher& services)
      : limit_(limit), max_bytes_(max_bytes), services_(services) {}

  // Adds `match` of `session_id`; false when the page is full.
  bool add(const store::Match& match, const std::string& session_id) {
    json::object object;
    if (auto entry = store::to_entry(match, session_id, services_)) {
      object = bus::to_json(*entry);
    } else {
      object["session_id"] = session_id;
      object["raw"] = bus::valid_utf8(match.line);  // a line not in the session layout
    }
    object["cursor"] = store::to_string(match.position);
    std::size_t size = json::serialize(object).size();
    if (size > kMaxEntryBytes) {
      // At most 6 bytes of JSON per byte of the line (\u00XX): well under the cap.
      object = json::object{{"session_id", session_id},
                            {"cursor", store::to_string(match.position)},
                            {"truncated", true},
                            {"line_bytes", match.line.size()},
                            {"raw", bus::valid_utf8(match.line.substr(0, kCutBytes))}};
      size = json::serialize(object).size();
    }
    if (!first_) {
      first_ = store::to_string(match.position);
      first_end_ =
          store::to_string(store::Position{match.position.part, match.position.offset + match.line.size() + 1});
    }
    bytes_ += size + 1;
    entries_.push_back(std::move(object));
    full_ = entries_.size() >= limit_ || bytes_ >= max_bytes_;
    return !full_;
  }
  bool full() const { return full_; }
  json::array take() { return std::move(entries_); }
  // The first entry's cursor, and the place just after it.
  const std::optional<std::string>& first() const { return first_; }
  const std::optional<std::string>& first_end() const { return first_end_; }

 private:
  std::size_t limit_;
  std::size_t max_bytes_;
  const store::ServiceMatcher& services_;
  json::array entries_;
  std::size_t bytes_ = 0;
  bool full_ = false;
  std::optional<std::string> first_;
  std::optional<std::string> first_end_;
};

store::Budget budget_of(const SessionsApiOptions& options) {
  store::Budget budget;
  budget.max_bytes = options.max_scan_bytes;
  budget.deadline = std::chrono::steady_clock::now() + options.max_time;
  return budget;
}

json::object summary_of(const store::SessionDir& dir, const store::SessionFiles& session, long offset) {
  const bool live = dir.is_live(session);
  store::SessionScan scan(dir, session, store::ReadMode::pread, live);
  const store::SessionSummary summary = scan.summary();
  json::object levels;
  for (std::size_t level = 0; level < store::kLevels; ++level) {
    levels[std::string(bus::to_string(static_cast<bus::Level>(level)))] = summary.level_counts[level];
  }
  std::size_t compressed = 0;
  for (const auto& part : session.parts) compressed += part.compressed ? 1 : 0;
  return json::object{{"id", session.id},
                      {"offset", offset},
                      {"start", bus::iso8601(summary.start_ns)},
                      {"end", bus::iso8601(summary.end_ns)},
                      {"start_ns", summary.start_ns},
                      {"end_ns", summary.end_ns},
                      {"bytes", session.bytes()},
                      {"data_bytes", summary.data_bytes},
                      {"parts", session.parts.size()},
                      {"compressed_parts", compressed},
                      {"live", live},
                      {"lines", summary.lines},
                      {"levels", std::move(levels)}};
}

}  // namespace

SessionsApi::SessionsApi(SessionsApiOptions options) : options_(std::move(options)), pool_(options_.threads) {}

SessionsApi::~SessionsApi() {
  pool_.join();
}

bool SessionsApi::handles(std::string_view path) {
  return path == kSessions || path == kSearch || path.starts_with(kSessionsPrefix);
}

void SessionsApi::serve(const Target& target, net::io_context& io, std::function<void(Reply)> done) {
  if (in_flight_.fetch_add(1) >= options_.max_requests) {
    in_flight_.fetch_sub(1);
    net::post(io, [done = std::move(done), max = options_.max_requests] {
      done(error(503, "busy: at most " + std::to_string(max) + " session requests at once; try again"));
    });
    return;
  }
  net::post(pool_, [this, target, &io, done = std::move(done)]() mutable {
    Reply reply;
    try {
      reply = answer(target);
    } catch (const std::exception& failure) {
      reply = error(500, failure.what());
    }
    in_flight_.fetch_sub(1);
    net::post(io, [done = std::move(done), reply = std::move(reply)]() mutable { done(std::move(reply)); });
  });
}

SessionsApi::Reply SessionsApi::answer(const Target& target) const {
  try {
    if (target.path == kSessions) return list(target);
    if (target.path == kSearch) return search(target);
    if (target.path.starts_with(kSessionsPrefix)) {
      const std::string rest = target.path.substr(kSessionsPrefix.size());
      const auto slash = rest.find('/');
      if (slash != std::string::npos && rest.substr(slash) == "/entries") return entries(rest.substr(0, slash), target);
    }
  } catch (const store::RegexLimitError&) {
    return error(400, "q backtracks too much on some line (PCRE2 match limit): make it simpler");
  }
  return error(404, "not found");
}

SessionsApi::Reply SessionsApi::list(const Target& target) const {
  std::size_t limit = 100;
  if (auto text = target.get("limit")) {
    const auto parsed = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (parsed.ec != std::errc{} || parsed.ptr != text->data() + text->size() || limit == 0) {
      return error(400, "limit must be a number from 1 to " + std::to_string(options_.max_sessions_listed));
    }
    limit = std::min(limit, options_.max_sessions_listed);
  }
  const std::optional<std::string> before = target.get("before");
  if (before && !store::valid_session_id(*before)) return error(400, "before must be a session id");
  const store::SessionDir dir(options_.directory);
  const std::vector<store::SessionFiles> sessions = dir.list();
  const auto deadline = std::chrono::steady_clock::now() + options_.max_time;
  json::array out;
  std::optional<std::string> next;
  const auto count = static_cast<long>(sessions.size());
  for (long i = count - 1; i >= 0; --i) {
    const store::SessionFiles& session = sessions[static_cast<std::size_t>(i)];
    if (before && !store::session_id_less(session.id, *before)) continue;
    // At least one session a page, so that paging always moves on.
    if (out.size() >= limit || (!out.empty() && std::chrono::steady_clock::now() >= deadline)) {
      next = std::string(out.back().as_object().at("id").as_string());
      break;
    }
    out.push_back(summary_of(dir, session, i - (count - 1)));
  }
  json::object body{{"sessions", std::move(out)}};
  body["next"] = next ? json::value(*next) : json::value(nullptr);
  return {200, json::serialize(body)};
}

SessionsApi::Reply SessionsApi::entries(const std::string& id, const Target& target) const {
  if (!store::valid_session_id(id)) return error(404, "no such session");
  const store::ServiceMatcher services(options_.service_names);
  Request request;
  if (auto bad = parse_request(target, options_, services, false, request)) return *bad;
  const store::SessionDir dir(options_.directory);
  auto session = dir.find(id);
  if (!session) return error(404, "no session " + id);
  const bool live = dir.is_live(*session);
  store::SessionScan scan(dir, *session, store::ReadMode::pread, live);
  scan.want_sequences(true);
  std::optional<store::Position> from;
  if (request.cursor) {
    from = store::parse_position(*request.cursor);
    if (!from || !valid_position(scan, *from)) return error(400, "cursor is not a place in this session");
  }
  store::Budget budget = budget_of(options_);
  Page page(request.limit, options_.max_body_bytes, services);
  const auto emit = [&](const store::Match& match) { return page.add(match, session->id); };
  const auto stopped = request.descending ? scan.backward(request.filter, from, budget, emit)
                                          : scan.forward(request.filter, from, budget, emit);
  json::object body;
  body["session"] = json::object{{"id", session->id}, {"live", live}};
  body["order"] = request.descending ? "desc" : "asc";
  const bool full = page.full();
  // Where the next page starts: where this one stopped; going forward, the end
  // of the session once it is reached (a live session grows: ask again from there).
  json::value next = nullptr;
  if (stopped) {
    next = store::to_string(*stopped);
  } else if (!request.descending) {
    next = store::to_string(scan.end_position());
  }
  // Where to go the other way from this page: before its first entry (asc), or
  // after its first, newest one (desc); with no entry, from the cursor.
  json::value prev = nullptr;
  if (page.first()) {
    prev = request.descending ? *page.first_end() : *page.first();
  } else if (from) {
    prev = store::to_string(*from);
  }
  body["entries"] = page.take();
  body["next"] = std::move(next);
  body["prev"] = std::move(prev);
  body["stopped"] = stopped ? json::value(full ? "limit" : "budget") : json::value(nullptr);
  body["scanned_bytes"] = budget.scanned;
  return {200, json::serialize(body)};
}

SessionsApi::Reply SessionsApi::search(const Target& target) const {
  const store::ServiceMatcher services(options_.service_names);
  Request request;
  if (auto bad = parse_request(target, options_, services, true, request)) return *bad;
  const store::SessionDir dir(options_.directory);
  const std::vector<store::SessionFiles> sessions = dir.list();
  // cursor: "<session id>:<part>:<offset>"
  std::optional<std::size_t> at_session;
  std::optional<store::Position> from;
  if (request.cursor) {
    const auto colon = request.cursor->find(':');
    const std::string id = request.cursor->substr(0, colon);
    const auto found = std::find_if(sessions.begin(), sessions.end(),
                                    [&](const store::SessionFiles& session) { return session.id == id; });
    if (colon == std::string::npos || !store::valid_session_id(id) || found == sessions.end()) {
      return error(400, "cursor is not a place in a session");
    }
    at_session = static_cast<std::size_t>(found - sessions.begin());
    from = store::parse_position(request.cursor->substr(colon + 1));
    if (!from) return error(400, "cursor is not a place in a session");
  }
  store::Budget budget = budget_of(options_);
  Page page(request.limit, options_.max_body_bytes, services);
  json::value next = nullptr;
  const auto count = sessions.size();
  for (std::size_t step = 0; step < count; ++step) {
    std::size_t index = request.descending ? count - 1 - step : step;
    if (at_session) {
      if (request.descending ? index > *at_session : index < *at_session) continue;
    }
    const store::SessionFiles& session = sessions[index];
    store::SessionScan scan(dir, session, store::ReadMode::pread, dir.is_live(session));
    scan.want_sequences(true);
    std::optional<store::Position> start;
    if (at_session && index == *at_session) {
      if (!valid_position(scan, *from)) return error(400, "cursor is not a place in a session");
      start = from;
    }
    const auto emit = [&](const store::Match& match) { return page.add(match, session.id); };
    const auto stopped = request.descending ? scan.backward(request.filter, start, budget, emit)
                                            : scan.forward(request.filter, start, budget, emit);
    if (stopped) {
      next = session.id + ":" + store::to_string(*stopped);
      break;
    }
    if (budget.exhausted() && step + 1 < count) {
      // Out of budget at a session's end: the next one, from its start (or end).
      const std::size_t following = request.descending ? index - 1 : index + 1;
      store::SessionScan edge(dir, sessions[following], store::ReadMode::pread, false);
      next = sessions[following].id + ":" +
             store::to_string(request.descending ? edge.end_position()
                                                 : store::Position{sessions[following].parts.front().number, 0});
      break;
    }
  }
  json::object body;
  body["order"] = request.descending ? "desc" : "asc";
  const bool full = page.full();
  body["entries"] = page.take();
  body["stopped"] = next.is_null() ? json::value(nullptr) : json::value(full ? "limit" : "budget");
  body["next"] = std::move(next);
  body["scanned_bytes"] = budget.scanned;
  return {200, json::serialize(body)};
}

}  // namespace cantina::webbridge
