// cantina-webbridge: the live dashboard. Serves the page, /ws (live entries as
// JSON), /api/logs (history from the logging node), /api/stats and /healthz.
//
// DESIGN
// Threads
// - bus thread (BusFeed): owns the SUB socket (/dashboard/log, which also covers
//   the logging node's batches on /dashboard/log/batch, /service/status/,
//   /logging/stats) and the PUB socket for the bridge's own ServiceStatus. Every
//   payload is decoded and checked; a bad one is counted and dropped whole. On
//   each wake-up it drains everything waiting, writing each entry's JSON once,
//   straight from the message (read in place) into one reused buffer, and hands
//   the entries to the Inbox in chunks of about 64 KB (one lock each).
// - io thread: runs the Boost.Asio io_context: the Listener, every HTTP and
//   WebSocket session, and the Hub. The Inbox wakes the Hub with one post per
//   batch (not per entry); the Hub closes the batch into one
//   {"type":"entries"} message, shared read-only by every browser's queue (each
//   entry is serialized once, whatever the number of browsers). It sends at once
//   if the last message went out batch_interval_ms ago or longer, else when that
//   interval is up: the interval bounds the message rate, not the latency of an
//   entry after a quiet spell. A browser whose socket is still writing gets what
//   queued meanwhile when the write ends. Sockets have TCP_NODELAY and a message
//   is one WebSocket frame, so nothing waits for the previous message's ACK.
// - history thread (in Hub): asks the logging node's query endpoint for /api/logs,
//   so a slow or absent logging node never stalls the io thread.
// Queues and overflow (bounded in entries and in bytes; webbridge.memory_budget_bytes,
// B, split below)
// - Inbox: at most max(50,000, 4 x max_client_queue) entries and B/8 of their
//   JSON wait for the io thread; beyond that entries are dropped, counted
//   (inbox_dropped in /api/stats and on the page) and announced to every browser
//   as skipped.
// - each browser: at most max_client_queue entries and B/8 wait to be written,
//   and all browsers' queues together hold at most B/2 (Ledger; a message
//   shared by several counts once). A batch always fits an empty queue; one that
//   does not fit is skipped for that browser only, counted, and announced to it
//   as {"type":"skipped","count":N}. A browser that takes nothing of a message
//   for 5 s is dropped (its queue freed, a close frame with the reason, the
//   socket closed 2 s later), counted (stalled_dropped) and noted. No browser
//   can slow the bus, the logging node or another browser.
// - HTTP responses being written: B/4 together (else 503, counted as busy);
//   a history reply from the logging node: B/16 (a longer one is refused).
// Access: every request must name the bridge in its Host header (its listen
//   address, localhost, 127.0.0.1, [::1] with its port, or webbridge.allowed_hosts;
//   else 421), so a page on a DNS-rebinding domain gets nothing; the page loads
//   only its own files (Content-Security-Policy); a WebSocket must come from a
//   page of those names (or webbridge.allowed_origins: its Origin is required),
//   so other sites in the same browser cannot read the logs; off loopback the
//   bridge refuses to start without webbridge.token, which every request must
//   then carry (?token=, the cookie set from it, or Authorization: Bearer).
// Connections (Ledger): at most webbridge.max_connections, half of them at most
//   per phase (waiting for a request, answering one, WebSocket). A request must
//   arrive within 5 s, a response be taken within 10 s; the oldest connection
//   waiting for a request is closed to make room for a new one; beyond the caps
//   the answer is 503. Out of file descriptors, accepting backs off (50 ms,
//   doubling to 500 ms) instead of spinning, counted (accept_failures) and noted
//   once a second. No exception leaves a connection's handler or the io thread.
// Feedback: the bridge's own lines (connections, errors) go to stdout, never to the
//   bus, so nothing it streams can make it log more.
// Shutdown: SIGINT/SIGTERM/SIGHUP in main -> the io thread closes the listener and
//   every WebSocket (going away), the io_context stops, then the bus thread
//   publishes STOPPING and STOPPED and returns.
#include <iostream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "bus_feed.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/config.h"
#include "cantina/bus/node_args.h"
#include "cantina/bus/shutdown.h"
#include "history_client.h"
#include "sessions_api.h"
#include "web_server.h"

