// cantina-bench-raw: the null baseline. Plain ZeroMQ publishers and one
// subscriber through the real cantina-busd, with the same topic shape and the same
// payload size as a LogRecord of the pipeline, and nothing else: no Logger, no
// Cap'n Proto, no logging node, no disk. What the subscriber receives per second
// is the ceiling the pipeline is measured against.
//
//   pub --publish EP --publisher K --count N --payload-bytes B [--rate R] [--start-at NS]
//       An XPUB socket (like the Logger's) with the bus's default high-water mark;
//       waits until the bus reports a subscriber, then sends N [topic][payload]
//       messages; the payload starts with (K, sequence).
//   sub --subscribe EP --publishers P --count N [--idle-timeout S]
//       A SUB socket; counts per publisher what arrives, exactly once or not, and
//       the receive rate from the first message to the last.
//   wakeups [--rate R] [--seconds S]
//       What one wake-up costs this machine, in CPU time of the thread woken: a
//       thread sleeping in poll(2) woken by its timeout (as a node's timer), and
//       one woken by an eventfd another thread writes (as ZeroMQ's signals and the
//       nodes' queues), R times a second each (default 100) for S seconds (5).
//   collide --publish EP --subscribe EP --busd-pid PID [--crafted 0|1] [--rounds R]
//       A hostile publisher's cost to busd: log messages from 9,000 publisher ids,
//       R rounds (default 5), each id chosen (--crafted 1, the default) so that
//       std::hash puts busd's key for it (service id, '\0', the id's 8 bytes) in
//       one bucket of a table of 9,000 keys, or ordinary ids (--crafted 0); prints
//       busd's CPU per message, read from /proc/PID/stat.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "bench_common.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/socket.h"

namespace {

namespace bench = cantina::bench;

constexpr const char* kTool = "cantina-bench-raw";
constexpr std::string_view kTopicPrefix = "/log/bench_raw_p";

// Waits, at most 10 s, until a subscription to `topic` comes up through the bus to
// the XPUB socket `socket` (no slow-joiner loss); says so, and false, if none does.
bool wait_for_subscriber(zmq::socket_t& socket, std::string_view topic) {
  bool subscribed = false;
  const std::int64_t give_up = bench::monotonic_ns() + 10'000'000'000;
  while (!subscribed && bench::monotonic_ns() < give_up) {
    zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    zmq::message_t message;
    while (socket.recv(message, zmq::recv_flags::dontwait)) {
      const auto* data = static_cast<const char*>(message.data());
      if (message.size() > 0 && data[0] == 1 && topic.starts_with(std::string_view(data + 1, message.size() - 1))) {
        subscribed = true;
      }
    }
  }
  if (!subscribed) std::cerr << kTool << ": no subscriber after 10 s\n";
  return subscribed;
}

int run_pub(bench::Args& args) {
  const std::string endpoint = args.text("publish");
  const auto publisher = static_cast<std::uint64_t>(args.integer("publisher", 0));
  const auto count = static_cast<std::uint64_t>(args.integer("count", 1'000'000));
  const auto payload_bytes = static_cast<std::size_t>(std::max<std::int64_t>(16, args.integer("payload-bytes", 256)));
  const double rate = args.real("rate", 0);
  const std::int64_t start_at = args.integer("start-at", 0);
  args.finish(kTool);

  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::xpub);
  socket.set(zmq::sockopt::sndhwm, cantina::bus::kDefaultHighWaterMark);
  socket.set(zmq::sockopt::linger, 10000);
  socket.connect(endpoint);
  const std::string topic = std::string(kTopicPrefix) + std::to_string(publisher);

  const bool subscribed = wait_for_subscriber(socket, topic);
  if (start_at > bench::realtime_ns()) bench::sleep_until_realtime(start_at);
  std::cout << "ready" << std::endl;

  std::string payload(payload_bytes, '\0');
  std::memcpy(payload.data(), &publisher, sizeof publisher);
  const std::int64_t started = bench::monotonic_ns();
  const double interval_ns = rate > 0 ? 1e9 / rate : 0.0;
  std::uint64_t refused = 0;
  for (std::uint64_t sequence = 1; sequence <= count; ++sequence) {
    if (interval_ns > 0) {
      const auto due = started + static_cast<std::int64_t>(static_cast<double>(sequence - 1) * interval_ns);
      const std::int64_t now = bench::monotonic_ns();
      if (now < due) bench::sleep_for_ns(due - now);
    }
    std::memcpy(payload.data() + 8, &sequence, sizeof sequence);
    const bool sent = socket.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                      socket.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    if (!sent) ++refused;
  }
  const std::int64_t finished = bench::monotonic_ns();
  const double elapsed = static_cast<double>(finished - started) / 1e9;
  bench::Result result;
  result.add("mode", "raw-pub")
      .add("publisher", publisher)
      .add("count", count)
      .add("payload_bytes", static_cast<std::uint64_t>(payload_bytes))
      .add("subscribed", subscribed)
      .add("refused", refused)
      .add("elapsed_s", elapsed)
      .add("send_rate", elapsed > 0 ? static_cast<double>(count) / elapsed : 0.0);
  result.print();
  socket.close();  // lingers until what is queued has gone out (at most 10 s)
  return 0;
}

