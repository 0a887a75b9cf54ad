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
#include <optional>
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

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

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
  if (!kMemoryMeasurable) return;
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
// logger decoded to 30 GB of entries when the shared values were filled into
// every record (the node was killed). Now the bus takes no such message, the
// decoders refuse a shared name over bus::kMaxNameBytes, and what one message
// fills in is capped at bus::kMaxFilledBytes (the records beyond refused, the
// message counted as malformed and the refused records as lost). The worst
// left: as many one-byte records as the bus takes in a message, each filled
// with a 1 KiB host and logger.
BOOST_AUTO_TEST_CASE(a_batch_that_fills_huge_shared_fields_into_every_record_is_bounded) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  cap_address_space(node.process->pid(), 1024 * kMiB);
  RssWatch rss(node.process->pid());
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  const std::size_t bus_cap = bus::max_message_bytes(bus::kDefaultMaxRecordBytes);
  std::uint64_t records = 1000;  // as many as fit in one message the bus takes
  while (amplifying_batch("amplifier", 1, 1, records + 250, bus::kMaxNameBytes).size() < bus_cap) records += 250;
  const std::uint64_t filled_per_record = 2 * bus::kMaxNameBytes + 16;
  const bool capped = records * filled_per_record > bus::kMaxFilledBytes;
  BOOST_TEST_MESSAGE(records << " records a message, " << records * filled_per_record / kMiB << " MiB filled in each"
                             << (capped ? " before the cap" : ""));
  for (std::uint64_t p = 1; p <= 3; ++p) {
    publisher.send(bus::topics::log_batch_topic("amplifier"),
                   amplifying_batch("amplifier", p, 1, records, bus::kMaxNameBytes));
  }
  publisher.send_record(make_record("amplifier", 99, 1, "a record after the attack"));

  const auto seen =
      stats.wait_until([&](const bus::LoggingStats& s) { return s.received + s.lost >= 3 * records + 1; }, 30s);
  BOOST_TEST_REQUIRE(node.process->running(), node.process->output());
  BOOST_REQUIRE_MESSAGE(seen, "the node did not account for every record");
  BOOST_TEST(seen->received + seen->lost == 3 * records + 1);
  BOOST_TEST(seen->malformed == (capped ? 3u : 0u));
  std::this_thread::sleep_for(1500ms);  // the loss reports
  BOOST_TEST_MESSAGE("cantina-logd RssAnon max " << rss.max_mib() << " MiB");
  if (kMemoryMeasurable) BOOST_TEST(rss.max_mib() < 96u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  const auto lines = read_lines(node.session_file());
  BOOST_TEST(count_containing(lines, "Amplifier            a record after the attack") == 1u);
  // Every record of the attack is in the file or reported lost (the stats count the
  // node's own records too).
  BOOST_TEST(count_containing(lines, "Amplifier            x") +
                 sum_reported(lines, "Logging Service      lost ", " records from amplifier") ==
             3 * records);
}

