// Finding a literal run of bytes fast in large buffers (the prefilter of regex,
// level and service queries): two of its rarest bytes are compared 16 at a time
// at their distance apart, and only where both fit is the whole literal compared
// (the "packed pair" of ripgrep's memchr crate: SSE2 where there is, else
// portable GCC vectors).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cantina::store {

class LiteralFinder {
 public:
  // `literal` (not empty); with `caseless`, ASCII letters match either case (the
  // literal is given in lower case).
  LiteralFinder(std::string literal, bool caseless);

  const std::string& literal() const { return literal_; }

  // The first place of the literal in `data` at or after `from`, or npos.
  std::size_t find(std::string_view data, std::size_t from) const;

 private:
  bool fits(const char* at) const;
#if defined(__SSE2__)
  // find() from `at` to `last` (the last place the literal can start) with SSE2.
  template <bool TwoCases>
  std::size_t scan(std::string_view data, std::size_t at, std::size_t last) const;
#endif

  std::string literal_;
  bool caseless_;
  std::size_t first_ = 0;  // the two positions compared first
  std::size_t second_ = 0;
  unsigned char first_bytes_[2] = {};  // the byte at each, in both cases
  unsigned char second_bytes_[2] = {};
};

}  // namespace cantina::store
