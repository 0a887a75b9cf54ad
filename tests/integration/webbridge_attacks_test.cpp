// cantina-webbridge against a hostile neighbour on the same machine: connections
// that reset right after a WebSocket upgrade, forged Host and Origin headers,
// idle and stalled connections, a file-descriptor flood and oversize queries.
// Each case runs the real bridge (next to the real busd and logd) and asserts
// what a user would notice: the bridge stays up, answers /healthz, refuses what
// it must, and keeps its memory and CPU within the stated bounds.
#define BOOST_TEST_MODULE webbridge_attacks
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>

#include "integration/bus_client.h"
#include "integration/process.h"
#include "integration/web_client.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// A plain TCP connection to 127.0.0.1:port (blocking, 5 s receive timeout).
class RawConnection {
 public:
  explicit RawConnection(const std::string& port, int receive_buffer = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    BOOST_REQUIRE(fd_ >= 0);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // Up to `max` bytes; empty on EOF, error or timeout.
  std::string receive(std::size_t max = 65536) {
    std::string buffer(max, '\0');
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    buffer.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buffer;
  }

  // Reads and discards until the peer closes (true), or nothing comes for 5 s,
  // or 10 s pass (false).
  bool drain() {
    char buffer[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) continue;
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
    return false;
  }

  // Closes with a TCP reset instead of a FIN (SO_LINGER with a zero timeout).
  void reset() {
    linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close();
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The request a browser sends to open the live stream.
std::string upgrade_request(const std::string& port, const std::string& host = "",
                            const std::string& origin = "default") {
  const std::string h = host.empty() ? "127.0.0.1:" + port : host;
  return "GET /ws HTTP/1.1\r\nHost: " + h +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         (origin.empty() ? "" : "Origin: " + (origin == "default" ? "http://" + h : origin) + "\r\n") + "\r\n";
}

// CPU time (user + system) the process `pid` has used so far, in seconds.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  stat = stat.substr(stat.rfind(')') + 2);  // after "pid (name) "
  std::istringstream fields(stat);
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The share of a core `pid` uses over `span`.
double cpu_share(pid_t pid, std::chrono::milliseconds span) {
  const double before = cpu_seconds(pid);
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(span);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return (cpu_seconds(pid) - before) / elapsed;
}

bool healthy(const std::string& port) {
  try {
    return http_request(port, "/healthz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webbridge_attacks)

// An upgrade followed by a TCP reset made remote_endpoint() throw out of the
// session and io.run(): the process died after 80-230 such connections.
BOOST_AUTO_TEST_CASE(upgrades_reset_at_once_do_not_kill_the_bridge) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);
  const std::string request = upgrade_request(bridge.port);
  for (int i = 0; i < 300; ++i) {
    RawConnection connection(bridge.port);
    if (!connection.connected()) break;  // the bridge is gone: the checks below say so
    connection.send(request);
    connection.reset();
  }
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(bridge.process.running(), bridge.process.output());
  BOOST_TEST(healthy(bridge.port));
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

// The status line's code of an HTTP response ("HTTP/1.1 421 ..." -> 421), 0 if none.
unsigned status_of(const std::string& response) {
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return 0;
  return static_cast<unsigned>(std::stoi(response.substr(9, 3)));
}

// DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 sends its
// own name as Host and Origin; the bridge answered it with every log.
BOOST_AUTO_TEST_CASE(a_forged_host_or_origin_is_refused) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node, "allowed_hosts = [\"droid.local\"]\n");
  const std::string evil = "evil.example:" + bridge.port;
  for (const char* target : {"/", "/api/logs", "/api/stats", "/healthz", "/static/main.js"}) {
    const HttpResult result = http_request(bridge.port, target, {{boost::beast::http::field::host, evil}});
    BOOST_TEST(result.status == 421u, target);
    BOOST_TEST(result.body.find("allowed_hosts") != std::string::npos, target);
  }
  // The bridge's own names, and the allowed one.
  for (const std::string& own : {"127.0.0.1:" + bridge.port, "localhost:" + bridge.port, "[::1]:" + bridge.port,
                                 "droid.local:" + bridge.port, std::string("droid.local")}) {
    BOOST_TEST(http_request(bridge.port, "/api/stats", {{boost::beast::http::field::host, own}}).status == 200u, own);
  }
  // WebSockets: a forged Host, a forged Origin, no Origin at all; then the own page.
  const auto upgrade_status = [&](const std::string& host, const std::string& origin) {
    RawConnection connection(bridge.port);
    connection.send(upgrade_request(bridge.port, host, origin));
    return status_of(connection.receive());
  };
  BOOST_TEST(upgrade_status(evil, "default") == 421u);
  BOOST_TEST(upgrade_status("", "http://" + evil) == 403u);
  BOOST_TEST(upgrade_status("", "null") == 403u);
  BOOST_TEST(upgrade_status("", "") == 403u);
  BOOST_TEST(upgrade_status("", "default") == 101u);
  BOOST_TEST(upgrade_status("droid.local:" + bridge.port, "default") == 101u);
  BOOST_TEST(upgrade_status("localhost:" + bridge.port, "http://127.0.0.1:" + bridge.port) == 101u);
  const auto stats = json::parse(bridge.get("/api/stats")).as_object();
  BOOST_TEST(stats.at("webbridge").at("refused").to_number<int>() == 5 + 1 + 3);
  BOOST_TEST(bridge.process.output().find("refused a request for Host 'evil.example:") != std::string::npos);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

// Connections that never send a request were held 60 s each, and without a cap:
// now at most max_connections / 2 wait for a request, the oldest is closed to
// make room, and none waits longer than the request timeout (5 s).
BOOST_AUTO_TEST_CASE(idle_connections_are_capped_and_closed_within_seconds) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node);  // max_connections = 128: at most 64 waiting for a request
  std::vector<std::unique_ptr<RawConnection>> idle;
  idle.reserve(150);
  for (int i = 0; i < 150; ++i) idle.push_back(std::make_unique<RawConnection>(bridge.port));
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(healthy(bridge.port));  // room made by closing the oldest idle ones
  const auto stats = json::parse(bridge.get("/api/stats")).as_object().at("webbridge").as_object();
  BOOST_TEST(stats.at("connections").to_number<int>() <= 64);
  BOOST_TEST(stats.at("idle_closed").to_number<int>() >= 150 - 64);
  // The newest ones are still open; within the request timeout they are closed too.
  const auto start = std::chrono::steady_clock::now();
  std::size_t closed = 0;
  for (auto& connection : idle) {
    const std::string got = connection->receive();  // EOF (empty) when closed; a 5 s timeout otherwise
    closed += got.empty() && std::chrono::steady_clock::now() - start < 7s;
  }
  BOOST_TEST(closed == idle.size());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 7s));
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

// Out of file descriptors, the accept loop retried at once: a core at 100 % and
// /healthz timing out. Now it backs off (50 to 500 ms), counts and notes it.
BOOST_AUTO_TEST_CASE(out_of_file_descriptors_the_bridge_backs_off_and_recovers) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus);
  WebBridge bridge(node, "", {"/usr/bin/prlimit", "--nofile=40:40", "--"});
  BOOST_REQUIRE(healthy(bridge.port));
  std::vector<std::unique_ptr<RawConnection>> flood;
  flood.reserve(200);
  for (int i = 0; i < 200; ++i) flood.push_back(std::make_unique<RawConnection>(bridge.port));  // held, idle
  std::this_thread::sleep_for(500ms);
  const double share = cpu_share(bridge.process.pid(), 2s);
  BOOST_TEST_MESSAGE("the bridge used " << share * 100 << " % of a core while out of file descriptors");
  BOOST_TEST(share < 0.1, "the bridge used " << share * 100 << " % of a core while out of file descriptors");
  BOOST_TEST(bridge.process.output().find("cannot accept connections (Too many open files)") != std::string::npos);
  flood.clear();  // the flood ends
  bool answered = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    answered = healthy(bridge.port);
    if (!answered) std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST(answered);
  const auto stats = json::parse(bridge.get("/api/stats")).as_object().at("webbridge").as_object();
  BOOST_TEST(stats.at("accept_failures").to_number<int>() > 0);
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

