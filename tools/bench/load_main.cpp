// cantina-bench-load: load generators and checkers for tools/bench/bench.py.
//
//   publish    one service logging through the real cantina::bus::Logger at a
//              given rate (or as fast as it can), records as in load_pattern.h;
//              with --idle-seconds, then idle that long with its Logger open (an
//              idle service; --count 0 logs only the ready record)
//   call-cost  the cost of one Logger call in the calling thread, timed call by call
//   dash-sub   a /dashboard/log subscriber (both forms): publish -> logging node -> subscriber latency
//   verify     reads a session file back and checks every (publisher, sequence) and
//              every repeat count
//   wire-size  the size of one encoded LogRecord as `publish` sends it (for the raw
//              ZeroMQ baseline of cantina-bench-raw)
//   wait-stats waits until the logging node's /logging/stats account for N records
//
// publish stops early on SIGTERM or SIGINT: it logs no more records, flushes the
// Logger and prints its result as usual (the soak counts on "logged").
//
// Each mode prints "ready" on stdout when the driver may go on (publish and
// call-cost: once the bus knows a subscriber and the start time has come; dash-sub:
// once its subscription reached the logging node) and ends with one
// `result {json}` line. Progress and problems go to stderr.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bench_common.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "load_pattern.h"

namespace {

namespace bench = cantina::bench;
namespace bus = cantina::bus;

constexpr const char* kTool = "cantina-bench-load";

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) {
  stop_requested = 1;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Logs record `sequence` of `pattern` for publisher `publisher` with the Logger's
// "{}" formatting, as a service would. With `logger` null it only returns the
// call site (for wire-size).
std::source_location log_record(bus::Logger* logger, const bench::LoadPattern& pattern, std::uint64_t publisher,
                                std::uint64_t sequence) {
  const std::int64_t key = pattern.repeat_key(sequence);
  // "bench " + tag + " p" + K + " s"/" r" + S/J + " "
  const std::uint64_t fixed = 6 + pattern.tag.size() + 2 + bench::decimal_digits(publisher) + 2 + 1;
  if (logger == nullptr) return std::source_location::current();
  if (key < 0) {
    logger->info("bench {} p{} s{} {}", pattern.tag, publisher, sequence,
                 pattern.padding(fixed + bench::decimal_digits(sequence)));
  } else {
    const auto repeat_key = static_cast<std::uint64_t>(key);
    logger->info("bench {} p{} r{} {}", pattern.tag, publisher, repeat_key,
                 pattern.padding(fixed + bench::decimal_digits(repeat_key)));
  }
  return {};
}

bench::LoadPattern pattern_from(bench::Args& args) {
  bench::LoadPattern pattern;
  pattern.tag = args.text("tag", "t");
  pattern.size = static_cast<std::uint64_t>(args.integer("size", 128));
  pattern.repeat_per_mille = static_cast<std::uint64_t>(args.integer("repeat-per-mille", 0));
  pattern.repeat_keys = static_cast<std::uint64_t>(args.integer("repeat-keys", 10));
  return pattern;
}

// Creates the Logger, logs the "ready" record and waits until it has been handed
// to ZeroMQ (which the Logger does only once the bus reports a subscriber), then
// until `start_at_ns` (CLOCK_REALTIME; 0 = now). Returns how late the start was (ns).
std::int64_t get_ready(bus::Logger& logger, const bench::LoadPattern& pattern, std::uint64_t publisher,
                       std::int64_t start_at_ns, bool& subscribed) {
  logger.info("bench {} p{} ready", pattern.tag, publisher);
  subscribed = logger.flush(std::chrono::seconds(10)) && logger.counters().published == 1;
  if (!subscribed) std::cerr << kTool << ": no subscriber for the log topic after 10 s\n";
  const std::int64_t now = bench::realtime_ns();
  std::int64_t late = 0;
  if (start_at_ns > now)
    bench::sleep_until_realtime(start_at_ns);
  else if (start_at_ns != 0)
    late = now - start_at_ns;
  std::cout << "ready" << std::endl;
  return late;
}

bus::LoggerOptions logger_options(bench::Args& args, std::uint64_t publisher) {
  bus::LoggerOptions options;
  options.service = args.text("service", "bench_p" + std::to_string(publisher));
  options.publish_endpoint = args.text("publish");
  options.queue_capacity = static_cast<std::size_t>(args.integer("queue-capacity", 65536));
  options.shutdown_timeout = std::chrono::milliseconds(10000);
  // As [bus] logger_linger_unwatched_ms (0 to 1,000): what a longer wait costs and saves.
  const std::int64_t linger = args.integer("linger-unwatched", options.batch_linger_unwatched.count());
  if (linger < 0 || linger > 1000) throw std::invalid_argument("--linger-unwatched must be 0 to 1000 ms");
  options.batch_linger_unwatched = std::chrono::milliseconds(linger);
  return options;
}

int run_publish(bench::Args& args) {
  const auto publisher = static_cast<std::uint64_t>(args.integer("publisher", 0));
  const auto count = static_cast<std::uint64_t>(args.integer("count", 100000));
  const double rate = args.real("rate", 0);  // records/s of this process; 0 = as fast as possible
  const std::int64_t start_at = args.integer("start-at", 0);
  const double idle_seconds = args.real("idle-seconds", 0);
  const bench::LoadPattern pattern = pattern_from(args);
  bus::LoggerOptions options = logger_options(args, publisher);
  args.finish(kTool);

  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  zmq::context_t context(1);
  bus::Logger logger(context, options);
  bool subscribed = false;
  const std::int64_t late_ns = get_ready(logger, pattern, publisher, start_at, subscribed);

  const double cpu_before = cpu_seconds();
  const std::int64_t started_realtime = bench::realtime_ns();
  const std::int64_t started = bench::monotonic_ns();
  const double interval_ns = rate > 0 ? 1e9 / rate : 0.0;
  std::uint64_t sleeps = 0;
  std::uint64_t logged = 0;
  for (std::uint64_t sequence = 1; sequence <= count && stop_requested == 0; ++sequence) {
    if (interval_ns > 0) {
      const auto due = started + static_cast<std::int64_t>(static_cast<double>(sequence - 1) * interval_ns);
      const std::int64_t now = bench::monotonic_ns();
      if (now < due) {
        bench::sleep_for_ns(due - now);
        ++sleeps;
      }
    }
    log_record(&logger, pattern, publisher, sequence);
    logged = sequence;
  }
  const std::int64_t finished = bench::monotonic_ns();
  const std::int64_t idle_until = finished + static_cast<std::int64_t>(idle_seconds * 1e9);
  while (stop_requested == 0 && bench::monotonic_ns() < idle_until) {
    bench::sleep_for_ns(std::min<std::int64_t>(idle_until - bench::monotonic_ns(), 1'000'000'000));
  }
  const bool flushed = logger.flush(std::chrono::seconds(60));
  const double cpu_used = cpu_seconds() - cpu_before;
  const auto counters = logger.counters();
  const double elapsed = static_cast<double>(finished - started) / 1e9;

  bench::Result result;
  result.add("mode", "publish")
      .add("publisher", publisher)
      .add("publisher_id", std::to_string(logger.publisher_id()))
      .add("tag", pattern.tag)
      .add("count", count)
      .add("stopped_early", logged < count)
      .add("offered_rate", rate)
      .add("elapsed_s", elapsed)
      .add("achieved_rate", elapsed > 0 ? static_cast<double>(logged) / elapsed : 0.0)
      .add("late_start_ms", static_cast<double>(late_ns) / 1e6)
      .add("subscribed", subscribed)
      .add("flushed", flushed)
      .add("logged", counters.logged - 1)  // without the ready record
      .add("published", counters.published - 1)
      .add("dropped", counters.dropped)
      .add("sleeps", sleeps)
      .add("cpu_s", cpu_used)
      .add("start_realtime_ns", started_realtime);
  result.print();
  return 0;
}

int run_call_cost(bench::Args& args) {
  const auto publisher = static_cast<std::uint64_t>(args.integer("publisher", 0));
  const auto count = static_cast<std::uint64_t>(args.integer("count", 1'000'000));
  // Calls per second in bursts of rate/1000 every millisecond; 0 = back to back.
  const double rate = args.real("rate", 0);
  const std::int64_t start_at = args.integer("start-at", 0);
  const bench::LoadPattern pattern = pattern_from(args);
  bus::LoggerOptions options = logger_options(args, publisher);
  args.finish(kTool);

  // What timing itself costs: an empty pair of clock reads.
  std::vector<std::uint32_t> empty(100000);
  for (auto& sample : empty) {
    const std::int64_t t0 = bench::monotonic_ns();
    const std::int64_t t1 = bench::monotonic_ns();
    sample = static_cast<std::uint32_t>(t1 - t0);
  }
  std::sort(empty.begin(), empty.end());

  zmq::context_t context(1);
  bus::Logger logger(context, options);
  bool subscribed = false;
  const std::int64_t late_ns = get_ready(logger, pattern, publisher, start_at, subscribed);

  std::vector<std::uint32_t> samples(count);
  const std::uint64_t burst = rate > 0 ? std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate / 1000)) : count;
  const std::int64_t started = bench::monotonic_ns();
  for (std::uint64_t sequence = 1; sequence <= count; ++sequence) {
    if (rate > 0 && (sequence - 1) % burst == 0) {
      const std::int64_t due = started + static_cast<std::int64_t>((sequence - 1) / burst) * 1'000'000;
      bench::sleep_for_ns(due - bench::monotonic_ns());
    }
    const std::int64_t t0 = bench::monotonic_ns();
    log_record(&logger, pattern, publisher, sequence);
    const std::int64_t t1 = bench::monotonic_ns();
    samples[sequence - 1] = static_cast<std::uint32_t>(std::min<std::int64_t>(t1 - t0, UINT32_MAX));
  }
  const std::int64_t finished = bench::monotonic_ns();
  const bool flushed = logger.flush(std::chrono::seconds(60));
  const auto counters = logger.counters();
  std::sort(samples.begin(), samples.end());
  long double total = 0;
  for (auto sample : samples) total += sample;

  bench::Result result;
  result.add("mode", "call-cost")
      .add("count", count)
      .add("rate", rate)
      .add("elapsed_s", static_cast<double>(finished - started) / 1e9)
      .add("late_start_ms", static_cast<double>(late_ns) / 1e6)
      .add("subscribed", subscribed)
      .add("flushed", flushed)
      .add("p50_ns", bench::sorted_percentile(samples, 0.50))
      .add("p90_ns", bench::sorted_percentile(samples, 0.90))
      .add("p99_ns", bench::sorted_percentile(samples, 0.99))
      .add("p999_ns", bench::sorted_percentile(samples, 0.999))
      .add("max_ns", samples.empty() ? 0u : samples.back())
      .add("mean_ns", samples.empty() ? 0.0 : static_cast<double>(total / static_cast<long double>(samples.size())))
      .add("timer_p50_ns", bench::sorted_percentile(empty, 0.50))
      .add("timer_p99_ns", bench::sorted_percentile(empty, 0.99))
      .add("logged", counters.logged - 1)
      .add("published", counters.published - 1)
      .add("dropped", counters.dropped);
  result.print();
  return 0;
}

// Parses "pK sS" / "pK rJ" / "pK ready" after "bench TAG ". Returns false if the
// text does not have that shape.
struct ParsedRecord {
  std::uint64_t publisher = 0;
  char kind = 0;  // 's' unique, 'r' repeat, 'y' ready
  std::uint64_t number = 0;
  std::string_view rest;  // after the number and its space
};

bool parse_record(std::string_view text, ParsedRecord& out) {
  if (text.empty() || text[0] != 'p') return false;
  auto [after_publisher, error] = std::from_chars(text.data() + 1, text.data() + text.size(), out.publisher);
  if (error != std::errc()) return false;
  std::string_view rest(after_publisher, static_cast<std::size_t>(text.data() + text.size() - after_publisher));
  if (rest.starts_with(" ready")) {
    out.kind = 'y';
    return true;
  }
  if (rest.size() < 3 || rest[0] != ' ' || (rest[1] != 's' && rest[1] != 'r')) return false;
  out.kind = rest[1];
  auto [after_number, number_error] = std::from_chars(rest.data() + 2, rest.data() + rest.size(), out.number);
  if (number_error != std::errc()) return false;
  out.rest = std::string_view(after_number, static_cast<std::size_t>(rest.data() + rest.size() - after_number));
  return true;
}

// Adds the number after `marker` in `line` to `total` if the marker is there.
void add_number_after(std::string_view line, std::string_view marker, std::uint64_t& total) {
  const auto at = line.find(marker);
  if (at == std::string_view::npos) return;
  std::uint64_t value = 0;
  const char* begin = line.data() + at + marker.size();
  if (std::from_chars(begin, line.data() + line.size(), value).ec == std::errc()) total += value;
}

int run_verify(bench::Args& args) {
  const std::string file = args.text("file");
  const auto publishers = static_cast<std::uint64_t>(args.integer("publishers", 1));
  const auto first_publisher = static_cast<std::uint64_t>(args.integer("first-publisher", 0));
  const auto count = static_cast<std::uint64_t>(args.integer("count", 0));  // per publisher
  const bench::LoadPattern pattern = pattern_from(args);
  args.finish(kTool);

  // What the publishers sent.
  std::uint64_t unique_expected = 0;
  std::vector<std::uint64_t> repeats_expected(pattern.repeat_keys, 0);  // per key, same for every publisher
  for (std::uint64_t sequence = 1; sequence <= count; ++sequence) {
    const std::int64_t key = pattern.repeat_key(sequence);
    if (key < 0)
      ++unique_expected;
    else
      ++repeats_expected[static_cast<std::size_t>(key)];
  }

  std::vector<std::vector<bool>> seen(publishers, std::vector<bool>(count + 1, false));
  std::vector<std::vector<std::uint64_t>> repeat_lines(publishers, std::vector<std::uint64_t>(pattern.repeat_keys, 0));
  std::vector<std::vector<std::uint64_t>> repeat_summarised(publishers,
                                                            std::vector<std::uint64_t>(pattern.repeat_keys, 0));
  std::uint64_t lines = 0, bytes = 0, found = 0, duplicates = 0, unexpected = 0, ready = 0, summaries = 0;
  std::uint64_t node_lost = 0, node_dropped = 0, node_malformed = 0, node_unstored = 0, other_lines = 0;
  const std::string marker = "bench " + pattern.tag + " ";

  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << kTool << ": cannot read " << file << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    bytes += line.size() + 1;
    const std::string_view view(line);
    const auto at = view.find(marker);
    ParsedRecord record;
    if (at == std::string_view::npos || !parse_record(view.substr(at + marker.size()), record)) {
      // The node's own report lines: "[time] WARNING  Logging Service      lost 5 records from ..."
      const auto own = view.find("] WARNING  Logging Service ");
      if (own != std::string_view::npos && view.size() > own + 2 + 30) {
        const std::string_view text = view.substr(own + 2 + 30);  // level (8), service (20), two spaces
        if (text.starts_with("lost "))
          add_number_after(text, "lost ", node_lost);
        else if (text.find("entries: writer queue full") != std::string_view::npos)
          add_number_after(text, "dropped ", node_dropped);
        else if (text.find("malformed messages") != std::string_view::npos)
          add_number_after(text, "dropped ", node_malformed);
        else if (text.find(" lines could not be stored") != std::string_view::npos)
          add_number_after(text, "", node_unstored);
      }
      ++other_lines;
      continue;
    }
    if (record.publisher < first_publisher || record.publisher >= first_publisher + publishers) {
      ++unexpected;
      continue;
    }
    const std::size_t p = record.publisher - first_publisher;
    if (record.kind == 'y') {
      ++ready;
    } else if (record.kind == 's') {
      if (record.number == 0 || record.number > count || pattern.repeat_key(record.number) >= 0) {
        ++unexpected;
      } else if (seen[p][record.number]) {
        ++duplicates;
      } else {
        seen[p][record.number] = true;
        ++found;
      }
    } else {
      if (record.number >= pattern.repeat_keys) {
        ++unexpected;
        continue;
      }
      const auto summary = record.rest.find(" (repeated ");
      if (summary == std::string_view::npos) {
        ++repeat_lines[p][record.number];
      } else {
        std::uint64_t repeats = 0;
        std::string_view number = record.rest.substr(summary + 11);
        std::from_chars(number.data(), number.data() + number.size(), repeats);
        repeat_summarised[p][record.number] += repeats;
        ++summaries;
      }
    }
  }

  std::uint64_t repeat_total_expected = 0, repeat_total_lines = 0, repeat_total_summarised = 0, mismatched = 0;
  std::string per_key = "[";
  for (std::size_t p = 0; p < publishers; ++p) {
    for (std::size_t key = 0; key < pattern.repeat_keys && pattern.repeat_per_mille > 0; ++key) {
      repeat_total_expected += repeats_expected[key];
      repeat_total_lines += repeat_lines[p][key];
      repeat_total_summarised += repeat_summarised[p][key];
      if (repeat_lines[p][key] + repeat_summarised[p][key] != repeats_expected[key]) ++mismatched;
      if (per_key.size() > 1) per_key += ',';
      per_key += "[" + std::to_string(p + first_publisher) + "," + std::to_string(key) + "," +
                 std::to_string(repeats_expected[key]) + "," + std::to_string(repeat_lines[p][key]) + "," +
                 std::to_string(repeat_summarised[p][key]) + "]";
    }
  }
  per_key += "]";
  const std::uint64_t unique_total = unique_expected * publishers;

  bench::Result result;
  result.add("mode", "verify")
      .add("lines", lines)
      .add("bytes", bytes)
      .add("unique_expected", unique_total)
      .add("unique_found", found)
      .add("unique_missing", unique_total - found)
      .add("duplicates", duplicates)
      .add("unexpected", unexpected)
      .add("ready_lines", ready)
      .add("repeat_expected", repeat_total_expected)
      .add("repeat_lines", repeat_total_lines)
      .add("repeat_summarised", repeat_total_summarised)
      .add("repeat_summaries", summaries)
      .add("repeat_keys_mismatched", mismatched)
      .add_raw("repeat_counts", per_key)  // [publisher, key, sent, lines, summarised]
      .add("other_lines", other_lines)
      .add("node_reported_lost", node_lost)
      .add("node_reported_dropped", node_dropped)
      .add("node_reported_malformed", node_malformed)
      .add("node_reported_unstored", node_unstored)
      .add("exactly_once", found == unique_total && duplicates == 0 && unexpected == 0 && mismatched == 0);
  result.print();
  return 0;
}

