#include "cantina/store/line.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "cantina/bus/clock.h"

namespace cantina::store {

namespace {

constexpr bool is_continuation(unsigned char byte) {
  return (byte & 0xc0) == 0x80;
}

constexpr int digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : -1;
}

// The number formed by the `count` digits at `text[at]`, or -1.
constexpr long digits(std::string_view text, std::size_t at, std::size_t count) {
  long value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const int d = digit(text[at + i]);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
constexpr long days_from_civil(long year, long month, long day) {
  year -= month <= 2 ? 1 : 0;
  const long era = (year >= 0 ? year : year - 399) / 400;
  const long yoe = year - era * 400;
  const long doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void append_digits(std::string& out, long value, int width) {
  char buffer[16];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(width));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  }
}

constexpr bool is_separator(char c) {
  return c == '_' || c == '-' || c == '.';
}

constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept {
  // 2026-11-26T17:53:20.584440Z
  // 0123456789012345678901234567
  if (text.size() != kTimestampLength || text[19] != '.' || text[26] != 'Z') return std::nullopt;
  const long micros = digits(text, 20, 6);
  if (micros < 0) return std::nullopt;
  // Consecutive lines mostly share their second: the last valid "YYYY-MM-DDTHH:MM:SS"
  // is kept per thread with its value, and only the microseconds are read again.
  constexpr std::size_t kSecondLength = 19;
  struct Second {
    char text[kSecondLength] = {};
    std::int64_t seconds = 0;
    bool valid = false;
  };
  thread_local Second last;
  if (!last.valid || std::memcmp(last.text, text.data(), kSecondLength) != 0) {
    if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return std::nullopt;
    const long year = digits(text, 0, 4);
    const long month = digits(text, 5, 2);
    const long day = digits(text, 8, 2);
    const long hour = digits(text, 11, 2);
    const long minute = digits(text, 14, 2);
    const long second = digits(text, 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60) {
      return std::nullopt;
    }
    std::memcpy(last.text, text.data(), kSecondLength);
    last.seconds =
        std::int64_t{days_from_civil(year, month, day)} * 86400 + std::int64_t{hour} * 3600 + minute * 60 + second;
    last.valid = true;
  }
  return last.seconds * 1'000'000'000 + std::int64_t{micros} * 1000;
}

std::optional<bus::Level> parse_level_field(std::string_view field) noexcept {
  if (field.size() != 8) return std::nullopt;
  switch (field[0]) {
    case 'D':
      if (field == "DEBUG   ") return bus::Level::debug;
      break;
    case 'I':
      if (field == "INFO    ") return bus::Level::info;
      break;
    case 'W':
      if (field == "WARNING ") return bus::Level::warning;
      break;
    case 'E':
      if (field == "ERROR   ") return bus::Level::error;
      break;
    case 'C':
      if (field == "CRITICAL") return bus::Level::critical;
      break;
    default: break;
  }
  return std::nullopt;
}

std::optional<ParsedLine> parse_line(std::string_view line) noexcept {
  if (line.size() < kServiceOffset + kServiceWidth + 1 || line[0] != '[' || line[28] != ']' || line[29] != ' ' ||
      line[38] != ' ') {
    return std::nullopt;
  }
  const auto timestamp = parse_timestamp(line.substr(kTimestampOffset, kTimestampLength));
  if (!timestamp) return std::nullopt;
  const auto level = parse_level_field(line.substr(kLevelOffset, 8));
  if (!level) return std::nullopt;
  // Past the field's 20 code points; then to the first space. Most service fields
  // are ASCII: 20 bytes with no high bit are 20 code points (the size check above
  // makes them there).
  std::size_t at = kServiceOffset;
  std::uint64_t words[3] = {};
  std::memcpy(words, line.data() + kServiceOffset, kServiceWidth);
  static_assert(kServiceWidth <= sizeof words);
  if (((words[0] | words[1] | words[2]) & 0x8080808080808080ULL) == 0) {
    at += kServiceWidth;
  } else {
    std::size_t code_points = 0;
    while (at < line.size() && code_points < kServiceWidth) {
      ++at;
      while (at < line.size() && is_continuation(static_cast<unsigned char>(line[at]))) ++at;
      ++code_points;
    }
  }
  while (at < line.size() && line[at] != ' ') ++at;
  if (at >= line.size()) return std::nullopt;
  std::size_t service_end = at;
  while (service_end > kServiceOffset && line[service_end - 1] == ' ') --service_end;
  ParsedLine parsed;
  parsed.timestamp_ns = *timestamp;
  parsed.level = *level;
  parsed.service = line.substr(kServiceOffset, service_end - kServiceOffset);
  parsed.message = line.substr(at + 1);
  return parsed;
}

std::string unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c != '\\' || i + 1 >= escaped.size()) {
      out += c;
      continue;
    }
    const char next = escaped[i + 1];
    if (next == '\\') {
      out += '\\';
      ++i;
    } else if (next == 'n') {
      out += '\n';
      ++i;
    } else if (next == 'r') {
      out += '\r';
      ++i;
    } else if (next == 't') {
      out += '\t';
      ++i;
    } else if (next == 'x' && i + 3 < escaped.size() && hex_value(escaped[i + 2]) >= 0 &&
               hex_value(escaped[i + 3]) >= 0) {
      out += static_cast<char>(hex_value(escaped[i + 2]) * 16 + hex_value(escaped[i + 3]));
      i += 3;
    } else if (next == 'u' && i + 5 < escaped.size() && hex_value(escaped[i + 2]) >= 0 &&
               hex_value(escaped[i + 3]) >= 0 && hex_value(escaped[i + 4]) >= 0 && hex_value(escaped[i + 5]) >= 0) {
      const auto code_point =
          static_cast<std::uint32_t>(hex_value(escaped[i + 2]) << 12 | hex_value(escaped[i + 3]) << 8 |
                                     hex_value(escaped[i + 4]) << 4 | hex_value(escaped[i + 5]));
      append_utf8(out, code_point);
      i += 5;
    } else {
      out += c;
    }
  }
  return out;
}