// 300 messages of 3 MB each cost ~9 MB inside the node and killed it: the ring, the
// entry pool and the writer queue were bounded in entries only, and a slot or a
// pooled entry kept the buffer of the largest text it ever held (a 2 MB message
// left the node at 1.2 GB for good). Now the bus takes no message over
// max_message_bytes (about 490 KiB), a hand-made record up to that is cut at 256 KiB, the ring
// and the writer queue hold at most max_memory_bytes and max_queue_bytes, the pool
// gives back oversize buffers, and the node's memory comes back down after.
BOOST_AUTO_TEST_CASE(large_records_stay_within_the_byte_budgets_and_their_memory_comes_back) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus,
               "deduplication_window = 0\nmax_memory_logs = 100000\nmax_queue_size = 100000\n"
               "max_memory_bytes = 4194304\nmax_queue_bytes = 8388608\n");
  cap_address_space(node.process->pid(), 1024 * kMiB);
  std::uint64_t before_kib = status_kib(node.process->pid(), "RssAnon");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  std::uint64_t sent = 0;
  std::uint64_t rss_max_mib = 0;
  {
    RssWatch rss(node.process->pid());
    const std::string huge(400'000, 'H');  // over the record cap, under the bus's
    for (int i = 0; i < 300; ++i) publisher.send_record(make_record("big", 1, ++sent, huge));
    const std::string at_cap(bus::kDefaultMaxRecordBytes - 100, 'C');
    for (int i = 0; i < 600; ++i) publisher.send_record(make_record("big", 1, ++sent, at_cap));
    // A record that gets through once the bus has room again: what was lost before
    // it shows as a gap.
    std::this_thread::sleep_for(500ms);
    publisher.send_record(make_record("big", 1, ++sent, "after the large ones"));
    const auto seen = stats.wait_until(
        [&](const bus::LoggingStats& s) { return s.received + s.lost >= sent && s.queue_depth == 0; }, 60s);
    BOOST_TEST_REQUIRE(node.process->running(), node.process->output());
    BOOST_REQUIRE_MESSAGE(seen, "the node did not account for every record");
    BOOST_TEST(seen->malformed == 0u);
    rss_max_mib = rss.max_mib();
  }
  // Small records take the slots and pooled entries the large ones had.
  for (int i = 0; i < 20'000; ++i) publisher.send_record(make_record("big", 1, ++sent, "small " + std::to_string(i)));
  const auto seen = stats.wait_until(
      [&](const bus::LoggingStats& s) { return s.received + s.lost >= sent && s.queue_depth == 0; }, 60s);
  BOOST_REQUIRE(seen);
  std::this_thread::sleep_for(1500ms);
  const std::uint64_t after_kib = status_kib(node.process->pid(), "RssAnon");
  BOOST_TEST_MESSAGE("cantina-logd RssAnon: " << before_kib / 1024 << " MiB before, " << rss_max_mib
                                              << " MiB at most under 900 large records, " << after_kib / 1024
                                              << " MiB after");
  if (kMemoryMeasurable) {
    // ring 4 + queue 8 + pool 4 + what one message and one write take (a few MiB).
    BOOST_TEST(rss_max_mib < 48u);
    BOOST_TEST(after_kib / 1024 < 24u);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  // Every record is in the file or reported lost (the bus drops what does not fit
  // its byte budget: a sequence gap); every large one that arrived was cut.
  const auto lines = read_lines(node.session_file());
  std::uint64_t in_file = 0;
  for (const auto& line : lines) {
    if (line.find("Big                  ") == std::string::npos) continue;
    ++in_file;
    if (line.find("HHHH") != std::string::npos) {
      BOOST_TEST(line.find("HHHH\xe2\x80\xa6 [truncated ") != std::string::npos);
      BOOST_TEST(line.size() < bus::kDefaultMaxRecordBytes + 200);
    }
  }
  BOOST_TEST(in_file + sum_reported(lines, "Logging Service      lost ", " records from big") == sent);
  BOOST_TEST(seen->dropped == 0u);
}

namespace {

// Sends `query` on a fresh REQ socket and waits up to `timeout` for the reply.
std::optional<bus::HistoryReply> ask(zmq::context_t& context, const std::string& endpoint, const std::string& query,
                                     std::chrono::milliseconds timeout) {
  zmq::socket_t request(context, zmq::socket_type::req);
  request.set(zmq::sockopt::linger, 0);
  request.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
  request.connect(endpoint);
  request.send(zmq::buffer(query), zmq::send_flags::none);
  zmq::message_t reply;
  if (!request.recv(reply, zmq::recv_flags::none)) return std::nullopt;
  auto decoded = bus::decode_history_reply({static_cast<const std::byte*>(reply.data()), reply.size()});
  if (!decoded) return std::nullopt;
  return std::move(*decoded.value);
}

// Fills the node's history with `count` records of `bytes` bytes each and waits
// until the node has them.
void fill_history(RawPublisher& publisher, StatsWatcher& stats, std::uint64_t count, std::size_t bytes) {
  const std::string text(bytes, 'r');
  for (std::uint64_t i = 1; i <= count; ++i) publisher.send_record(make_record("filler", 5, i, text));
  BOOST_REQUIRE(stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= count; }, 30s));
}

}  // namespace

