// Entry JSON is the web bridge's per-entry hot path: the entries are read in
// place through bus::visit_dashboard_entries (no DashboardLog, no json::object, no
// allocation per entry); tests/webbridge_node/entry_json_test.cpp holds the text
// to bus::to_json's and the rejections to bus::decode_dashboard_logs'.
#include "entry_json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "cantina/bus/json.h"
#include "cantina/bus/level.h"

namespace cantina::webbridge {

namespace {

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

void append_text(std::string& out, std::string_view key, std::string_view value) {
  out += key;
  append_string(out, value);
}

template <class Integer>
void append_integer(std::string& out, std::string_view key, Integer value) {
  out += key;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// True if `text` is valid UTF-8 (append_string keeps it as it is).
bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = bus::utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// Appends `,"fields":{...}` as bus::to_json builds it in a json::object: a key
// given twice (after invalid UTF-8 became U+FFFD) has its last value, at its
// first place. Only an entry with two fields or more pays for finding repeats.
void append_fields(std::string& out, std::span<const std::pair<std::string_view, std::string_view>> fields) {
  out += ",\"fields\":{";
  if (fields.size() == 1) {
    append_string(out, fields[0].first);
    out += ':';
    append_string(out, fields[0].second);
    out += '}';
    return;
  }
  std::vector<std::string> cleaned;  // keys with invalid UTF-8, as written
  cleaned.reserve(fields.size());
  std::vector<std::string_view> keys;
  keys.reserve(fields.size());
  for (const auto& field : fields) {
    if (is_valid_utf8(field.first)) {
      keys.push_back(field.first);
    } else {
      keys.emplace_back(cleaned.emplace_back(bus::valid_utf8(field.first)));
    }
  }
  std::vector<std::uint32_t> order(fields.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
  constexpr std::uint32_t kSkip = UINT32_MAX;
  std::vector<std::uint32_t> value_of(fields.size(), kSkip);  // at a key's first place: its last value
  for (std::size_t run = 0; run < order.size();) {
    std::size_t end = run + 1;
    while (end < order.size() && keys[order[end]] == keys[order[run]]) ++end;
    value_of[order[run]] = order[end - 1];
    run = end;
  }
  bool first = true;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (value_of[i] == kSkip) continue;
    if (!first) out += ',';
    first = false;
    append_string(out, keys[i]);
    out += ':';
    append_string(out, fields[value_of[i]].second);
  }
  out += '}';
}

}  // namespace

void append_entry_json(const bus::DashboardLogView& entry, std::string& out) {
  append_text(out, "{\"timestamp\":", entry.timestamp);
  append_integer(out, ",\"timestamp_ns\":", entry.timestamp_ns);
  out += ",\"level\":\"";
  out += bus::to_string(entry.level);
  out += '"';
  append_text(out, ",\"service\":", entry.service);
  append_text(out, ",\"service_id\":", entry.service_id);
  append_text(out, ",\"message\":", entry.message);
  append_text(out, ",\"session_id\":", entry.session_id);
  append_text(out, ",\"entry_id\":", entry.entry_id);
  out += ",\"kind\":\"";
  out += bus::to_string(entry.kind);
  out += '"';
  append_integer(out, ",\"repeat_count\":", entry.repeat_count);
  append_text(out, ",\"host\":", entry.host);
  append_text(out, ",\"logger\":", entry.logger);
  append_integer(out, ",\"sequence\":", entry.sequence);
  // A record's source and context, each only when it has one (as bus::to_json).
  if (!entry.file.empty()) append_text(out, ",\"file\":", entry.file);
  if (entry.line != 0) append_integer(out, ",\"line\":", entry.line);
  if (!entry.function.empty()) append_text(out, ",\"function\":", entry.function);
  if (!entry.thread.empty()) append_text(out, ",\"thread\":", entry.thread);
  if (entry.pid != 0) append_integer(out, ",\"pid\":", entry.pid);
  if (!entry.fields.empty()) append_fields(out, entry.fields);
  out += '}';
}

std::optional<std::size_t> append_entries_json(bus::Bytes payload, bool batch, std::string& out,
                                               std::uint64_t* not_streamed, std::string* timestamps) noexcept {
  const std::size_t size_before = out.size();
  const std::size_t timestamps_before = timestamps != nullptr ? timestamps->size() : 0;
  std::size_t count = 0;
  // A bad part undoes the whole message: nothing of a malformed message is shown.
  const std::string error = bus::visit_dashboard_entries(
      payload, batch,
      [&](const bus::DashboardLogView& entry) {
        if (count > 0) out += ',';
        append_entry_json(entry, out);  // std::bad_alloc: the decoder reports it as an error
        if (timestamps != nullptr) {
          append_integer(*timestamps, count > 0 ? ",\"" : "\"", entry.timestamp_ns);
          *timestamps += '"';
        }
        ++count;
      },
      not_streamed);
  if (!error.empty()) {
    out.resize(size_before);
    if (timestamps != nullptr) timestamps->resize(timestamps_before);
    if (not_streamed != nullptr) *not_streamed = 0;
    return std::nullopt;
  }
  return count;
}

bool append_entry_json(bus::Bytes payload, std::string& out) noexcept {
  return append_entries_json(payload, false, out).has_value();
}

}  // namespace cantina::webbridge
