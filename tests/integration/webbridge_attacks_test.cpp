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

#include <cstring>
#include <thread>

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

BOOST_AUTO_TEST_SUITE_END()
