#include "cantina/store/when.h"

#include <cctype>
#include <charconv>
#include <ctime>
#include <vector>

namespace cantina::store {

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Reads exactly `count` digits at `text[at]`.
bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

struct Clock {
  int hour = 0, minute = 0, second = 0;
  std::int64_t fraction_ns = 0;
};

// "HH:MM[:SS[.fff]]", the whole of `text`.
std::optional<Clock> parse_clock(std::string_view text) {
  Clock clock;
  if (!digits(text, 0, 2, clock.hour) || text.size() < 5 || text[2] != ':' || !digits(text, 3, 2, clock.minute)) {
    return std::nullopt;
  }
  std::size_t at = 5;
  if (at < text.size() && text[at] == ':') {
    if (!digits(text, at + 1, 2, clock.second)) return std::nullopt;
    at += 3;
    if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
      ++at;
      std::int64_t scale = kSecond / 10;
      const std::size_t start = at;
      while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        clock.fraction_ns += (text[at] - '0') * scale;
        scale /= 10;
        ++at;
      }
      if (at == start) return std::nullopt;
    }
  }
  if (at != text.size() || clock.hour > 23 || clock.minute > 59 || clock.second > 60) return std::nullopt;
  return clock;
}

// Seconds east of UTC: "Z", "+01:00", "+0100", "-05".
std::optional<long> parse_zone(std::string_view text) {
  if (text == "Z" || text == "z") return 0;
  if (text.size() < 3 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  int hours = 0, minutes = 0;
  if (!digits(text, 1, 2, hours)) return std::nullopt;
  std::string_view rest = text.substr(3);
  if (!rest.empty() && rest[0] == ':') rest.remove_prefix(1);
  if (!rest.empty() && (rest.size() != 2 || !digits(rest, 0, 2, minutes))) return std::nullopt;
  if (hours > 23 || minutes > 59) return std::nullopt;
  const long seconds = hours * 3600L + minutes * 60L;
  return text[0] == '-' ? -seconds : seconds;
}

// The ns of a civil date and time: in UTC, at `zone` seconds east, or in local
// time. nullopt if the date does not exist.
std::optional<std::int64_t> civil(int year, int month, int day, const Clock& clock, std::optional<long> zone,
                                  bool utc) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = clock.hour;
  tm.tm_min = clock.minute;
  tm.tm_sec = clock.second;
  tm.tm_isdst = -1;
  std::tm check = tm;
  std::time_t seconds = 0;
  if (zone || utc) {
    seconds = ::timegm(&tm) - zone.value_or(0);
  } else {
    seconds = std::mktime(&tm);
  }
  // A day that does not exist (February 30) comes back normalised.
  if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon || tm.tm_year != check.tm_year) return std::nullopt;
  return std::int64_t{seconds} * kSecond + clock.fraction_ns;
}

// The civil date of `ns` (UTC or local).
void date_of(std::int64_t ns, bool utc, int& year, int& month, int& day) {
  const auto seconds = static_cast<std::time_t>(ns / kSecond);
  std::tm tm{};
  if (utc) {
    ::gmtime_r(&seconds, &tm);
  } else {
    ::localtime_r(&seconds, &tm);
  }
  year = tm.tm_year + 1900;
  month = tm.tm_mon + 1;
  day = tm.tm_mday;
}

// The day `days` from today (UTC or local) at `clock`.
std::optional<std::int64_t> day_relative(int days, const Clock& clock, std::int64_t now_ns, bool utc) {
  int year = 0, month = 0, day = 0;
  date_of(now_ns, utc, year, month, day);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day + days;  // timegm/mktime carry it into the month and year
  tm.tm_hour = clock.hour;
  tm.tm_min = clock.minute;
  tm.tm_sec = clock.second;
  tm.tm_isdst = -1;
  const std::time_t seconds = utc ? ::timegm(&tm) : std::mktime(&tm);
  return std::int64_t{seconds} * kSecond + clock.fraction_ns;
}

