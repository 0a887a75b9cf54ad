// cantina-bench-ws: K dashboard clients of the web bridge in one process (one
// thread, Boost.Beast), as a browser would connect: GET /ws, then read.
//
//   cantina-bench-ws --host 127.0.0.1 --port P --clients K --tag T
//                    [--expect N] [--idle-timeout S] [--max-seconds S] [--quickack] [--trace FILE]
//
// For every {"type":"entries"} message it takes the receive time once and, for
// every entry whose message starts with "bench T ", the publish -> WebSocket
// latency (receive time - the entry's timestamp_ns, which is the Logger call's
// time). It does not parse the JSON fully: it scans for "timestamp_ns",
// "message" and "sequence" (memmem), which keeps a client cheap next
// to what it measures. Skipped entries
// are summed from {"type":"skipped","count":N}, entries the logging node did not
// stream (its live-view limit) from {"type":"limited","count":N}; entries missed at all (announced or
// not) from jumps in the entries' sequence numbers. Prints "ready" once every client
// has been accepted and one `result {json}` line at the end: when every client has
// N entries, after S seconds without a new one, at --max-seconds, or on SIGTERM.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "bench_common.h"

namespace {

namespace bench = cantina::bench;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr const char* kTool = "cantina-bench-ws";

struct Totals {
  bench::Histogram latency;
  std::ostream* trace = nullptr;   // --trace: one line per message (time, bytes, entries, latency of the last)
  std::int64_t last_entry_ns = 0;  // monotonic time of the last bench entry, any client
  std::size_t accepted = 0;
  std::size_t failed = 0;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(net::io_context& io, Totals& totals, std::string marker, bool quickack)
      : ws_(io), totals_(totals), marker_(std::move(marker)), quickack_(quickack) {}

  void run(const tcp::endpoint& endpoint, const std::string& host) {
    host_ = host;
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).async_connect(endpoint,
                                               beast::bind_front_handler(&Client::on_connect, shared_from_this()));
  }

