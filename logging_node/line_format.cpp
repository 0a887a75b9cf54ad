#include "line_format.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cantina/bus/clock.h"
#include "cantina/bus/level.h"

namespace cantina::logging {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char byte) {
  const char escape[4] = {'\\', 'x', kHexDigits[byte >> 4], kHexDigits[byte & 0xf]};
  out.append(escape, sizeof escape);
}

void append_code_point_escape(std::string& out, std::uint32_t code_point) {
  const char escape[6] = {'\\',
                          'u',
                          kHexDigits[(code_point >> 12) & 0xf],
                          kHexDigits[(code_point >> 8) & 0xf],
                          kHexDigits[(code_point >> 4) & 0xf],
                          kHexDigits[code_point & 0xf]};
  out.append(escape, sizeof escape);
}

// True for the bytes that are copied unchanged: printable ASCII except the backslash.
constexpr bool is_plain_ascii(unsigned char byte) {
  return byte >= 0x20 && byte < 0x7f && byte != '\\';
}

constexpr bool is_continuation(unsigned char byte) {
  return (byte & 0xc0) == 0x80;
}

// Length of the valid UTF-8 sequence starting at `text[at]` (a byte >= 0x80), or 0 if
// it is not the start of one (Unicode 15, table 3-7: no overlongs, no surrogates,
// nothing above U+10FFFF). Stores the decoded code point in `code_point`.
std::size_t valid_sequence_length(std::string_view text, std::size_t at, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const std::size_t available = text.size() - at;
  const unsigned char lead = byte(0);
  if (lead >= 0xc2 && lead <= 0xdf) {
    if (available < 2 || !is_continuation(byte(1))) return 0;
    code_point = (std::uint32_t{lead} & 0x1f) << 6 | (std::uint32_t{byte(1)} & 0x3f);
    return 2;
  }
  if (lead >= 0xe0 && lead <= 0xef) {
    if (available < 3) return 0;
    const unsigned char second = byte(1);
    const unsigned char low = lead == 0xe0 ? 0xa0 : 0x80;
    const unsigned char high = lead == 0xed ? 0x9f : 0xbf;
    if (second < low || second > high || !is_continuation(byte(2))) return 0;
    code_point =
        (std::uint32_t{lead} & 0x0f) << 12 | (std::uint32_t{second} & 0x3f) << 6 | (std::uint32_t{byte(2)} & 0x3f);
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (available < 4) return 0;
    const unsigned char second = byte(1);
    const unsigned char low = lead == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high || !is_continuation(byte(2)) || !is_continuation(byte(3))) return 0;
    code_point = (std::uint32_t{lead} & 0x07) << 18 | (std::uint32_t{second} & 0x3f) << 12 |
                 (std::uint32_t{byte(2)} & 0x3f) << 6 | (std::uint32_t{byte(3)} & 0x3f);
    return 4;
  }
  return 0;
}

// The code points escaped although valid: C1 controls, the line and paragraph
// separators, and the bidirectional controls that make a terminal or an editor
// show text in another order than it is stored ("Trojan Source"): the embeddings
// and overrides U+202A..U+202E, the isolates U+2066..U+2069, and the marks
// U+200E, U+200F and U+061C.
constexpr bool must_escape(std::uint32_t code_point) {
  return code_point <= 0x9f || code_point == 0x2028 || code_point == 0x2029 ||
         (code_point >= 0x202a && code_point <= 0x202e) || (code_point >= 0x2066 && code_point <= 0x2069) ||
         code_point == 0x200e || code_point == 0x200f || code_point == 0x061c;
}

// Appends `count` spaces.
void append_padding(std::string& out, std::size_t count) {
  out.append(count, ' ');
}

// Number of code points in the valid UTF-8 text `text`.
std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += is_continuation(static_cast<unsigned char>(c)) ? 0 : 1;
  return count;
}

}  // namespace

// True if none of the 8 bytes of `word` needs attention: each is printable ASCII
// other than the backslash (bit tricks from "Bit Twiddling Hacks": a byte below
// 0x20, a zero byte after XOR with '\\' or DEL, or a high bit set each leave a mark).
static constexpr bool all_plain(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
  return (below_space | has_zero(word ^ (kOnes * '\\')) | has_zero(word ^ (kOnes * 0x7f)) | (word & kHighs)) == 0;
}

// End of the run of plain ASCII starting at `at`: 16 bytes at a time with SSE2
// (x86-64 always has it), then 8 at a time, then byte by byte.
static std::size_t plain_run_end(std::string_view text, std::size_t at) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i del = _mm_set1_epi8(0x7f);
  while (at + 16 <= text.size()) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at));
    // Signed compare: bytes >= 0x80 are negative, so "below space" marks them too.
    const __m128i marked = _mm_or_si128(_mm_cmplt_epi8(bytes, space),
                                        _mm_or_si128(_mm_cmpeq_epi8(bytes, backslash), _mm_cmpeq_epi8(bytes, del)));
    const int mask = _mm_movemask_epi8(marked);
    if (mask != 0) return at + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(mask)));
    at += 16;
  }
#endif
  while (at + 8 <= text.size()) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + at, sizeof word);
    if (!all_plain(word)) break;
    at += 8;
  }
  while (at < text.size() && is_plain_ascii(static_cast<unsigned char>(text[at]))) ++at;
  return at;
}

void append_escaped(std::string& out, std::string_view message) {
  std::size_t at = 0;
  while (at < message.size()) {
    // Copy the longest run of plain ASCII in one go: the common case.
    const std::size_t run_end = plain_run_end(message, at);
    if (run_end != at) {
      out.append(message.data() + at, run_end - at);
      at = run_end;
      if (at == message.size()) break;
    }
    const auto byte = static_cast<unsigned char>(message[at]);
    if (byte < 0x80) {
      switch (byte) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: append_byte_escape(out, byte); break;  // other C0 controls, ESC, DEL
      }
      ++at;
      continue;
    }
    std::uint32_t code_point = 0;
    const std::size_t length = valid_sequence_length(message, at, code_point);
    if (length == 0) {
      append_byte_escape(out, byte);
      ++at;
    } else if (must_escape(code_point)) {
      append_code_point_escape(out, code_point);
      at += length;
    } else {
      out.append(message.data() + at, length);
      at += length;
    }
  }
}

void append_line(std::string& out, const LogEntry& entry, bool fields) {
  out += '[';
  bus::append_iso8601(out, entry.timestamp_ns);
  out += "] ";

  const std::string_view level = bus::to_string(entry.level);
  out += level;
  if (level.size() < 8) append_padding(out, 8 - level.size());
  out += ' ';

  const std::size_t service_start = out.size();
  append_escaped(out, entry.service);
  const std::size_t service_width = count_code_points(std::string_view(out).substr(service_start));
  if (service_width < 20) append_padding(out, 20 - service_width);
  out += ' ';

  append_escaped(out, entry.message);
  if (fields) {
    for (const auto& [key, value] : entry.fields) {
      out += ' ';
      append_escaped(out, key);
      out += '=';
      append_escaped(out, value);
    }
  }
  out += '\n';
}

}  // namespace cantina::logging
