// Faults with the real processes: a full disk under the logging node, the bus
// restarted under a publishing service, the web bridge frozen with SIGSTOP.
#define BOOST_TEST_MODULE faults
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "cantina/bus/clock.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// A loopback TCP port that was free a moment ago.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A small tmpfs mounted on `path` for the test's lifetime, if this machine lets us.
struct SmallDisk {
  explicit SmallDisk(const std::filesystem::path& where) : path(where) {
    std::filesystem::create_directories(path);
    mounted = mount("cantina-test", path.c_str(), "tmpfs", 0, "size=256k,mode=0755") == 0;
  }
  ~SmallDisk() {
    if (mounted) umount2(path.c_str(), MNT_DETACH);
  }
  std::filesystem::path path;
  bool mounted = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(a_full_disk_is_reported_survived_and_counted) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk");
  if (!disk.mounted) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    return;
  }
  Bus bus(dir.path());
  const auto filler = disk.path / "filler";
  LogNode node(dir.path(), bus, "", disk.path / "logs");
  // Fill the disk to the last byte.
  {
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT, 0644);
    const std::string block(4096, 'x');
    for (std::size_t size : {4096, 512, 1}) {
      while (write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
      }
    }
    close(fd);
  }
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sequence = 0;
  for (int i = 0; i < 200; ++i)
    publisher.send_record(make_record("fault_probe", 77, ++sequence, "while full " + std::to_string(i)));
  auto error = wait_for_status(bus.subscribe_endpoint, "logging_service", bus::ServiceState::error, 10s);
  BOOST_REQUIRE_MESSAGE(error, "no ERROR status while the disk was full");
  BOOST_TEST(error->find("No space left on device") != std::string::npos, *error);
  // The ring buffer and the stream go on: history still answers.
  Process tail({bin("cantina-cli"), "tail", "--config", node.config.string(), "-n", "5", "--no-follow"},
               dir.path() / "tail.out");
  BOOST_TEST(tail.wait(10s) == 0);
  BOOST_TEST(tail.output().find("while full 199") != std::string::npos, tail.output());

  std::filesystem::remove(filler);
  for (int i = 0; i < 5; ++i)
    publisher.send_record(make_record("fault_probe", 77, ++sequence, "after space " + std::to_string(i)));
  BOOST_TEST(wait_for_status(bus.subscribe_endpoint, "logging_service", bus::ServiceState::running, 10s).has_value());
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  for (const auto& line : lines) BOOST_TEST(line.starts_with("[2"), line);  // no torn line
  // At least one report; more if a small write fitted in the file's last page
  // while the disk was full (each recovery reports the lines lost since the last).
  BOOST_TEST(count_containing(lines, "lines could not be stored in the session file") >= 1u);
  BOOST_TEST(count_containing(lines, "after space 4") == 1u);
}

BOOST_AUTO_TEST_CASE(publishers_and_subscribers_reconnect_when_the_bus_restarts) {
  TempDir dir;
  const std::string publish = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string subscribe = "tcp://127.0.0.1:" + std::to_string(free_port());
  write_file(dir.path() / "bus.toml", "");
  auto start_bus = [&] {
    return std::make_unique<Process>(
        std::vector<std::string>{bin("cantina-busd"), "--config", (dir.path() / "bus.toml").string(), "--publish",
                                 publish, "--subscribe", subscribe},
        dir.path() / "busd.out");
  };
  auto busd = start_bus();
  BOOST_REQUIRE(busd->wait_for_output("subscribe endpoint", 10s));
  const auto config = dir.path() / "cantina.toml";
  write_file(config, "[bus]\npublish_endpoint = \"" + publish + "\"\nsubscribe_endpoint = \"" + subscribe +
                         "\"\n[logging]\nsession_file_path = \"" + (dir.path() / "logs").string() +
                         "\"\nquery_endpoint = \"\"\ndeduplication_window = 0\n");
  Process logd({bin("cantina-logd"), "--config", config.string()}, dir.path() / "logd.out");
  BOOST_REQUIRE(wait_for_status(subscribe, "logging_service", bus::ServiceState::running, 15s));
  Process demo({bin("cantina-demo"), "--config", config.string(), "--rate", "200"}, dir.path() / "demo.out");
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(busd->stop(SIGKILL) == 128 + SIGKILL);
  std::this_thread::sleep_for(1s);
  busd = start_bus();
  BOOST_REQUIRE(busd->wait_for_output("subscribe endpoint", 10s));
  std::this_thread::sleep_for(2500ms);  // reconnect, then log for a while
  BOOST_TEST(demo.stop(SIGTERM) == 0);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(logd.stop(SIGTERM) == 0);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "logs")) {
    if (entry.path().extension() == ".log") files.push_back(entry.path());  // not the .idx indexes
  }
  BOOST_REQUIRE_EQUAL(files.size(), 1u);
  const auto lines = read_lines(files.front());
  // Records from after the restart arrived (the demo says goodbye at the end)...
  BOOST_TEST(count_containing(lines, "stopping (demo)") == 5u);
  // ...and whatever the dead bus swallowed is counted, not silently gone.
  BOOST_TEST(count_containing(lines, "lost ") >= 1u);
}

BOOST_AUTO_TEST_CASE(a_frozen_web_bridge_costs_the_logging_node_nothing) {
  TempDir dir;
  Bus bus(dir.path());
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  write_file(dir.path() / "webbridge.toml", read_file(node.config) + "[webbridge]\nlisten = \"127.0.0.1:0\"\n");
  Process bridge({bin("cantina-webbridge"), "--config", (dir.path() / "webbridge.toml").string()},
                 dir.path() / "webbridge.out");
  BOOST_REQUIRE(bridge.wait_for_output("listening on", 10s));
  kill(bridge.pid(), SIGSTOP);
  const auto frozen_at = std::chrono::steady_clock::now();
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  // 50,000 records over about 10 s while the bridge stays frozen.
  constexpr int kRecords = 50'000;
  for (int i = 1; i <= kRecords; ++i) {
    publisher.send_record(
        make_record("fault_probe", 77, static_cast<std::uint64_t>(i), "while frozen " + std::to_string(i)));
    if (i % 1000 == 0) std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_until(frozen_at + 10s);
  std::this_thread::sleep_for(1s);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  kill(bridge.pid(), SIGCONT);
  BOOST_TEST(bridge.stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "while frozen ") == std::size_t{kRecords});
  BOOST_TEST(count_containing(lines, "lost ") == 0u);
  BOOST_TEST(count_containing(lines, "dropped ") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