// A DEALER that sent 450 HistoryQuery{limit = 0} and never read made the node hold
// every ~4 MB reply until it died, and the queries were answered on the receive
// thread. Now the history thread answers, a reply holds at most 4 MiB, a client's
// queue holds 2 replies, and replies not yet taken by their readers take at most
// 16 MiB in all ("busy" replies beyond; both refusals are counted on stderr): the
// node's memory stays bounded, records
// keep flowing, and another client is still answered once the attacker leaves.
BOOST_AUTO_TEST_CASE(a_client_that_never_reads_its_history_replies_cannot_grow_the_node) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\nmax_memory_logs = 3000\n");
  cap_address_space(node.process->pid(), 1024 * kMiB);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  fill_history(publisher, stats, 3000, 2500);  // 7.5 MB of history: every reply is cut at 4 MiB
  const std::uint64_t filled = stats.latest()->received;

  RssWatch rss(node.process->pid());
  {
    zmq::socket_t attacker(context, zmq::socket_type::dealer);
    attacker.set(zmq::sockopt::rcvhwm, 1);  // its own queue does not soak up the replies
    attacker.set(zmq::sockopt::rcvbuf, 4096);
    attacker.set(zmq::sockopt::linger, 0);
    attacker.connect(node.query_endpoint);
    const std::string query = bus::encode(bus::HistoryQuery{});
    for (int i = 0; i < 450; ++i) {
      attacker.send(zmq::str_buffer(""), zmq::send_flags::sndmore);  // the REQ envelope
      attacker.send(zmq::buffer(query), zmq::send_flags::none);
    }
    // Meanwhile the receive thread takes records as ever.
    const auto sent_at = std::chrono::steady_clock::now();
    for (std::uint64_t i = 1; i <= 1000; ++i) publisher.send_record(make_record("during", 6, i, "while attacked"));
    BOOST_TEST(
        stats.wait_until([&](const bus::LoggingStats& s) { return s.received >= filled + 1000; }, 10s).has_value());
    BOOST_TEST_MESSAGE(
        "1,000 records taken "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent_at).count()
        << " ms after they were sent, during the attack");
    std::this_thread::sleep_for(3s);  // the node has worked through the attacker's queries it could take
    BOOST_TEST_REQUIRE(node.process->running(), node.process->output());
    // What the node refused the attacker is counted and said.
    BOOST_TEST(node.process->wait_for_output("replies not queued (their client does not read them", 12s),
               node.process->output());
  }  // the attacker leaves: ZeroMQ frees what it held for it

  // Another client is answered, with the newest entries that fit in 4 MiB.
  std::optional<bus::HistoryReply> reply;
  for (int attempt = 0; attempt < 20 && !(reply && reply->error.empty()); ++attempt) {
    reply = ask(context, node.query_endpoint, bus::encode(bus::HistoryQuery{}), 3s);
    if (!reply || !reply->error.empty()) std::this_thread::sleep_for(250ms);
  }
  BOOST_REQUIRE(reply);
  BOOST_TEST(reply->error == "");
  BOOST_TEST(reply->truncated);
  BOOST_TEST(reply->entries.size() > 1000u);
  BOOST_TEST(reply->entries.size() < 3000u);
  BOOST_TEST(reply->entries.back().message == "while attacked");
  BOOST_TEST_MESSAGE("cantina-logd RssAnon max " << rss.max_mib() << " MiB under the attack");
  // history 16 + replies held 16 + one being built (~12) + fixed.
  if (kMemoryMeasurable) BOOST_TEST(rss.max_mib() < 72u);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

