#include "web_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "auth.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/unreported.h"
#include "sessions_api.h"
#include "static_files.h"
#include "url.h"

namespace cantina::webbridge {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using Response = http::response<http::string_body>;

Response make_response(const http::request<http::string_body>& request, http::status status, std::string body,
                       const char* type) {
  Response response{status, request.version()};
  response.set(http::field::server, "cantina-webbridge");
  response.set(http::field::content_type, type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  // The page may load only its own files and talk only to this server.
  response.set("Content-Security-Policy",
               "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response json_response(const http::request<http::string_body>& request, std::string body,
                       http::status status = http::status::ok) {
  return make_response(request, status, std::move(body), "application/json");
}

Response error_response(const http::request<http::string_body>& request, http::status status,
                        const std::string& message) {
  return json_response(request, "{\"error\":\"" + message + "\"}", status);
}

// `text` (a header a stranger sent) fit for the bridge's own log: at most 100
// characters, anything but printable ASCII as '?'.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 100));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (text.size() > out.size()) out += "...";
  return out;
}

// A completion handler that runs `member` on the session `self` and lets no
// exception out: one that escapes ends that connection (Session::fail), never
// the bridge.
template <class Session, class... Args>
auto guarded(std::shared_ptr<Session> self, void (Session::*member)(Args...)) {
  return [self = std::move(self), member](Args... args) {
    try {
      (self.get()->*member)(args...);
    } catch (const std::exception& error) {
      self->fail(error.what());
    } catch (...) {
      self->fail("unknown exception");
    }
  };
}

std::optional<std::string> read_whole_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

// One browser's WebSocket. Messages wait in a queue bounded by the entries and
// the bytes they hold, and by what all browsers' queues hold together (the
// Ledger); when a batch would not fit, its entries are skipped and the browser
// is told how many before the next message that fits. A batch always fits an
// empty queue: a browser that keeps up gets every batch, however large. A
// browser that takes nothing for stall_timeout while a message is being written
// is dropped: its queue is freed at once, the message being written may finish
// and a close frame follow within close_grace, then the connection is closed.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, Hub& hub, std::string peer, std::unique_ptr<Ledger::Slot> slot)
      : ws_(std::move(socket)),
        hub_(hub),
        peer_(std::move(peer)),
        slot_(std::move(slot)),
        grace_timer_(ws_.get_executor()) {}

  void run(const http::request<http::string_body>& request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "cantina-webbridge"); }));
    ws_.read_message_max(std::size_t{64} * 1024);
    // One frame per message, one write for it (Beast would cut it into 4 KB frames).
    ws_.auto_fragment(false);
    ws_.text(true);
    ws_.async_accept(request, guarded(shared_from_this(), &WsSession::on_accept));
  }

  // Queues `text` (holding `entries` log entries; 0 for status/stats/hello),
  // shared with the other clients, and writes it at once if nothing is being written.
  void deliver(const std::shared_ptr<const Ledger::Message>& text, std::size_t entries) {
    if (closed_) return;
    const ServerOptions& options = hub_.options();
    const bool full = !queue_.empty() && (queued_entries_ + entries > options.max_client_queue ||
                                          queued_bytes_ + text->text.size() > options.max_client_queue_bytes ||
                                          hub_.ledger().clients_over_budget());
    if (entries > 0 && full) {
      skipped_.add(entries);
      hub_.counters().skipped.fetch_add(entries, std::memory_order_relaxed);
      return;
    }
    if (entries == 0 && (full || stalled())) return;  // status and stats are refreshed anyway
    push_notices();
    push(text, entries);
    if (entries > 0) hub_.counters().forwarded.fetch_add(entries, std::memory_order_relaxed);
    if (!writing_) write_next();
  }

  // Entries this browser will never get (they were dropped before reaching any
  // queue); announced before the next message.
  void add_skipped(std::uint64_t entries) { skipped_.add(entries); }

  // Entries the logging node did not stream (its live-view limit): announced
  // before the next message, or now if the browser is not stalled. Kept until
  // then, like skips, so a stalled browser still learns every count.
  void add_limited(std::uint64_t entries) {
    limited_.add(entries);
    if (closed_ || stalled()) return;
    push_notices();
    if (!writing_) write_next();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    ws_.async_close(websocket::close_code::going_away, [self = shared_from_this()](beast::error_code) {});
  }

  // How long the message being written has been waiting for this browser to
  // take it (zero if none is being written).
  std::chrono::steady_clock::duration stalled_for(std::chrono::steady_clock::time_point now) const {
    return writing_ && !closed_ ? now - write_started_ : std::chrono::steady_clock::duration::zero();
  }

  // Drops a browser that takes nothing: frees its queue (but the message being
  // written), leaves the Hub, queues a close frame with `reason` behind that
  // message, and closes the connection after close_grace whatever happened.
  void drop(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    while (queue_.size() > 1) {
      queued_entries_ -= queue_.back().entries;
      queued_bytes_ -= queue_.back().text->text.size();
      queue_.pop_back();
    }
    hub_.leave(shared_from_this());
    ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, reason),
                    [self = shared_from_this()](beast::error_code) {});
    grace_timer_.expires_after(hub_.options().close_grace);
    grace_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (error) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  const std::string& peer() const { return peer_; }

 private:
  struct Outgoing {
    std::shared_ptr<const Ledger::Message> text;
    std::size_t entries;
  };

  // A browser that does not read: messages without entries are not queued for it.
  bool stalled() const { return queue_.size() > 256; }

  // Queues the pending skip and limit counts, each as one {"type":...,"count":N}.
  void push_notices() {
    push_count("skipped", skipped_);
    push_count("limited", limited_);
  }
  void push_count(std::string_view type, bus::Unreported& count) {
    const std::uint64_t n = count.take();
    if (n == 0) return;
    push(hub_.ledger().message("{\"type\":\"" + std::string(type) + "\",\"count\":" + std::to_string(n) + "}"), 0);
  }

  void on_accept(beast::error_code error) {
    if (error) return;
    hub_.join(shared_from_this());
    read_next();
  }

  void read_next() { ws_.async_read(read_buffer_, guarded(shared_from_this(), &WsSession::on_read)); }

  void on_read(beast::error_code error, std::size_t bytes) {
    if (error) {
      finish();
      return;
    }
    read_buffer_.consume(bytes);  // the browser has nothing to say; ignore it
    read_next();
  }

  void push(std::shared_ptr<const Ledger::Message> text, std::size_t entries) {
    queued_entries_ += entries;
    queued_bytes_ += text->text.size();
    queue_.push_back({std::move(text), entries});
  }

  void write_next() {
    writing_ = true;
    write_started_ = std::chrono::steady_clock::now();
    ws_.async_write(net::buffer(queue_.front().text->text), guarded(shared_from_this(), &WsSession::on_write));
  }

  void on_write(beast::error_code error, std::size_t) {
    if (error) {
      finish();
      return;
    }
    queued_entries_ -= queue_.front().entries;
    queued_bytes_ -= queue_.front().text->text.size();
    queue_.pop_front();
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    write_next();
  }

  void finish() {
    closed_ = true;
    grace_timer_.cancel();
    queue_.clear();
    queued_entries_ = 0;
    queued_bytes_ = 0;
    hub_.leave(shared_from_this());
  }

 public:
  // Ends this connection after an error in one of its handlers.
  void fail(const char* what) noexcept {
    try {
      hub_.report_error("WebSocket of " + peer_ + ": " + what);
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      finish();
    } catch (...) {
    }
  }

 private:
  websocket::stream<beast::tcp_stream> ws_;
  Hub& hub_;
  beast::flat_buffer read_buffer_;
  std::deque<Outgoing> queue_;
  std::size_t queued_entries_ = 0;
  std::size_t queued_bytes_ = 0;
  bus::Unreported skipped_;  // entries this browser missed, announced before its next message
  bus::Unreported limited_;  // entries the node's live-view limit left out, likewise
  bool writing_ = false;
  bool closed_ = false;
  std::string peer_;
  std::unique_ptr<Ledger::Slot> slot_;  // in the websocket phase
  std::chrono::steady_clock::time_point write_started_{};
  net::steady_timer grace_timer_;  // after drop(): the close frame's last chance
};

