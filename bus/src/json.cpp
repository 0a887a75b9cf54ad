#include "cantina/bus/json.h"

#include "cantina/bus/clock.h"

namespace cantina::bus {

namespace json = boost::json;

namespace {

std::string hex_id(std::uint64_t id) {
  char buffer[17];
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    buffer[i] = hex[id & 15];
    id >>= 4;
  }
  buffer[16] = '\0';
  return buffer;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
  const auto byte = static_cast<unsigned char>(text[at]);
  if (byte < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  if ((byte & 0xe0) == 0xc0)
    length = 2, code_point = byte & 0x1f;
  else if ((byte & 0xf0) == 0xe0)
    length = 3, code_point = byte & 0x0f;
  else if ((byte & 0xf8) == 0xf0)
    length = 4, code_point = byte & 0x07;
  if (length == 0 || at + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  const bool valid =
      code_point >= kMinimum[length] && code_point <= 0x10ffff && !(code_point >= 0xd800 && code_point <= 0xdfff);
  return valid ? length : 0;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t length = utf8_sequence_length(text, i)) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

const char* to_string(EntryKind kind) noexcept {
  switch (kind) {
    case EntryKind::record: return "record";
    case EntryKind::repeat_summary: return "repeat_summary";
    case EntryKind::loss: return "loss";
    case EntryKind::node: return "node";
  }
  return "record";
}

json::object to_json(const LogRecord& record) {
  json::object out;
  out["timestamp"] = iso8601(record.timestamp_ns);
  out["timestamp_ns"] = record.timestamp_ns;
  out["level"] = std::string(to_string(record.level));
  out["service"] = valid_utf8(record.service);
  out["message"] = valid_utf8(record.message);
  out["logger"] = valid_utf8(record.logger);
  out["host"] = valid_utf8(record.host);
  out["pid"] = record.pid;
  out["publisher_id"] = hex_id(record.publisher_id);
  out["sequence"] = record.sequence;
  out["file"] = valid_utf8(record.file);
  out["line"] = record.line;
  out["function"] = valid_utf8(record.function);
  out["thread"] = valid_utf8(record.thread);
  json::object fields;
  for (const auto& [key, value] : record.fields) fields[valid_utf8(key)] = valid_utf8(value);
  out["fields"] = std::move(fields);
  return out;
}

json::object to_json(const DashboardLog& entry) {
  json::object out;
  out["timestamp"] = valid_utf8(entry.timestamp);
  out["timestamp_ns"] = entry.timestamp_ns;
  out["level"] = std::string(to_string(entry.level));
  out["service"] = valid_utf8(entry.service);
  out["service_id"] = valid_utf8(entry.service_id);
  out["message"] = valid_utf8(entry.message);
  out["session_id"] = valid_utf8(entry.session_id);
  out["entry_id"] = valid_utf8(entry.entry_id);
  out["kind"] = to_string(entry.kind);
  out["repeat_count"] = entry.repeat_count;
  out["host"] = valid_utf8(entry.host);
  out["logger"] = valid_utf8(entry.logger);
  out["sequence"] = entry.sequence;
  // A record's source and context, each only when it has one.
  if (!entry.file.empty()) out["file"] = valid_utf8(entry.file);
  if (entry.line != 0) out["line"] = entry.line;
  if (!entry.function.empty()) out["function"] = valid_utf8(entry.function);
  if (!entry.thread.empty()) out["thread"] = valid_utf8(entry.thread);
  if (entry.pid != 0) out["pid"] = entry.pid;
  if (!entry.fields.empty()) {
    json::object fields;
    for (const auto& [key, value] : entry.fields) fields[valid_utf8(key)] = valid_utf8(value);
    out["fields"] = std::move(fields);
  }
  return out;
}

json::object to_json(const ServiceStatus& status) {
  json::object out;
  out["service"] = valid_utf8(status.service);
  out["state"] = to_string(status.state);
  out["message"] = valid_utf8(status.message);
  out["timestamp"] = iso8601(status.timestamp_ns);
  out["since"] = iso8601(status.since_ns);
  out["pid"] = status.pid;
  out["host"] = valid_utf8(status.host);
  return out;
}

json::object to_json(const LoggingStats& stats) {
  json::object out;
  out["timestamp"] = iso8601(stats.timestamp_ns);
  out["session_id"] = valid_utf8(stats.session_id);
  out["session_file"] = valid_utf8(stats.session_file);
  out["received"] = stats.received;
  out["written"] = stats.written;
  out["deduplicated"] = stats.deduplicated;
  out["filtered"] = stats.filtered;
  out["lost"] = stats.lost;
  out["dropped"] = stats.dropped;
  out["malformed"] = stats.malformed;
  out["queue_depth"] = stats.queue_depth;
  out["bytes_written"] = stats.bytes_written;
  out["unwritten"] = stats.unwritten;
  out["repeat_summaries"] = stats.repeat_summaries;
  out["publishers"] = stats.publishers;
  out["uptime_s"] = static_cast<double>(stats.uptime_ns) / 1e9;
  out["not_streamed"] = stats.not_streamed;
  out["bytes_kept"] = stats.bytes_kept;
  return out;
}

json::object to_json(const LogLevelChanged& change) {
  json::object out;
  out["service"] = valid_utf8(change.service);
  out["level"] = std::string(to_string(change.level));
  out["previous"] = std::string(to_string(change.previous));
  out["request_id"] = change.request_id;
  out["pid"] = change.pid;
  return out;
}

}  // namespace cantina::bus
