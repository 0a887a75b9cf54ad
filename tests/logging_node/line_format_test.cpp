#define BOOST_TEST_MODULE line_format
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <string_view>

#include "line_format.h"

// Counts heap allocations in this test program, to check that formatting a line
// allocates nothing beyond growing the output string.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
// Not inlined: GCC would otherwise see free() on a pointer from operator new
// and warn (-Wmismatched-new-delete), not knowing that new is the one above.
[[gnu::noinline]] void operator delete(void* memory) noexcept {
  std::free(memory);
}
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}

namespace {

using cantina::bus::Level;
using cantina::logging::append_escaped;
using cantina::logging::append_line;
using cantina::logging::LogEntry;

// 2026-11-26T17:45:00.123456789Z
constexpr std::int64_t kTimestampNs = 1795715100123456789;

std::string escaped(std::string_view message) {
  std::string out;
  append_escaped(out, message);
  return out;
}

// UTF-8 encoding of `code_point` (test helper).
std::string encode_utf8(std::uint32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  }
  return out;
}

// Reverses append_escaped; fails the test on a malformed escape.
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    BOOST_REQUIRE(i + 1 < text.size());
    const char kind = text[++i];
    if (kind == '\\')
      out += '\\';
    else if (kind == 'n')
      out += '\n';
    else if (kind == 'r')
      out += '\r';
    else if (kind == 't')
      out += '\t';
    else if (kind == 'x') {
      BOOST_REQUIRE(i + 2 < text.size());
      out += static_cast<char>(std::stoul(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (kind == 'u') {
      BOOST_REQUIRE(i + 4 < text.size());
      out += encode_utf8(static_cast<std::uint32_t>(std::stoul(std::string(text.substr(i + 1, 4)), nullptr, 16)));
      i += 4;
    } else {
      BOOST_FAIL("unknown escape \\" << kind);
    }
  }
  return out;
}

// True if `text` is valid UTF-8 (independent, simple decoder).
bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code_point = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code_point = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = code_point << 6 | (next & 0x3fu);
    }
    static constexpr std::uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinimum[length] || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

LogEntry entry_with(Level level, std::string service, std::string message) {
  LogEntry entry;
  entry.timestamp_ns = kTimestampNs;
  entry.level = level;
  entry.service = std::move(service);
  entry.service_id = "some_id";
  entry.message = std::move(message);
  return entry;
}