// One HTTP connection: reads requests, answers them in order, hands the socket
// to a WsSession on an upgrade to /ws.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Hub& hub, std::string peer)
      : stream_(std::move(socket)), hub_(hub), ledger_(hub.ledger().shared_from_this()), peer_(std::move(peer)) {}
  ~HttpSession() { ledger_->release_response(held_); }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Takes a place in the Ledger (closing the oldest idle connection if there
  // is no room) and reads the first request; false if there is no place.
  bool run() {
    slot_ = hub_.ledger().admit([weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);  // its read ends with an error, and so does the session
      }
    });
    if (!slot_) return false;
    read_next();
    return true;
  }

 private:
  void read_next() {
    slot_->enter(Ledger::Phase::reading);
    if (slot_->evicted()) return;
    parser_.emplace();
    parser_->body_limit(std::uint64_t{64} * 1024);
    parser_->header_limit(16 * 1024);
    // The whole request (headers and body) within this time, the first as the next.
    stream_.expires_after(hub_.options().request_timeout);
    http::async_read(stream_, buffer_, *parser_, guarded(shared_from_this(), &HttpSession::on_read));
  }

  void on_read(beast::error_code error, std::size_t) {
    if (error == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (error) return;  // timed out, evicted, reset, or not HTTP
    http::request<http::string_body> request = parser_->release();
    if (!hub_.ledger().has_room(Ledger::Phase::answering)) {
      busy(request, "too many requests at once");
      return;
    }
    slot_->enter(Ledger::Phase::answering);
    const Target target = parse_target(request.target());
    token_from_query_ = false;
    // Before anything else: a page of another site whose name resolves to this
    // machine (DNS rebinding) names its own domain here.
    if (!hub_.host_allowed(request[http::field::host])) {
      hub_.report_refused("a request for Host '" + printable(request[http::field::host]) + "' from " + peer_);
      send(error_response(request, http::status::misdirected_request,
                          "this dashboard does not answer to that Host name: add it to [webbridge] allowed_hosts"));
      return;
    }
    if (target.path != "/healthz" && !authorized(request, target)) {
      send(error_response(request, http::status::unauthorized,
                          "this dashboard needs its token: open /?token=<webbridge.token>"));
      return;
    }
    if (websocket::is_upgrade(request)) {
      if (!hub_.origin_allowed(request[http::field::origin])) {
        hub_.report_refused("a WebSocket from Origin '" + printable(request[http::field::origin]) + "' from " + peer_);
        send(error_response(request, http::status::forbidden,
                            "WebSocket from another origin (or none): add it to [webbridge] allowed_origins"));
        return;
      }
      if (target.path != "/ws") {
        send(error_response(request, http::status::not_found, "WebSocket endpoint is /ws"));
        return;
      }
      if (!hub_.ledger().has_room(Ledger::Phase::websocket)) {
        busy(request, "too many live connections");
        return;
      }
      stream_.expires_never();
      slot_->enter(Ledger::Phase::websocket);
      std::make_shared<WsSession>(stream_.release_socket(), hub_, peer_, std::move(slot_))->run(request);
      return;
    }
    route(std::move(request), target);
  }

  // True if no token is configured, or the request carries it (?token=,
  // the cookie the page got, or Authorization: Bearer).
  bool authorized(const http::request<http::string_body>& request, const Target& target) {
    const TokenCheck check = check_token(hub_.options().token, target.get("token"), request[http::field::cookie],
                                         request[http::field::authorization]);
    token_from_query_ = check == TokenCheck::query;
    return check != TokenCheck::refused;
  }

  void route(http::request<http::string_body> request, const Target& target) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      send(error_response(request, http::status::method_not_allowed, "only GET"));
      return;
    }
    if (target.path == "/healthz") {
      send(json_response(request,
                         "{\"status\":\"ok\",\"clients\":" + std::to_string(hub_.counters().clients.load()) + "}"));
    } else if (target.path == "/api/stats") {
      send(json_response(request, stats_json()));
    } else if (target.path == "/api/logs") {
      history(std::move(request), target);
    } else if (SessionsApi* api = hub_.sessions_api(); api != nullptr && SessionsApi::handles(target.path)) {
      auto shared = std::make_shared<http::request<http::string_body>>(std::move(request));
      api->serve(target, hub_.io(), [self = shared_from_this(), shared](SessionsApi::Reply reply) {
        self->send(json_response(*shared, std::move(reply.body), static_cast<http::status>(reply.status)));
      });
    } else if (auto file = static_file(hub_.options().static_dir, target.path)) {
      auto body = read_whole_file(*file);
      if (!body) {
        send(error_response(request, http::status::not_found, "not found"));
        return;
      }
      send(make_response(request, http::status::ok, std::move(*body), content_type(*file)));
    } else {
      send(error_response(request, http::status::not_found, "not found"));
    }
  }

  std::string stats_json() const {
    const BridgeCounters& c = hub_.counters();
    std::string out =
        "{\"logging\":" + hub_.inbox().stats_json() +
        ",\"webbridge\":{\"clients\":" + std::to_string(c.clients.load()) +
        ",\"received\":" + std::to_string(c.received.load()) + ",\"forwarded\":" + std::to_string(c.forwarded.load()) +
        ",\"skipped\":" + std::to_string(c.skipped.load()) +
        ",\"not_streamed\":" + std::to_string(c.not_streamed.load()) +
        ",\"inbox_dropped\":" + std::to_string(c.inbox_dropped.load()) +
        ",\"malformed\":" + std::to_string(c.malformed.load()) +
        ",\"session_errors\":" + std::to_string(c.session_errors.load()) +
        ",\"refused\":" + std::to_string(c.refused.load()) +
        ",\"connections\":" + std::to_string(hub_.ledger().connections()) +
        ",\"busy\":" + std::to_string(c.busy.load()) + ",\"idle_closed\":" + std::to_string(hub_.ledger().evicted()) +
        ",\"accept_failures\":" + std::to_string(c.accept_failures.load()) +
        ",\"stalled_dropped\":" + std::to_string(c.stalled_dropped.load()) +
        ",\"held_bytes\":" + std::to_string(hub_.ledger().client_bytes() + hub_.ledger().response_bytes()) +
        "},\"service_names\":" + hub_.options().service_names_json + ",\"services\":[";
    bool first = true;
    for (const auto& status : hub_.inbox().status_jsons()) {
      out += first ? "" : ",";
      out += status;
      first = false;
    }
    return out + "]}";
  }

  void history(http::request<http::string_body> request, const Target& target) {
    bus::HistoryQuery query;
    query.limit = hub_.options().history_limit;
    if (auto limit = target.get("limit")) {
      try {
        query.limit = static_cast<std::uint32_t>(std::min<unsigned long>(std::stoul(*limit), query.limit));
      } catch (const std::exception&) {
        send(error_response(request, http::status::bad_request, "limit must be a number"));
        return;
      }
    }
    if (auto level = target.get("level")) {
      auto parsed = bus::parse_level(*level);
      if (!parsed) {
        send(error_response(request, http::status::bad_request,
                            "level must be DEBUG, INFO, WARNING, ERROR or CRITICAL"));
        return;
      }
      query.min_level = *parsed;
    }
    for (const auto& service : target.all("service")) {
      std::size_t start = 0;
      while (start <= service.size()) {  // "a,b" and repeated service= both work
        const auto comma = service.find(',', start);
        std::string one = service.substr(start, comma - start);
        if (!one.empty()) query.services.push_back(std::move(one));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    query.text = target.get("text").value_or("");
    auto shared_request = std::make_shared<http::request<http::string_body>>(std::move(request));
    hub_.query_history(std::move(query), [self = shared_from_this(), shared_request](std::string json) {
      try {
        self->send(json_response(*shared_request, std::move(json)));
      } catch (const std::exception& error) {
        self->fail(error.what());
      }
    });
  }

  // 503 and the connection closed: no room for what `request` asks.
  void busy(const http::request<http::string_body>& request, const std::string& why) {
    hub_.counters().busy.fetch_add(1, std::memory_order_relaxed);
    Response response =
        error_response(request, http::status::service_unavailable, "the dashboard is busy (" + why + "): try again");
    response.set(http::field::retry_after, "1");
    response.keep_alive(false);
    send(std::move(response));
  }

  void send(Response response) {
    if (token_from_query_) {
      // Remember the token for the page's own requests and its WebSocket.
      response.set(http::field::set_cookie, token_cookie(hub_.options().token));
    }
    // Every response being written counts against the bridge's budget for them.
    if (!hub_.ledger().hold_response(response.body().size())) {
      hub_.counters().busy.fetch_add(1, std::memory_order_relaxed);
      const bool keep_alive = response.keep_alive();
      response = error_response(http::request<http::string_body>{http::verb::get, "/", response.version()},
                                http::status::service_unavailable,
                                "the dashboard is busy (too many responses waiting to be taken): try again");
      response.set(http::field::retry_after, "1");
      response.keep_alive(keep_alive);
    } else {
      held_ = response.body().size();
    }
    response_ = std::make_shared<Response>(std::move(response));
    // A client that does not take its response is dropped after this long.
    stream_.expires_after(hub_.options().response_timeout);
    http::async_write(stream_, *response_, guarded(shared_from_this(), &HttpSession::on_write));
  }

  void on_write(beast::error_code error, std::size_t) {
    ledger_->release_response(std::exchange(held_, 0));
    const bool eof = response_->need_eof();
    response_.reset();
    if (error) return;
    if (eof) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    read_next();
  }

 public:
  // Ends this connection after an error in one of its handlers.
  void fail(const char* what) noexcept {
    try {
      hub_.report_error("HTTP connection of " + peer_ + ": " + what);
      beast::error_code ignored;
      stream_.socket().close(ignored);
    } catch (...) {
    }
  }

 private:
  beast::tcp_stream stream_;
  Hub& hub_;
  std::shared_ptr<Ledger> ledger_;      // outlives the Hub if need be
  std::string peer_;                    // the client's address, taken when accepted
  std::shared_ptr<Response> response_;  // the response being written
  std::size_t held_ = 0;                // its bytes counted in the Ledger
  std::unique_ptr<Ledger::Slot> slot_;  // until a WebSocket takes it
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool token_from_query_ = false;  // the current request brought the token in its URL
};

Hub::Hub(net::io_context& io, ServerOptions options, Inbox& inbox, BridgeCounters& counters, HistoryClient& history,
         std::function<void(const std::string&)> note)
    : io_(io),
      options_(std::move(options)),
      ledger_(Ledger::make(options_.caps)),
      inbox_(inbox),
      counters_(counters),
      history_(history),
      note_(std::move(note)),
      timer_(io),
      sweep_timer_(io) {}

void Hub::on_inbox() {
  if (closing_ || timer_armed_) return;
  const auto due = last_send_ + options_.batch_interval;
  if (std::chrono::steady_clock::now() >= due) {
    send_batch();
    return;
  }
  timer_armed_ = true;
  timer_.expires_at(due);
  timer_.async_wait([this](beast::error_code error) {
    timer_armed_ = false;
    if (!error && !closing_) send_batch();
  });
}

void Hub::send_batch() {
  inbox_.take(batch_);
  if (batch_.empty()) return;
  last_send_ = std::chrono::steady_clock::now();
  if (batch_.dropped > 0) {
    counters_.inbox_dropped.fetch_add(batch_.dropped, std::memory_order_relaxed);
    counters_.skipped.fetch_add(batch_.dropped * sessions_.size(), std::memory_order_relaxed);
    for (const auto& session : sessions_) session->add_skipped(batch_.dropped);
  }
  if (batch_.not_streamed > 0) {
    // Before the entries it came with: the page then counts their sequence gaps as
    // announced. Kept per browser until it can go (a stalled one gets it later).
    counters_.not_streamed.fetch_add(batch_.not_streamed, std::memory_order_relaxed);
    for (const auto& session : sessions_) session->add_limited(batch_.not_streamed);
  }
  if (batch_.entries > 0 && !sessions_.empty()) {
    auto shared = ledger_->message(std::move(batch_.entries_message));
    for (const auto& session : sessions_) session->deliver(shared, batch_.entries);
  }
  for (auto& event : batch_.events) {
    if (sessions_.empty()) break;
    auto shared = ledger_->message(std::move(event));
    for (const auto& session : sessions_) session->deliver(shared, 0);
  }
}

void Hub::close_all() {
  closing_ = true;
  timer_.cancel();
  sweep_timer_.cancel();
  for (const auto& session : sessions_) session->close();
}

void Hub::join(const std::shared_ptr<WsSession>& session) {
  sessions_.insert(session);
  counters_.clients.store(sessions_.size(), std::memory_order_relaxed);
  session->deliver(ledger_->message("{\"type\":\"hello\",\"server_time\":\"" + bus::iso8601(bus::now_ns()) + "\"}"), 0);
  arm_sweep();
  note("dashboard client connected from " + session->peer() + " (" + std::to_string(sessions_.size()) + " connected)");
}

void Hub::leave(const std::shared_ptr<WsSession>& session) {
  if (sessions_.erase(session) == 0) return;
  counters_.clients.store(sessions_.size(), std::memory_order_relaxed);
  note("dashboard client " + session->peer() + " disconnected (" + std::to_string(sessions_.size()) + " connected)");
}

void Hub::arm_sweep() {
  if (sweep_armed_ || closing_) return;
  sweep_armed_ = true;
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](beast::error_code error) {
    sweep_armed_ = false;
    if (error || closing_) return;
    sweep();
    if (!sessions_.empty()) arm_sweep();
  });
}

