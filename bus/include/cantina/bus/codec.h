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

// How much of a message the decoders read at most (Cap'n Proto's traversal limit):
// twice the largest bus message. A compact message can decode to a value whose
// encoding is larger (a list of empty elements counts as one word each), so not
// every decoded value re-encodes within this limit.
inline constexpr std::size_t kMaxDecodedBytes = std::size_t{8} * 1024 * 1024;

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

// Which fields the in-place decoders read. A field that is not read is left
// empty and not validated either (Cap'n Proto checks a pointer when it is read):
// `without_source` skips file, function and thread, which the logging node never uses.
enum class ViewFields { all, without_source };

// Decodes a LogRecord without copying it: calls `use` once with views into
// `payload` (valid only during the call; `fields` is left empty). Returns an
// empty string on success, else why the payload was rejected (then `use` was
// not called, or its work must be discarded). Never throws.
std::string decode_log_record_view(Bytes payload, const std::function<void(const LogRecordView&)>& use,
                                   ViewFields fields = ViewFields::all) noexcept;

// What a LogRecordBatch says besides its records.
struct LogBatchInfo {
  std::uint64_t publisher_id = 0;
  std::uint64_t last_sequence = 0;  // 0 = not stated
  std::size_t records = 0;
};

// Most records a decoder accepts in one LogRecordBatch (a bus message of at most
// 4 MiB cannot hold more real records than this).
inline constexpr std::size_t kMaxBatchRecords = 65536;

// What every record of a LogRecordBatch shares, stated once in the batch. A
// record whose own field is empty (`pid` 0) has the batch's value: decoders fill
// it in, so readers see whole records either way.
struct LogBatchShared {
  std::string_view service, host, logger;
  std::uint32_t pid = 0;
};

// Encodes LogRecordBatch messages into a first segment it keeps and reuses, so a
// warm encoder allocates nothing but `out`'s growth. One thread uses an encoder.
class LogBatchEncoder {
 public:
  LogBatchEncoder();
  ~LogBatchEncoder();
  LogBatchEncoder(const LogBatchEncoder&) = delete;
  LogBatchEncoder& operator=(const LogBatchEncoder&) = delete;

  // Serialises `records` with `publisher_id` and `last_sequence` into `out`
  // (replacing its contents). `shared` is stated in the batch; records may then
  // leave those fields empty (they are written as they are).
  void encode(std::span<const LogRecordView> records, std::uint64_t publisher_id, std::uint64_t last_sequence,
              std::string& out, const LogBatchShared& shared = {});

 private:
  std::uint64_t* segment_;  // calloc'd words; each builder re-zeroes what it used
};

// A DashboardLog by reference, for encoding without building one.
struct DashboardLogView {
  std::string_view timestamp;
  std::int64_t timestamp_ns = 0;
  Level level = Level::info;
  std::string_view service, service_id, message, session_id, entry_id;
  std::uint32_t repeat_count = 0;
  EntryKind kind = EntryKind::record;
  std::string_view host, logger;
  std::uint64_t sequence = 0;
};

// Most entries a decoder accepts in one DashboardLogBatch (the logging node sends
// at most kDashboardBatchEntries; a reader's work per message stays bounded).
inline constexpr std::size_t kMaxDashboardBatchEntries = 4096;

// The logging node's bounds for one DashboardLogBatch message: entries, and bytes
// as estimated by dashboard_entry_size() (one larger entry goes alone).
inline constexpr std::size_t kDashboardBatchEntries = 1024;
inline constexpr std::size_t kDashboardBatchBytes = std::size_t{128} * 1024;

// The bytes `entry` adds to a DashboardLogBatch message: its struct (11 words) and
// its non-empty texts, each NUL-terminated and padded to a word. Exact for the
// encoders below.
std::size_t dashboard_entry_size(const DashboardLogView& entry) noexcept;

// Encodes DashboardLogBatch messages into a first segment it keeps and reuses
// (256 KiB: a batch within kDashboardBatchBytes fits), so a warm encoder allocates
// nothing but `out`'s growth. One thread uses an encoder.
class DashboardBatchEncoder {
 public:
  DashboardBatchEncoder();
  ~DashboardBatchEncoder();
  DashboardBatchEncoder(const DashboardBatchEncoder&) = delete;
  DashboardBatchEncoder& operator=(const DashboardBatchEncoder&) = delete;

