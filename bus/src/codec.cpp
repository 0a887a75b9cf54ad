// The codec: the only code that touches the generated Cap'n Proto classes.
#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <cantina/schema/control.capnp.h>
#include <cantina/schema/dashboard_log.capnp.h>
#include <cantina/schema/log_record.capnp.h>
#include <cantina/schema/logging_stats.capnp.h>
#include <cantina/schema/service_status.capnp.h>

namespace cantina::bus {

const char* to_string(ServiceState state) noexcept {
  switch (state) {
    case ServiceState::starting: return "STARTING";
    case ServiceState::running: return "RUNNING";
    case ServiceState::stopping: return "STOPPING";
    case ServiceState::stopped: return "STOPPED";
    case ServiceState::error: return "ERROR";
    case ServiceState::fatal: return "FATAL";
  }
  return "UNKNOWN";
}

namespace {

namespace s = cantina::schema;

// How much of a message a decoder may read (Cap'n Proto's traversal limit); history
// replies, which come from the logging node itself, may be far larger.
constexpr std::uint64_t kTraversalLimitWords = kMaxDecodedBytes / sizeof(capnp::word);
constexpr std::uint64_t kHistoryReplyTraversalLimitWords = 256ull * 1024 * 1024 / 8;

// Most elements a list may have. A tiny message can declare a list of millions of
// empty elements; these caps keep what a decoder builds from it small.
constexpr unsigned kMaxFields = kMaxRecordFields;
constexpr unsigned kMaxQueryServices = 256;
constexpr unsigned kMaxHistoryEntries = 200000;

template <class List>
void check_size(const List& list, unsigned most, const char* what) {
  if (list.size() > most) KJ_FAIL_REQUIRE("list too long", what, list.size(), most);
}

capnp::Text::Reader text(const std::string& value) {
  return {value.data(), value.size()};
}

// Sets a text field of a record or entry, leaving it unset (read back as "") when
// `value` is empty: an empty field then costs its pointer only, not a word of
// text more, which keeps the Logger's messages small and a decoded message no
// larger when encoded again. Cap'n Proto copies the bytes and adds the NUL.
template <class Builder>
void set_text(Builder& out, void (Builder::*set)(capnp::Text::Reader), std::string_view value) {
  if (!value.empty()) (out.*set)(capnp::Text::Reader(value.data(), value.size()));
}

std::string_view view_of(capnp::Text::Reader value) {
  return {value.cStr(), value.size()};
}

std::string to_std(capnp::Text::Reader value) {
  return {value.cStr(), value.size()};
}

[[noreturn]] void enum_out_of_range(std::uint16_t raw, const char* what) {
  KJ_FAIL_REQUIRE("enum out of range", what, raw);
}

// Out of line, the failure: the check stays small enough to inline in the readers.
template <class Enum>
Enum checked_enum(std::uint16_t raw, std::uint16_t highest, const char* what) {
  if (raw > highest) enum_out_of_range(raw, what);
  return static_cast<Enum>(raw);
}

Level to_level(s::Level level) {
  return checked_enum<Level>(static_cast<std::uint16_t>(level), static_cast<std::uint16_t>(kHighestLevel), "level");
}

s::Level from_level(Level level) {
  return static_cast<s::Level>(level);
}

std::string flatten(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {reinterpret_cast<const char*>(bytes.begin()), bytes.size()};
}

// Where a payload that is not word-aligned is copied to be read: ZeroMQ's receive
// hands messages out of its own buffer at any offset, so most bus messages need
// it. One per thread, reused: a fresh allocation per message was a tenth of the
// node's work per message with many services. A copy over kKeptScratchWords is
// given back after use; a read inside another's `read` gets an array of its own.
class AlignedScratch {
 public:
  static constexpr std::size_t kKeptScratchWords = 8192;  // 64 KiB

  // Words to copy `words` of a payload into, valid until release().
  capnp::word* take(std::size_t words) {
    if (busy_) return nullptr;
    if (words > capacity_) {
      storage_.reset(new capnp::word[words]);  // uninitialised: it is written over at once
      capacity_ = words;
    }
    busy_ = true;
    return storage_.get();
  }
  void release() noexcept {
    busy_ = false;
    if (capacity_ > kKeptScratchWords) {
      storage_.reset();
      capacity_ = 0;
    }
  }