void Hub::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<WsSession>> stalled;
  for (const auto& session : sessions_) {
    if (session->stalled_for(now) >= options_.stall_timeout) stalled.push_back(session);
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.stall_timeout).count();
  for (const auto& session : stalled) {
    counters_.stalled_dropped.fetch_add(1, std::memory_order_relaxed);
    note_limited(stall_notes_, "dropped dashboard client " + session->peer() + ": it took nothing for " +
                                   std::to_string(seconds) + " s");
    session->drop("too slow: took nothing for " + std::to_string(seconds) + " s");
  }
}

void Hub::note_limited(LimitedNote& limit, const std::string& text) {
  const auto now = std::chrono::steady_clock::now();
  if (limit.last != std::chrono::steady_clock::time_point{} && now - limit.last < std::chrono::seconds(1)) {
    ++limit.not_noted;
    return;
  }
  limit.last = now;
  std::string line = text;
  if (limit.not_noted > 0) line += " (and " + std::to_string(limit.not_noted) + " more since the last such line)";
  limit.not_noted = 0;
  note(line);
}

void Hub::report_error(const std::string& text) {
  counters_.session_errors.fetch_add(1, std::memory_order_relaxed);
  note_limited(error_notes_, "error, connection closed: " + text);
}

void Hub::report_accept_failure(const std::string& text) {
  note_limited(accept_notes_, text);
}

