// The web bridge's only use of the generated Cap'n Proto code besides bus/'s
// codec: reading a DashboardLog in place is the bridge's per-entry hot path, and
// bus/'s decoder copies every field into a DashboardLog first. The checks
// (limits, enum ranges) are the codec's; tests/webbridge_node/entry_json_test.cpp
// holds both to the same output and the same rejections.
#include "entry_json.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <charconv>
#include <cstring>
#include <vector>

#include <cantina/schema/dashboard_log.capnp.h>

#include "cantina/bus/json.h"
#include "cantina/bus/level.h"

namespace cantina::webbridge {

namespace {

namespace s = cantina::schema;

// As in bus/src/codec.cpp: how far a reader may follow pointers.
constexpr std::uint64_t kTraversalLimitWords = std::uint64_t{4} * 1024 * 1024 / 8 * 2;

// True if any of the 8 bytes at `bytes` is a control character, '"', '\\' or
// not ASCII (the bit tricks of "Bit Twiddling Hacks": has a zero byte, has a
// byte less than n).
bool needs_care(const char* bytes) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  std::uint64_t word;
  std::memcpy(&word, bytes, sizeof word);
  const std::uint64_t quote = word ^ (kOnes * '"');
  const std::uint64_t backslash = word ^ (kOnes * '\\');
  const std::uint64_t control = (word - kOnes * 0x20) & ~word;
  const std::uint64_t special = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
  return ((control | special) & kHighs) != 0 || (word & kHighs) != 0;
}

// Appends `text` as a JSON string: each invalid UTF-8 sequence becomes U+FFFD
// (as bus::valid_utf8), then escaped as boost::json::serialize escapes.
void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of plain printable ASCII are the common case: find their end 8 bytes
    // at a time, then copy them at once.
    std::size_t plain = i;
    while (plain + 8 <= text.size() && !needs_care(text.data() + plain)) plain += 8;
    while (plain < text.size()) {
      const auto byte = static_cast<unsigned char>(text[plain]);
      if (byte < 0x20 || byte >= 0x80 || byte == '"' || byte == '\\') break;
      ++plain;
    }
    out.append(text.data() + i, plain - i);
    i = plain;
    if (i == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      switch (byte) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\f': out += "\\f"; break;
        case '\r': out += "\\r"; break;
        default:
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 15];
      }
      ++i;
      continue;
    }
    const std::size_t length = bus::utf8_sequence_length(text, i);
    if (length != 0) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out += '"';
}

void append_text(std::string& out, std::string_view key, capnp::Text::Reader value) {
  out += key;
  append_string(out, {value.cStr(), value.size()});
}

template <class Integer>
void append_integer(std::string& out, std::string_view key, Integer value) {
  out += key;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void append_entry(std::string& out, s::DashboardLog::Reader in) {
  const auto level = static_cast<std::uint16_t>(in.getLevel());
  if (level > static_cast<std::uint16_t>(bus::kHighestLevel)) KJ_FAIL_REQUIRE("enum out of range", "level", level);
  const auto kind = static_cast<std::uint16_t>(in.getKind());
  if (kind > 3) KJ_FAIL_REQUIRE("enum out of range", "kind", kind);
  append_text(out, "{\"timestamp\":", in.getTimestamp());
  append_integer(out, ",\"timestamp_ns\":", in.getTimestampNs());
  out += ",\"level\":\"";
  out += bus::to_string(static_cast<bus::Level>(level));
  out += '"';
  append_text(out, ",\"service\":", in.getService());
  append_text(out, ",\"service_id\":", in.getServiceId());
  append_text(out, ",\"message\":", in.getMessage());
  append_text(out, ",\"session_id\":", in.getSessionId());
  append_text(out, ",\"entry_id\":", in.getEntryId());
  out += ",\"kind\":\"";
  out += bus::to_string(static_cast<bus::EntryKind>(kind));
  out += '"';
  append_integer(out, ",\"repeat_count\":", in.getRepeatCount());
  append_text(out, ",\"host\":", in.getHost());
  append_text(out, ",\"logger\":", in.getLogger());
  append_integer(out, ",\"sequence\":", in.getSequence());
  out += '}';
}

}  // namespace

bool append_entry_json(bus::Bytes payload, std::string& out) noexcept {
  if (payload.empty() || payload.size() % sizeof(capnp::word) != 0) return false;
  const std::size_t size_before = out.size();
  try {
    const std::size_t word_count = payload.size() / sizeof(capnp::word);
    const capnp::word* words = reinterpret_cast<const capnp::word*>(payload.data());
    std::vector<capnp::word> aligned_copy;
    if (reinterpret_cast<std::uintptr_t>(payload.data()) % alignof(capnp::word) != 0) {
      aligned_copy.resize(word_count);
      std::memcpy(aligned_copy.data(), payload.data(), payload.size());
      words = aligned_copy.data();
    }
    capnp::ReaderOptions options;
    options.traversalLimitInWords = kTraversalLimitWords;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words, word_count), options);
    append_entry(out, reader.getRoot<s::DashboardLog>());
    return true;
  } catch (...) {  // kj::Exception from a malformed message, std::bad_alloc
    out.resize(size_before);
    return false;
  }
}

}  // namespace cantina::webbridge
