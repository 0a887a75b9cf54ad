// The web bridge's HTTP and WebSocket side, all on one io thread (Boost.Beast):
// Listener accepts connections; HttpSession serves routes; WsSession streams to
// one browser through a bounded queue; Hub fans batches out to every WsSession.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth.h"
#include "bus_feed.h"
#include "history_client.h"
#include "ledger.h"

namespace cantina::webbridge {

class WsSession;
class SessionsApi;

struct ServerOptions {
  std::filesystem::path static_dir;  // index.html, main.js and its modules, ...
  // Shortest time between two messages of entries to the browsers: what arrives
  // sooner after the last one waits and goes with the next; after a quiet spell an
  // entry goes at once.
  std::chrono::milliseconds batch_interval{50};
  std::size_t max_client_queue = 20000;                               // entries waiting per client
  std::size_t max_client_queue_bytes = std::size_t{8} * 1024 * 1024;  // bytes of messages waiting per client
  std::uint32_t history_limit = 1000;
  std::string token;                         // empty = no token needed
  // [logging.service_names] as a JSON object (service id -> friendly name), sent in
  // /api/stats so the page names the services that only report a status as the node does.
  std::string service_names_json = "{}";
  std::vector<std::string> allowed_origins;  // WebSocket Origins besides http(s)://<an allowed Host>
  std::vector<std::string> allowed_hosts;    // Host names besides the bridge's own (HostCheck)
  Ledger::Caps caps;                         // connections and bytes held for clients
  // A request (headers and body) must arrive within this time of the connection
  // or of the previous response; a response must be taken within response_timeout.
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds response_timeout{10000};
  // A WebSocket whose message has waited this long for the browser to take any
  // of it is dropped; its close frame then gets close_grace before the
  // connection is closed.
  std::chrono::milliseconds stall_timeout{5000};
  std::chrono::milliseconds close_grace{2000};
};

// Everything the io thread needs; owned by main, used only on the io thread
// except where noted.
class Hub {
 public:
  Hub(boost::asio::io_context& io, ServerOptions options, Inbox& inbox, BridgeCounters& counters,
      HistoryClient& history, std::function<void(const std::string&)> note);

  // Something arrived in the Inbox (posted by its wake-up, once per take()):
  // sends it to every client now, or batch_interval after the last send.
  void on_inbox();
  // Closes every WebSocket (going away) and stops the timer.
  void close_all();

  void join(const std::shared_ptr<WsSession>& session);
  void leave(const std::shared_ptr<WsSession>& session);

  const ServerOptions& options() const { return options_; }
  Inbox& inbox() { return inbox_; }
  BridgeCounters& counters() { return counters_; }
  boost::asio::io_context& io() { return io_; }

  // Runs `query` on the history thread, then `done(json)` on the io thread.
  void query_history(bus::HistoryQuery query, std::function<void(std::string)> done);

  // A line about the bridge itself (connections, errors): to its own log.
  void note(const std::string& text) { note_(text); }

  // The sessions API (/api/sessions, /api/search; sessions_api.h), if served.
  void set_sessions(std::shared_ptr<SessionsApi> api) { sessions_api_ = std::move(api); }
  SessionsApi* sessions_api() const { return sessions_api_.get(); }
  // A connection ended by an error (an exception in its handler): counted, and
  // noted at most once a second (with how many were not).
  void report_error(const std::string& text);
  // A request refused for its Host or Origin: counted and noted likewise.
  void report_refused(const std::string& text);
  // Accepting connections failed (noted once a second; the Listener counts).
  void report_accept_failure(const std::string& text);

  Ledger& ledger() { return *ledger_; }

  // The address the Listener bound: the Host names the bridge answers to follow from it.
  void listening_on(const boost::asio::ip::tcp::endpoint& endpoint);
  // A request's Host header, a WebSocket's Origin header (HostCheck); false before listening_on.
  bool host_allowed(std::string_view host) const;
  bool origin_allowed(std::string_view origin) const;

 private:
  // Takes what waits in the Inbox and hands it to every client.
  void send_batch();
  // Once a second while browsers are connected: drops those that take nothing.
  void arm_sweep();
  void sweep();

  boost::asio::io_context& io_;
  ServerOptions options_;
  std::shared_ptr<Ledger> ledger_;
  Inbox& inbox_;
  BridgeCounters& counters_;
  HistoryClient& history_;
  std::function<void(const std::string&)> note_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point last_send_{};
  boost::asio::thread_pool history_thread_{1};
  std::set<std::shared_ptr<WsSession>> sessions_;
  Inbox::Batch batch_;
  bool closing_ = false;
  std::shared_ptr<SessionsApi> sessions_api_;
  std::optional<HostCheck> host_check_;
  struct LimitedNote {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t not_noted = 0;
  };
  void note_limited(LimitedNote& limit, const std::string& text);
  LimitedNote error_notes_;
  LimitedNote refused_notes_;
  LimitedNote accept_notes_;
  LimitedNote stall_notes_;
  boost::asio::steady_timer sweep_timer_;
  bool sweep_armed_ = false;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; throws boost::system::system_error naming nothing, so
  // main reports the address.
  Listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, Hub& hub);
  void run();
  void close();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void accept_next();
  void serve(boost::asio::ip::tcp::socket socket);
  void back_off(const boost::system::error_code& error);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer timer_;     // the wait before the next accept after a failure
  std::chrono::milliseconds delay_{0};  // that wait: 0 after a success, then 50 ms doubling to 500 ms
  Hub& hub_;
};

}  // namespace cantina::webbridge
