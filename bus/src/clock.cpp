#include "cantina/bus/clock.h"

#include <unistd.h>

#include <climits>
#include <ctime>

namespace cantina::bus {

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

void append_digits(std::string& out, long value, int width) {
  char buffer[16];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(width));
}

// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
void civil_from_days(long days, long& year, long& month, long& day) {
  days += 719468;
  const long era = (days >= 0 ? days : days - 146096) / 146097;
  const long doe = days - era * 146097;
  const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace

void append_iso8601(std::string& out, std::int64_t timestamp_ns) {
  // Floor division so that times before 1970 still format sanely.
  long seconds = static_cast<long>(timestamp_ns / 1'000'000'000);
  long nanos = static_cast<long>(timestamp_ns % 1'000'000'000);
  if (nanos < 0) {
    nanos += 1'000'000'000;
    seconds -= 1;
  }
  // Consecutive timestamps mostly share their second: its text ("YYYY-MM-DDTHH:MM:SS.")
  // is kept per thread and only the microseconds are formatted again.
  struct SecondText {
    long seconds = -1;
    bool valid = false;
    char text[20] = {};
  };
  thread_local SecondText cached;
  if (!cached.valid || cached.seconds != seconds) {
    long days = seconds / 86400;
    long second_of_day = seconds % 86400;
    if (second_of_day < 0) {
      second_of_day += 86400;
      days -= 1;
    }
    long year = 0, month = 0, day = 0;
    civil_from_days(days, year, month, day);
    if (year < 0 || year > 9999) year = year < 0 ? 0 : 9999;
    std::string prefix;
    prefix.reserve(sizeof cached.text);
    append_digits(prefix, year, 4);
    prefix += '-';
    append_digits(prefix, month, 2);
    prefix += '-';
    append_digits(prefix, day, 2);
    prefix += 'T';
    append_digits(prefix, second_of_day / 3600, 2);
    prefix += ':';
    append_digits(prefix, second_of_day / 60 % 60, 2);
    prefix += ':';
    append_digits(prefix, second_of_day % 60, 2);
    prefix += '.';
    prefix.copy(cached.text, sizeof cached.text);
    cached.seconds = seconds;
    cached.valid = true;
  }
  char tail[7];
  long micros = nanos / 1000;
  for (int i = 5; i >= 0; --i) {
    tail[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  tail[6] = 'Z';
  out.append(cached.text, sizeof cached.text);
  out.append(tail, sizeof tail);
}

std::string iso8601(std::int64_t timestamp_ns) {
  std::string out;
  out.reserve(27);
  append_iso8601(out, timestamp_ns);
  return out;
}

const std::string& host_name() {
  static const std::string name = [] {
    char buffer[HOST_NAME_MAX + 1] = {};
    if (gethostname(buffer, sizeof buffer - 1) != 0) return std::string("unknown");
    return std::string(buffer);
  }();
  return name;
}

}  // namespace cantina::bus