 private:
  std::unique_ptr<capnp::word[]> storage_;
  std::size_t capacity_ = 0;
  bool busy_ = false;
};

thread_local AlignedScratch aligned_scratch;

// Reads `payload` as a message with root `Root` and passes its root to `read`.
// Returns an empty string, else why the payload was rejected: any exception from
// Cap'n Proto (bad pointers, limits, truncation) or from `read` becomes an error.
template <class Root, class Read>
std::string read_message(Bytes payload, Read&& read, std::uint64_t traversal_limit = kTraversalLimitWords) noexcept {
  if (payload.empty()) return "empty payload";
  if (payload.size() % sizeof(capnp::word) != 0) {
    return "payload size " + std::to_string(payload.size()) + " is not a multiple of 8";
  }
  struct ScratchUse {
    capnp::word* words = nullptr;
    ~ScratchUse() {
      if (words != nullptr) aligned_scratch.release();
    }
  } scratch;
  try {
    const std::size_t word_count = payload.size() / sizeof(capnp::word);
    kj::Array<capnp::word> aligned_copy;
    const capnp::word* words = reinterpret_cast<const capnp::word*>(payload.data());
    if (reinterpret_cast<std::uintptr_t>(payload.data()) % alignof(capnp::word) != 0) {
      scratch.words = aligned_scratch.take(word_count);
      capnp::word* copy = scratch.words;
      if (copy == nullptr) {
        aligned_copy = kj::heapArray<capnp::word>(word_count);
        copy = aligned_copy.begin();
      }
      std::memcpy(copy, payload.data(), payload.size());
      words = copy;
    }
    capnp::ReaderOptions options;
    options.traversalLimitInWords = traversal_limit;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words, word_count), options);
    read(reader.getRoot<Root>());
    return {};
  } catch (const kj::Exception& e) {
    return std::string("invalid Cap'n Proto message: ") + e.getDescription().cStr();
  } catch (const std::exception& e) {
    return std::string("invalid message: ") + e.what();
  } catch (...) {
    return "invalid message";
  }
}

// Decodes `payload` as a message with root `Root` and lets `read` copy it out.
template <class Root, class T, class Read>
Decoded<T> decode(Bytes payload, Read read, std::uint64_t traversal_limit = kTraversalLimitWords) noexcept {
  Decoded<T> result;
  result.error = read_message<Root>(
      payload, [&](typename Root::Reader in) { result.value = read(in); }, traversal_limit);
  if (!result.error.empty()) result.value.reset();
  return result;
}