int run_dash_sub(bench::Args& args) {
  const std::string endpoint = args.text("subscribe");
  const std::string tag = args.text("tag", "t");
  const auto expect = static_cast<std::uint64_t>(args.integer("expect", 0));
  const double idle_timeout = args.real("idle-timeout", 3.0);
  const double max_seconds = args.real("max-seconds", 120.0);
  args.finish(kTool);

  zmq::context_t context(1);
  // A live view: /watching too, as the web bridge subscribes while a browser is
  // connected, so that the Loggers send within their watched linger.
  bus::Subscriber subscriber(context, endpoint,
                             {std::string(bus::topics::kDashboardLog), std::string(bus::topics::kLoggingStats),
                              std::string(bus::topics::kWatching)});
  // The stats topic was subscribed after /dashboard/log on the same socket: once a
  // stats message arrives, the logging node knows both subscriptions.
  const std::int64_t give_up = bench::monotonic_ns() + 15'000'000'000;
  bool ready = false;
  while (!ready && bench::monotonic_ns() < give_up) {
    auto message = subscriber.receive(std::chrono::milliseconds(100));
    ready = message && message->topic == bus::topics::kLoggingStats;
  }
  if (!ready) std::cerr << kTool << ": no /logging/stats within 15 s\n";
  std::cout << "ready" << std::endl;

  const std::string marker = "bench " + tag + " ";
  bench::Histogram latency;
  std::uint64_t other = 0, malformed = 0;
  const std::int64_t started = bench::monotonic_ns();
  std::int64_t last_seen = started;
  for (;;) {
    const std::int64_t now = bench::monotonic_ns();
    if (expect > 0 && latency.count() >= expect) break;
    if (now - started > static_cast<std::int64_t>(max_seconds * 1e9)) break;
    if (latency.count() > 0 && now - last_seen > static_cast<std::int64_t>(idle_timeout * 1e9)) break;
    auto message = subscriber.receive(std::chrono::milliseconds(100));
    if (!message) continue;
    auto dashboard = bus::topics::parse_dashboard_topic(message->topic);
    if (!dashboard) continue;
    const std::int64_t received = bench::realtime_ns();
    // One entry or a batch of them (what the logging node sends), read in place.
    const std::string error =
        bus::visit_dashboard_entries(message->bytes(), dashboard->batch, [&](const bus::DashboardLogView& entry) {
          if (!entry.message.starts_with(marker) || entry.message.find(" ready") != std::string_view::npos) {
            ++other;
            return;
          }
          latency.add_ns(received - entry.timestamp_ns);
          last_seen = bench::monotonic_ns();
        });
    if (!error.empty()) ++malformed;
  }
  bench::Result result;
  result.add("mode", "dash-sub")
      .add("expected", expect)
      .add("received", latency.count())
      .add("other_entries", other)
      .add("malformed", malformed)
      .add("subscribed", ready)
      .add_latency("latency", latency);
  result.print();
  return 0;
}

