// Regular expressions over session file lines: PCRE2 (Perl syntax), compiled to
// machine code (JIT). Searching runs over large buffers of many lines at once and
// checks each hit against its line alone, so a pattern never matches across lines.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace cantina::store {

class Regex {
 public:
  // Compiles `pattern`; throws std::invalid_argument with PCRE2's message (and
  // the offset) if it is not valid.
  Regex(std::string_view pattern, bool caseless);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // True if `line` (one line, no '\n') has a match.
  bool matches(std::string_view line) const;

  // The start and end (exclusive) of the first line of `data` at or after `from`
  // (a line start) that matches, or {npos, npos}. `data` holds whole lines.
  std::pair<std::size_t, std::size_t> find_line(std::string_view data, std::size_t from) const;

  // A Regex is used by one thread at a time (it holds its match state).
 private:
  std::string pattern_;
  void* code_ = nullptr;        // pcre2_code*
  void* match_data_ = nullptr;  // pcre2_match_data*
  bool jit_ = false;
};

}  // namespace cantina::store