std::uint64_t service_hash(std::string_view service) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : service) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash == 0 ? 1 : hash;
}

std::string title_case(std::string_view service_id) {
  std::string result;
  result.reserve(service_id.size());
  bool at_word_start = true;
  for (char c : service_id) {
    if (is_separator(c)) {
      at_word_start = true;
      continue;
    }
    if (at_word_start) {
      if (!result.empty()) result += ' ';
      result += ascii_upper(c);
      at_word_start = false;
    } else {
      result += c;
    }
  }
  if (result.empty()) result = service_id;
  return result;
}

ServiceMatcher::ServiceMatcher(std::map<std::string, std::string> configured) : configured_(std::move(configured)) {}

std::vector<std::string> ServiceMatcher::fields_for(std::string_view name) const {
  std::vector<std::string> fields{std::string(name)};
  auto add = [&fields](std::string field) {
    for (const auto& known : fields) {
      if (known == field) return;
    }
    fields.push_back(std::move(field));
  };
  if (auto found = configured_.find(std::string(name)); found != configured_.end()) {
    add(found->second);
  } else {
    add(title_case(name));
  }
  return fields;
}

std::string ServiceMatcher::id_for(std::string_view friendly) const {
  for (const auto& [id, name] : configured_) {
    if (name == friendly) return id;
  }
  std::string guess;
  guess.reserve(friendly.size());
  for (char c : friendly) guess += c == ' ' ? '_' : ascii_lower(c);
  if (!guess.empty() && configured_.find(guess) == configured_.end() && title_case(guess) == friendly) return guess;
  return {};
}

void append_display_time(std::string& out, std::int64_t timestamp_ns, bool utc) {
  if (utc) {
    bus::append_iso8601(out, timestamp_ns);
    return;
  }
  std::int64_t seconds = timestamp_ns / 1'000'000'000;
  std::int64_t nanos = timestamp_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  // localtime_r is slow (it checks TZ each call): cache per second, per thread.
  struct Cached {
    std::int64_t seconds = -1;
    bool valid = false;
    std::string prefix;  // "2026-11-26T18:53:20."
    std::string zone;    // "+01:00"
  };
  thread_local Cached cached;
  if (!cached.valid || cached.seconds != seconds) {
    const auto time = static_cast<std::time_t>(seconds);
    std::tm local{};
    ::localtime_r(&time, &local);
    cached.prefix.clear();
    append_digits(cached.prefix, std::clamp<long>(local.tm_year + 1900L, 0, 9999), 4);
    cached.prefix += '-';
    append_digits(cached.prefix, local.tm_mon + 1, 2);
    cached.prefix += '-';
    append_digits(cached.prefix, local.tm_mday, 2);
    cached.prefix += 'T';
    append_digits(cached.prefix, local.tm_hour, 2);
    cached.prefix += ':';
    append_digits(cached.prefix, local.tm_min, 2);
    cached.prefix += ':';
    append_digits(cached.prefix, local.tm_sec, 2);
    cached.prefix += '.';
    const long offset = local.tm_gmtoff;
    cached.zone.clear();
    cached.zone += offset < 0 ? '-' : '+';
    const long magnitude = offset < 0 ? -offset : offset;
    append_digits(cached.zone, magnitude / 3600, 2);
    cached.zone += ':';
    append_digits(cached.zone, magnitude / 60 % 60, 2);
    cached.seconds = seconds;
    cached.valid = true;
  }
  out += cached.prefix;
  append_digits(out, static_cast<long>(nanos / 1000), 6);
  out += cached.zone;
}

}  // namespace cantina::store
