#define BOOST_TEST_MODULE codec
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"

using namespace cantina::bus;

namespace {

LogRecord sample_record() {
  LogRecord record;
  record.timestamp_ns = 1'795'000'000'123'456'789;
  record.level = Level::warning;
  record.service = "music_controller";
  record.logger = "cantina_os.music";
  record.message = "Audio buffer underrun\nsecond line \xe2\x9c\x93";
  record.host = "droid";
  record.pid = 4242;
  record.publisher_id = 0xfeedface12345678ULL;
  record.sequence = 99;
  record.file = "music.cpp";
  record.line = 120;
  record.function = "void play()";
  record.thread = "audio:4243";
  record.fields = {{"track", "Cantina Band"}, {"volume", "80"}};
  return record;
}

DashboardLog sample_entry(std::uint64_t sequence) {
  DashboardLog entry{"2026-11-26T17:45:00.123456Z",
                     1'795'000'000'123'456'000 + static_cast<std::int64_t>(sequence),
                     sequence % 2 == 0 ? Level::error : Level::info,
                     "Eye Lights",
                     "eye_light_controller",
                     "entry " + std::to_string(sequence) + " <script>\n\xe2\x9c\x93",
                     "20261126-174500",
                     "20261126-174500-" + std::to_string(sequence),
                     sequence % 3 == 0 ? 4u : 0u,
                     sequence % 3 == 0 ? EntryKind::repeat_summary : EntryKind::record,
                     sequence % 5 == 0 ? "" : "droid",
                     "cantina_os.eyes",
                     sequence};
  // Every other record has its source and context, of various sizes.
  if (entry.kind == EntryKind::record && sequence % 2 == 1) {
    entry.file = "eyes/pattern.py";
    entry.line = static_cast<std::uint32_t>(40 + sequence);
    entry.function = sequence % 4 == 1 ? "set_pattern" : "";
    entry.thread = "MainThread";
    entry.pid = 4242;
    for (std::uint64_t i = 0; i < sequence; ++i) {
      entry.fields.emplace_back("key" + std::to_string(i), std::string(i * 3, 'v'));
    }
  }
  return entry;
}

// Views of each entry's fields, kept for the views that point to them.
std::vector<std::vector<std::pair<std::string_view, std::string_view>>> g_field_views;

DashboardLogView view_of(const DashboardLog& e) {
  auto& fields = g_field_views.emplace_back(e.fields.begin(), e.fields.end());
  return DashboardLogView{e.timestamp, e.timestamp_ns, e.level,  e.service, e.service_id, e.message,  e.session_id,
                          e.entry_id,  e.repeat_count, e.kind,   e.host,    e.logger,     e.sequence, e.file,
                          e.line,      e.function,     e.thread, e.pid,     fields};
}

// The record of a message on a single-record log topic, copied out.
std::optional<LogRecord> decode_record(Bytes payload) {
  auto decoded = decode_log_records(payload, false);
  if (!decoded) return std::nullopt;
  BOOST_REQUIRE_EQUAL(decoded.value->records.size(), 1u);
  return decoded.value->records.front();
}

// The offset of the first byte that differs when `entry` is encoded with
// `changed` applied to one of its entries (to find a field in the bytes).
template <class Change>
std::size_t offset_of_change(const DashboardLogBatch& batch, std::size_t index, Change changed) {
  DashboardLogBatch other = batch;
  changed(other.entries[index]);
  const std::string a = encode(batch), b = encode(other);
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  std::size_t position = 0;
  while (position < a.size() && a[position] == b[position]) ++position;
  BOOST_REQUIRE(position < a.size());
  return position;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(log_record_round_trips_every_field) {
  const LogRecord record = sample_record();
  const std::string bytes = encode(record);
  auto decoded = decode_log_records(as_bytes(bytes), false);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((decoded.value->records == std::vector<LogRecord>{record}));
  BOOST_TEST(decoded.value->publisher_id == record.publisher_id);
  BOOST_TEST(decoded.value->last_sequence == 0u);
}

BOOST_AUTO_TEST_CASE(log_record_view_encodes_like_the_record) {
  const LogRecord record = sample_record();
  LogRecordView view{record.timestamp_ns, record.level,    record.service,      record.logger,   record.message,
                     record.host,         record.pid,      record.publisher_id, record.sequence, record.file,
                     record.line,         record.function, record.thread,       record.fields};
  BOOST_REQUIRE(!record.fields.empty());
  std::string bytes;
  encode_into(view, bytes);
  auto decoded = decode_record(as_bytes(bytes));
  BOOST_REQUIRE(decoded);
  BOOST_TEST((*decoded == record));
}

BOOST_AUTO_TEST_CASE(the_visitor_reads_a_single_record_in_place) {
  const LogRecord record = sample_record();
  const std::string bytes = encode(record);
  int calls = 0;
  LogBatchInfo info;
  const std::string error = visit_log_records(as_bytes(bytes), false, info, [&](const LogRecordView& view) {
    ++calls;
    BOOST_TEST(view.message == record.message);
    BOOST_TEST(view.service == record.service);
    BOOST_TEST(view.sequence == record.sequence);
    BOOST_TEST((view.level == record.level));
    BOOST_TEST(view.thread == record.thread);
    // In place: the view points into the payload, nothing was copied.
    BOOST_TEST((view.message.data() >= bytes.data() && view.message.data() < bytes.data() + bytes.size()));
    // Every field, the key-value ones too: the owned copy is the record.
    BOOST_TEST((to_owned(view) == record));
    // What it says besides its record is known before it is passed on.
    BOOST_TEST(info.publisher_id == record.publisher_id);
  });
  BOOST_TEST(error.empty());
  BOOST_TEST(calls == 1);
  BOOST_TEST(info.publisher_id == record.publisher_id);
  BOOST_TEST(info.last_sequence == 0u);
  BOOST_TEST(info.records == 1u);
  BOOST_TEST(!visit_log_records(as_bytes("not a capnp message, 32 bytes!!"), false, info, [&](const LogRecordView&) {
                ++calls;
              }).empty());
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(the_view_decoders_can_skip_the_source_fields) {
  const LogRecord record = sample_record();
  const std::string bytes = encode(record);
  int calls = 0;
  const auto lean = [&](const LogRecordView& view) {
    ++calls;
    BOOST_TEST(view.message == record.message);
    BOOST_TEST(view.line == record.line);
    BOOST_TEST((view.file.empty() && view.function.empty() && view.thread.empty() && view.fields.empty()));
  };
  LogBatchInfo info;
  BOOST_TEST(visit_log_records(as_bytes(bytes), false, info, lean, ViewFields::without_source).empty());
  LogRecordBatch batch;
  batch.records = {record, record};
  BOOST_TEST(visit_log_records(as_bytes(encode(batch)), true, info, lean, ViewFields::without_source).empty());
  BOOST_TEST(calls == 3);
}

// What cantina-busd reads of every log message to restate how far a publisher got.
BOOST_AUTO_TEST_CASE(a_peek_finds_the_publisher_and_its_highest_number) {
  LogRecordBatch batch;
  batch.publisher_id = 99;
  batch.last_sequence = 0;  // not stated: the records' numbers count
  for (std::uint64_t sequence : {10, 14, 11}) {
    LogRecord record = sample_record();
    record.publisher_id = 99;
    record.sequence = sequence;
    batch.records.push_back(record);
  }
  auto peek = peek_log_sequence(as_bytes(encode(batch)), true);
  BOOST_REQUIRE(peek.has_value());
  BOOST_TEST(peek->publisher_id == 99u);
  BOOST_TEST(peek->highest == 14u);
  batch.last_sequence = 20;  // stated: records refused by the Logger count too
  BOOST_TEST(peek_log_sequence(as_bytes(encode(batch)), true)->highest == 20u);
  batch.records.clear();  // a statement alone
  BOOST_TEST(peek_log_sequence(as_bytes(encode(batch)), true)->highest == 20u);
  LogRecord one = sample_record();
  one.publisher_id = 5;
  one.sequence = 7;
  peek = peek_log_sequence(as_bytes(encode(one)), false);
  BOOST_REQUIRE(peek.has_value());
  BOOST_TEST(peek->publisher_id == 5u);
  BOOST_TEST(peek->highest == 7u);
  BOOST_TEST(!peek_log_sequence(as_bytes("not a capnp message, 32 bytes!!"), true).has_value());
  BOOST_TEST(!peek_log_sequence(as_bytes(""), false).has_value());
}

BOOST_AUTO_TEST_CASE(a_batch_round_trips_and_the_encoder_matches_it) {
  LogRecordBatch batch;
  batch.publisher_id = 99;
  batch.last_sequence = 12;
  for (std::uint64_t sequence : {10, 11}) {
    LogRecord record = sample_record();
    record.publisher_id = 99;
    record.sequence = sequence;
    batch.records.push_back(record);
  }
  const std::string bytes = encode(batch);
  auto decoded = decode_log_records(as_bytes(bytes), true);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((*decoded.value == batch));

  // The reused-segment encoder writes the same records, twice in a row.
  LogBatchEncoder encoder;
  std::vector<LogRecordView> views;
  for (const LogRecord& r : batch.records) {
    views.push_back(LogRecordView{r.timestamp_ns, r.level, r.service, r.logger, r.message, r.host, r.pid,
                                  r.publisher_id, r.sequence, r.file, r.line, r.function, r.thread, r.fields});
  }
  std::string encoded;
  for (int round = 0; round < 2; ++round) {
    encoder.encode(views, 99, 12, encoded);
    auto again = decode_log_records(as_bytes(encoded), true);
    BOOST_REQUIRE_MESSAGE(again, again.error);
    BOOST_TEST((*again.value == batch));
  }

  // The visitor reads every record in order, in place.
  LogBatchInfo info;
  std::vector<std::uint64_t> sequences;
  const std::string error = visit_log_records(as_bytes(encoded), true, info, [&](const LogRecordView& view) {
    BOOST_TEST(info.last_sequence == 12u);  // known before the first record
    sequences.push_back(view.sequence);
    BOOST_TEST((view.message.data() >= encoded.data() && view.message.data() < encoded.data() + encoded.size()));
  });
  BOOST_TEST(error.empty());
  BOOST_TEST(info.publisher_id == 99u);
  BOOST_TEST(info.last_sequence == 12u);
  BOOST_TEST(info.records == 2u);
  BOOST_TEST((sequences == std::vector<std::uint64_t>{10, 11}));
}

BOOST_AUTO_TEST_CASE(a_batch_states_shared_fields_once_and_every_reader_fills_them_in) {
  // The Logger's form: service, host, pid and logger once in the batch, records
  // leaving theirs empty; one record brings its own logger name, one its own host.
  const LogRecord full = sample_record();
  std::vector<LogRecordView> views(3);
  for (std::size_t i = 0; i < views.size(); ++i) {
    views[i].timestamp_ns = full.timestamp_ns;
    views[i].level = full.level;
    views[i].message = full.message;
    views[i].publisher_id = full.publisher_id;
    views[i].sequence = 10 + i;
    views[i].file = full.file;
  }
  views[1].logger = "other.logger";
  views[2].host = "elsewhere";
  const LogBatchShared shared{full.service, full.host, full.logger, full.pid};
  LogBatchEncoder encoder;
  std::string compact;
  encoder.encode(views, full.publisher_id, 12, compact, shared);

  auto decoded = decode_log_records(as_bytes(compact), true);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_REQUIRE(decoded.value->records.size() == 3u);
  std::vector<std::string> loggers, hosts;
  for (const LogRecord& record : decoded.value->records) {
    BOOST_TEST(record.service == full.service);
    BOOST_TEST(record.pid == full.pid);
    BOOST_TEST(record.message == full.message);
    loggers.push_back(record.logger);
    hosts.push_back(record.host);
  }
  BOOST_TEST((loggers == std::vector<std::string>{full.logger, "other.logger", full.logger}));
  BOOST_TEST((hosts == std::vector<std::string>{full.host, full.host, "elsewhere"}));

  LogBatchInfo info;
  std::vector<std::string> view_loggers;
  const std::string error = visit_log_records(as_bytes(compact), true, info, [&](const LogRecordView& view) {
    BOOST_TEST(view.service == full.service);
    BOOST_TEST(view.pid == full.pid);
    view_loggers.emplace_back(view.logger);
    BOOST_TEST(view.host == (view.sequence == 12 ? std::string_view("elsewhere") : std::string_view(full.host)));
  });
  BOOST_TEST(error.empty());
  BOOST_TEST((view_loggers == loggers));

  // The older form (every record carries its own fields) decodes to the same
  // records, and is larger.
  const std::string old_form = encode(*decoded.value);
  auto again = decode_log_records(as_bytes(old_form), true);
  BOOST_REQUIRE_MESSAGE(again, again.error);
  BOOST_TEST((*again.value == *decoded.value));
  BOOST_TEST(compact.size() < old_form.size());
}

BOOST_AUTO_TEST_CASE(a_batch_whose_shared_fields_would_decode_huge_is_rejected) {
  // A small message must not decode to a huge one: a shared host and logger as
  // long as allowed, repeated into thousands of empty records, pass kMaxDecodedBytes.
  const std::string host(kMaxNameBytes, 'h');
  const std::string logger(kMaxNameBytes, 'l');
  std::vector<LogRecordView> views(8192);
  LogBatchEncoder encoder;
  std::string bytes;
  encoder.encode(views, 1, 0, bytes, LogBatchShared{"svc", host, logger, 1});
  BOOST_TEST(bytes.size() < kMaxDecodedBytes / 8);
  auto decoded = decode_log_records(as_bytes(bytes), true);
  BOOST_TEST(!decoded);
  BOOST_TEST(decoded.error.find("exceed the limit") != std::string::npos);
  // The in-place reader copies nothing, so it reads it.
  LogBatchInfo info;
  std::size_t calls = 0;
  BOOST_TEST(visit_log_records(as_bytes(bytes), true, info, [&](const LogRecordView& view) {
               calls += view.host.size() == host.size() ? 1 : 0;
             }).empty());
  BOOST_TEST(calls == views.size());
}

// The caps of limits.h: a text longer than any producer sends is refused by every
// reader, a batch's shared texts included; one at the cap passes.
BOOST_AUTO_TEST_CASE(texts_over_the_record_caps_are_refused) {
  const auto refused = [](const std::string& bytes, bool batch) {
    LogBatchInfo info;
    const std::string error = visit_log_records(as_bytes(bytes), batch, info, [](const LogRecordView&) {});
    return !error.empty() && error.find(" cap") != std::string::npos && !decode_log_records(as_bytes(bytes), batch);
  };
  LogRecord record = sample_record();
  record.message.assign(kMaxRecordBytesSetting, 'm');
  BOOST_TEST(!refused(encode(record), false));
  record.message += 'm';
  BOOST_TEST(refused(encode(record), false));
  for (std::string LogRecord::*name :
       {&LogRecord::logger, &LogRecord::host, &LogRecord::file, &LogRecord::function, &LogRecord::thread}) {
    LogRecord named = sample_record();
    named.*name = std::string(kMaxNameBytes, 'n');
    BOOST_TEST(!refused(encode(named), false));
    (named.*name) += 'n';
    BOOST_TEST(refused(encode(named), false));
  }
  LogRecord fielded = sample_record();
  fielded.fields.clear();
  for (int i = 0; i < 5; ++i)
    fielded.fields.emplace_back("key" + std::to_string(i), std::string(kMaxFieldsBytes / 5, 'v'));
  BOOST_TEST(refused(encode(fielded), false));
  fielded.fields.assign(1, {std::string(kMaxNameBytes + 1, 'k'), "v"});
  BOOST_TEST(refused(encode(fielded), false));

  // A batch whose shared host is over the name cap: 3.7 MB decoding to 30 GB
  // (15,000 records each given a 1 MB host and logger) is refused at once.
  std::vector<LogRecordView> views(16);
  LogBatchEncoder encoder;
  std::string bytes;
  encoder.encode(views, 1, 0, bytes, LogBatchShared{"svc", std::string(kMaxNameBytes, 'h'), "svc", 1});
  BOOST_TEST(!refused(bytes, true));
  encoder.encode(views, 1, 0, bytes, LogBatchShared{"svc", std::string(kMaxNameBytes + 1, 'h'), "svc", 1});
  BOOST_TEST(refused(bytes, true));
  encoder.encode(views, 1, 0, bytes, LogBatchShared{"svc", "host", std::string(1'000'000, 'l'), 1});
  BOOST_TEST(refused(bytes, true));

  // A dashboard entry: its message may carry the logging node's addition, no more.
  DashboardLog entry;
  entry.message.assign(kMaxRecordBytesSetting + kMaxNameBytes, 'm');
  BOOST_TEST(decode_dashboard_logs(as_bytes(encode(entry)), false).value.has_value());
  entry.message += 'm';
  BOOST_TEST(!decode_dashboard_logs(as_bytes(encode(entry)), false).value.has_value());
  entry.message = "ok";
  entry.host.assign(kMaxNameBytes + 1, 'h');
  BOOST_TEST(!decode_dashboard_logs(as_bytes(encode(entry)), false).value.has_value());
}

BOOST_AUTO_TEST_CASE(a_batch_declaring_too_many_records_is_rejected) {
  LogRecordBatch batch;
  batch.records.resize(kMaxBatchRecords + 1);  // empty records: a small message, a long list
  const std::string bytes = encode(batch);
  BOOST_TEST(!decode_log_records(as_bytes(bytes), true));
  LogBatchInfo info;
  std::size_t calls = 0;
  BOOST_TEST(!visit_log_records(as_bytes(bytes), true, info, [&](const LogRecordView&) { ++calls; }).empty());
  BOOST_TEST(calls == 0u);
}

BOOST_AUTO_TEST_CASE(the_largest_batch_the_decoders_accept_encodes_within_their_limit) {
  // Empty texts are left unset, so even kMaxBatchRecords empty records (what a tiny
  // hostile message can declare) encode to a message every decoder reads back.
  LogRecordBatch batch;
  batch.records.resize(kMaxBatchRecords);
  const std::string bytes = encode(batch);
  BOOST_TEST(bytes.size() <= kMaxDecodedBytes);
  auto decoded = decode_log_records(as_bytes(bytes), true);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((*decoded.value == batch));
}

BOOST_AUTO_TEST_CASE(dashboard_log_round_trips_every_field) {
  DashboardLog entry{"2026-11-26T17:45:00.123456Z",
                     1'795'000'000'123'456'000,
                     Level::critical,
                     "Eye Lights",
                     "eye_light_controller",
                     "Arduino <script>alert(1)</script>",
                     "20261126-174500",
                     "20261126-174500-7",
                     3,
                     EntryKind::repeat_summary,
                     "droid",
                     "cantina_os.eyes",
                     7,
                     "eyes.py",
                     42,
                     "set_pattern",
                     "MainThread",
                     4242,
                     {{"pattern", "LISTENING"}, {"brightness", "40"}, {"", ""}, {"note", "a \"quoted\"\nvalue"}}};
  auto decoded = decode_dashboard_logs(as_bytes(encode(entry)), false);
  BOOST_REQUIRE(decoded);
  BOOST_TEST((decoded.value->entries == std::vector<DashboardLog>{entry}));
}

BOOST_AUTO_TEST_CASE(an_entry_without_source_or_fields_costs_no_more_than_its_struct) {
  // Unset texts and no field list: the entry is its struct and its set texts only.
  DashboardLog entry;
  entry.message = "1234567";
  const std::string bytes = encode(entry);
  // Segment table, root pointer, the struct (16 words), the message (one word).
  BOOST_TEST(bytes.size() == (2 + 16 + 1) * 8u);
  auto decoded = decode_dashboard_logs(as_bytes(bytes), false);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((decoded.value->entries.at(0) == entry));
}

BOOST_AUTO_TEST_CASE(dashboard_fields_over_their_caps_are_refused) {
  DashboardLog entry = sample_entry(1);
  entry.fields = {{std::string(kMaxNameBytes + 1, 'k'), "v"}};
  BOOST_TEST(!static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
  entry.fields = {{"k", std::string(kMaxFieldsBytes + kMaxNameBytes, 'v')}};
  BOOST_TEST(!static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
  entry.fields.assign(kMaxRecordFields + 2, {"k", "v"});
  BOOST_TEST(!static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
  // The node's own "left out" field on top of the caps is accepted.
  entry.fields.assign(kMaxRecordFields + 1, {"k", "v"});
  BOOST_TEST(static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
  entry.fields = {{"k", std::string(kMaxFieldsBytes, 'v')}, {"(truncated)", "3 fields left out"}};
  BOOST_TEST(static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
  entry.fields.clear();
  entry.thread = std::string(kMaxNameBytes + 1, 't');
  BOOST_TEST(!static_cast<bool>(decode_dashboard_logs(as_bytes(encode(entry)), false)));
}

BOOST_AUTO_TEST_CASE(a_dashboard_batch_round_trips_and_the_encoder_matches_it) {
  DashboardLogBatch batch;
  for (std::uint64_t sequence = 1; sequence <= 7; ++sequence) batch.entries.push_back(sample_entry(sequence));
  batch.not_streamed = 12345;
  const std::string bytes = encode(batch);
  auto decoded = decode_dashboard_logs(as_bytes(bytes), true);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((*decoded.value == batch));

  // The reused-segment encoder writes the same bytes, twice in a row (also after a
  // larger batch, whose words it must have zeroed again).
  DashboardBatchEncoder encoder;
  std::vector<DashboardLogView> views;
  for (const DashboardLog& entry : batch.entries) views.push_back(view_of(entry));
  std::string encoded;
  for (std::size_t size : {views.size(), std::size_t{2}, views.size()}) {
    encoder.encode(std::span(views).first(size), encoded, size == 2 ? 0 : batch.not_streamed);
    DashboardLogBatch expected;
    expected.not_streamed = size == 2 ? 0 : batch.not_streamed;
    expected.entries.assign(batch.entries.begin(), batch.entries.begin() + static_cast<std::ptrdiff_t>(size));
    BOOST_TEST((encoded == encode(expected)));
  }

  // dashboard_entry_size is what each entry adds: the rest is the segment table,
  // the root pointer, the root struct (notStreamed, the list pointer) and the
  // list's tag word (one word each).
  std::size_t sizes = 0;
  for (const DashboardLogView& view : views) sizes += dashboard_entry_size(view);
  BOOST_TEST(encoded.size() == std::size_t{5} * 8 + sizes);

  // The visitor reads every entry in order, in place.
  std::vector<DashboardLog> seen;
  std::uint64_t not_streamed = 0;
  const std::string error = visit_dashboard_entries(
      as_bytes(encoded), true,
      [&](const DashboardLogView& view) {
        seen.push_back(to_owned(view));
        BOOST_TEST((view.message.data() >= encoded.data() && view.message.data() < encoded.data() + encoded.size()));
      },
      &not_streamed);
  BOOST_TEST(error.empty());
  BOOST_TEST((seen == batch.entries));
  BOOST_TEST(not_streamed == 12345u);
}

BOOST_AUTO_TEST_CASE(dashboard_readers_take_either_form) {
  const DashboardLog entry = sample_entry(3);
  const std::string single = encode(entry);
  DashboardLogBatch batch;
  batch.entries = {sample_entry(1), sample_entry(2)};
  const std::string pair = encode(batch);

  auto one = decode_dashboard_logs(as_bytes(single), false);
  BOOST_REQUIRE_MESSAGE(one, one.error);
  BOOST_TEST((one.value->entries == std::vector<DashboardLog>{entry}));
  auto two = decode_dashboard_logs(as_bytes(pair), true);
  BOOST_REQUIRE_MESSAGE(two, two.error);
  BOOST_TEST((*two.value == batch));

  std::vector<DashboardLog> seen;
  auto collect = [&](const DashboardLogView& view) { seen.push_back(to_owned(view)); };
  std::uint64_t not_streamed = 7;
  BOOST_TEST(visit_dashboard_entries(as_bytes(single), false, collect, &not_streamed).empty());
  BOOST_TEST(not_streamed == 0u);  // one DashboardLog says nothing of entries left out
  BOOST_TEST(visit_dashboard_entries(as_bytes(pair), true, collect).empty());
  BOOST_TEST((seen == std::vector<DashboardLog>{entry, batch.entries[0], batch.entries[1]}));

  // An empty batch is valid and holds nothing.
  auto empty = decode_dashboard_logs(as_bytes(encode(DashboardLogBatch{})), true);
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty.value->entries.empty());
}

BOOST_AUTO_TEST_CASE(a_dashboard_batch_with_a_bad_entry_is_rejected_whole) {
  DashboardLogBatch batch;
  batch.entries = {sample_entry(1), sample_entry(2), sample_entry(4)};
  std::string bytes = encode(batch);
  // The second entry's kind becomes a number no EntryKind has.
  const std::size_t kind_at = offset_of_change(batch, 1, [](DashboardLog& entry) { entry.kind = EntryKind::loss; });
  bytes[kind_at] = 42;
  auto decoded = decode_dashboard_logs(as_bytes(bytes), true);
  BOOST_TEST(!decoded);
  BOOST_TEST(!decoded.error.empty());
  std::size_t calls = 0;
  BOOST_TEST(!visit_dashboard_entries(as_bytes(bytes), true, [&](const DashboardLogView&) { ++calls; }).empty());
  BOOST_TEST(calls == 1u);  // the entry before the bad one; the caller undoes it

  // Truncated, odd-sized, empty and garbage payloads are errors, in either form.
  const std::string good = encode(batch);
  for (bool as_batch : {true, false}) {
    BOOST_TEST(!decode_dashboard_logs(as_bytes(std::string_view(good).substr(0, good.size() - 8)), as_batch));
    BOOST_TEST(!decode_dashboard_logs(as_bytes(std::string_view(good).substr(0, 13)), as_batch));
    BOOST_TEST(!decode_dashboard_logs(as_bytes(""), as_batch));
    BOOST_TEST(!visit_dashboard_entries(as_bytes("garbage!"), as_batch, [](const DashboardLogView&) {}).empty());
  }
}

BOOST_AUTO_TEST_CASE(a_dashboard_batch_declaring_too_many_entries_is_rejected) {
  DashboardLogBatch batch;
  batch.entries.resize(kMaxDashboardBatchEntries + 1);  // empty entries: a small message, a long list
  const std::string bytes = encode(batch);
  BOOST_TEST(!decode_dashboard_logs(as_bytes(bytes), true));
  std::size_t calls = 0;
  BOOST_TEST(!visit_dashboard_entries(as_bytes(bytes), true, [&](const DashboardLogView&) { ++calls; }).empty());
  BOOST_TEST(calls == 0u);

  // The largest accepted batch encodes within the decoders' limit and reads back.
  batch.entries.resize(kMaxDashboardBatchEntries);
  const std::string largest = encode(batch);
  BOOST_TEST(largest.size() <= kMaxDecodedBytes);
  auto decoded = decode_dashboard_logs(as_bytes(largest), true);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error);
  BOOST_TEST((*decoded.value == batch));
}

BOOST_AUTO_TEST_CASE(an_exception_from_a_visitor_becomes_the_error) {
  // The readers never throw: what a visitor throws (std::bad_alloc while copying,
  // say) ends the reading and is reported like a bad payload.
  const std::string record = encode(sample_record());
  LogBatchInfo info;
  std::string error;
  BOOST_CHECK_NO_THROW(error = visit_log_records(as_bytes(record), false, info, [](const LogRecordView&) {
                         throw std::runtime_error("visitor gave up");
                       }));
  BOOST_TEST(error.find("visitor gave up") != std::string::npos);
  const std::string entry = encode(sample_entry(1));
  BOOST_CHECK_NO_THROW(error = visit_dashboard_entries(as_bytes(entry), false, [](const DashboardLogView&) {
                         throw std::runtime_error("visitor gave up");
                       }));
  BOOST_TEST(error.find("visitor gave up") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(history_query_and_reply_round_trip) {
  HistoryQuery query{50, Level::warning, {"music_controller", "Eye Lights"}, "underrun"};
  auto decoded_query = decode_history_query(as_bytes(encode(query)));
  BOOST_REQUIRE(decoded_query);
  BOOST_TEST((*decoded_query.value == query));

  HistoryReply reply;
  reply.session_id = "20261126-174500";
  reply.entries.push_back(
      DashboardLog{"t", 1, Level::info, "A", "a", "m1", "s", "s-1", 0, EntryKind::record, "h", "l", 1});
  reply.entries.push_back(
      DashboardLog{"t", 2, Level::error, "B", "b", "m2", "s", "s-2", 0, EntryKind::loss, "h", "l", 2});
  reply.entries.push_back(sample_entry(5));  // with source and fields
  auto decoded_reply = decode_history_reply(as_bytes(encode(reply)));
  BOOST_REQUIRE(decoded_reply);
  BOOST_TEST((*decoded_reply.value == reply));
  reply.truncated = true;
  decoded_reply = decode_history_reply(as_bytes(encode(reply)));
  BOOST_REQUIRE(decoded_reply);
  BOOST_TEST(decoded_reply.value->truncated);
}

BOOST_AUTO_TEST_CASE(service_status_round_trips_every_state) {
  for (auto state : {ServiceState::starting, ServiceState::running, ServiceState::stopping, ServiceState::stopped,
                     ServiceState::error, ServiceState::fatal}) {
    ServiceStatus status{"logging_service", state, "session x", 10, 20, "droid", 5};
    auto decoded = decode_service_status(as_bytes(encode(status)));
    BOOST_REQUIRE(decoded);
    BOOST_TEST((*decoded.value == status));
  }
}

BOOST_AUTO_TEST_CASE(logging_stats_round_trip_every_counter) {
  LoggingStats stats{1, "s", "/tmp/f.log", 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  stats.not_streamed = 15;
  stats.bytes_kept = 16;
  stats.log_level = Level::warning;
  stats.service_levels = {{"demo", Level::debug}, {"music_controller", Level::error}};
  auto decoded = decode_logging_stats(as_bytes(encode(stats)));
  BOOST_REQUIRE(decoded);
  BOOST_TEST((*decoded.value == stats));
}

BOOST_AUTO_TEST_CASE(control_messages_round_trip) {
  SetLogLevel request{"music_controller", Level::debug, 77, "droid", 4321, "cantina-cli level"};
  auto decoded_request = decode_set_log_level(as_bytes(encode(request)));
  BOOST_REQUIRE(decoded_request);
  BOOST_TEST((*decoded_request.value == request));
  LogLevelChanged change{"music_controller", Level::debug, Level::info, 77, 1234, true};
  auto decoded_change = decode_log_level_changed(as_bytes(encode(change)));
  BOOST_REQUIRE(decoded_change);
  BOOST_TEST((*decoded_change.value == change));
}

BOOST_AUTO_TEST_CASE(garbage_is_an_error_value_not_an_exception) {
  const std::string garbage = "this is not a capnp message!!!!!";  // 32 bytes, word multiple
  for (bool batch : {false, true}) {
    auto decoded = decode_log_records(as_bytes(garbage), batch);
    BOOST_TEST(!decoded);
    BOOST_TEST(!decoded.error.empty());
  }
}

BOOST_AUTO_TEST_CASE(truncated_and_odd_sized_payloads_are_rejected) {
  const std::string bytes = encode(sample_record());
  BOOST_TEST(!decode_log_records(as_bytes(std::string_view(bytes).substr(0, bytes.size() - 8)), false));
  BOOST_TEST(!decode_log_records(as_bytes(std::string_view(bytes).substr(0, 13)), false));
  BOOST_TEST(!decode_log_records(as_bytes(""), false));
}

BOOST_AUTO_TEST_CASE(misaligned_payloads_still_decode) {
  const std::string bytes = encode(sample_record());
  std::string shifted = "x" + bytes;
  auto decoded = decode_record(as_bytes(std::string_view(shifted).substr(1)));
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->message == sample_record().message);
}

// Misaligned payloads are copied into a buffer the thread reuses: one read after
// another of other sizes, and a read inside another's visit, each see their own bytes.
BOOST_AUTO_TEST_CASE(misaligned_reads_in_turn_and_nested_see_their_own_bytes) {
  const auto misaligned = [](const LogRecord& record) { return "x" + encode(record); };
  LogRecord small = sample_record();
  small.message = "small one";
  LogRecord large = sample_record();
  large.message = std::string(70'000, 'L');  // over the 64 KiB the thread keeps
  LogRecord other = sample_record();
  other.message = "the outer one, longer than the nested one: a shared buffer would be overwritten";
  for (const LogRecord* record : {&small, &large, &small, &other, &large}) {
    const std::string shifted = misaligned(*record);
    auto decoded = decode_record(as_bytes(std::string_view(shifted).substr(1)));
    BOOST_REQUIRE(decoded);
    BOOST_TEST(decoded->message == record->message);
  }
  const std::string outer = misaligned(other);
  const std::string inner = misaligned(small);
  LogBatchInfo info;
  std::string seen_inner;
  std::string seen_outer;
  const std::string error =
      visit_log_records(as_bytes(std::string_view(outer).substr(1)), false, info, [&](const LogRecordView& record) {
        auto nested = decode_record(as_bytes(std::string_view(inner).substr(1)));
        BOOST_REQUIRE(nested);
        seen_inner = nested->message;
        seen_outer = std::string(record.message);  // read after the nested decode
      });
  BOOST_TEST(error.empty());
  BOOST_TEST(seen_inner == small.message);
  BOOST_TEST(seen_outer == other.message);
}

BOOST_AUTO_TEST_CASE(unknown_level_numbers_are_rejected) {
  LogRecord record = sample_record();
  std::string bytes = encode(record);
  // Find the level field by re-encoding with a different level and diffing.
  record.level = Level::debug;
  std::string other = encode(record);
  BOOST_REQUIRE_EQUAL(bytes.size(), other.size());
  std::size_t position = 0;
  while (position < bytes.size() && bytes[position] == other[position]) ++position;
  BOOST_REQUIRE(position < bytes.size());
  bytes[position] = 42;  // no such level
  BOOST_TEST(!decode_log_records(as_bytes(bytes), false));
  LogBatchInfo info;
  BOOST_TEST(!visit_log_records(as_bytes(bytes), false, info, [](const LogRecordView&) {}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
