#include "cantina/store/literal.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cantina::store {

namespace {

constexpr bool is_lower(unsigned char c) {
  return c >= 'a' && c <= 'z';
}

constexpr unsigned char to_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

// How common a byte is in log lines (higher: more common), roughly: spaces,
// digits and the brackets of every line, then letters by English frequency.
int commonness(unsigned char c) {
  static constexpr char kLetters[] = "etaoinsrhldcumfpgwybvkxjqz";  // most common first
  if (c == ' ') return 255;
  if (c >= '0' && c <= '9') return 230;
  if (c == '[' || c == ']' || c == ':' || c == '.' || c == '-' || c == 'T' || c == 'Z') return 225;
  if (is_lower(c)) {
    const char* at = std::strchr(kLetters, c);
    return 250 - static_cast<int>(at - kLetters) * 5;
  }
  if (c >= 'A' && c <= 'Z') return 100;
  if (c < 0x80) return 120;  // other punctuation
  return 60;                 // a byte of a multi-byte character
}

}  // namespace

LiteralFinder::LiteralFinder(std::string literal, bool caseless) : literal_(std::move(literal)), caseless_(caseless) {
  // The two least common bytes (a caseless letter counts both its cases).
  auto cost = [&](std::size_t i) {
    const auto c = static_cast<unsigned char>(literal_[i]);
    return commonness(c) + (caseless_ && is_lower(c) ? 20 : 0);
  };
  for (std::size_t i = 1; i < literal_.size(); ++i) {
    if (cost(i) < cost(first_)) first_ = i;
  }
  second_ = first_ == 0 ? std::min<std::size_t>(1, literal_.size() - 1) : 0;
  for (std::size_t i = 0; i < literal_.size(); ++i) {
    if (i != first_ && cost(i) < cost(second_)) second_ = i;
  }
  auto both = [&](std::size_t i, unsigned char(&out)[2]) {
    const auto c = static_cast<unsigned char>(literal_[i]);
    out[0] = c;
    out[1] = caseless_ && is_lower(c) ? static_cast<unsigned char>(c - 'a' + 'A') : c;
  };
  both(first_, first_bytes_);
  both(second_, second_bytes_);
}

bool LiteralFinder::fits(const char* at) const {
  if (!caseless_) return std::memcmp(at, literal_.data(), literal_.size()) == 0;
  for (std::size_t k = 0; k < literal_.size(); ++k) {
    if (to_lower(static_cast<unsigned char>(at[k])) != static_cast<unsigned char>(literal_[k])) return false;
  }
  return true;
}

#if defined(__SSE2__)

// The places in [at, at + 16) where both compared bytes fit, as bits; with
// `TwoCases`, each byte in either of its cases.
template <bool TwoCases>
inline unsigned pair_hits(const char* at, std::size_t first, std::size_t second, const __m128i (&bytes)[4]) {
  const __m128i one = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + first));
  const __m128i two = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + second));
  __m128i a = _mm_cmpeq_epi8(one, bytes[0]);
  __m128i b = _mm_cmpeq_epi8(two, bytes[2]);
  if constexpr (TwoCases) {
    a = _mm_or_si128(a, _mm_cmpeq_epi8(one, bytes[1]));
    b = _mm_or_si128(b, _mm_cmpeq_epi8(two, bytes[3]));
  }
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(a, b)));
}

template <bool TwoCases>
std::size_t LiteralFinder::scan(std::string_view data, std::size_t at, std::size_t last) const {
  const char* base = data.data();
  const __m128i bytes[4] = {
      _mm_set1_epi8(static_cast<char>(first_bytes_[0])), _mm_set1_epi8(static_cast<char>(first_bytes_[1])),
      _mm_set1_epi8(static_cast<char>(second_bytes_[0])), _mm_set1_epi8(static_cast<char>(second_bytes_[1]))};
  // The first place from `at` whose bit is set in `hits` and where the literal fits.
  auto first_fit = [&](unsigned hits) -> std::size_t {
    for (; hits != 0; hits &= hits - 1) {
      const auto k = static_cast<std::size_t>(__builtin_ctz(hits));
      if (fits(base + at + k)) return at + k;
    }
    return std::string_view::npos;
  };
  // 32 places a step: the loads of a place reach at most last + length - 1.
  for (; at + 32 <= last + 1; at += 32) {
    const unsigned hits = pair_hits<TwoCases>(base + at, first_, second_, bytes) |
                          (pair_hits<TwoCases>(base + at + 16, first_, second_, bytes) << 16);
    if (const std::size_t found = first_fit(hits); found != std::string_view::npos) return found;
  }
  for (; at + 16 <= last + 1; at += 16) {
    if (const std::size_t found = first_fit(pair_hits<TwoCases>(base + at, first_, second_, bytes));
        found != std::string_view::npos)
      return found;
  }
  for (; at <= last; ++at) {
    if (fits(base + at)) return at;
  }
  return std::string_view::npos;
}

std::size_t LiteralFinder::find(std::string_view data, std::size_t from) const {
  const std::size_t length = literal_.size();
  if (from > data.size() || data.size() - from < length) return std::string_view::npos;
  const std::size_t last = data.size() - length;  // the last place it can start
  const bool two_cases = first_bytes_[0] != first_bytes_[1] || second_bytes_[0] != second_bytes_[1];
  return two_cases ? scan<true>(data, from, last) : scan<false>(data, from, last);
}

#else  // portable GCC vectors

std::size_t LiteralFinder::find(std::string_view data, std::size_t from) const {
  using Bytes = unsigned char __attribute__((vector_size(16)));
  constexpr auto npos = std::string_view::npos;
  const std::size_t length = literal_.size();
  if (from > data.size() || data.size() - from < length) return npos;
  const char* base = data.data();
  const std::size_t last = data.size() - length;  // the last place it can start
  std::size_t at = from;
  const Bytes first_a = Bytes{} + first_bytes_[0];
  const Bytes first_b = Bytes{} + first_bytes_[1];
  const Bytes second_a = Bytes{} + second_bytes_[0];
  const Bytes second_b = Bytes{} + second_bytes_[1];
  while (at + 16 <= last + 1) {
    Bytes one;
    Bytes two;
    std::memcpy(&one, base + at + first_, sizeof one);
    std::memcpy(&two, base + at + second_, sizeof two);
    const auto hits = ((one == first_a) | (one == first_b)) & ((two == second_a) | (two == second_b));
    std::uint64_t halves[2];
    std::memcpy(halves, &hits, sizeof halves);
    if ((halves[0] | halves[1]) != 0) {
      for (std::size_t k = 0; k < 16; ++k) {
        if (hits[k] != 0 && fits(base + at + k)) return at + k;
      }
    }
    at += 16;
  }
  for (; at <= last; ++at) {
    if (fits(base + at)) return at;
  }
  return npos;
}

#endif

}  // namespace cantina::store