int run_sub(bench::Args& args) {
  const std::string endpoint = args.text("subscribe");
  const auto publishers = static_cast<std::size_t>(args.integer("publishers", 1));
  const auto count = static_cast<std::uint64_t>(args.integer("count", 1'000'000));
  const double idle_timeout = args.real("idle-timeout", 1.0);
  const double max_seconds = args.real("max-seconds", 120.0);
  args.finish(kTool);

  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::sub);
  socket.set(zmq::sockopt::rcvhwm, cantina::bus::kDefaultHighWaterMark);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::subscribe, kTopicPrefix);
  socket.connect(endpoint);
  std::cout << "ready" << std::endl;

  std::vector<std::vector<bool>> seen(publishers, std::vector<bool>(count + 1, false));
  std::uint64_t received = 0, unique = 0, duplicates = 0, unexpected = 0, bad_frames = 0;
  const std::uint64_t expected = count * publishers;
  const std::int64_t started = bench::monotonic_ns();
  std::int64_t first = 0, last = 0;
  zmq::message_t topic, payload;
  while (unique < expected) {
    zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(100));
    const std::int64_t now = bench::monotonic_ns();
    if (received == 0 && now - started > static_cast<std::int64_t>(max_seconds * 1e9)) break;
    if (received > 0 && now - last > static_cast<std::int64_t>(idle_timeout * 1e9)) break;
    while (socket.recv(topic, zmq::recv_flags::dontwait)) {
      int frames = 1;
      bool more = topic.more();
      if (more) {
        (void)socket.recv(payload, zmq::recv_flags::none);  // the rest of a message is already here
        ++frames;
        more = payload.more();
      }
      while (more) {
        zmq::message_t extra;
        (void)socket.recv(extra, zmq::recv_flags::none);
        ++frames;
        more = extra.more();
      }
      if (frames != 2 || payload.size() < 16) {
        ++bad_frames;
        continue;
      }
      last = bench::monotonic_ns();
      if (received++ == 0) first = last;
      std::uint64_t publisher = 0, sequence = 0;
      std::memcpy(&publisher, payload.data(), sizeof publisher);
      std::memcpy(&sequence, static_cast<const char*>(payload.data()) + 8, sizeof sequence);
      if (publisher >= publishers || sequence == 0 || sequence > count) {
        ++unexpected;
      } else if (seen[publisher][sequence]) {
        ++duplicates;
      } else {
        seen[publisher][sequence] = true;
        ++unique;
      }
    }
  }
  const double elapsed = static_cast<double>(last - first) / 1e9;
  bench::Result result;
  result.add("mode", "raw-sub")
      .add("expected", expected)
      .add("received", received)
      .add("unique", unique)
      .add("lost", expected - unique)
      .add("duplicates", duplicates)
      .add("unexpected", unexpected)
      .add("bad_frames", bad_frames)
      .add("elapsed_s", elapsed)
      .add("receive_rate", elapsed > 0 ? static_cast<double>(unique) / elapsed : 0.0);
  result.print();
  return 0;
}

std::int64_t thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

int run_wakeups(bench::Args& args) {
  const std::int64_t rate = std::clamp<std::int64_t>(args.integer("rate", 100), 1, 1000);
  const double seconds = std::max(0.1, args.real("seconds", 5));
  args.finish(kTool);
  const auto wakes = static_cast<std::int64_t>(seconds * static_cast<double>(rate));
  const auto period = std::chrono::nanoseconds(1'000'000'000 / rate);

  // Woken by its own timeout: poll(2) on nothing for one period.
  const std::int64_t timer_start = thread_cpu_ns();
  for (std::int64_t i = 0; i < wakes; ++i) ::poll(nullptr, 0, static_cast<int>(1000 / rate));
  const double timer_us = static_cast<double>(thread_cpu_ns() - timer_start) / 1000.0 / static_cast<double>(wakes);

  // Woken by another thread: an eventfd written once a period.
  const int event = ::eventfd(0, 0);
  if (event < 0) throw std::runtime_error("eventfd failed");
  std::atomic<double> event_us{0};
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    const std::int64_t start = thread_cpu_ns();
    std::int64_t woken = 0;
    pollfd item{event, POLLIN, 0};
    while (!done.load()) {
      if (::poll(&item, 1, 1000) <= 0) continue;
      std::uint64_t value = 0;
      if (::read(event, &value, sizeof value) == sizeof value) ++woken;
    }
    event_us = woken > 0 ? static_cast<double>(thread_cpu_ns() - start) / 1000.0 / static_cast<double>(woken) : 0.0;
  });
  for (std::int64_t i = 0; i < wakes; ++i) {
    std::this_thread::sleep_for(period);
    const std::uint64_t one = 1;
    (void)!::write(event, &one, sizeof one);
  }
  done = true;
  const std::uint64_t one = 1;
  (void)!::write(event, &one, sizeof one);
  waiter.join();
  ::close(event);

  bench::Result result;
  result.add("mode", "wakeups")
      .add("wakes", wakes)
      .add("timer_wake_us", timer_us)
      .add("event_wake_us", event_us.load());
  result.print();
  return 0;
}