  // Serialises `entries` and `not_streamed` (the same bytes as
  // encode(const DashboardLogBatch&)) into `out` (replacing its contents).
  void encode(std::span<const DashboardLogView> entries, std::string& out, std::uint64_t not_streamed = 0);

 private:
  std::uint64_t* segment_;  // calloc'd words; each builder re-zeroes what it used
};

// Decode the dashboard entries of a message without copying them: call `use` once
// per entry, in order, with views into `payload` (valid only during the call).
// Return an empty string on success, else why the payload was rejected; entries
// before the bad part may already have been passed to `use`, so a caller that
// must not act on part of a message undoes their work. Never throw (`use` must
// not throw).
// - one DashboardLog, as sent on `/dashboard/log`:
std::string decode_dashboard_log_view(Bytes payload, const std::function<void(const DashboardLogView&)>& use) noexcept;
// - a DashboardLogBatch (at most kMaxDashboardBatchEntries), as on `/dashboard/log/batch`,
//   storing its notStreamed count (entries left out before these) in `*not_streamed`
//   if given:
std::string decode_dashboard_batch_view(Bytes payload, const std::function<void(const DashboardLogView&)>& use,
                                        std::uint64_t* not_streamed = nullptr) noexcept;
// - either: a DashboardLogBatch if `batch` (topics::parse_dashboard_topic), else one
//   DashboardLog (not_streamed 0).
std::string decode_dashboard_entries_view(Bytes payload, bool batch,
                                          const std::function<void(const DashboardLogView&)>& use,
                                          std::uint64_t* not_streamed = nullptr) noexcept;

// Decodes a LogRecordBatch without copying it: fills `info`, then calls `use` once
// per record, in order, with views into `payload` (valid only during the call;
// `fields` left empty; a record's empty service, host, logger and 0 pid filled in
// from the batch's, see LogBatchShared). Returns an empty string on success, else why the payload
// was rejected; the records before the bad part may already have been passed to
// `use`. Never throws (`use` must not throw).
std::string decode_log_batch_view(Bytes payload, LogBatchInfo& info,
                                  const std::function<void(const LogRecordView&)>& use,
                                  ViewFields fields = ViewFields::all) noexcept;

// Serialised Cap'n Proto messages (flat array of words, as sent on the bus).
std::string encode(const LogRecord& record);
std::string encode(const LogRecordBatch& batch);
std::string encode(const DashboardLog& entry);
std::string encode(const DashboardLogBatch& batch);
std::string encode(const HistoryQuery& query);
std::string encode(const HistoryReply& reply);
std::string encode(const ServiceStatus& status);
std::string encode(const LoggingStats& stats);
std::string encode(const SetLogLevel& request);
std::string encode(const LogLevelChanged& change);

// Each decoder validates the whole message (size limits, pointers, enum ranges,
// UTF-8 is not required) and copies it out. The batch decoders fill in each
// record's empty service, host, logger and 0 pid from the batch (LogBatchShared);
// a batch whose filled-in text would pass kMaxDecodedBytes is rejected.
Decoded<LogRecord> decode_log_record(Bytes payload) noexcept;
Decoded<LogRecordBatch> decode_log_record_batch(Bytes payload) noexcept;
// The records of a message on a log topic in either form: a LogRecordBatch if
// `batch` (topics::parse_log_topic), else one LogRecord as a batch of one.
Decoded<LogRecordBatch> decode_log_records(Bytes payload, bool batch) noexcept;
Decoded<DashboardLog> decode_dashboard_log(Bytes payload) noexcept;
Decoded<DashboardLogBatch> decode_dashboard_log_batch(Bytes payload) noexcept;
// The entries of a message on a dashboard topic in either form: a DashboardLogBatch
// if `batch` (topics::parse_dashboard_topic), else one DashboardLog as a batch of one.
Decoded<DashboardLogBatch> decode_dashboard_logs(Bytes payload, bool batch) noexcept;
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
