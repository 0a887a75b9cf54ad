#include "cantina/store/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

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

}  // namespace

Regex::Regex(std::string_view pattern, bool caseless) : pattern_(pattern) {
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