// Sets an entry's key-value fields (left unset when there are none).
template <class Pairs>
void fill_fields(s::DashboardLog::Builder out, const Pairs& pairs) {
  if (pairs.empty()) return;
  auto list = out.initFields(static_cast<unsigned>(pairs.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    auto field = list[i];
    set_text(field, &s::Field::Builder::setKey, pairs[i].first);
    set_text(field, &s::Field::Builder::setValue, pairs[i].second);
  }
}

void fill(s::DashboardLog::Builder out, const DashboardLogView& entry) {
  set_text(out, &s::DashboardLog::Builder::setTimestamp, entry.timestamp);
  out.setTimestampNs(entry.timestamp_ns);
  out.setLevel(from_level(entry.level));
  set_text(out, &s::DashboardLog::Builder::setService, entry.service);
  set_text(out, &s::DashboardLog::Builder::setServiceId, entry.service_id);
  set_text(out, &s::DashboardLog::Builder::setMessage, entry.message);
  set_text(out, &s::DashboardLog::Builder::setSessionId, entry.session_id);
  set_text(out, &s::DashboardLog::Builder::setEntryId, entry.entry_id);
  out.setRepeatCount(entry.repeat_count);
  out.setKind(static_cast<s::EntryKind>(entry.kind));
  set_text(out, &s::DashboardLog::Builder::setHost, entry.host);
  set_text(out, &s::DashboardLog::Builder::setLogger, entry.logger);
  out.setSequence(entry.sequence);
  set_text(out, &s::DashboardLog::Builder::setFile, entry.file);
  out.setLine(entry.line);
  set_text(out, &s::DashboardLog::Builder::setFunction, entry.function);
  set_text(out, &s::DashboardLog::Builder::setThread, entry.thread);
  out.setPid(entry.pid);
  fill_fields(out, entry.fields);
}

void fill(s::DashboardLog::Builder out, const DashboardLog& entry) {
  DashboardLogView view{entry.timestamp,
                        entry.timestamp_ns,
                        entry.level,
                        entry.service,
                        entry.service_id,
                        entry.message,
                        entry.session_id,
                        entry.entry_id,
                        entry.repeat_count,
                        entry.kind,
                        entry.host,
                        entry.logger,
                        entry.sequence,
                        entry.file,
                        entry.line,
                        entry.function,
                        entry.thread,
                        entry.pid,
                        {}};
  fill(out, view);  // without the fields
  fill_fields(out, entry.fields);
}

// The one reader of a DashboardLog.
// A record's or an entry's text within its cap (limits.h): longer is what no
// producer sends.
void check_text(std::string_view text, std::size_t most, const char* what) {
  if (text.size() > most) KJ_FAIL_REQUIRE("text longer than its cap", what, text.size(), most);
}

using FieldViews = std::vector<std::pair<std::string_view, std::string_view>>;

// The one reader of a DashboardLog; its fields are viewed through `field_views`,
// which the view then points to.
DashboardLogView read_dashboard_view(s::DashboardLog::Reader in, FieldViews& field_views) {
  DashboardLogView view;
  view.timestamp = view_of(in.getTimestamp());
  view.timestamp_ns = in.getTimestampNs();
  view.level = to_level(in.getLevel());
  view.service = view_of(in.getService());
  view.service_id = view_of(in.getServiceId());
  view.message = view_of(in.getMessage());
  view.session_id = view_of(in.getSessionId());
  view.entry_id = view_of(in.getEntryId());
  view.repeat_count = in.getRepeatCount();
  view.kind = checked_enum<EntryKind>(static_cast<std::uint16_t>(in.getKind()), 3, "kind");
  view.host = view_of(in.getHost());
  view.logger = view_of(in.getLogger());
  view.sequence = in.getSequence();
  view.file = view_of(in.getFile());
  view.line = in.getLine();
  view.function = view_of(in.getFunction());
  view.thread = view_of(in.getThread());
  view.pid = in.getPid();
  field_views.clear();
  if (in.hasFields()) {
    auto list = in.getFields();  // once: every get counts against the traversal limit
    // The logging node may add one field saying how many it left out.
    check_size(list, kMaxFields + 1, "fields");
    std::size_t bytes = 0;
    for (auto field : list) {
      const auto& [key, value] = field_views.emplace_back(view_of(field.getKey()), view_of(field.getValue()));
      check_text(key, kMaxNameBytes, "field key");
      bytes += key.size() + value.size();
    }
    KJ_REQUIRE(bytes <= kMaxFieldsBytes + kMaxNameBytes, "fields longer than their cap", bytes, kMaxFieldsBytes);
  }
  view.fields = field_views;
  // The logging node adds at most a line's worth to a record's message (a repeat count).
  check_text(view.message, kMaxRecordBytesSetting + kMaxNameBytes, "message");
  for (std::string_view text : {view.timestamp, view.service, view.service_id, view.session_id, view.entry_id,
                                view.host, view.logger, view.file, view.function, view.thread})
    check_text(text, kMaxNameBytes, "name");
  return view;
}

void fill(s::LogRecord::Builder root, const LogRecordView& record) {
  root.setTimestampNs(record.timestamp_ns);
  root.setLevel(from_level(record.level));
  set_text(root, &s::LogRecord::Builder::setService, record.service);
  set_text(root, &s::LogRecord::Builder::setLogger, record.logger);
  set_text(root, &s::LogRecord::Builder::setMessage, record.message);
  set_text(root, &s::LogRecord::Builder::setHost, record.host);
  root.setPid(record.pid);
  root.setPublisherId(record.publisher_id);
  root.setSequence(record.sequence);
  set_text(root, &s::LogRecord::Builder::setFile, record.file);
  root.setLine(record.line);
  set_text(root, &s::LogRecord::Builder::setFunction, record.function);
  set_text(root, &s::LogRecord::Builder::setThread, record.thread);
  if (!record.fields.empty()) {
    auto fields = root.initFields(static_cast<unsigned>(record.fields.size()));
    for (unsigned i = 0; i < fields.size(); ++i) {
      auto field = fields[i];
      set_text(field, &s::Field::Builder::setKey, record.fields[i].first);
      set_text(field, &s::Field::Builder::setValue, record.fields[i].second);
    }
  }
}

LogRecordView view_of(const LogRecord& record) {
  return {record.timestamp_ns, record.level,    record.service,      record.logger,   record.message,
          record.host,         record.pid,      record.publisher_id, record.sequence, record.file,
          record.line,         record.function, record.thread,       record.fields};
}

// What a batch's records share (LogBatchShared); empty for a single record.
LogBatchShared read_shared(s::LogRecordBatch::Reader in) {
  LogBatchShared shared;
  if (in.hasService()) shared.service = view_of(in.getService());
  if (in.hasHost()) shared.host = view_of(in.getHost());
  if (in.hasLogger()) shared.logger = view_of(in.getLogger());
  shared.pid = in.getPid();
  for (std::string_view text : {shared.service, shared.host, shared.logger}) check_text(text, kMaxNameBytes, "shared");
  return shared;
}

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// A text field of a record, or the batch's value when the record's is empty. An
// unset field is not read at all (the Logger leaves the shared ones unset).
// `filled` (kCountFilled): bytes of the batch's text filled into records so far,
// for a reader that copies them: a small message must not decode to a huge one.
template <bool kCountFilled, bool (s::LogRecord::Reader::*has)() const,
          capnp::Text::Reader (s::LogRecord::Reader::*get)() const>
std::string_view text_or(s::LogRecord::Reader in, std::string_view shared, std::size_t& filled) {
  if ((in.*has)()) {
    const std::string_view own = view_of((in.*get)());
    if (!own.empty()) return own;
  }
  if constexpr (kCountFilled) {
    filled += shared.size();
    KJ_REQUIRE(filled <= kMaxDecodedBytes, "batch fields repeated into its records exceed the limit");
  }
  return shared;
}

// The one reader of a LogRecord (`shared`: its batch's, empty for a single record).
// With ViewFields::all its key-value fields are copied into `key_values`, which the
// view then points to.
template <bool kCountFilled>
LogRecordView read_view(s::LogRecord::Reader in, const LogBatchShared& shared, ViewFields fields, KeyValues& key_values,
                        std::size_t& filled) {
  using R = s::LogRecord::Reader;
  LogRecordView view;
  view.timestamp_ns = in.getTimestampNs();
  view.level = to_level(in.getLevel());
  view.service = text_or<kCountFilled, &R::hasService, &R::getService>(in, shared.service, filled);
  view.logger = text_or<kCountFilled, &R::hasLogger, &R::getLogger>(in, shared.logger, filled);
  view.message = view_of(in.getMessage());
  view.host = text_or<kCountFilled, &R::hasHost, &R::getHost>(in, shared.host, filled);
  view.pid = in.getPid() != 0 ? in.getPid() : shared.pid;
  view.publisher_id = in.getPublisherId();
  view.sequence = in.getSequence();
  view.line = in.getLine();
  check_text(view.message, kMaxRecordBytesSetting, "message");
  for (std::string_view name : {view.service, view.logger, view.host}) check_text(name, kMaxNameBytes, "name");
  if (fields == ViewFields::all) {
    view.file = view_of(in.getFile());
    view.function = view_of(in.getFunction());
    view.thread = view_of(in.getThread());
    for (std::string_view name : {view.file, view.function, view.thread}) check_text(name, kMaxNameBytes, "name");
    auto list = in.getFields();  // once: every get counts against the traversal limit
    check_size(list, kMaxFields, "fields");
    key_values.clear();
    std::size_t bytes = 0;
    for (auto field : list) {
      auto& [key, value] = key_values.emplace_back(to_std(field.getKey()), to_std(field.getValue()));
      bytes += key.size() + value.size();
      check_text(key, kMaxNameBytes, "field key");
    }
    KJ_REQUIRE(bytes <= kMaxFieldsBytes, "fields longer than their cap", bytes, kMaxFieldsBytes);
    view.fields = key_values;
  }
  return view;
}

// visit_log_records; kCountFilled for a reader that copies the records (see text_or).
template <bool kCountFilled>
std::string read_log_records(Bytes payload, bool batch, LogBatchInfo& info, FunctionRef<void(const LogRecordView&)> use,
                             ViewFields fields) noexcept {
  info = {};
  KeyValues key_values;
  std::size_t filled = 0;
  if (!batch) {
    return read_message<s::LogRecord>(payload, [&](s::LogRecord::Reader in) {
      const LogRecordView record = read_view<kCountFilled>(in, {}, fields, key_values, filled);
      info.publisher_id = record.publisher_id;
      info.records = 1;
      use(record);
    });
  }
  return read_message<s::LogRecordBatch>(payload, [&](s::LogRecordBatch::Reader in) {
    auto records = in.getRecords();  // once: every get counts against the traversal limit
    check_size(records, static_cast<unsigned>(kMaxBatchRecords), "records");
    info.publisher_id = in.getPublisherId();
    info.last_sequence = in.getLastSequence();
    info.records = records.size();
    const LogBatchShared shared = read_shared(in);
    for (auto record : records) use(read_view<kCountFilled>(record, shared, fields, key_values, filled));
  });
}

// Serialises `message` into `out` without an intermediate flat array.
void write_into(capnp::MessageBuilder& message, std::string& out) {
  out.resize(capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word));
  kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
  capnp::writeMessage(stream, message);
}

