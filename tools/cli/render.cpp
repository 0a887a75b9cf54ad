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

std::string render_record(const std::string& topic, const bus::LogRecord& record, const RenderOptions& options) {
  if (!options.json) return to_line(record.timestamp_ns, record.level, record.service, record.message, options.colour);
  json::object object = to_json(record);
  object["topic"] = topic;
  return json::serialize(object);
}

std::string render_entry(const bus::DashboardLog& entry, const RenderOptions& options) {
  if (!options.json) return to_line(entry.timestamp_ns, entry.level, entry.service, entry.message, options.colour);
  json::object object = to_json(entry);
  object["topic"] = std::string(bus::topics::kDashboardLog);
  return json::serialize(object);
}

std::string render(const std::string& topic, const bus::Bytes& payload, const RenderOptions& options) {
  json::object object;
  std::string line;
  if (auto log_topic = bus::topics::parse_log_topic(topic)) {
    // A batch is rendered one record a line.
    auto records = bus::decode_log_records(payload, log_topic->batch);
    if (!records) return {};
    for (const bus::LogRecord& record : records.value->records) {
      if (!line.empty()) line += '\n';
      line += render_record(topic, record, options);
    }
    return line;
  } else if (auto dashboard = bus::topics::parse_dashboard_topic(topic)) {
    // One entry, or a batch of them rendered one entry a line.
    auto entries = bus::decode_dashboard_logs(payload, dashboard->batch);
    if (!entries) return {};
    for (const bus::DashboardLog& entry : entries.value->entries) {
      if (!line.empty()) line += '\n';
      line += render_entry(entry, options);
    }
    return line;
  } else if (topic.starts_with(bus::topics::kStatusPrefix)) {
    auto status = bus::decode_service_status(payload);
    if (!status) return {};
    if (options.json)
      object = to_json(*status.value);
    else
      line = "[" + bus::iso8601(status.value->timestamp_ns) + "] STATUS   " + status.value->service + " " +
             bus::to_string(status.value->state) + " " + status.value->message;
  } else if (topic == bus::topics::kLoggingStats) {
    auto stats = bus::decode_logging_stats(payload);
    if (!stats) return {};
    object = to_json(*stats.value);
    if (!options.json) line = "[" + bus::iso8601(stats.value->timestamp_ns) + "] STATS    " + json::serialize(object);
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
