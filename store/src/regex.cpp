#include "cantina/store/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>  // memrchr

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace cantina::store {

namespace {

pcre2_code* code_of(void* code) {
  return static_cast<pcre2_code*>(code);
}

pcre2_match_data* data_of(void* data) {
  return static_cast<pcre2_match_data*>(data);
}

constexpr bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The index just past the bracket that closes the class opening at `pattern[at]`
// ('['), or npos.
std::size_t skip_class(std::string_view pattern, std::size_t at) {
  std::size_t i = at + 1;
  if (i < pattern.size() && pattern[i] == '^') ++i;
  if (i < pattern.size() && pattern[i] == ']') ++i;  // a leading ']' is a member
  while (i < pattern.size()) {
    if (pattern[i] == '\\') {
      i += 2;
    } else if (pattern[i] == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const auto close = pattern.find(":]", i + 2);
      if (close == std::string_view::npos) return close;
      i = close + 2;
    } else if (pattern[i] == ']') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return std::string_view::npos;
}

// The index just past the parenthesis that closes the group opening at
// `pattern[at]` ('('), or npos.
std::size_t skip_group(std::string_view pattern, std::size_t at) {
  int depth = 0;
  std::size_t i = at;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      i += 2;
    } else if (c == '[') {
      i = skip_class(pattern, i);
      if (i == std::string_view::npos) return i;
    } else {
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) return i + 1;
      ++i;
    }
  }
  return std::string_view::npos;
}