// Words in a LogBatchEncoder's reused first segment (256 KiB): more than the
// Logger's batches need, so they fit in one segment.
constexpr std::size_t kBatchSegmentWords = 32768;

}  // namespace

void encode_into(const LogRecordView& record, std::string& out) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<s::LogRecord>(), record);
  write_into(message, out);
}

LogBatchEncoder::LogBatchEncoder()
    : segment_(static_cast<std::uint64_t*>(std::calloc(kBatchSegmentWords, sizeof(capnp::word)))) {
  if (segment_ == nullptr) throw std::bad_alloc();
}

LogBatchEncoder::~LogBatchEncoder() {
  std::free(segment_);
}

namespace {

// Bytes of a non-empty text: its bytes and NUL, padded to a word.
constexpr std::size_t text_bytes(std::size_t size) noexcept {
  return size == 0 ? 0 : (size + sizeof(capnp::word)) / sizeof(capnp::word) * sizeof(capnp::word);
}

template <class Entry>
std::size_t entry_size(const Entry& entry) noexcept {
  // A DashboardLog is 4 data words and 12 pointers inline in the list.
  constexpr std::size_t kStructBytes = 16 * sizeof(capnp::word);
  std::size_t bytes = kStructBytes;
  for (std::string_view text :
       {std::string_view(entry.timestamp), std::string_view(entry.service), std::string_view(entry.service_id),
        std::string_view(entry.message), std::string_view(entry.session_id), std::string_view(entry.entry_id),
        std::string_view(entry.host), std::string_view(entry.logger), std::string_view(entry.file),
        std::string_view(entry.function), std::string_view(entry.thread)}) {
    bytes += text_bytes(text.size());
  }
  // A list of Field structs (no data, two pointers): a tag word, then each.
  if (!entry.fields.empty()) bytes += sizeof(capnp::word) * (1 + 2 * entry.fields.size());
  for (const auto& [key, value] : entry.fields) bytes += text_bytes(key.size()) + text_bytes(value.size());
  return bytes;
}

}  // namespace