// Waits until the logging node's /logging/stats say it has taken `records` records
// (received + lost) and its writer queue is empty with `written` unchanged since the
// previous report; or until `received` has not moved for `idle` seconds. So the driver
// never stops the node while records are still on their way to it.
int run_wait_stats(bench::Args& args) {
  const std::string endpoint = args.text("subscribe");
  const auto records = static_cast<std::uint64_t>(args.integer("records", 0));
  const double idle_seconds = args.real("idle", 5.0);
  const double max_seconds = args.real("max-seconds", 600.0);
  args.finish(kTool);

  zmq::context_t context(1);
  bus::Subscriber subscriber(context, endpoint, {std::string(bus::topics::kLoggingStats)});
  std::cout << "ready" << std::endl;
  const std::int64_t started = bench::monotonic_ns();
  std::int64_t last_progress = started;
  std::optional<bus::LoggingStats> previous;
  bool reached = false;
  while (bench::monotonic_ns() - started < static_cast<std::int64_t>(max_seconds * 1e9)) {
    auto message = subscriber.receive(std::chrono::milliseconds(200));
    if (message) {
      auto stats = bus::decode_logging_stats(message->bytes());
      if (!stats) continue;
      const bus::LoggingStats& now = *stats.value;
      if (!previous || now.received != previous->received || now.written != previous->written) {
        last_progress = bench::monotonic_ns();
      }
      reached = now.received + now.lost >= records && now.queue_depth == 0 && previous &&
                previous->written == now.written && previous->session_id == now.session_id;
      previous = now;
      if (reached) break;
    }
    if (bench::monotonic_ns() - last_progress > static_cast<std::int64_t>(idle_seconds * 1e9)) break;
  }
  bench::Result result;
  result.add("mode", "wait-stats").add("reached", reached);
  if (previous) {
    result.add("received", previous->received)
        .add("lost", previous->lost)
        .add("written", previous->written)
        .add("dropped", previous->dropped)
        .add("deduplicated", previous->deduplicated)
        .add("queue_depth", previous->queue_depth);
  }
  result.print();
  return 0;
}