  void stop() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t not_streamed() const { return not_streamed_; }
  std::uint64_t missing() const { return missing_; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t bytes() const { return bytes_; }
  bool accepted() const { return accepted_; }

 private:
  void on_connect(beast::error_code error) {
    if (error) return fail("connect", error);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    // As the dashboard's own page would: the bridge takes WebSockets only from its own origins.
    ws_.set_option(websocket::stream_base::decorator([origin = "http://" + host_](websocket::request_type& request) {
      request.set(beast::http::field::origin, origin);
    }));
    ws_.read_message_max(std::size_t{256} * 1024 * 1024);
    ws_.async_handshake(host_, "/ws", beast::bind_front_handler(&Client::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code error) {
    if (error) return fail("handshake", error);
    accepted_ = true;
    ++totals_.accepted;
    read_next();
  }

  void read_next() {
    if (quickack_) {
      // Diagnosis only (--quickack): acknowledge at once instead of Linux's delayed ACK,
      // to see how much of the latency is the server's Nagle waiting for our ACK.
      int one = 1;
      ::setsockopt(beast::get_lowest_layer(ws_).socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    ws_.async_read(buffer_, beast::bind_front_handler(&Client::on_read, shared_from_this()));
  }

  void on_read(beast::error_code error, std::size_t bytes) {
    if (error) {
      if (error != net::error::operation_aborted && error != websocket::error::closed) fail("read", error);
      return;
    }
    const std::int64_t received = bench::realtime_ns();
    ++messages_;
    bytes_ += bytes;
    const auto data = buffer_.cdata();
    const std::uint64_t before = delivered_;
    scan(std::string_view(static_cast<const char*>(data.data()), data.size()), received);
    if (totals_.trace != nullptr) {
      *totals_.trace << received << ' ' << bytes << ' ' << delivered_ - before << ' ' << newest_latency_ns_ << '\n';
    }
    buffer_.consume(buffer_.size());
    read_next();
  }

  void scan(std::string_view text, std::int64_t received) {
    if (text.starts_with("{\"type\":\"skipped\"")) {
      add_number_after(text, "\"count\":", skipped_);
      return;
    }
    if (text.starts_with("{\"type\":\"limited\"")) {
      add_number_after(text, "\"count\":", not_streamed_);
      return;
    }
    if (!text.starts_with("{\"type\":\"entries\"")) return;
    // Keys come in the order of bus::to_json(DashboardLog): timestamp_ns before
    // message, sequence last. memmem skips through the text; a find() of the key
    // would stop at every '"' of the JSON.
    constexpr std::string_view kTimestamp = "\"timestamp_ns\":";
    constexpr std::string_view kMessage = "\"message\":\"";
    constexpr std::string_view kSequence = "\"sequence\":";
    const auto find = [&text](std::size_t from, std::string_view key) -> std::size_t {
      const void* found = ::memmem(text.data() + from, text.size() - from, key.data(), key.size());
      return found == nullptr ? std::string_view::npos
                              : static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
    };
    std::size_t at = 0;
    bool any_ours = false;
    for (;;) {
      at = find(at, kTimestamp);
      if (at == std::string_view::npos) break;
      at += kTimestamp.size();
      std::int64_t timestamp = 0;
      std::from_chars(text.data() + at, text.data() + text.size(), timestamp);
      const auto message = find(at, kMessage);
      if (message == std::string_view::npos) break;
      at = message + kMessage.size();
      const bool ours = text.compare(at, marker_.size(), marker_) == 0 && !is_ready_record(text, at);
      const auto sequence_at = find(at, kSequence);
      if (sequence_at == std::string_view::npos) break;
      at = sequence_at + kSequence.size();
      std::uint64_t sequence = 0;
      std::from_chars(text.data() + at, text.data() + text.size(), sequence);
      // Every entry of the logging node's session has the next sequence number: a jump
      // is entries this client never got, announced as skipped or not.
      if (last_sequence_ != 0 && sequence > last_sequence_ + 1) missing_ += sequence - last_sequence_ - 1;
      if (sequence > last_sequence_ || sequence == 1) last_sequence_ = sequence;
      if (!ours) continue;
      totals_.latency.add_ns(received - timestamp);
      newest_latency_ns_ = received - timestamp;
      ++delivered_;
      any_ours = true;
    }
    if (any_ours) totals_.last_entry_ns = bench::monotonic_ns();
  }

  // True if the message at `at` is "bench TAG pK ready", the publisher's start-up record.
  bool is_ready_record(std::string_view text, std::size_t at) const {
    std::size_t after = at + marker_.size();
    while (after < text.size() && text[after] >= '0' && text[after] <= '9') ++after;
    return text.compare(after, 6, " ready") == 0;
  }

  static void add_number_after(std::string_view text, std::string_view key, std::uint64_t& total) {
    const auto at = text.find(key);
    if (at == std::string_view::npos) return;
    std::uint64_t value = 0;
    std::from_chars(text.data() + at + key.size(), text.data() + text.size(), value);
    total += value;
  }

  void fail(const char* what, beast::error_code error) {
    ++totals_.failed;
    std::cerr << kTool << ": " << what << ": " << error.message() << "\n";
  }

  websocket::stream<beast::tcp_stream> ws_;
  Totals& totals_;
  std::string marker_;
  bool quickack_;
  std::string host_;
  beast::flat_buffer buffer_;
  bool accepted_ = false;
  std::uint64_t delivered_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t not_streamed_ = 0;
  std::int64_t newest_latency_ns_ = 0;  // of the last entry scanned (for --trace)
  std::uint64_t missing_ = 0;           // entries missed, from jumps in the sequence numbers
  std::uint64_t last_sequence_ = 0;     // of the last entry seen (0 = none yet)
  std::uint64_t messages_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace

int run(int argc, char** argv) {
  bench::Args args(argc, argv, 1);
  const std::string host = args.text("host", "127.0.0.1");
  const auto port = static_cast<unsigned short>(args.integer("port", 0));
  const auto clients = static_cast<std::size_t>(args.integer("clients", 1));
  const std::string tag = args.text("tag", "t");
  const auto expect = static_cast<std::uint64_t>(args.integer("expect", 0));
  const double idle_timeout = args.real("idle-timeout", 3.0);
  const double max_seconds = args.real("max-seconds", 120.0);
  const bool quickack = args.flag("quickack");
  const std::string trace_file = args.text("trace");
  args.finish(kTool);

  net::io_context io(1);
  Totals totals;
  std::ofstream trace;
  if (!trace_file.empty()) {
    trace.open(trace_file);
    totals.trace = &trace;
  }
  std::vector<std::shared_ptr<Client>> all;
  const tcp::endpoint endpoint(net::ip::make_address(host), port);
  for (std::size_t i = 0; i < clients; ++i) {
    all.push_back(std::make_shared<Client>(io, totals, "bench " + tag + " p", quickack));
    all.back()->run(endpoint, host + ":" + std::to_string(port));
  }

  const std::int64_t started = bench::monotonic_ns();
  bool announced = false;
  net::steady_timer timer(io);
  // SIGTERM/SIGINT end the run early; the result is printed all the same.
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code error, int) {
    if (error) return;
    for (auto& client : all) client->stop();
    io.stop();
  });
  std::function<void()> check = [&] {
    const std::int64_t now = bench::monotonic_ns();
    if (!announced && totals.accepted + totals.failed == clients) {
      announced = true;
      std::cout << "ready" << std::endl;
    }
    bool done = now - started > static_cast<std::int64_t>(max_seconds * 1e9);
    if (totals.last_entry_ns != 0 && now - totals.last_entry_ns > static_cast<std::int64_t>(idle_timeout * 1e9)) {
      done = true;
    }
    if (expect > 0 && announced) {
      done = done || std::all_of(all.begin(), all.end(), [&](const auto& c) {
               return !c->accepted() || c->delivered() + c->skipped() + c->not_streamed() >= expect;
             });
    }
    if (done) {
      signals.cancel();
      for (auto& client : all) client->stop();
      io.stop();
      return;
    }
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([&](beast::error_code) { check(); });
  };
  check();
  io.run();

  std::uint64_t delivered = 0, skipped = 0, not_streamed = 0, missing = 0, messages = 0, bytes = 0;
  std::uint64_t fewest = UINT64_MAX, most = 0;
  std::string per_client = "[";
  for (const auto& client : all) {
    delivered += client->delivered();
    skipped += client->skipped();
    not_streamed += client->not_streamed();
    missing += client->missing();
    messages += client->messages();
    bytes += client->bytes();
    fewest = std::min(fewest, client->delivered());
    most = std::max(most, client->delivered());
    if (per_client.size() > 1) per_client += ',';
    per_client += std::to_string(client->delivered());
  }
  per_client += "]";
  bench::Result result;
  result.add("mode", "ws")
      .add("clients", static_cast<std::uint64_t>(clients))
      .add("accepted", static_cast<std::uint64_t>(totals.accepted))
      .add("failed", static_cast<std::uint64_t>(totals.failed))
      .add("expected_per_client", expect)
      .add("delivered", delivered)
      .add("delivered_min", all.empty() ? 0 : fewest)
      .add("delivered_max", most)
      .add_raw("delivered_per_client", per_client)
      .add("skipped", skipped)
      .add("not_streamed", not_streamed)
      .add("missing_by_sequence", missing)
      .add("messages", messages)
      .add("bytes", bytes)
      .add_latency("latency", totals.latency);
  result.print();
  return 0;
}

int main(int argc, char** argv) {
  if (bench::wants_help(argc, argv)) {
    std::cout << "usage: cantina-bench-ws --host 127.0.0.1 --port P --clients K --tag T\n"
                 "                        [--expect N] [--idle-timeout S] [--max-seconds S] [--quickack]\n"
                 "                        [--trace FILE]\n"
                 "K dashboard clients of the web bridge; prints one `result {json}` line.\n"
                 "Driven by tools/bench/bench.py; see docs/PERFORMANCE.md.\n";
    return 0;
  }
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "cantina-bench-ws: " << error.what() << '\n';
    return 1;
  }
}