std::size_t dashboard_entry_size(const DashboardLogView& entry) noexcept {
  return entry_size(entry);
}

std::size_t dashboard_entry_size(const DashboardLog& entry) noexcept {
  return entry_size(entry);
}

DashboardBatchEncoder::DashboardBatchEncoder()
    : segment_(static_cast<std::uint64_t*>(std::calloc(kBatchSegmentWords, sizeof(capnp::word)))) {
  if (segment_ == nullptr) throw std::bad_alloc();
}

DashboardBatchEncoder::~DashboardBatchEncoder() {
  std::free(segment_);
}

void DashboardBatchEncoder::encode(std::span<const DashboardLogView> entries, std::string& out,
                                   std::uint64_t not_streamed) {
  capnp::MallocMessageBuilder message(kj::arrayPtr(reinterpret_cast<capnp::word*>(segment_), kBatchSegmentWords));
  auto root = message.initRoot<s::DashboardLogBatch>();
  root.setNotStreamed(not_streamed);
  auto list = root.initEntries(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < list.size(); ++i) fill(list[i], entries[i]);
  write_into(message, out);
}

void LogBatchEncoder::encode(std::span<const LogRecordView> records, std::uint64_t publisher_id,
                             std::uint64_t last_sequence, std::string& out, const LogBatchShared& shared) {
  capnp::MallocMessageBuilder message(kj::arrayPtr(reinterpret_cast<capnp::word*>(segment_), kBatchSegmentWords));
  auto root = message.initRoot<s::LogRecordBatch>();
  root.setPublisherId(publisher_id);
  root.setLastSequence(last_sequence);
  set_text(root, &s::LogRecordBatch::Builder::setService, shared.service);
  set_text(root, &s::LogRecordBatch::Builder::setHost, shared.host);
  set_text(root, &s::LogRecordBatch::Builder::setLogger, shared.logger);
  root.setPid(shared.pid);
  auto list = root.initRecords(static_cast<unsigned>(records.size()));
  for (unsigned i = 0; i < list.size(); ++i) fill(list[i], records[i]);
  write_into(message, out);
}