int run_wire_size(bench::Args& args) {
  const bench::LoadPattern pattern = pattern_from(args);
  const auto publisher = static_cast<std::uint64_t>(args.integer("publisher", 0));
  const auto sequence = static_cast<std::uint64_t>(args.integer("sequence", 100000));
  args.finish(kTool);
  const std::source_location where = log_record(nullptr, pattern, publisher, sequence);
  const std::string service = "bench_p" + std::to_string(publisher);
  std::string message =
      "bench " + pattern.tag + " p" + std::to_string(publisher) + " s" + std::to_string(sequence) + " ";
  message += pattern.padding(message.size());
  const std::string thread = "cantina-bench-l:" + std::to_string(getpid());
  bus::LogRecordView view;
  view.timestamp_ns = bus::now_ns();
  view.service = service;
  view.logger = service;
  view.message = message;
  view.host = bus::host_name();
  view.pid = static_cast<std::uint32_t>(getpid());
  view.publisher_id = 0x1234567890abcdefULL;
  view.sequence = sequence;
  view.file = where.file_name();
  view.line = where.line();
  view.function = where.function_name();
  view.thread = thread;
  std::string payload;
  bus::encode_into(view, payload);
  const std::string topic = bus::topics::log_topic(service);
  bench::Result result;
  result.add("mode", "wire-size")
      .add("message_bytes", static_cast<std::uint64_t>(message.size()))
      .add("topic_bytes", static_cast<std::uint64_t>(topic.size()))
      .add("payload_bytes", static_cast<std::uint64_t>(payload.size()));
  result.print();
  return 0;
}

