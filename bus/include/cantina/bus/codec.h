// Encoding and decoding of bus messages. The only place that touches the generated
// Cap'n Proto code. Decoding never throws: malformed input is a value. Log records
// and dashboard entries are read in place by one visitor per message family (either
// form of the topic), the owned forms are built from its views; every other message
// has one decoder. Each validates all it reads (size limits, pointers, enum
// ranges; UTF-8 is not required). A record's texts must be within the caps of
// limits.h (message kMaxRecordBytesSetting, names and a batch's shared texts
// kMaxNameBytes, fields kMaxFieldsBytes), a dashboard entry's likewise (its
// fields may have the one more that says how many the node left out): what no
// producer sends is refused, so one record or entry decodes to a bounded size.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "cantina/bus/function_ref.h"
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
// several times the largest bus message (limits.h). A compact message can decode to a value whose
// encoding is larger (a list of empty elements counts as one word each), so not
// every decoded value re-encodes within this limit.
inline constexpr std::size_t kMaxDecodedBytes = std::size_t{8} * 1024 * 1024;

// A log record by reference: encoded without copying into a LogRecord, and read in
// place by visit_log_records.
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

// Most records a decoder accepts in one LogRecordBatch (no bus message, at most
// max_message_bytes() of limits.h, holds more real records than this).
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

// Which fields visit_log_records reads. A field that is not read is left empty
// and not validated either (Cap'n Proto checks a pointer when it is read):
// `without_source` skips file, function, thread and the key-value fields, for a
// reader that has no use for them.
enum class ViewFields { all, without_source };

// What a message on a log topic says besides its records: a LogRecordBatch's
// publisher, last sequence and record count; for one LogRecord, its own
// publisher, last_sequence 0 and 1 record.
struct LogBatchInfo {
  std::uint64_t publisher_id = 0;
  std::uint64_t last_sequence = 0;  // 0 = not stated
  std::size_t records = 0;
};

// Reads the records of a message on a log topic in place: a LogRecordBatch (at most
// kMaxBatchRecords) if `batch` (topics::parse_log_topic), else one LogRecord.
// Fills `info`, then calls `use` once per record, in order, with views into
// `payload` (valid only during the call). A batch's record has the batch's
// service, host, logger and pid where its own are empty (LogBatchShared). Only the
// key-value `fields` (ViewFields::all) are copied, into a buffer that lives for the
// call. Returns an empty string on success, else why the payload was rejected;
// records before the bad part may already have been passed to `use`, so a caller
// that must not act on part of a message undoes their work. Never throws: an
// exception from `use` ends the reading and becomes the error.
std::string visit_log_records(Bytes payload, bool batch, LogBatchInfo& info,
                              FunctionRef<void(const LogRecordView&)> use,
                              ViewFields fields = ViewFields::all) noexcept;

// The publisher of a message on a log topic and the highest sequence number it
// states or numbers a record with, read without the records' text (for
// cantina-busd, which remembers how far each publisher got). nullopt if the
// payload is not a LogRecordBatch (`batch`) or LogRecord.
struct LogSequencePeek {
  std::uint64_t publisher_id = 0;
  std::uint64_t highest = 0;  // 0: none numbered
};
std::optional<LogSequencePeek> peek_log_sequence(Bytes payload, bool batch) noexcept;

// A record read by visit_log_records, copied out.
LogRecord to_owned(const LogRecordView& record);

// The records of a message on a log topic copied out: visit_log_records (every
// field) into a LogRecordBatch, one LogRecord as a batch of one. It also rejects a
// batch whose text filled into its records would pass kMaxDecodedBytes (a small
// message must not decode to a huge one).
Decoded<LogRecordBatch> decode_log_records(Bytes payload, bool batch) noexcept;

// A DashboardLog by reference: encoded without building one, and read in place by
// visit_dashboard_entries.
struct DashboardLogView {
  std::string_view timestamp;
  std::int64_t timestamp_ns = 0;
  Level level = Level::info;
  std::string_view service, service_id, message, session_id, entry_id;
  std::uint32_t repeat_count = 0;
  EntryKind kind = EntryKind::record;
  std::string_view host, logger;
  std::uint64_t sequence = 0;
  std::string_view file{};
  std::uint32_t line = 0;
  std::string_view function{}, thread{};
  std::uint32_t pid = 0;
  std::span<const std::pair<std::string_view, std::string_view>> fields{};  // key-value context; may be empty
};

// Most entries a decoder accepts in one DashboardLogBatch (the logging node sends
// at most kDashboardBatchEntries; a reader's work per message stays bounded).
inline constexpr std::size_t kMaxDashboardBatchEntries = 4096;

// The logging node's bounds for one DashboardLogBatch message: entries, and bytes
// as estimated by dashboard_entry_size() (one larger entry goes alone).
inline constexpr std::size_t kDashboardBatchEntries = 1024;
inline constexpr std::size_t kDashboardBatchBytes = std::size_t{128} * 1024;

// The bytes `entry` adds to a DashboardLogBatch message: its struct (16 words),
// its non-empty texts, each NUL-terminated and padded to a word, and its fields (a
// list tag word, two pointers each and their non-empty texts). Exact for the
// encoders below.
std::size_t dashboard_entry_size(const DashboardLogView& entry) noexcept;
std::size_t dashboard_entry_size(const DashboardLog& entry) noexcept;

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

// Reads the entries of a message on a dashboard topic in place: a
// DashboardLogBatch (at most kMaxDashboardBatchEntries) if `batch`
// (topics::parse_dashboard_topic), as on `/dashboard/log/batch`, else one
// DashboardLog, as on `/dashboard/log`. Calls `use` once per entry, in order, with
// views into `payload` (valid only during the call), and stores the batch's
// notStreamed count (entries left out before these; 0 for one DashboardLog) in
// `*not_streamed` if given. Returns an empty string on success, else why the
// payload was rejected; entries before the bad part may already have been passed
// to `use`, so a caller that must not act on part of a message undoes their work.
// Never throws: an exception from `use` ends the reading and becomes the error.
std::string visit_dashboard_entries(Bytes payload, bool batch, FunctionRef<void(const DashboardLogView&)> use,
                                    std::uint64_t* not_streamed = nullptr) noexcept;

// An entry read by visit_dashboard_entries, copied out.
DashboardLog to_owned(const DashboardLogView& entry);

// The entries of a message on a dashboard topic copied out: visit_dashboard_entries
// into a DashboardLogBatch, one DashboardLog as a batch of one.
Decoded<DashboardLogBatch> decode_dashboard_logs(Bytes payload, bool batch) noexcept;

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

// The other messages, copied out.
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