std::string encode(const LogRecord& record) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<s::LogRecord>(), view_of(record));
  return flatten(message);
}

std::string encode(const LogRecordBatch& batch) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::LogRecordBatch>();
  out.setPublisherId(batch.publisher_id);
  out.setLastSequence(batch.last_sequence);
  auto records = out.initRecords(static_cast<unsigned>(batch.records.size()));
  for (unsigned i = 0; i < records.size(); ++i) {
    fill(records[i], view_of(batch.records[i]));
  }
  return flatten(message);
}

std::string visit_log_records(Bytes payload, bool batch, LogBatchInfo& info,
                              FunctionRef<void(const LogRecordView&)> use, ViewFields fields) noexcept {
  return read_log_records<false>(payload, batch, info, use, fields);
}

std::optional<LogSequencePeek> peek_log_sequence(Bytes payload, bool batch) noexcept {
  LogSequencePeek peek;
  const std::string error =
      batch ? read_message<s::LogRecordBatch>(payload,
                                              [&](s::LogRecordBatch::Reader in) {
                                                auto records = in.getRecords();
                                                check_size(records, static_cast<unsigned>(kMaxBatchRecords), "records");
                                                peek.publisher_id = in.getPublisherId();
                                                peek.highest = in.getLastSequence();
                                                for (auto record : records)
                                                  peek.highest = std::max(peek.highest, record.getSequence());
                                              })
            : read_message<s::LogRecord>(payload, [&](s::LogRecord::Reader in) {
                peek.publisher_id = in.getPublisherId();
                peek.highest = in.getSequence();
              });
  if (!error.empty()) return std::nullopt;
  return peek;
}

LogRecord to_owned(const LogRecordView& record) {
  return LogRecord{record.timestamp_ns,
                   record.level,
                   std::string(record.service),
                   std::string(record.logger),
                   std::string(record.message),
                   std::string(record.host),
                   record.pid,
                   record.publisher_id,
                   record.sequence,
                   std::string(record.file),
                   record.line,
                   std::string(record.function),
                   std::string(record.thread),
                   KeyValues(record.fields.begin(), record.fields.end())};
}

Decoded<LogRecordBatch> decode_log_records(Bytes payload, bool batch) noexcept {
  Decoded<LogRecordBatch> result;
  LogRecordBatch records;
  LogBatchInfo info;
  result.error = read_log_records<true>(
      payload, batch, info,
      [&](const LogRecordView& record) {
        if (records.records.empty()) records.records.reserve(info.records);
        records.records.push_back(to_owned(record));
      },
      ViewFields::all);
  if (!result.error.empty()) return result;
  records.publisher_id = info.publisher_id;
  records.last_sequence = info.last_sequence;
  result.value = std::move(records);
  return result;
}

std::string encode(const DashboardLog& entry) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<s::DashboardLog>(), entry);
  return flatten(message);
}

std::string encode(const DashboardLogBatch& batch) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<s::DashboardLogBatch>();
  root.setNotStreamed(batch.not_streamed);
  auto entries = root.initEntries(static_cast<unsigned>(batch.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) fill(entries[i], batch.entries[i]);
  return flatten(message);
}

std::string visit_dashboard_entries(Bytes payload, bool batch, FunctionRef<void(const DashboardLogView&)> use,
                                    std::uint64_t* not_streamed) noexcept {
  if (not_streamed != nullptr) *not_streamed = 0;
  FieldViews field_views;
  if (!batch) {
    return read_message<s::DashboardLog>(
        payload, [&](s::DashboardLog::Reader in) { use(read_dashboard_view(in, field_views)); });
  }
  return read_message<s::DashboardLogBatch>(payload, [&](s::DashboardLogBatch::Reader in) {
    if (not_streamed != nullptr) *not_streamed = in.getNotStreamed();
    auto entries = in.getEntries();  // once: every get counts against the traversal limit
    check_size(entries, static_cast<unsigned>(kMaxDashboardBatchEntries), "entries");
    for (auto entry : entries) use(read_dashboard_view(entry, field_views));
  });
}