void Hub::report_refused(const std::string& text) {
  counters_.refused.fetch_add(1, std::memory_order_relaxed);
  note_limited(refused_notes_, "refused " + text);
}

void Hub::listening_on(const tcp::endpoint& endpoint) {
  host_check_.emplace(endpoint.address(), endpoint.port(), options_.allowed_hosts);
}

bool Hub::host_allowed(std::string_view host) const {
  return host_check_ && host_check_->allows(host);
}

bool Hub::origin_allowed(std::string_view origin) const {
  return host_check_ && host_check_->allows_origin(origin, options_.allowed_origins);
}

void Hub::query_history(bus::HistoryQuery query, std::function<void(std::string)> done) {
  net::post(history_thread_, [this, query = std::move(query), done = std::move(done)]() mutable {
    std::string json = history_.query_json(query, std::chrono::milliseconds(3000));
    net::post(io_, [done = std::move(done), json = std::move(json)]() mutable { done(std::move(json)); });
  });
}

Listener::Listener(net::io_context& io, const tcp::endpoint& endpoint, Hub& hub)
    : acceptor_(io), timer_(io), hub_(hub) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Listener::run() {
  accept_next();
}

void Listener::close() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  timer_.cancel();
}

void Listener::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
    if (!self->acceptor_.is_open()) return;
    if (error) {
      self->back_off(error);
      return;
    }
    self->delay_ = std::chrono::milliseconds(0);
    try {
      self->serve(std::move(socket));
    } catch (const std::exception& failure) {
      self->hub_.report_error(std::string("accepting a connection: ") + failure.what());
    }
    self->accept_next();
  });
}

