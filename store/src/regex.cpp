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
  if (match_data_ == nullptr) {
    pcre2_code_free(code);
    throw std::bad_alloc();
  }
}

Regex::~Regex() {
  pcre2_match_data_free(data_of(match_data_));
  pcre2_code_free(code_of(code_));
}

bool Regex::matches(std::string_view line) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(line.data());
  const int result = jit_ ? pcre2_jit_match(code_of(code_), subject, line.size(), 0, 0, data_of(match_data_), nullptr)
                          : pcre2_match(code_of(code_), subject, line.size(), 0, 0, data_of(match_data_), nullptr);
  return result >= 0;
}

std::pair<std::size_t, std::size_t> Regex::find_line(std::string_view data, std::size_t from) const {
  constexpr auto npos = std::string_view::npos;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(data.data());
  while (from < data.size()) {
    const int result =
        jit_ ? pcre2_jit_match(code_of(code_), subject, data.size(), from, 0, data_of(match_data_), nullptr)
             : pcre2_match(code_of(code_), subject, data.size(), from, 0, data_of(match_data_), nullptr);
    if (result < 0) return {npos, npos};
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