DashboardLog to_owned(const DashboardLogView& entry) {
  return DashboardLog{std::string(entry.timestamp),
                      entry.timestamp_ns,
                      entry.level,
                      std::string(entry.service),
                      std::string(entry.service_id),
                      std::string(entry.message),
                      std::string(entry.session_id),
                      std::string(entry.entry_id),
                      entry.repeat_count,
                      entry.kind,
                      std::string(entry.host),
                      std::string(entry.logger),
                      entry.sequence,
                      std::string(entry.file),
                      entry.line,
                      std::string(entry.function),
                      std::string(entry.thread),
                      entry.pid,
                      {entry.fields.begin(), entry.fields.end()}};
}

Decoded<DashboardLogBatch> decode_dashboard_logs(Bytes payload, bool batch) noexcept {
  Decoded<DashboardLogBatch> result;
  DashboardLogBatch entries;
  result.error = visit_dashboard_entries(
      payload, batch, [&entries](const DashboardLogView& entry) { entries.entries.push_back(to_owned(entry)); },
      &entries.not_streamed);
  if (result.error.empty()) result.value = std::move(entries);
  return result;
}

std::string encode(const HistoryQuery& query) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::HistoryQuery>();
  out.setLimit(query.limit);
  out.setMinLevel(from_level(query.min_level));
  auto services = out.initServices(static_cast<unsigned>(query.services.size()));
  for (unsigned i = 0; i < services.size(); ++i) services.set(i, text(query.services[i]));
  out.setText(text(query.text));
  return flatten(message);
}

Decoded<HistoryQuery> decode_history_query(Bytes payload) noexcept {
  return decode<s::HistoryQuery, HistoryQuery>(payload, [](s::HistoryQuery::Reader in) {
    HistoryQuery query;
    query.limit = in.getLimit();
    query.min_level = to_level(in.getMinLevel());
    auto services = in.getServices();
    check_size(services, kMaxQueryServices, "services");
    for (auto service : services) query.services.push_back(to_std(service));
    query.text = to_std(in.getText());
    return query;
  });
}

std::string encode(const HistoryReply& reply) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::HistoryReply>();
  auto entries = out.initEntries(static_cast<unsigned>(reply.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) fill(entries[i], reply.entries[i]);
  out.setError(text(reply.error));
  out.setSessionId(text(reply.session_id));
  out.setTruncated(reply.truncated);
  return flatten(message);
}

Decoded<HistoryReply> decode_history_reply(Bytes payload) noexcept {
  return decode<s::HistoryReply, HistoryReply>(
      payload,
      [](s::HistoryReply::Reader in) {
        HistoryReply reply;
        auto entries = in.getEntries();
        check_size(entries, kMaxHistoryEntries, "entries");
        FieldViews field_views;
        for (auto entry : entries) reply.entries.push_back(to_owned(read_dashboard_view(entry, field_views)));
        reply.error = to_std(in.getError());
        reply.session_id = to_std(in.getSessionId());
        reply.truncated = in.getTruncated();
        return reply;
      },
      kHistoryReplyTraversalLimitWords);
}

std::string encode(const ServiceStatus& status) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::ServiceStatus>();
  out.setService(text(status.service));
  out.setState(static_cast<s::ServiceState>(status.state));
  out.setMessage(text(status.message));
  out.setTimestampNs(status.timestamp_ns);
  out.setPid(status.pid);
  out.setHost(text(status.host));
  out.setSinceNs(status.since_ns);
  return flatten(message);
}

Decoded<ServiceStatus> decode_service_status(Bytes payload) noexcept {
  return decode<s::ServiceStatus, ServiceStatus>(payload, [](s::ServiceStatus::Reader in) {
    ServiceStatus status;
    status.service = to_std(in.getService());
    status.state = checked_enum<ServiceState>(static_cast<std::uint16_t>(in.getState()), 5, "state");
    status.message = to_std(in.getMessage());
    status.timestamp_ns = in.getTimestampNs();
    status.pid = in.getPid();
    status.host = to_std(in.getHost());
    status.since_ns = in.getSinceNs();
    return status;
  });
}