std::string line_of(const LogEntry& entry) {
  std::string out;
  append_line(out, entry);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(line_format)

BOOST_AUTO_TEST_CASE(fields_follow_the_message_only_when_asked) {
  LogEntry entry = entry_with(Level::info, "Music Controller", "Track started");
  entry.fields.emplace_back("track", "cantina band.mp3");
  entry.fields.emplace_back("volume", "80");
  entry.fields.emplace_back("note", "a\nb\\c");
  const std::string plain = "[2026-11-26T17:45:00.123456Z] INFO     Music Controller     Track started\n";
  BOOST_TEST(line_of(entry) == plain);
  std::string out;
  append_line(out, entry, true);
  BOOST_TEST(out ==
             "[2026-11-26T17:45:00.123456Z] INFO     Music Controller     Track started"
             " track=cantina band.mp3 volume=80 note=a\\nb\\\\c\n");
  entry.fields.clear();
  out.clear();
  append_line(out, entry, true);
  BOOST_TEST(out == plain);
}

BOOST_AUTO_TEST_CASE(keeps_printable_ascii_unchanged) {
  const std::string text = "Track 7 started: \"Cantina Band\" {ok} ~ 100% [x]";
  BOOST_TEST(escaped(text) == text);
  BOOST_TEST(escaped("") == "");
}

BOOST_AUTO_TEST_CASE(finds_a_special_byte_at_any_position_of_a_long_message) {
  // Long plain runs are scanned 8 bytes at a time: a byte to escape must be seen
  // wherever it falls in a word, and every byte value must be treated alike.
  for (int value = 0; value < 256; ++value) {
    const char byte = static_cast<char>(value);
    const std::string alone = escaped(std::string_view(&byte, 1));
    for (std::size_t position = 0; position < 24; ++position) {
      std::string text(24, 'a');
      text[position] = byte;
      BOOST_REQUIRE_EQUAL(escaped(text), std::string(position, 'a') + alone + std::string(23 - position, 'a'));
    }
  }
}

BOOST_AUTO_TEST_CASE(escapes_backslash_and_whitespace_controls) {
  BOOST_TEST(escaped("a\\b") == "a\\\\b");
  BOOST_TEST(escaped("line1\nline2") == "line1\\nline2");
  BOOST_TEST(escaped("crlf\r\n") == "crlf\\r\\n");
  BOOST_TEST(escaped("col\tcol") == "col\\tcol");
}

BOOST_AUTO_TEST_CASE(escapes_other_c0_controls_esc_and_del_as_lowercase_hex) {
  BOOST_TEST(escaped(std::string_view("\0", 1)) == "\\x00");
  BOOST_TEST(escaped("\x01\x0b\x0c\x1f") == "\\x01\\x0b\\x0c\\x1f");
  BOOST_TEST(escaped("\x1b[31mred") == "\\x1b[31mred");
  BOOST_TEST(escaped("\x7f") == "\\x7f");
}

BOOST_AUTO_TEST_CASE(keeps_valid_multibyte_utf8) {
  const std::string text =
      "Caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf \xed\x9f\xbf";
  BOOST_TEST(escaped(text) == text);
}

BOOST_AUTO_TEST_CASE(escapes_c1_controls_as_unicode_escapes) {
  BOOST_TEST(escaped("a\xc2\x80z") == "a\\u0080z");
  BOOST_TEST(escaped("\xc2\x85") == "\\u0085");  // NEL, a line break for some readers
  BOOST_TEST(escaped("\xc2\x9b") == "\\u009b");  // CSI
  BOOST_TEST(escaped("\xc2\x9f") == "\\u009f");
  BOOST_TEST(escaped("\xc2\xa0") == "\xc2\xa0");  // first code point after C1 is kept
}

BOOST_AUTO_TEST_CASE(escapes_unicode_line_and_paragraph_separators) {
  BOOST_TEST(escaped("a\xe2\x80\xa8z\xe2\x80\xa9") == "a\\u2028z\\u2029");
  BOOST_TEST(escaped("\xe2\x80\xa7") == "\xe2\x80\xa7");
}

BOOST_AUTO_TEST_CASE(escapes_bidirectional_controls_that_could_reorder_what_a_reader_sees) {
  // Trojan Source: an embedding, override or isolate (or a mark) in a message would
  // make a terminal show the rest of the line, or the next lines, in another order.
  for (std::uint32_t code_point :
       {0x202au, 0x202bu, 0x202cu, 0x202du, 0x202eu, 0x2066u, 0x2067u, 0x2068u, 0x2069u, 0x200eu, 0x200fu, 0x061cu}) {
    char expected[7];
    std::snprintf(expected, sizeof expected, "\\u%04x", static_cast<unsigned>(code_point));
    BOOST_TEST(escaped("a" + encode_utf8(code_point) + "z") == "a" + std::string(expected) + "z");
  }
  // Their neighbours are ordinary text.
  for (std::uint32_t code_point : {0x202fu, 0x2065u, 0x206au, 0x200du, 0x2010u, 0x061bu, 0x061du}) {
    BOOST_TEST(escaped(encode_utf8(code_point)) == encode_utf8(code_point));
  }
  // In a whole line too: "Logging Service" cannot be made to read backwards.
  BOOST_TEST(line_of(entry_with(Level::info, "Svc\xe2\x80\xae", "ok\xe2\x81\xa6")).find("Svc\\u202e") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(escapes_each_invalid_byte_as_hex) {
  BOOST_TEST(escaped("\x80") == "\\x80");                             // lone continuation
  BOOST_TEST(escaped("\xff\xfe") == "\\xff\\xfe");                    // never valid
  BOOST_TEST(escaped("x\xe2\x82") == "x\\xe2\\x82");                  // truncated at the end
  BOOST_TEST(escaped("\xe2\x82z") == "\\xe2\\x82z");                  // truncated in the middle
  BOOST_TEST(escaped("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  BOOST_TEST(escaped("\xc1\xbf") == "\\xc1\\xbf");                    // overlong
  BOOST_TEST(escaped("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");           // overlong 3 bytes
  BOOST_TEST(escaped("\xf0\x80\x80\xaf") == "\\xf0\\x80\\x80\\xaf");  // overlong 4 bytes
  BOOST_TEST(escaped("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate U+D800
  BOOST_TEST(escaped("\xed\xbf\xbf") == "\\xed\\xbf\\xbf");           // surrogate U+DFFF
  BOOST_TEST(escaped("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  BOOST_TEST(escaped("\xf5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");
  // A valid sequence right after an invalid byte survives.
  BOOST_TEST(escaped("\xc3\xc3\xa9") == "\\xc3\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(random_bytes_give_one_valid_utf8_line_that_round_trips) {
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 64);
  for (int round = 0; round < 20000; ++round) {
    std::string message;
    const int size = length(random);
    for (int i = 0; i < size; ++i) message += static_cast<char>(byte(random));
    const std::string out = escaped(message);
    for (char c : out) {
      const auto value = static_cast<unsigned char>(c);
      BOOST_REQUIRE(value >= 0x20);
      BOOST_REQUIRE(value != 0x7f);
    }
    BOOST_REQUIRE(is_valid_utf8(out));
    BOOST_REQUIRE(unescape(out) == message);
  }
}

BOOST_AUTO_TEST_CASE(formats_a_line_like_the_python_f_string) {
  // Expected values produced by f"[{ts}] {level:8} {service:20} {message}\n".
  BOOST_TEST(line_of(entry_with(Level::info, "Music Controller", "Track started")) ==
             "[2026-11-26T17:45:00.123456Z] INFO     Music Controller     Track started\n");
  BOOST_TEST(line_of(entry_with(Level::critical, "Caf\xc3\xa9", "x")) ==
             "[2026-11-26T17:45:00.123456Z] CRITICAL Caf\xc3\xa9                 x\n");
  BOOST_TEST(line_of(entry_with(Level::warning, "A Service Name Longer Than Twenty", "m")) ==
             "[2026-11-26T17:45:00.123456Z] WARNING  A Service Name Longer Than Twenty m\n");
  BOOST_TEST(line_of(entry_with(Level::debug, "", "")) ==
             "[2026-11-26T17:45:00.123456Z] DEBUG                         \n");
  BOOST_TEST(line_of(entry_with(Level::error, "Exactly Twenty Chars", "e")) ==
             "[2026-11-26T17:45:00.123456Z] ERROR    Exactly Twenty Chars e\n");
}

BOOST_AUTO_TEST_CASE(escapes_message_and_service_in_the_line) {
  const std::string line = line_of(entry_with(Level::info, "Evil\nService", "two\nlines\\ and \x1b"));
  BOOST_TEST(line == "[2026-11-26T17:45:00.123456Z] INFO     Evil\\nService        two\\nlines\\\\ and \\x1b\n");
}

BOOST_AUTO_TEST_CASE(appends_after_existing_content) {
  std::string out = "previous line\n";
  append_line(out, entry_with(Level::info, "S", "one"));
  append_line(out, entry_with(Level::info, "S", "two"));
  BOOST_TEST(out ==
             "previous line\n"
             "[2026-11-26T17:45:00.123456Z] INFO     S                    one\n"
             "[2026-11-26T17:45:00.123456Z] INFO     S                    two\n");
}

BOOST_AUTO_TEST_CASE(allocates_nothing_when_the_output_has_room) {
  const LogEntry entry = entry_with(Level::warning, "Caf\xc3\xa9 \xc2\x85 Service", std::string(200, 'x') + "\n\xff");
  std::string out;
  out.reserve(4096);
  const long before = g_allocations.load();
  for (int i = 0; i < 10; ++i) append_line(out, entry);
  const long after = g_allocations.load();
  BOOST_TEST(after - before == 0);
  BOOST_TEST(out.size() > 2000u);
}

BOOST_AUTO_TEST_SUITE_END()