void usage(std::ostream& out) {
  out << "usage: cantina-bench-load MODE [--option value ...]\n"
         "  publish   --publish EP --publisher K --count N [--rate R] [--size B] [--tag T]\n"
         "            [--repeat-per-mille M] [--repeat-keys J] [--start-at NS] [--queue-capacity Q]\n"
         "            [--idle-seconds S] [--service ID] [--linger-unwatched MS]\n"
         "  call-cost --publish EP --count N [--rate R] [--size B] [--tag T] [--start-at NS]\n"
         "  dash-sub  --subscribe EP --tag T [--expect N] [--idle-timeout S] [--max-seconds S]\n"
         "  verify    --file F --publishers P --count N [--first-publisher K] [--tag T] [--repeat-per-mille M]\n"
         "  wire-size [--size B] [--tag T]\n"
         "  wait-stats --subscribe EP --records N [--idle S] [--max-seconds S]\n"
         "Driven by tools/bench/bench.py; see docs/PERFORMANCE.md.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (bench::wants_help(argc, argv)) {
    usage(std::cout);
    return 0;
  }
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string mode = argv[1];
  bench::Args args(argc, argv, 2);
  try {
    if (mode == "publish") return run_publish(args);
    if (mode == "call-cost") return run_call_cost(args);
    if (mode == "dash-sub") return run_dash_sub(args);
    if (mode == "verify") return run_verify(args);
    if (mode == "wire-size") return run_wire_size(args);
    if (mode == "wait-stats") return run_wait_stats(args);
  } catch (const std::exception& error) {
    std::cerr << kTool << " " << mode << ": " << error.what() << "\n";
    return 1;
  }
  std::cerr << kTool << ": unknown mode " << mode << "\n";
  usage(std::cerr);
  return 2;
}