std::string encode(const LoggingStats& stats) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::LoggingStats>();
  out.setTimestampNs(stats.timestamp_ns);
  out.setSessionId(text(stats.session_id));
  out.setSessionFile(text(stats.session_file));
  out.setReceived(stats.received);
  out.setWritten(stats.written);
  out.setDeduplicated(stats.deduplicated);
  out.setFiltered(stats.filtered);
  out.setLost(stats.lost);
  out.setDropped(stats.dropped);
  out.setMalformed(stats.malformed);
  out.setQueueDepth(stats.queue_depth);
  out.setBytesWritten(stats.bytes_written);
  out.setUnwritten(stats.unwritten);
  out.setRepeatSummaries(stats.repeat_summaries);
  out.setPublishers(stats.publishers);
  out.setUptimeNs(stats.uptime_ns);
  out.setNotStreamed(stats.not_streamed);
  out.setBytesKept(stats.bytes_kept);
  out.setLogLevel(from_level(stats.log_level));
  auto levels = out.initServiceLevels(static_cast<unsigned>(stats.service_levels.size()));
  for (unsigned i = 0; i < levels.size(); ++i) {
    levels[i].setService(text(stats.service_levels[i].first));
    levels[i].setLevel(from_level(stats.service_levels[i].second));
  }
  return flatten(message);
}

Decoded<LoggingStats> decode_logging_stats(Bytes payload) noexcept {
  return decode<s::LoggingStats, LoggingStats>(payload, [](s::LoggingStats::Reader in) {
    LoggingStats stats;
    stats.timestamp_ns = in.getTimestampNs();
    stats.session_id = to_std(in.getSessionId());
    stats.session_file = to_std(in.getSessionFile());
    stats.received = in.getReceived();
    stats.written = in.getWritten();
    stats.deduplicated = in.getDeduplicated();
    stats.filtered = in.getFiltered();
    stats.lost = in.getLost();
    stats.dropped = in.getDropped();
    stats.malformed = in.getMalformed();
    stats.queue_depth = in.getQueueDepth();
    stats.bytes_written = in.getBytesWritten();
    stats.unwritten = in.getUnwritten();
    stats.repeat_summaries = in.getRepeatSummaries();
    stats.publishers = in.getPublishers();
    stats.uptime_ns = in.getUptimeNs();
    stats.not_streamed = in.getNotStreamed();
    stats.bytes_kept = in.getBytesKept();
    stats.log_level = to_level(in.getLogLevel());
    for (auto level : in.getServiceLevels()) {
      stats.service_levels.emplace_back(to_std(level.getService()), to_level(level.getLevel()));
    }
    return stats;
  });
}

std::string encode(const SetLogLevel& request) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::SetLogLevel>();
  out.setService(text(request.service));
  out.setLevel(from_level(request.level));
  out.setRequestId(request.request_id);
  out.setHost(text(request.host));
  out.setPid(request.pid);
  out.setTool(text(request.tool));
  return flatten(message);
}

Decoded<SetLogLevel> decode_set_log_level(Bytes payload) noexcept {
  return decode<s::SetLogLevel, SetLogLevel>(payload, [](s::SetLogLevel::Reader in) {
    SetLogLevel request;
    request.service = to_std(in.getService());
    request.level = to_level(in.getLevel());
    request.request_id = in.getRequestId();
    request.host = to_std(in.getHost());
    request.pid = in.getPid();
    request.tool = to_std(in.getTool());
    return request;
  });
}

std::string encode(const LogLevelChanged& change) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::LogLevelChanged>();
  out.setService(text(change.service));
  out.setLevel(from_level(change.level));
  out.setPrevious(from_level(change.previous));
  out.setRequestId(change.request_id);
  out.setPid(change.pid);
  out.setLoggingNode(change.logging_node);
  return flatten(message);
}

Decoded<LogLevelChanged> decode_log_level_changed(Bytes payload) noexcept {
  return decode<s::LogLevelChanged, LogLevelChanged>(payload, [](s::LogLevelChanged::Reader in) {
    LogLevelChanged change;
    change.service = to_std(in.getService());
    change.level = to_level(in.getLevel());
    change.previous = to_level(in.getPrevious());
    change.request_id = in.getRequestId();
    change.pid = in.getPid();
    change.logging_node = in.getLoggingNode();
    return change;
  });
}

}  // namespace cantina::bus