// User and system CPU time of process `pid`, in seconds (/proc/PID/stat).
double process_cpu_seconds(std::int64_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) throw std::runtime_error("no process " + std::to_string(pid));
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i >= 11) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int run_collide(bench::Args& args) {
  const std::string publish = args.text("publish");
  const std::string subscribe = args.text("subscribe");
  const std::int64_t busd = args.integer("busd-pid", 0);
  const bool crafted = args.integer("crafted", 1) != 0;
  const auto rounds = static_cast<std::uint64_t>(std::max<std::int64_t>(1, args.integer("rounds", 5)));
  args.finish(kTool);
  constexpr std::size_t kIds = 9000;  // under busd's 10,000, so none is forgotten
  constexpr std::string_view kService = "collide";

  // The bucket count std::unordered_map has with kIds keys (deterministic).
  std::unordered_map<std::string, int> sized;
  for (std::size_t i = 0; i < kIds; ++i) sized.emplace(std::to_string(i), 0);
  const std::size_t buckets = sized.bucket_count();
  std::vector<std::uint64_t> ids;
  std::string key(kService);
  key += '\0';
  const std::size_t prefix = key.size();
  std::size_t target = 0;
  for (std::uint64_t id = 1; ids.size() < kIds; ++id) {
    key.resize(prefix);
    key.append(reinterpret_cast<const char*>(&id), sizeof id);
    const std::size_t bucket = std::hash<std::string>{}(key) % buckets;
    if (ids.empty()) target = bucket;
    if (!crafted || bucket == target) ids.push_back(id);
  }

  zmq::context_t context(1);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, 0);
  sub.set(zmq::sockopt::subscribe, "/log/" + std::string(kService));  // before the publisher waits for it
  sub.connect(subscribe);
  const std::string topic = "/log/" + std::string(kService);
  zmq::socket_t pub(context, zmq::socket_type::xpub);
  pub.set(zmq::sockopt::sndhwm, 0);
  pub.connect(publish);
  if (!wait_for_subscriber(pub, topic)) return 1;

  const double before = process_cpu_seconds(busd);
  std::uint64_t sent = 0;
  for (std::uint64_t round = 1; round <= rounds; ++round) {
    for (const std::uint64_t id : ids) {
      cantina::bus::LogRecord record;
      record.timestamp_ns = 1;
      record.service = std::string(kService);
      record.message = "m";
      record.publisher_id = id;
      record.sequence = round;
      const std::string bytes = cantina::bus::encode(record);
      (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      (void)pub.send(zmq::buffer(bytes), zmq::send_flags::none);
      ++sent;
    }
  }
  std::uint64_t received = 0;
  zmq::message_t frame;
  while (received < sent) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) <= 0) break;
    while (sub.recv(frame, zmq::recv_flags::dontwait)) {
      if (!frame.more()) ++received;
    }
  }
  const double busd_seconds = process_cpu_seconds(busd) - before;

  bench::Result result;
  result.add("mode", "collide")
      .add("crafted", crafted)
      .add("buckets", static_cast<std::uint64_t>(buckets))
      .add("sent", sent)
      .add("received", received)
      .add("busd_cpu_s", busd_seconds)
      .add("busd_us_per_message", busd_seconds * 1e6 / static_cast<double>(sent));
  result.print();
  return received == sent ? 0 : 1;
}

constexpr const char* kUsage =
    "usage: cantina-bench-raw pub|sub|wakeups|collide [--option value ...] (see tools/bench/raw_main.cpp)\n";

}  // namespace

int main(int argc, char** argv) {
  if (bench::wants_help(argc, argv)) {
    std::cout << kUsage;
    return 0;
  }
  const std::string mode = argc > 1 ? argv[1] : "";
  bench::Args args(argc, argv, 2);
  try {
    if (mode == "pub") return run_pub(args);
    if (mode == "sub") return run_sub(args);
    if (mode == "wakeups") return run_wakeups(args);
    if (mode == "collide") return run_collide(args);
  } catch (const std::exception& error) {
    std::cerr << kTool << " " << mode << ": " << error.what() << "\n";
    return 1;
  }
  std::cerr << kUsage;
  return 2;
}