// The longest run of bytes that every match must contain, found conservatively
// in the top level of `pattern` (a concatenation): literal characters and
// escaped punctuation; a quantifier that allows zero takes its atom out, and any
// other construct (class, group, escape class, anchor, dot) ends the run. Empty
// when the pattern may change how it is read (option settings, verbs, \Q) or has
// a top-level alternation. Caseless: ASCII lower-cased, and no non-ASCII
// character or k/s (KELVIN SIGN and LONG S fold to them) in a run.
std::string required_literal_of(std::string_view pattern, bool caseless) {
  for (std::size_t at = pattern.find("(?"); at != std::string_view::npos; at = pattern.find("(?", at + 1)) {
    const char next = at + 2 < pattern.size() ? pattern[at + 2] : '\0';
    if (is_ascii_letter(next) || next == '^' || next == '-' || next == ')' || next == '\'' || next == '<' ||
        next == 'P' || next == '(' || next == '#' || next == '&' || next == '+' || next == 'C' ||
        (next >= '0' && next <= '9')) {
      if (next == '<' && at + 3 < pattern.size() && (pattern[at + 3] == '=' || pattern[at + 3] == '!')) continue;
      return {};
    }
  }
  if (pattern.find("(*") != std::string_view::npos || pattern.find("\\Q") != std::string_view::npos ||
      pattern.find("\\E") != std::string_view::npos) {
    return {};
  }
  std::string best;
  std::string run;
  std::size_t last_atom = std::string::npos;  // where the run's last character starts
  auto end_run = [&] {
    if (run.size() > best.size()) best = run;
    run.clear();
    last_atom = std::string::npos;
  };
  auto add = [&](std::string_view character) {
    last_atom = run.size();
    run += character;
  };
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    const auto byte = static_cast<unsigned char>(c);
    if (c == '|') return {};
    if (c == '*' || c == '?' || c == '{' || c == '+') {
      if (c == '{') {
        // A quantifier ({n}, {n,}, {n,m}, {,m}); otherwise a literal '{' (taken as
        // the end of the run, to be safe).
        std::size_t close = i + 1;
        while (close < pattern.size() &&
               ((pattern[close] >= '0' && pattern[close] <= '9') || pattern[close] == ',' || pattern[close] == ' ')) {
          ++close;
        }
        if (close < pattern.size() && pattern[close] == '}') {
          if (last_atom != std::string::npos) run.resize(last_atom);
          end_run();
          i = close + 1;
          continue;
        }
        end_run();
        ++i;
        continue;
      }
      // '+' repeats an atom that is still required; '*' and '?' may leave it out.
      if (c != '+' && last_atom != std::string::npos) run.resize(last_atom);
      end_run();
      ++i;
      continue;
    }
    if (c == '[') {
      end_run();
      i = skip_class(pattern, i);
      if (i == std::string_view::npos) return {};
      continue;
    }
    if (c == '(') {
      end_run();
      i = skip_group(pattern, i);
      if (i == std::string_view::npos) return {};
      continue;
    }
    if (c == ')') return {};
    if (c == '.' || c == '^' || c == '$' || c == '\n' || c == '\r') {
      end_run();
      ++i;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return {};
      const char next = pattern[i + 1];
      if (!is_ascii_alnum(next) && static_cast<unsigned char>(next) < 0x80) {
        // Escaped punctuation or space: itself.
        add(std::string_view(&next, 1));
        i += 2;
        continue;
      }
      end_run();
      if (static_cast<unsigned char>(next) >= 0x80) return {};  // an escaped non-ASCII character: leave it
      // A letter or digit escape: a class (\d), an assertion (\b), a character
      // (\x41, \x{263a}, \101, \cA, \N{U+41}), a back reference (\1, \g{1},
      // \k<name>), a property (\p{L}). Skip its arguments, whatever they are.
      i += 2;
      if (next == 'c') {
        ++i;  // \cX: X is any character
      } else if (next == 'x' || next == 'o' || next == 'g' || next == 'k' || next == 'p' || next == 'P' ||
                 next == 'N' || next == 'u' || (next >= '0' && next <= '9')) {
        while (i < pattern.size() && is_ascii_alnum(pattern[i])) ++i;
        if (i < pattern.size() && (pattern[i] == '{' || pattern[i] == '<' || pattern[i] == '\'')) {
          const char close = pattern[i] == '{' ? '}' : pattern[i] == '<' ? '>' : '\'';
          const auto found = pattern.find(close, i + 1);
          if (found == std::string_view::npos) return {};
          i = found + 1;
        }
      }
      continue;
    }
    if (byte >= 0x80) {
      // A UTF-8 character: its bytes as they are (but not caseless).
      std::size_t length = (byte & 0xe0) == 0xc0 ? 2 : (byte & 0xf0) == 0xe0 ? 3 : (byte & 0xf8) == 0xf0 ? 4 : 1;
      if (i + length > pattern.size()) return {};
      if (caseless) {
        end_run();
      } else {
        add(pattern.substr(i, length));
      }
      i += length;
      continue;
    }
    if (caseless) {
      const char lower = ascii_lower(c);
      if (lower == 'k' || lower == 's') {
        end_run();
      } else {
        add(std::string_view(&lower, 1));
      }
    } else {
      add(std::string_view(&c, 1));
    }
    ++i;
  }
  end_run();
  return best.size() >= 3 ? best : std::string();
}

}  // namespace