// A query the node cannot answer gets an error reply at once; `limit` never passes
// max_memory_logs (0 means it).
BOOST_AUTO_TEST_CASE(a_bad_or_oversize_history_query_gets_an_error_reply_at_once) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\nmax_memory_logs = 50\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  fill_history(publisher, stats, 100, 10);

  auto started = std::chrono::steady_clock::now();
  auto reply = ask(context, node.query_endpoint, "not a query", 2s);
  BOOST_REQUIRE(reply);
  BOOST_TEST(reply->error.starts_with("bad history query: "));
  BOOST_TEST(reply->entries.empty());

  bus::HistoryQuery many;
  for (int i = 0; i < 7000; ++i) many.services.push_back("service_" + std::to_string(i));
  reply = ask(context, node.query_endpoint, bus::encode(many), 2s);
  BOOST_REQUIRE(reply);
  BOOST_TEST(reply->error.find("list too long") != std::string::npos, reply->error);

  bus::HistoryQuery long_text;
  long_text.text = std::string(5000, 't');
  reply = ask(context, node.query_endpoint, bus::encode(long_text), 2s);
  BOOST_REQUIRE(reply);
  BOOST_TEST(reply->error == "bad history query: history query text is 5000 bytes, at most 1024");
  BOOST_TEST((std::chrono::steady_clock::now() - started < 3s));

  for (std::uint32_t limit : {0u, 1'000'000u}) {
    bus::HistoryQuery query;
    query.limit = limit;
    reply = ask(context, node.query_endpoint, bus::encode(query), 2s);
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->error == "");
    BOOST_TEST(reply->entries.size() == 50u);
    BOOST_TEST(!reply->truncated);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

// busd remembers how far each publisher of log messages got (to restate it after
// a loss): a peer that sends every record under a new publisher id, with the
// longest service id, must not grow it beyond its bound of publishers.
BOOST_AUTO_TEST_CASE(a_flood_of_new_publisher_ids_cannot_grow_the_bus) {
  TempDir dir;
  // The smallest budget: what busd holds for the node is 4 MiB at most, so what
  // grows beyond is the publishers it remembers.
  Bus bus(dir.path(), "[bus]\nmax_queue_bytes = " + std::to_string(4 * kMiB) + "\n");
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\nenable_dashboard_streaming = false\n");
  cap_address_space(bus.process.pid(), 1024 * kMiB);
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  const std::uint64_t before_kib = status_kib(bus.process.pid(), "RssAnon");
  const std::string service(128, 's');  // the longest service id
  constexpr std::uint64_t kPublishers = 200'000;
  std::uint64_t rss_max_mib = 0;
  {
    RssWatch rss(bus.process.pid());
    for (std::uint64_t id = 1; id <= kPublishers; ++id) publisher.send_record(make_record(service, id, 1, "x"));
    // Some are dropped over the budget (a new publisher's first record cannot show
    // as a gap): wait until the node takes nothing more, and a restating round is done.
    std::uint64_t last = 0;
    for (int i = 0; i < 60; ++i) {
      std::this_thread::sleep_for(2s);
      const auto seen = stats.latest();
      if (seen && seen->received == last && last > 0) break;
      if (seen) last = seen->received;
    }
    BOOST_TEST(last > 0u);
    rss_max_mib = rss.max_mib();
  }
  BOOST_TEST_REQUIRE(bus.process.running(), bus.process.output());
  BOOST_TEST_MESSAGE("cantina-busd RssAnon: " << before_kib / 1024 << " MiB before, " << rss_max_mib
                                              << " MiB at most under " << kPublishers << " publisher ids");
  // The budget and 10,000 remembered publishers of ~140-byte keys (and one
  // round's copy of them): about 10 MiB; 200,000 kept would be over 50 MiB.
  if (kMemoryMeasurable) BOOST_TEST(rss_max_mib <= before_kib / 1024 + 24);
}

BOOST_AUTO_TEST_SUITE_END()