namespace {

namespace net = boost::asio;

constexpr const char* kUsage =
    "usage: cantina-webbridge [--config FILE] [--static DIR]\n"
    "  Serves the live log dashboard on [webbridge] listen.\n";

// [logging.service_names] (the defaults and the config's) as a JSON object.
std::string service_names_json(const cantina::bus::Config& config) {
  boost::json::object names;
  for (const auto& [id, name] : config.logging.service_names) names[id] = name;
  return boost::json::serialize(names);
}

// A line about the bridge itself, with a timestamp, on stdout.
void note(const std::string& text) {
  std::cout << "[" << cantina::bus::iso8601(cantina::bus::now_ns()) << "] " << text << std::endl;
}

int run_bridge(int argc, char** argv) {
  std::string static_dir;
  cantina::bus::NodeArgs args("cantina-webbridge", kUsage, cantina::bus::NodeArgs::MissingValue::unknown_argument);
  args.option("--static", &static_dir);
  if (const auto exit_status = args.parse(argc, argv)) return *exit_status;

  const cantina::bus::Config config = args.load_config();
  if (static_dir.empty()) static_dir = config.webbridge.static_dir;
  if (static_dir.empty()) static_dir = CANTINA_STATIC_DIR;

  const std::string& listen = config.webbridge.listen;
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));

  cantina::bus::ShutdownSignals signals;
  zmq::context_t context(1);
  net::io_context io(1);
  cantina::webbridge::BridgeCounters counters;
  // The memory budget, split: an eighth for the Inbox, an eighth for each
  // browser's queue, half for all browsers' queues together (a message shared
  // by several counts once), a quarter for HTTP responses being written, a
  // sixteenth for a history reply from the logging node.
  const std::size_t budget = config.webbridge.memory_budget_bytes;
  cantina::webbridge::Inbox inbox(std::max<std::size_t>(50'000, 4 * std::size_t{config.webbridge.max_client_queue}),
                                  budget / 8);
  cantina::webbridge::HistoryClient history(context, config.logging.query_endpoint, config.bus.curve, budget / 16);
  cantina::webbridge::ServerOptions options;
  options.static_dir = static_dir;
  options.batch_interval = std::chrono::milliseconds(config.webbridge.batch_interval_ms);
  options.max_client_queue = config.webbridge.max_client_queue;
  options.max_client_queue_bytes = budget / 8;
  options.caps.client_bytes = budget / 2;
  options.caps.response_bytes = budget / 4;
  options.history_limit = config.webbridge.history_limit;
  options.token = config.webbridge.token;
  options.allowed_origins = config.webbridge.allowed_origins;
  options.allowed_hosts = config.webbridge.allowed_hosts;
  options.service_names_json = service_names_json(config);
  // Half of max_connections at most in each phase.
  options.caps.connections = config.webbridge.max_connections;
  options.caps.reading = options.caps.answering = options.caps.websockets = config.webbridge.max_connections / 2;
  cantina::webbridge::Hub hub(io, std::move(options), inbox, counters, history, note);
  inbox.on_arrival([&io, &hub] { net::post(io, [&hub] { hub.on_inbox(); }); });
  hub.set_sessions(std::make_shared<cantina::webbridge::SessionsApi>(
      cantina::webbridge::SessionsApiOptions{config.logging.session_file_path, config.logging.service_names}));
  std::shared_ptr<cantina::webbridge::Listener> listener;
  try {
    boost::system::error_code error;
    const auto address = net::ip::make_address(host, error);
    if (error) throw std::runtime_error("'" + host + "' is not an IP address");
    if (!address.is_loopback() && config.webbridge.token.empty()) {
      throw std::runtime_error(
          "the address is reachable from the network: set [webbridge] token (16 or more "
          "characters) in " +
          config.source + " so that only you can read the logs");
    }
    listener = std::make_shared<cantina::webbridge::Listener>(io, net::ip::tcp::endpoint(address, port), hub);
  } catch (const std::exception& error) {
    std::cerr << "cantina-webbridge: cannot listen on " << listen << ": " << error.what() << "\n";
    return 1;
  }
  const auto bound = listener->local_endpoint();
  hub.listening_on(bound);
  const std::string url =
      "http://" + (bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) +
      ":" + std::to_string(bound.port());

  cantina::webbridge::BusFeed feed(context, config, inbox, counters, url);
  std::thread bus_thread([&feed] { feed.run(); });
  listener->run();
  std::thread io_thread([&io] {
    // Every handler contains its own errors; should one still escape, the bridge
    // notes it and goes on serving (run() resumes where it was).
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& error) {
        note(std::string("error on the io thread, going on: ") + error.what());
      } catch (...) {
        note("unknown error on the io thread, going on");
      }
    }
  });
  std::cout << "cantina-webbridge: listening on " << url << std::endl;

  const int signal_number = signals.wait();
  note("signal " + std::to_string(signal_number) + ", closing connections");
  net::post(io, [&] {
    listener->close();
    hub.close_all();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let close frames go out
  io.stop();
  io_thread.join();
  feed.stop();
  bus_thread.join();
  std::cout << "cantina-webbridge: stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_bridge(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "cantina-webbridge: " << error.what() << "\n";
  } catch (...) {
    std::cerr << "cantina-webbridge: unknown error\n";
  }
  return 1;
}
