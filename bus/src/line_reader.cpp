#include "cantina/bus/line_reader.h"

#include <algorithm>
#include <array>

#include "cantina/bus/clock.h"

namespace cantina::bus {

namespace {

constexpr std::string_view kTraceback = "Traceback (most recent call last):";
constexpr std::array<std::string_view, 2> kChainLines = {
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:"};

struct LevelWord {
  std::string_view word;
  Level level;
};

// Longest first, so that "warning" is tried before "warn" (as a regex alternation would).
constexpr std::array<LevelWord, 12> kLevelWords = {{{"critical", Level::critical},
                                                    {"warning", Level::warning},
                                                    {"notice", Level::info},
                                                    {"debug", Level::debug},
                                                    {"error", Level::error},
                                                    {"fatal", Level::critical},
                                                    {"panic", Level::critical},
                                                    {"trace", Level::debug},
                                                    {"crit", Level::critical},
                                                    {"info", Level::info},
                                                    {"warn", Level::warning},
                                                    {"err", Level::error}}};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool digits(std::string_view s, std::size_t at, std::size_t count) {
  if (at + count > s.size()) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(at), s.begin() + static_cast<std::ptrdiff_t>(at + count),
                     is_digit);
}

// Past "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|+hh[:]mm]" and the whitespace after it, or
// `at` if there is no such timestamp (followed by whitespace) at `at`.
std::size_t skip_timestamp(std::string_view s, std::size_t at) {
  std::size_t i = at;
  if (!(digits(s, i, 4) && i + 10 <= s.size() && s[i + 4] == '-' && digits(s, i + 5, 2) && s[i + 7] == '-' &&
        digits(s, i + 8, 2)))
    return at;
  i += 10;
  if (!(i + 9 <= s.size() && (s[i] == 'T' || s[i] == ' ') && digits(s, i + 1, 2) && s[i + 3] == ':' &&
        digits(s, i + 4, 2) && s[i + 6] == ':' && digits(s, i + 7, 2)))
    return at;
  i += 9;
  if (i + 1 < s.size() && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-') && digits(s, i + 1, 2)) {
    const std::size_t colon = i + 3 < s.size() && s[i + 3] == ':' ? 1 : 0;
    if (digits(s, i + 3 + colon, 2)) i += 5 + colon;
  }
  if (i >= s.size() || !is_space(s[i])) return at;
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// What may follow a level word: the end, whitespace, ':', '|', ']' or '-'.
bool ends_word(std::string_view s, std::size_t at) {
  return at >= s.size() || is_space(s[at]) || s[at] == ':' || s[at] == '|' || s[at] == ']' || s[at] == '-';
}

bool starts_with_word(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    char c = s[at + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[k]) return false;
  }
  return true;
}

std::optional<Level> level_word(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  i = skip_timestamp(line, i);
  if (i < line.size() && (line[i] == '[' || line[i] == '(' || line[i] == '<')) ++i;
  for (const LevelWord& candidate : kLevelWords) {
    if (!starts_with_word(line, i, candidate.word)) continue;
    const std::size_t end = i + candidate.word.size();
    if (ends_word(line, end)) return candidate.level;
    if (end < line.size() && (line[end] == ']' || line[end] == ')' || line[end] == '>') && ends_word(line, end + 1))
      return candidate.level;
  }
  return std::nullopt;
}

std::optional<Level> glog_or_syslog(std::string_view line) {
  // glog: "E1126 17:53:20..."
  if (line.size() >= 14 && digits(line, 1, 4) && line[5] == ' ' && digits(line, 6, 2) && line[8] == ':' &&
      digits(line, 9, 2) && line[11] == ':' && digits(line, 12, 2)) {
    switch (line[0]) {
      case 'D': return Level::debug;
      case 'I': return Level::info;
      case 'W': return Level::warning;
      case 'E': return Level::error;
      case 'F': return Level::critical;
      default: break;
    }
  }
  // sd-daemon / syslog priority: "<3>..."
  if (line.size() >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
    static constexpr std::array<Level, 8> kSyslog = {Level::critical, Level::critical, Level::critical, Level::error,
                                                     Level::warning,  Level::info,     Level::info,     Level::debug};
    return kSyslog[static_cast<std::size_t>(line[1] - '0')];
  }
  return std::nullopt;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), is_space);
}

// The longest prefix of `text` of at most `limit` bytes that does not cut a UTF-8 character.
std::size_t utf8_cut(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t cut = limit;
  for (int back = 0; back < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++back) --cut;
  return cut > 0 ? cut : limit;
}

}  // namespace

