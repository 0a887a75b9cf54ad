#include "render.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/topics.h"

namespace cantina::cli {

namespace json = boost::json;
using bus::to_json;

namespace {

const char* colour_of(bus::Level level) {
  switch (level) {
    case bus::Level::debug: return "\x1b[2m";
    case bus::Level::info: return "";
    case bus::Level::warning: return "\x1b[33m";
    case bus::Level::error: return "\x1b[31m";
    case bus::Level::critical: return "\x1b[1;41;97m";
  }
  return "";
}

void append_padded(std::string& out, std::string_view text, std::size_t width) {
  out += text;
  if (text.size() < width) out.append(width - text.size(), ' ');
}

// Keeps one message on one line and makes terminal escapes harmless.
void append_escaped(std::string& out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\\')
      out += "\\\\";
    else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    } else {
      out += c;
    }
  }
}

// 1234567 -> "1,234,567".
std::string thousands(std::uint64_t value) {
  std::string digits = std::to_string(value);
  for (auto at = static_cast<std::ptrdiff_t>(digits.size()) - 3; at > 0; at -= 3)
    digits.insert(static_cast<std::size_t>(at), 1, ',');
  return digits;
}

// "45s", "12m 5s", "3h 20m", "2d 4h".
std::string duration(std::int64_t ns) {
  const std::int64_t seconds = std::max<std::int64_t>(0, ns / 1'000'000'000);
  const std::int64_t days = seconds / 86400, hours = seconds % 86400 / 3600, minutes = seconds % 3600 / 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m " + std::to_string(seconds % 60) + "s";
  return std::to_string(seconds) + "s";
}

}  // namespace

const char* level_colour(bus::Level level) {
  return colour_of(level);
}

std::string to_line(std::int64_t timestamp_ns, bus::Level level, std::string_view service, std::string_view message,
                    bool colour) {
  std::string out;
  out.reserve(64 + message.size());
  const char* start = colour ? colour_of(level) : "";
  out += start;
  out += '[';
  bus::append_iso8601(out, timestamp_ns);
  out += "] ";
  append_padded(out, bus::to_string(level), 8);
  out += ' ';
  std::string escaped_service;
  append_escaped(escaped_service, service);
  append_padded(out, escaped_service, 20);
  out += ' ';
  append_escaped(out, message);
  if (*start != '\0') out += "\x1b[0m";
  return out;
}

std::string render_record(const std::string& topic, const bus::LogRecord& record, std::string_view service_name,
                          const RenderOptions& options) {
  if (!options.json) return to_line(record.timestamp_ns, record.level, service_name, record.message, options.colour);
  json::object object = to_json(record);
  object["service_name"] = bus::valid_utf8(service_name);
  object["topic"] = topic;
  return json::serialize(object);
}

std::string render_entry(const bus::DashboardLog& entry, const RenderOptions& options) {
  if (!options.json) return to_line(entry.timestamp_ns, entry.level, entry.service, entry.message, options.colour);
  json::object object = to_json(entry);
  // One name per field, as for a live record: "service" is the id, "service_name" the display name.
  object["service_name"] = object["service"];
  object["service"] = object["service_id"];
  object.erase("service_id");
  // A record's source and context with the same keys as a live record's, also when empty.
  for (const char* key : {"file", "function", "thread"}) {
    if (!object.contains(key)) object[key] = "";
  }
  for (const char* key : {"line", "pid"}) {
    if (!object.contains(key)) object[key] = 0;
  }
  if (!object.contains("fields")) object["fields"] = json::object();
  object["topic"] = std::string(bus::topics::kDashboardLog);
  return json::serialize(object);
}

std::string stats_line(const bus::LoggingStats& stats) {
  std::string line = "[" + bus::iso8601(stats.timestamp_ns) + "] STATS    ";
  const std::pair<const char*, std::uint64_t> counts[] = {{"received", stats.received},
                                                          {"written", stats.written},
                                                          {"deduplicated", stats.deduplicated},
                                                          {"filtered", stats.filtered},
                                                          {"lost", stats.lost},
                                                          {"dropped", stats.dropped},
                                                          {"malformed", stats.malformed},
                                                          {"unwritten", stats.unwritten},
                                                          {"not streamed", stats.not_streamed},
                                                          {"queue", stats.queue_depth},
                                                          {"publishers", stats.publishers}};
  for (const auto& [name, value] : counts) {
    line += name;
    line += ' ';
    line += thousands(value);
    line += "  ";
  }
  line += "file " + thousands(stats.bytes_written) + " bytes  up " + duration(stats.uptime_ns);
  if (!stats.session_id.empty()) line += "  session " + bus::valid_utf8(stats.session_id);
  return line;
}

std::string render(const std::string& topic, const bus::Bytes& payload, const RenderOptions& options) {
  json::object object;
  std::string line;
  if (topic.starts_with(bus::topics::kStatusPrefix)) {
    auto status = bus::decode_service_status(payload);
    if (!status) return {};
    if (options.json)
      object = to_json(*status.value);
    else {
      line = "[" + bus::iso8601(status.value->timestamp_ns) + "] STATUS   ";
      append_escaped(line, status.value->service);
      line += " ";
      line += bus::to_string(status.value->state);
      line += " ";
      append_escaped(line, status.value->message);
    }
  } else if (topic == bus::topics::kLoggingStats) {
    auto stats = bus::decode_logging_stats(payload);
    if (!stats) return {};
    if (options.json)
      object = to_json(*stats.value);
    else
      line = stats_line(*stats.value);
  } else if (topic.starts_with(bus::topics::kLogLevelChangedPrefix)) {
    auto change = bus::decode_log_level_changed(payload);
    if (!change) return {};
    object = to_json(*change.value);
    if (!options.json) line = "LEVEL    " + json::serialize(object);
  } else {
    if (options.json) {
      object["bytes"] = payload.size();
    } else {
      line = topic + ": " + std::to_string(payload.size()) + " bytes";
    }
  }
  if (options.json) {
    object["topic"] = topic;
    return json::serialize(object);
  }
  return line;
}

}  // namespace cantina::cli
