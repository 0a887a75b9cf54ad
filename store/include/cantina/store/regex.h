// Regular expressions over session file lines: PCRE2 (Perl syntax), compiled to
// machine code (JIT). Searching runs over large buffers of many lines at once and
// checks each hit against its line alone, so a pattern never matches across lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cantina/store/literal.h"

namespace cantina::store {

// A match that PCRE2 gave up on (its match limit: a pattern that backtracks
// without end on some line).
class RegexLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Regex {
 public:
  // Compiles `pattern`; throws std::invalid_argument with PCRE2's message (and
  // the offset) if it is not valid.
  Regex(std::string_view pattern, bool caseless);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // A run of bytes that every line with a match contains (ASCII lower-cased
  // when caseless; there it holds no letter with a non-ASCII case variant),
  // taken from the pattern's top level; empty when none of 3 or more bytes can
  // be found safely (alternation, option settings, \Q...\E, verbs). find_line()
  // looks for it (LiteralFinder) and hands PCRE2 only the lines holding it.
  const std::string& required_literal() const { return literal_; }

  // True if `line` (one line, no '\n') has a match. Throws RegexLimitError if
  // PCRE2 gives up on the line (at most 10,000,000 backtracking steps).
  bool matches(std::string_view line) const;

  // The start and end (exclusive) of the first line of `data` at or after `from`
  // (a line start) that matches, or {npos, npos}. `data` holds whole lines.
  // (A search of the whole buffer that reaches PCRE2's limit goes on line by line.)
  std::pair<std::size_t, std::size_t> find_line(std::string_view data, std::size_t from) const;

  // A Regex is used by one thread at a time (it holds its match state).
  static constexpr std::uint32_t kMatchLimit = 10'000'000;

 private:
  // pcre2 (JIT) match of `subject` from `from`: its result code.
  int run(std::string_view subject, std::size_t from) const;
  // find_line() by PCRE2 over the whole buffer.
  std::pair<std::size_t, std::size_t> find_line_scan(std::string_view data, std::size_t from) const;

  std::string pattern_;
  std::string literal_;
  std::optional<LiteralFinder> finder_;  // of literal_, if any
  void* code_ = nullptr;                 // pcre2_code*
  void* match_data_ = nullptr;           // pcre2_match_data*
  void* context_ = nullptr;              // pcre2_match_context*: the limits
  void* jit_stack_ = nullptr;            // pcre2_jit_stack*
  bool jit_ = false;
};

}  // namespace cantina::store