std::optional<std::int64_t> unit_ns(std::string_view unit) {
  const std::string name = lower(unit);
  for (const char* s : {"s", "sec", "secs", "second", "seconds"}) {
    if (name == s) return kSecond;
  }
  for (const char* m : {"m", "min", "mins", "minute", "minutes"}) {
    if (name == m) return 60 * kSecond;
  }
  for (const char* h : {"h", "hr", "hrs", "hour", "hours"}) {
    if (name == h) return 3600 * kSecond;
  }
  for (const char* d : {"d", "day", "days"}) {
    if (name == d) return 86400 * kSecond;
  }
  for (const char* w : {"w", "week", "weeks"}) {
    if (name == w) return 7 * (86400 * kSecond);
  }
  return std::nullopt;
}

// "10 min", "10min", "1.5h": ns.
std::optional<std::int64_t> duration(std::string_view text) {
  text = trim(text);
  std::size_t at = 0;
  while (at < text.size() && ((text[at] >= '0' && text[at] <= '9') || text[at] == '.')) ++at;
  if (at == 0) return std::nullopt;
  double amount = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + at, amount);
  if (parsed.ec != std::errc{} || parsed.ptr != text.data() + at) return std::nullopt;
  const auto unit = unit_ns(trim(text.substr(at)));
  if (!unit || amount > 1e6) return std::nullopt;
  return static_cast<std::int64_t>(amount * static_cast<double>(*unit));
}

}  // namespace

std::optional<std::int64_t> parse_when(std::string_view text, std::int64_t now_ns, bool utc) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  const std::string word = lower(text);
  // @epoch seconds
  if (text[0] == '@') {
    double seconds = 0;
    const auto parsed = std::from_chars(text.data() + 1, text.data() + text.size(), seconds);
    if (parsed.ec != std::errc{} || parsed.ptr != text.data() + text.size()) return std::nullopt;
    return static_cast<std::int64_t>(seconds * 1e9);
  }
  // Relative: "10 min ago", "-10min", "+1h".
  if (word.ends_with(" ago") || word.ends_with("ago")) {
    const auto span = duration(std::string_view(text).substr(0, text.size() - 3));
    if (!span) return std::nullopt;
    return now_ns - *span;
  }
  if (text[0] == '-' || text[0] == '+') {
    const auto span = duration(text.substr(1));
    if (!span) return std::nullopt;
    return text[0] == '-' ? now_ns - *span : now_ns + *span;
  }
  // Day words, with an optional time.
  const std::string first_word = word.substr(0, word.find(' '));
  const std::vector<std::pair<std::string_view, int>> days = {{"today", 0}, {"yesterday", -1}, {"tomorrow", 1}};
  if (first_word == "now" && word == "now") return now_ns;
  for (const auto& [name, offset] : days) {
    if (first_word != name) continue;
    Clock clock;
    if (word.size() > name.size()) {
      const auto parsed = parse_clock(trim(text.substr(name.size())));
      if (!parsed) return std::nullopt;
      clock = *parsed;
    }
    return day_relative(offset, clock, now_ns, utc);
  }
  // A time of day alone: today.
  if (text.size() >= 5 && text[2] == ':') {
    const auto clock = parse_clock(text);
    if (!clock) return std::nullopt;
    return day_relative(0, *clock, now_ns, utc);
  }
  // ISO-8601: YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][zone]
  int year = 0, month = 0, day = 0;
  if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::string_view rest = text.substr(10);
  Clock clock;
  std::optional<long> zone;
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ') {
      // A zone right after the date is not ISO: no.
      return std::nullopt;
    }
    rest.remove_prefix(1);
    // The zone starts at Z, + or - after the clock.
    std::size_t zone_at = rest.find_first_of("Zz+-", 5);
    std::string_view clock_text = rest.substr(0, zone_at);
    const auto parsed = parse_clock(trim(clock_text));
    if (!parsed) return std::nullopt;
    clock = *parsed;
    if (zone_at != std::string_view::npos) {
      zone = parse_zone(rest.substr(zone_at));
      if (!zone) return std::nullopt;
    }
  }
  return civil(year, month, day, clock, zone, utc);
}

}  // namespace cantina::store