// A WebSocket that stops reading was held ~300 s, and each held up to 8 MB of
// messages (20 of them took the bridge to 149 MB). Now what the browsers' queues
// hold together is capped by memory_budget_bytes, and one that takes nothing for
// 5 s is dropped (counted as stalled_dropped) while the others go on.
BOOST_AUTO_TEST_CASE(websockets_that_stop_reading_are_dropped_and_memory_stays_bounded) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\ndashboard_max_rate = 0\n");
  // 16 MiB: at most 8 MiB in the browsers' queues, 2 MiB each; a hard limit on
  // the address space so that a regression fails here, not the machine.
  WebBridge bridge(node, "memory_budget_bytes = 16777216\nmax_client_queue = 1000000\n",
                   address_space_cap(std::uint64_t{1} << 30));
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::atomic<bool> flooding{true};
  std::thread flood([&] {  // about 5 MB/s of entries' JSON
    const std::string padding(1000, '.');
    for (std::uint64_t i = 1; flooding; ++i) {
      publisher.send_record(make_record("flood", 1234, i, "flood " + std::to_string(i) + padding));
      if (i % 50 == 0) std::this_thread::sleep_for(10ms);
    }
  });
  const auto stop_flood = [&] {
    flooding = false;
    if (flood.joinable()) flood.join();
  };
  struct Finally {
    std::function<void()> run;
    ~Finally() { run(); }
  } finally{stop_flood};
  const pid_t pid = bridge.process.pid();
  const std::uint64_t before_kib = rss_anon_kib(pid);
  // Ten browsers that open the stream, one every 400 ms, then never read.
  constexpr int kStalled = 10;
  std::vector<std::unique_ptr<RawConnection>> stalled;
  std::uint64_t peak_kib = 0;
  for (int i = 0; i < kStalled; ++i) {
    stalled.push_back(std::make_unique<RawConnection>(bridge.port, 4096));
    BOOST_REQUIRE(stalled.back()->send(upgrade_request(bridge.port)));
    BOOST_REQUIRE(status_of(stalled.back()->receive(12)) == 101u);
    std::this_thread::sleep_for(400ms);
    peak_kib = std::max(peak_kib, rss_anon_kib(pid));
  }
  // All dropped within seconds of taking nothing; the bridge's memory stays
  // within its budget meanwhile (it grew by 10 MiB here; by 31 MiB with only
  // the 8 MB per browser and no drop).
  std::uint64_t dropped = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (dropped < kStalled && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    peak_kib = std::max(peak_kib, rss_anon_kib(pid));
    const auto stats = json::parse(bridge.get("/api/stats")).as_object().at("webbridge").as_object();
    if (const auto* count = stats.if_contains("stalled_dropped")) dropped = count->to_number<std::uint64_t>();
  }
  BOOST_TEST_MESSAGE("cantina-webbridge RssAnon " << before_kib / 1024 << " MiB before, " << peak_kib / 1024
                                                  << " MiB at most with " << kStalled << " stalled browsers");
  BOOST_TEST(dropped == std::uint64_t{kStalled});
  if (kMemoryMeasurable) {
    BOOST_TEST(peak_kib < before_kib + std::uint64_t{16} * 1024,
               "RssAnon grew by " << (peak_kib - before_kib) / 1024 << " MiB");
  }
  stop_flood();
  // Each connection was closed by the bridge: what it had sent, then EOF.
  for (auto& connection : stalled) BOOST_TEST(connection->drain());
  const auto stats = json::parse(bridge.get("/api/stats")).as_object().at("webbridge").as_object();
  BOOST_TEST(stats.at("clients").to_number<int>() == 0);
  BOOST_TEST(stats.contains("held_bytes"));
  if (const auto* held = stats.if_contains("held_bytes")) BOOST_TEST(held->to_number<std::uint64_t>() <= 8u << 20);
  BOOST_TEST(bridge.process.output().find("took nothing for 5 s") != std::string::npos);
  BOOST_TEST(healthy(bridge.port));
  BOOST_TEST(bridge.process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
