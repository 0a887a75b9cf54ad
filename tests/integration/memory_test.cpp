// cantina-logd's memory under hostile input, measured as an attacker on the same
// machine would cause it: the real cantina-busd and cantina-logd, hand-made
// messages on a raw socket. Each test caps the node's address space itself
// (prlimit(2) on the child, as `prlimit --as` would), so a regression fails the
// test (the node dies) instead of exhausting the machine, and samples the node's
// RssAnon from /proc while the attack runs: it must stay under the configured
// budgets plus a fixed overhead, and the node must survive and count what it
// refused.
#define BOOST_TEST_MODULE memory
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;

namespace {

// Sanitizers reserve terabytes of address space and keep anonymous shadow memory:
// neither the cap nor the RssAnon figures mean anything under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMeasurable = false;
#else
constexpr bool kMeasurable = true;
#endif

constexpr std::uint64_t kMiB = 1024 * 1024;

// A value from /proc/<pid>/status in KiB ("RssAnon", "VmSize"), or 0 once the
// process is gone.
std::uint64_t status_kib(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with(key + ":")) return std::stoull(line.substr(key.size() + 1));
  return 0;
}

// Caps the address space of `pid` at its size now plus `headroom` (what `prlimit
// --pid PID --as=N` does): an allocation beyond fails in the node, which then
// dies, instead of taking the machine's memory.
void cap_address_space(pid_t pid, std::uint64_t headroom) {
  if (!kMeasurable) return;
  const std::uint64_t limit = status_kib(pid, "VmSize") * 1024 + headroom;
  const rlimit cap{limit, limit};
  BOOST_REQUIRE_MESSAGE(prlimit(pid, RLIMIT_AS, &cap, nullptr) == 0, "prlimit: " << std::strerror(errno));
}

// Samples a process's RssAnon every 10 ms on a thread of its own; keeps the maximum.
class RssWatch {
 public:
  explicit RssWatch(pid_t pid)
      : thread_([this, pid] {
          while (!stop_) {
            const std::uint64_t kib = status_kib(pid, "RssAnon");
            if (kib > max_kib_) max_kib_ = kib;
            std::this_thread::sleep_for(10ms);
          }
        }) {}
  ~RssWatch() {
    stop_ = true;
    thread_.join();
  }
  RssWatch(const RssWatch&) = delete;
  RssWatch& operator=(const RssWatch&) = delete;

  std::uint64_t max_mib() const { return max_kib_ / 1024; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> max_kib_{0};
  std::thread thread_;
};

// A LogRecordBatch of `records` one-byte records whose shared fields are stated
// once in the batch (host and logger of `shared_bytes` each), encoded as the
// Logger encodes it: the readers fill the shared values into every record.
std::string amplifying_batch(const std::string& service, std::uint64_t publisher, std::uint64_t first_sequence,
                             std::size_t records, std::size_t shared_bytes) {
  const std::string host(shared_bytes, 'h');
  const std::string logger(shared_bytes, 'l');
  std::vector<bus::LogRecordView> views(records);
  for (std::size_t i = 0; i < records; ++i) {
    views[i].message = "x";
    views[i].publisher_id = publisher;
    views[i].sequence = first_sequence + i;
  }
  bus::LogBatchEncoder encoder;
  std::string payload;
  encoder.encode(views, publisher, first_sequence + records - 1, payload,
                 bus::LogBatchShared{service, host, logger, 4242});
  return payload;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory)

// One 3.7 MB message of 15,000 one-byte records sharing a 1 MB host and a 1 MB
// logger would decode to 30 GB of entries if the shared values were filled into
// every record (it did: the node was killed). Now each name is cut at
// bus::kMaxNameBytes and marked, and what one message fills in is capped at
// bus::kMaxFilledBytes: the records beyond are refused, the message counted as
// malformed and the refused records as lost (the batch states its last sequence).
BOOST_AUTO_TEST_CASE(a_batch_that_fills_huge_shared_fields_into_every_record_is_bounded) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  cap_address_space(node.process->pid(), 1024 * kMiB);
  RssWatch rss(node.process->pid());
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  constexpr std::uint64_t kRecords = 15'000;
  for (std::uint64_t p = 1; p <= 3; ++p) {
    const std::string payload = amplifying_batch("amplifier", p, 1, kRecords, 1'000'000);
    BOOST_TEST_REQUIRE(payload.size() < std::size_t(bus::kMaxMessageBytes));
    publisher.send(bus::topics::log_batch_topic("amplifier"), payload);
  }
  publisher.send_record(make_record("amplifier", 99, 1, "a record after the attack"));

  const auto seen = stats.wait_until(
      [](const bus::LoggingStats& s) { return s.malformed >= 3 && s.received + s.lost >= 3 * kRecords + 1; }, 30s);
  BOOST_TEST_REQUIRE(node.process->running(), node.process->output());
  BOOST_REQUIRE_MESSAGE(seen, "the node did not account for every record");
  BOOST_TEST(seen->malformed == 3u);
  BOOST_TEST(seen->received + seen->lost == 3 * kRecords + 1);
  // Each kept record fills in about 2 KiB (two cut names): about 8 MiB a message.
  const std::uint64_t kept = (seen->received - 1) / 3;
  BOOST_TEST(kept * 2048 <= bus::kMaxFilledBytes);
  BOOST_TEST(kept * 2200 >= bus::kMaxFilledBytes);
  std::this_thread::sleep_for(1500ms);  // the loss reports
  BOOST_TEST_MESSAGE("cantina-logd RssAnon max " << rss.max_mib() << " MiB");
  if (kMeasurable) BOOST_TEST(rss.max_mib() < 96u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Amplifier            a record after the attack") == 1u);
  BOOST_TEST(count_containing(lines, "dropped 3 malformed messages from amplifier") == 1u);
  BOOST_TEST(count_containing(lines, "lost " + std::to_string(seen->lost) + " records from amplifier") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
