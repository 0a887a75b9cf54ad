// Helpers shared by the benchmark tools (cantina-bench-load, -raw, -ws): the
// command line, clocks, latency statistics and the one-line JSON result each tool
// prints for tools/bench/bench.py.
//
// Every tool prints progress on stderr, "ready" on stdout when the driver may go
// on, and one final line `result {...}` (a JSON object) on stdout.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cantina::bench {

// "--key value" pairs after the mode word. Unknown keys are an error (reported by
// finish()), so a typo in bench.py never silently runs the wrong benchmark.
class Args {
 public:
  Args(int argc, char** argv, int first);

  std::string text(const std::string& key, const std::string& fallback = "");
  std::int64_t integer(const std::string& key, std::int64_t fallback);
  double real(const std::string& key, double fallback);
  bool flag(const std::string& key);

  // Exits with status 2 naming the first unknown or malformed argument.
  void finish(std::string_view tool);

 private:
  std::map<std::string, std::optional<std::string>> values_;
  std::vector<std::string> errors_;
};

// Whether the command line asks for the usage (--help or -h anywhere in it).
bool wants_help(int argc, char** argv);

// CLOCK_REALTIME and CLOCK_MONOTONIC in nanoseconds.
std::int64_t realtime_ns();
std::int64_t monotonic_ns();

// Sleeps until CLOCK_REALTIME reaches `deadline_ns` (returns at once if past).
void sleep_until_realtime(std::int64_t deadline_ns);
void sleep_for_ns(std::int64_t duration_ns);

// Latencies: 1 µs buckets up to 1 s, then 1 ms buckets up to 100 s, one overflow
// bucket beyond (a percentile that falls there reads as the maximum seen). Exact
// to the microsecond below 1 s, constant memory however many samples.
class Histogram {
 public:
  Histogram();
  void add_ns(std::int64_t latency_ns);
  void merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  // The smallest value (µs) with at least `fraction` of the samples at or below it.
  double percentile_us(double fraction) const;
  double max_us() const { return static_cast<double>(max_ns_) / 1000.0; }
  double mean_us() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_) / 1000.0 / static_cast<double>(count_);
  }

 private:
  static constexpr std::size_t kBuckets = 1'000'000;    // 1 µs each, below 1 s
  static constexpr std::size_t kSlowBuckets = 100'000;  // 1 ms each, 1 s to 100 s
  std::vector<std::uint32_t> buckets_;
  std::vector<std::uint32_t> slow_buckets_;
  std::uint64_t overflow_ = 0;
  std::uint64_t count_ = 0;
  std::int64_t max_ns_ = 0;
  long double sum_ns_ = 0;
};

// The value at `fraction` (0..1) of sorted `values`.
template <class T>
T sorted_percentile(const std::vector<T>& values, double fraction) {
  if (values.empty()) return T{};
  const auto rank = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(values.size() - 1)));
  return values[std::min(rank, values.size() - 1)];
}

// Builds the flat JSON object of a result line. Keys are plain identifiers.
class Result {
 public:
  Result& add(const std::string& key, double value);
  Result& add(const std::string& key, std::int64_t value);
  Result& add(const std::string& key, std::uint64_t value);
  Result& add(const std::string& key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  Result& add(const std::string& key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
  Result& add(const std::string& key, bool value);
  Result& add(const std::string& key, const std::string& value);
  Result& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  Result& add_raw(const std::string& key, const std::string& json);            // `json` is already JSON
  Result& add_latency(const std::string& prefix, const Histogram& histogram);  // prefix_p50_us, ...
  std::string json() const;
  // Prints "result <json>" on stdout and flushes.
  void print() const;

 private:
  std::string body_;
};

}  // namespace cantina::bench