Regex::Regex(std::string_view pattern, bool caseless)
    : pattern_(pattern), literal_(required_literal_of(pattern, caseless)) {
  if (!literal_.empty()) finder_.emplace(literal_, caseless);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // MULTILINE: ^ and $ match at every line start and end when searching a buffer
  // of lines. UTF with MATCH_INVALID_UTF: code points, and bytes that are not
  // UTF-8 simply never match (session files are UTF-8; a foreign file may not be).
  std::uint32_t options = PCRE2_MULTILINE | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (caseless) options |= PCRE2_CASELESS;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                   &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw std::invalid_argument(std::string(reinterpret_cast<const char*>(message)) + " at offset " +
                                std::to_string(error_offset));
  }
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  match_data_ = pcre2_match_data_create_from_pattern(code, nullptr);
  auto* context = pcre2_match_context_create(nullptr);
  context_ = context;
  if (match_data_ == nullptr || context == nullptr) {
    pcre2_match_context_free(context);
    pcre2_match_data_free(data_of(match_data_));
    pcre2_code_free(code);
    throw std::bad_alloc();
  }
  // Bounded work per call: a pattern that backtracks without end stops.
  pcre2_set_match_limit(context, kMatchLimit);
  pcre2_set_depth_limit(context, kMatchLimit);
  pcre2_set_heap_limit(context, 64 * 1024);  // KiB
  if (jit_) {
    auto* stack = pcre2_jit_stack_create(std::size_t{32} << 10, std::size_t{1} << 20, nullptr);
    jit_stack_ = stack;
    if (stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
}

Regex::~Regex() {
  if (jit_stack_ != nullptr) pcre2_jit_stack_free(static_cast<pcre2_jit_stack*>(jit_stack_));
  pcre2_match_context_free(static_cast<pcre2_match_context*>(context_));
  pcre2_match_data_free(data_of(match_data_));
  pcre2_code_free(code_of(code_));
}

int Regex::run(std::string_view subject, std::size_t from) const {
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  auto* context = static_cast<pcre2_match_context*>(context_);
  return jit_ ? pcre2_jit_match(code_of(code_), text, subject.size(), from, 0, data_of(match_data_), context)
              : pcre2_match(code_of(code_), text, subject.size(), from, 0, data_of(match_data_), context);
}

bool Regex::matches(std::string_view line) const {
  const int result = run(line, 0);
  if (result >= 0) return true;
  if (result == PCRE2_ERROR_NOMATCH) return false;
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(result, message, sizeof message);
  throw RegexLimitError("--grep '" + pattern_ +
                        "' gave up on a line: " + std::string(reinterpret_cast<const char*>(message)));
}

std::pair<std::size_t, std::size_t> Regex::find_line(std::string_view data, std::size_t from) const {
  constexpr auto npos = std::string_view::npos;
  if (!finder_) return find_line_scan(data, from);
  // Only the lines that hold the literal go to PCRE2. Where most lines hold it
  // (16 candidates in a row that do not match, each within 512 bytes of the
  // last), PCRE2 over the buffer is cheaper: it takes the rest.
  int dense_misses = 0;
  while (from < data.size()) {
    const std::size_t hit = finder_->find(data, from);
    if (hit == npos) return {npos, npos};
    const void* before = hit > from ? ::memrchr(data.data() + from, '\n', hit - from) : nullptr;
    const std::size_t start =
        before == nullptr ? from : static_cast<std::size_t>(static_cast<const char*>(before) - data.data()) + 1;
    const void* newline = std::memchr(data.data() + hit, '\n', data.size() - hit);
    const std::size_t end = newline == nullptr ? data.size() : static_cast<const char*>(newline) - data.data();
    if (matches(data.substr(start, end - start))) return {start, end};
    dense_misses = start - from < 512 ? dense_misses + 1 : 0;
    from = end + 1;
    if (dense_misses >= 16) return find_line_scan(data, from);
  }
  return {npos, npos};
}

std::pair<std::size_t, std::size_t> Regex::find_line_scan(std::string_view data, std::size_t from) const {
  constexpr auto npos = std::string_view::npos;
  while (from < data.size()) {
    const int result = run(data, from);
    if (result == PCRE2_ERROR_NOMATCH) return {npos, npos};
    if (result < 0) {
      // The limits are per call: over a large buffer they can be reached by
      // a pattern that is fine on any one line. Line by line, then.
      while (from < data.size()) {
        const void* newline = std::memchr(data.data() + from, '\n', data.size() - from);
        const std::size_t end = newline == nullptr ? data.size() : static_cast<const char*>(newline) - data.data();
        if (matches(data.substr(from, end - from))) return {from, end};
        from = end + 1;
      }
      return {npos, npos};
    }
    const std::size_t at = pcre2_get_ovector_pointer(data_of(match_data_))[0];
    // The line holding the match's start.
    std::size_t start = at;
    while (start > from && data[start - 1] != '\n') --start;
    const void* newline = std::memchr(data.data() + at, '\n', data.size() - at);
    const std::size_t end = newline == nullptr ? data.size() : static_cast<const char*>(newline) - data.data();
    // A match that ran across a line end ([^x], \s) is no match of its line alone.
    if (matches(data.substr(start, end - start))) return {start, end};
    from = end + 1;
  }
  return {npos, npos};
}

}  // namespace cantina::store