void Listener::serve(tcp::socket socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // a batch goes out now, not after the last one's ACK
  // Taken now, with an error code: the peer may already have reset the connection.
  const auto peer = socket.remote_endpoint(ignored);
  const std::string address = ignored ? "?" : peer.address().to_string();
  const int fd = socket.native_handle();
  auto session = std::make_shared<HttpSession>(std::move(socket), hub_, address);
  if (session->run()) return;
  // No room even after closing the oldest idle connection: said in one write
  // that cannot block, and closed (with the session).
  hub_.counters().busy.fetch_add(1, std::memory_order_relaxed);
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nServer: cantina-webbridge\r\nRetry-After: 1\r\n"
      "Content-Type: application/json\r\nContent-Length: 56\r\nConnection: close\r\n\r\n"
      "{\"error\":\"the dashboard is busy (too many connections)\"}";
  (void)::send(fd, kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Accepting failed: out of file descriptors (EMFILE, ENFILE), of memory, or the
// connection was gone. Retrying at once would spin (the pending connection stays
// ready), so the next try waits 50 ms, doubling up to 500 ms while it fails.
void Listener::back_off(const beast::error_code& error) {
  hub_.counters().accept_failures.fetch_add(1, std::memory_order_relaxed);
  delay_ = std::clamp(delay_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(500));
  hub_.report_accept_failure("cannot accept connections (" + error.message() + "), retrying every " +
                             std::to_string(delay_.count()) + " ms");
  timer_.expires_after(delay_);
  timer_.async_wait([self = shared_from_this()](beast::error_code wait_error) {
    if (!wait_error && self->acceptor_.is_open()) self->accept_next();
  });
}

}  // namespace cantina::webbridge