std::optional<Level> announced_level(std::string_view line) noexcept {
  if (auto level = level_word(line)) return level;
  return glog_or_syslog(line);
}

Level line_level(std::string_view line, Level default_level) noexcept {
  return announced_level(line).value_or(default_level);
}

LineReader::LineReader(Options options, Emit emit) : options_(options), emit_(std::move(emit)) {
  options_.max_record_bytes = std::max<std::size_t>(options_.max_record_bytes, 64);
}

void LineReader::feed(std::string_view bytes, Clock::time_point now) {
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(bytes);
      // A line longer than a record: its pieces go at once, so the buffer stays bounded.
      while (partial_.size() > options_.max_record_bytes) {
        const std::size_t cut = utf8_cut(partial_, options_.max_record_bytes);
        take_line(std::string_view(partial_).substr(0, cut), now, true);
        partial_.erase(0, cut);
      }
      break;
    }
    if (partial_.empty()) {
      take_whole_line(bytes.substr(0, newline), now);
    } else {
      partial_.append(bytes.substr(0, newline));
      std::string line;
      line.swap(partial_);
      take_whole_line(line, now);
    }
    bytes.remove_prefix(newline + 1);
  }
  poll(now);
}

void LineReader::take_whole_line(std::string_view line, Clock::time_point now) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  while (line.size() > options_.max_record_bytes) {
    const std::size_t cut = utf8_cut(line, options_.max_record_bytes);
    take_line(line.substr(0, cut), now, true);
    line.remove_prefix(cut);
  }
  take_line(line, now, false);
}

void LineReader::poll(Clock::time_point now) {
  if (open_ && (now - last_line_ >= options_.wait || now - first_line_ >= options_.max_age)) emit_open();
}

void LineReader::finish() {
  if (!partial_.empty()) {
    std::string line;
    line.swap(partial_);
    take_whole_line(line, Clock::now());
  }
  if (open_) emit_open();
  in_traceback_ = false;
  in_piece_ = false;
}

std::optional<LineReader::Clock::time_point> LineReader::deadline() const {
  if (!open_) return std::nullopt;
  return std::min(last_line_ + options_.wait, first_line_ + options_.max_age);
}

void LineReader::take_line(std::string_view line, Clock::time_point now, bool piece) {
  if (is_blank(line)) {
    if (in_piece_ && !piece) in_piece_ = false;  // the end of a cut line that ended in blanks
    return;
  }
  ++lines_;
  if (in_piece_) {  // the rest of a line that was cut: a record of its own, at the line's level
    const Level level = record_.level;
    if (open_) emit_open();
    open(line, level, now);
    in_piece_ = piece;
    if (!piece) in_traceback_ = false;
    return;
  }
  bool continues = false;
  bool starts_traceback = line.starts_with(kTraceback);
  if (open_) {
    if (line.front() == ' ' || line.front() == '\t') {
      continues = true;
    } else if (starts_traceback) {
      continues = true;
      // An uncaught exception right after other output: an error, unless the record
      // announced its own level ("WARNING:root:..." from logging.warning(exc_info=True)).
      if (!announced_) record_.level = std::max(record_.level, Level::error);
    } else if (in_traceback_) {
      continues = true;  // the exception line that ends a traceback
      in_traceback_ = false;
    } else {
      continues = std::find(kChainLines.begin(), kChainLines.end(), line) != kChainLines.end();
    }
  }
  if (starts_traceback) in_traceback_ = true;
  if (continues && record_.text.size() + 1 + line.size() <= options_.max_record_bytes) {
    record_.text += '\n';
    record_.text += line;
    last_line_ = now;
  } else if (continues) {  // too big together: the rest of the record goes on in a new one
    const Level level = record_.level;
    emit_open();
    open(line, level, now);
  } else {
    if (open_) emit_open();
    const auto announced = announced_level(line);
    Level level = announced.value_or(options_.default_level);
    if (starts_traceback) level = std::max(level, Level::error);
    open(line, level, now);
    announced_ = announced.has_value();
    in_traceback_ = starts_traceback;
  }
  in_piece_ = piece;
}

void LineReader::open(std::string_view line, Level level, Clock::time_point now) {
  open_ = true;
  record_.level = level;
  record_.text.assign(line);
  record_.timestamp_ns = now_ns();
  first_line_ = now;
  last_line_ = now;
}

void LineReader::emit_open() {
  open_ = false;
  ReadRecord record;
  std::swap(record, record_);
  emit_(std::move(record));
}

}  // namespace cantina::bus
