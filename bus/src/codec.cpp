// The codec: the only code that touches the generated Cap'n Proto classes.
#include "cantina/bus/codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstdlib>
#include <cstring>
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
constexpr unsigned kMaxFields = 1024;
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

template <class Enum>
Enum checked_enum(std::uint16_t raw, std::uint16_t highest, const char* what) {
  if (raw > highest) KJ_FAIL_REQUIRE("enum out of range", what, raw);
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

// Decodes `payload` as a message with root `Root` and lets `read` copy it out.
// Any exception from Cap'n Proto (bad pointers, limits, truncation) becomes an error.
template <class Root, class T, class Read>
Decoded<T> decode(Bytes payload, Read read, std::uint64_t traversal_limit = kTraversalLimitWords) noexcept {
  Decoded<T> result;
  if (payload.empty()) {
    result.error = "empty payload";
    return result;
  }
  if (payload.size() % sizeof(capnp::word) != 0) {
    result.error = "payload size " + std::to_string(payload.size()) + " is not a multiple of 8";
    return result;
  }
  try {
    const std::size_t word_count = payload.size() / sizeof(capnp::word);
    kj::Array<capnp::word> aligned_copy;
    const capnp::word* words = reinterpret_cast<const capnp::word*>(payload.data());
    if (reinterpret_cast<std::uintptr_t>(payload.data()) % alignof(capnp::word) != 0) {
      aligned_copy = kj::heapArray<capnp::word>(word_count);
      std::memcpy(aligned_copy.begin(), payload.data(), payload.size());
      words = aligned_copy.begin();
    }
    capnp::ReaderOptions options;
    options.traversalLimitInWords = traversal_limit;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words, word_count), options);
    result.value = read(reader.getRoot<Root>());
  } catch (const kj::Exception& e) {
    result.value.reset();
    result.error = std::string("invalid Cap'n Proto message: ") + e.getDescription().cStr();
  } catch (const std::exception& e) {
    result.value.reset();
    result.error = std::string("invalid message: ") + e.what();
  } catch (...) {
    result.value.reset();
    result.error = "invalid message";
  }
  return result;
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
}

void fill(s::DashboardLog::Builder out, const DashboardLog& entry) {
  fill(out, DashboardLogView{entry.timestamp, entry.timestamp_ns, entry.level, entry.service, entry.service_id,
                             entry.message, entry.session_id, entry.entry_id, entry.repeat_count, entry.kind,
                             entry.host, entry.logger, entry.sequence});
}

DashboardLog read_dashboard_log(s::DashboardLog::Reader in) {
  DashboardLog entry;
  entry.timestamp = to_std(in.getTimestamp());
  entry.timestamp_ns = in.getTimestampNs();
  entry.level = to_level(in.getLevel());
  entry.service = to_std(in.getService());
  entry.service_id = to_std(in.getServiceId());
  entry.message = to_std(in.getMessage());
  entry.session_id = to_std(in.getSessionId());
  entry.entry_id = to_std(in.getEntryId());
  entry.repeat_count = in.getRepeatCount();
  entry.kind = checked_enum<EntryKind>(static_cast<std::uint16_t>(in.getKind()), 3, "kind");
  entry.host = to_std(in.getHost());
  entry.logger = to_std(in.getLogger());
  entry.sequence = in.getSequence();
  return entry;
}

DashboardLogView read_dashboard_view(s::DashboardLog::Reader in) {
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
  return shared;
}

// A text field of a record, or the batch's value when the record's is empty. An
// unset field is not read at all (the Logger leaves the shared ones unset).
template <bool (s::LogRecord::Reader::*has)() const, capnp::Text::Reader (s::LogRecord::Reader::*get)() const>
std::string_view text_or(s::LogRecord::Reader in, std::string_view shared) {
  if (!(in.*has)()) return shared;
  const std::string_view own = view_of((in.*get)());
  return own.empty() ? shared : own;
}

LogRecordView read_view(s::LogRecord::Reader in, const LogBatchShared& shared, ViewFields fields) {
  LogRecordView view;
  view.timestamp_ns = in.getTimestampNs();
  view.level = to_level(in.getLevel());
  view.service = text_or<&s::LogRecord::Reader::hasService, &s::LogRecord::Reader::getService>(in, shared.service);
  view.logger = text_or<&s::LogRecord::Reader::hasLogger, &s::LogRecord::Reader::getLogger>(in, shared.logger);
  view.message = view_of(in.getMessage());
  view.host = text_or<&s::LogRecord::Reader::hasHost, &s::LogRecord::Reader::getHost>(in, shared.host);
  view.pid = in.getPid() != 0 ? in.getPid() : shared.pid;
  view.publisher_id = in.getPublisherId();
  view.sequence = in.getSequence();
  view.line = in.getLine();
  if (fields == ViewFields::all) {
    view.file = view_of(in.getFile());
    view.function = view_of(in.getFunction());
    view.thread = view_of(in.getThread());
  }
  return view;
}

