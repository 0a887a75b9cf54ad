#include "bench_common.h"

#include <time.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace cantina::bench {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (!word.starts_with("--")) {
      errors_.push_back("unexpected argument '" + word + "'");
      continue;
    }
    std::string key = word.substr(2);
    if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
      values_[key] = argv[++i];
    } else {
      values_[key] = std::nullopt;  // a flag
    }
  }
}

std::string Args::text(const std::string& key, const std::string& fallback) {
  auto found = values_.find(key);
  if (found == values_.end()) return fallback;
  std::string value = found->second.value_or("");
  if (!found->second) errors_.push_back("--" + key + " needs a value");
  values_.erase(found);
  return value;
}

std::int64_t Args::integer(const std::string& key, std::int64_t fallback) {
  const std::string value = text(key, "");
  if (value.empty()) return fallback;
  std::int64_t parsed = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size()) {
    errors_.push_back("--" + key + " needs an integer, not '" + value + "'");
    return fallback;
  }
  return parsed;
}

double Args::real(const std::string& key, double fallback) {
  const std::string value = text(key, "");
  if (value.empty()) return fallback;
  char* end = nullptr;
  const double parsed = std::strtod(value.c_str(), &end);
  if (end != value.c_str() + value.size()) {
    errors_.push_back("--" + key + " needs a number, not '" + value + "'");
    return fallback;
  }
  return parsed;
}

bool Args::flag(const std::string& key) {
  auto found = values_.find(key);
  if (found == values_.end()) return false;
  values_.erase(found);
  return true;
}

void Args::finish(std::string_view tool) {
  for (const auto& [key, value] : values_) errors_.push_back("unknown option --" + key);
  if (errors_.empty()) return;
  std::cerr << tool << ": " << errors_.front() << "\n";
  std::exit(2);
}

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--help" || word == "-h") return true;
  }
  return false;
}

namespace {

std::int64_t read_clock(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void append_key(std::string& body, const std::string& key) {
  if (!body.empty()) body += ',';
  body += '"';
  body += key;
  body += "\":";
}

}  // namespace

std::int64_t realtime_ns() {
  return read_clock(CLOCK_REALTIME);
}
std::int64_t monotonic_ns() {
  return read_clock(CLOCK_MONOTONIC);
}

void sleep_until_realtime(std::int64_t deadline_ns) {
  timespec until{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, nullptr) != 0) {
  }
}

void sleep_for_ns(std::int64_t duration_ns) {
  if (duration_ns <= 0) return;
  timespec span{static_cast<time_t>(duration_ns / 1'000'000'000), static_cast<long>(duration_ns % 1'000'000'000)};
  nanosleep(&span, nullptr);
}

Histogram::Histogram() : buckets_(kBuckets, 0), slow_buckets_(kSlowBuckets, 0) {}

void Histogram::add_ns(std::int64_t latency_ns) {
  if (latency_ns < 0) latency_ns = 0;  // clocks of one machine; never negative in practice
  const auto micros = static_cast<std::size_t>(latency_ns / 1000);
  const std::size_t millis = micros / 1000 - 1000;  // for micros >= 1 s
  if (micros < kBuckets)
    ++buckets_[micros];
  else if (millis < kSlowBuckets)
    ++slow_buckets_[millis];
  else
    ++overflow_;
  ++count_;
  max_ns_ = std::max(max_ns_, latency_ns);
  sum_ns_ += static_cast<long double>(latency_ns);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  for (std::size_t i = 0; i < kSlowBuckets; ++i) slow_buckets_[i] += other.slow_buckets_[i];
  overflow_ += other.overflow_;
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
}

double Histogram::percentile_us(double fraction) const {
  if (count_ == 0) return 0.0;
  const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  const std::uint64_t target = std::max<std::uint64_t>(wanted, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= target) return static_cast<double>(i);
  }
  for (std::size_t i = 0; i < kSlowBuckets; ++i) {
    seen += slow_buckets_[i];
    if (seen >= target) return static_cast<double>((i + 1000) * 1000);
  }
  return max_us();
}

Result& Result::add(const std::string& key, double value) {
  append_key(body_, key);
  if (!std::isfinite(value)) {
    body_ += "null";
    return *this;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  body_ += buffer;
  return *this;
}

Result& Result::add(const std::string& key, std::int64_t value) {
  append_key(body_, key);
  body_ += std::to_string(value);
  return *this;
}

Result& Result::add(const std::string& key, std::uint64_t value) {
  append_key(body_, key);
  body_ += std::to_string(value);
  return *this;
}

Result& Result::add(const std::string& key, bool value) {
  append_key(body_, key);
  body_ += value ? "true" : "false";
  return *this;
}

Result& Result::add(const std::string& key, const std::string& value) {
  append_key(body_, key);
  body_ += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') body_ += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      body_ += ' ';
      continue;
    }
    body_ += c;
  }
  body_ += '"';
  return *this;
}

Result& Result::add_raw(const std::string& key, const std::string& json) {
  append_key(body_, key);
  body_ += json;
  return *this;
}

Result& Result::add_latency(const std::string& prefix, const Histogram& histogram) {
  add(prefix + "_count", histogram.count());
  add(prefix + "_p50_us", histogram.percentile_us(0.50));
  add(prefix + "_p90_us", histogram.percentile_us(0.90));
  add(prefix + "_p99_us", histogram.percentile_us(0.99));
  add(prefix + "_p999_us", histogram.percentile_us(0.999));
  add(prefix + "_max_us", histogram.max_us());
  add(prefix + "_mean_us", histogram.mean_us());
  return *this;
}

std::string Result::json() const {
  return "{" + body_ + "}";
}

void Result::print() const {
  std::cout << "result " << json() << std::endl;
}

}  // namespace cantina::bench
