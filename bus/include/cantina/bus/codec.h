// Encoding and decoding of bus messages. The only place that touches the generated
// Cap'n Proto code. Decoding never throws: malformed input is a value.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "cantina/bus/records.h"

namespace cantina::bus {

// Result of decoding a payload: either a value or the reason it was rejected.
template <class T>
struct Decoded {
  std::optional<T> value;
  std::string error;  // set when !value

  explicit operator bool() const noexcept { return value.has_value(); }
};

using Bytes = std::span<const std::byte>;

// A log record by reference, for encoding without copying into a LogRecord.
struct LogRecordView {
  std::int64_t timestamp_ns = 0;
  Level level = Level::info;
  std::string_view service, logger, message, host;
  std::uint32_t pid = 0;
  std::uint64_t publisher_id = 0;
  std::uint64_t sequence = 0;
  std::string_view file;
  std::uint32_t line = 0;
  std::string_view function, thread;
  std::span<const std::pair<std::string, std::string>> fields;  // key-value context; may be empty
};

// Serialises `record` into `out` (replacing its contents).
void encode_into(const LogRecordView& record, std::string& out);

// Decodes a LogRecord without copying it: calls `use` once with views into
// `payload` (valid only during the call; `fields` is left empty). Returns an
// empty string on success, else why the payload was rejected (then `use` was
// not called, or its work must be discarded). Never throws.
std::string decode_log_record_view(Bytes payload, const std::function<void(const LogRecordView&)>& use) noexcept;

// Serialised Cap'n Proto messages (flat array of words, as sent on the bus).
std::string encode(const LogRecord& record);
std::string encode(const DashboardLog& entry);
std::string encode(const HistoryQuery& query);
std::string encode(const HistoryReply& reply);
std::string encode(const ServiceStatus& status);
std::string encode(const LoggingStats& stats);
std::string encode(const SetLogLevel& request);
std::string encode(const LogLevelChanged& change);

// Each decoder validates the whole message (size limits, pointers, enum ranges,
// UTF-8 is not required) and copies it out.
Decoded<LogRecord> decode_log_record(Bytes payload) noexcept;
Decoded<DashboardLog> decode_dashboard_log(Bytes payload) noexcept;
Decoded<HistoryQuery> decode_history_query(Bytes payload) noexcept;
Decoded<HistoryReply> decode_history_reply(Bytes payload) noexcept;
Decoded<ServiceStatus> decode_service_status(Bytes payload) noexcept;
Decoded<LoggingStats> decode_logging_stats(Bytes payload) noexcept;
Decoded<SetLogLevel> decode_set_log_level(Bytes payload) noexcept;
Decoded<LogLevelChanged> decode_log_level_changed(Bytes payload) noexcept;

inline Bytes as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace cantina::bus