// `filled`: bytes of the batch's text copied into records so far; a batch may not
// make it pass kMaxDecodedBytes (a small message must not decode to a huge one).
LogRecord read_record(s::LogRecord::Reader in, const LogBatchShared& shared, std::size_t& filled) {
  LogRecord record;
  record.timestamp_ns = in.getTimestampNs();
  record.level = to_level(in.getLevel());
  const auto fill_in = [&filled](std::string& field, std::string_view own, std::string_view batch) {
    if (!own.empty()) {
      field.assign(own);
      return;
    }
    filled += batch.size();
    KJ_REQUIRE(filled <= kMaxDecodedBytes, "batch fields repeated into its records exceed the limit");
    field.assign(batch);
  };
  fill_in(record.service, view_of(in.getService()), shared.service);
  fill_in(record.logger, view_of(in.getLogger()), shared.logger);
  record.message = to_std(in.getMessage());
  fill_in(record.host, view_of(in.getHost()), shared.host);
  record.pid = in.getPid() != 0 ? in.getPid() : shared.pid;
  record.publisher_id = in.getPublisherId();
  record.sequence = in.getSequence();
  record.file = to_std(in.getFile());
  record.line = in.getLine();
  record.function = to_std(in.getFunction());
  record.thread = to_std(in.getThread());
  auto fields = in.getFields();
  check_size(fields, kMaxFields, "fields");
  for (auto field : fields) record.fields.emplace_back(to_std(field.getKey()), to_std(field.getValue()));
  return record;
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

std::size_t dashboard_entry_size(const DashboardLogView& entry) noexcept {
  // A DashboardLog is 3 data words and 8 pointers inline in the list.
  constexpr std::size_t kStructBytes = 11 * sizeof(capnp::word);
  std::size_t bytes = kStructBytes;
  for (std::string_view text : {entry.timestamp, entry.service, entry.service_id, entry.message, entry.session_id,
                                entry.entry_id, entry.host, entry.logger}) {
    if (!text.empty()) bytes += (text.size() + sizeof(capnp::word)) / sizeof(capnp::word) * sizeof(capnp::word);
  }
  return bytes;
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

std::string decode_log_record_view(Bytes payload, const std::function<void(const LogRecordView&)>& use,
                                   ViewFields fields) noexcept {
  auto decoded = decode<s::LogRecord, bool>(payload, [&use, fields](s::LogRecord::Reader in) {
    use(read_view(in, {}, fields));
    return true;
  });
  return decoded ? std::string() : decoded.error;
}

Decoded<LogRecord> decode_log_record(Bytes payload) noexcept {
  return decode<s::LogRecord, LogRecord>(payload, [](s::LogRecord::Reader in) {
    std::size_t filled = 0;
    return read_record(in, {}, filled);
  });
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

std::string decode_log_batch_view(Bytes payload, LogBatchInfo& info,
                                  const std::function<void(const LogRecordView&)>& use, ViewFields fields) noexcept {
  info = {};
  auto decoded = decode<s::LogRecordBatch, bool>(payload, [&](s::LogRecordBatch::Reader in) {
    auto records = in.getRecords();
    check_size(records, static_cast<unsigned>(kMaxBatchRecords), "records");
    info.publisher_id = in.getPublisherId();
    info.last_sequence = in.getLastSequence();
    info.records = records.size();
    const LogBatchShared shared = read_shared(in);
    for (auto record : records) use(read_view(record, shared, fields));
    return true;
  });
  return decoded ? std::string() : decoded.error;
}

Decoded<LogRecordBatch> decode_log_record_batch(Bytes payload) noexcept {
  return decode<s::LogRecordBatch, LogRecordBatch>(payload, [](s::LogRecordBatch::Reader in) {
    LogRecordBatch batch;
    batch.publisher_id = in.getPublisherId();
    batch.last_sequence = in.getLastSequence();
    auto records = in.getRecords();  // once: every get counts against the traversal limit
    check_size(records, static_cast<unsigned>(kMaxBatchRecords), "records");
    batch.records.reserve(records.size());
    const LogBatchShared shared = read_shared(in);
    std::size_t filled = 0;
    for (auto record : records) batch.records.push_back(read_record(record, shared, filled));
    return batch;
  });
}

Decoded<LogRecordBatch> decode_log_records(Bytes payload, bool batch) noexcept {
  if (batch) return decode_log_record_batch(payload);
  auto record = decode_log_record(payload);
  Decoded<LogRecordBatch> result;
  if (!record) {
    result.error = std::move(record.error);
    return result;
  }
  try {
    result.value.emplace();
    result.value->publisher_id = record.value->publisher_id;
    result.value->records.push_back(std::move(*record.value));
  } catch (const std::exception& e) {  // out of memory
    result.value.reset();
    result.error = e.what();
  }
  return result;
}

std::string encode(const DashboardLog& entry) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<s::DashboardLog>(), entry);
  return flatten(message);
}

Decoded<DashboardLog> decode_dashboard_log(Bytes payload) noexcept {
  return decode<s::DashboardLog, DashboardLog>(payload, read_dashboard_log);
}

std::string encode(const DashboardLogBatch& batch) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<s::DashboardLogBatch>();
  root.setNotStreamed(batch.not_streamed);
  auto entries = root.initEntries(static_cast<unsigned>(batch.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) fill(entries[i], batch.entries[i]);
  return flatten(message);
}

Decoded<DashboardLogBatch> decode_dashboard_log_batch(Bytes payload) noexcept {
  return decode<s::DashboardLogBatch, DashboardLogBatch>(payload, [](s::DashboardLogBatch::Reader in) {
    DashboardLogBatch batch;
    batch.not_streamed = in.getNotStreamed();
    auto entries = in.getEntries();  // once: every get counts against the traversal limit
    check_size(entries, static_cast<unsigned>(kMaxDashboardBatchEntries), "entries");
    batch.entries.reserve(entries.size());
    for (auto entry : entries) batch.entries.push_back(read_dashboard_log(entry));
    return batch;
  });
}

Decoded<DashboardLogBatch> decode_dashboard_logs(Bytes payload, bool batch) noexcept {
  if (batch) return decode_dashboard_log_batch(payload);
  auto entry = decode_dashboard_log(payload);
  Decoded<DashboardLogBatch> result;
  if (!entry) {
    result.error = std::move(entry.error);
    return result;
  }
  try {
    result.value.emplace();
    result.value->entries.push_back(std::move(*entry.value));
  } catch (const std::exception& e) {  // out of memory
    result.value.reset();
    result.error = e.what();
  }
  return result;
}

std::string decode_dashboard_log_view(Bytes payload, const std::function<void(const DashboardLogView&)>& use) noexcept {
  auto decoded = decode<s::DashboardLog, bool>(payload, [&use](s::DashboardLog::Reader in) {
    use(read_dashboard_view(in));
    return true;
  });
  return decoded ? std::string() : decoded.error;
}

std::string decode_dashboard_batch_view(Bytes payload, const std::function<void(const DashboardLogView&)>& use,
                                        std::uint64_t* not_streamed) noexcept {
  auto decoded = decode<s::DashboardLogBatch, bool>(payload, [&use, not_streamed](s::DashboardLogBatch::Reader in) {
    if (not_streamed != nullptr) *not_streamed = in.getNotStreamed();
    auto entries = in.getEntries();
    check_size(entries, static_cast<unsigned>(kMaxDashboardBatchEntries), "entries");
    for (auto entry : entries) use(read_dashboard_view(entry));
    return true;
  });
  return decoded ? std::string() : decoded.error;
}

std::string decode_dashboard_entries_view(Bytes payload, bool batch,
                                          const std::function<void(const DashboardLogView&)>& use,
                                          std::uint64_t* not_streamed) noexcept {
  if (not_streamed != nullptr) *not_streamed = 0;
  return batch ? decode_dashboard_batch_view(payload, use, not_streamed) : decode_dashboard_log_view(payload, use);
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
  return flatten(message);
}

Decoded<HistoryReply> decode_history_reply(Bytes payload) noexcept {
  return decode<s::HistoryReply, HistoryReply>(
      payload,
      [](s::HistoryReply::Reader in) {
        HistoryReply reply;
        auto entries = in.getEntries();
        check_size(entries, kMaxHistoryEntries, "entries");
        for (auto entry : entries) reply.entries.push_back(read_dashboard_log(entry));
        reply.error = to_std(in.getError());
        reply.session_id = to_std(in.getSessionId());
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
    return stats;
  });
}

std::string encode(const SetLogLevel& request) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<s::SetLogLevel>();
  out.setService(text(request.service));
  out.setLevel(from_level(request.level));
  out.setRequestId(request.request_id);
  return flatten(message);
}

Decoded<SetLogLevel> decode_set_log_level(Bytes payload) noexcept {
  return decode<s::SetLogLevel, SetLogLevel>(payload, [](s::SetLogLevel::Reader in) {
    SetLogLevel request;
    request.service = to_std(in.getService());
    request.level = to_level(in.getLevel());
    request.request_id = in.getRequestId();
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
    return change;
  });
}

}  // namespace cantina::bus
