// libFuzzer target: every decoder the nodes run on bytes from the bus.
// Each must return a value or an error, never crash, hang or leak; whatever
// decodes must encode again and decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"

using namespace cantina::bus;

namespace {

// `decoded` (what `decode` made of some bytes), encoded again by `encode_again`,
// decodes to the same value.
template <class Value, class Decode, class Encode>
void check_round_trip(const Decoded<Value>& decoded, Decode decode, Encode encode_again) {
  if (!decoded) return;
  const std::string again = encode_again(*decoded.value);
  // Compact input (lists of empty elements) can decode to more than a decoder reads.
  if (again.size() > kMaxDecodedBytes) return;
  auto round_trip = decode(as_bytes(again));
  if (!round_trip || !(*round_trip.value == *decoded.value)) std::abort();
}

template <class Decode>
void check(const Bytes& bytes, Decode decode) {
  check_round_trip(decode(bytes), decode, [](const auto& value) { return encode(value); });
}

// The records of a message on a log topic, in either form.
void check_log_records(const Bytes& bytes, bool batch) {
  const auto decode = [batch](Bytes payload) { return decode_log_records(payload, batch); };
  const auto copied = decode(bytes);
  check_round_trip(copied, decode, [batch](const LogRecordBatch& records) {
    return batch ? encode(records) : encode(records.records.at(0));
  });
  // The visitor, as the node reads (without the source fields) and reading every
  // field: never crashes, the lean reading accepts at least as much, and the
  // copying decoder (built on it) agrees on what it read, or rejects only text
  // filled in from the batch past kMaxDecodedBytes.
  LogBatchInfo info;
  std::size_t records = 0;
  std::vector<LogRecord> copies;  // the first records, copied out
  const std::string error = visit_log_records(bytes, batch, info, [&](const LogRecordView& view) {
    ++records;
    if (copies.size() < 64) copies.push_back(to_owned(view));
  });
  LogBatchInfo lean_info;
  std::size_t lean_records = 0;
  const std::string lean_error = visit_log_records(
      bytes, batch, lean_info, [&lean_records](const LogRecordView&) { ++lean_records; }, ViewFields::without_source);
  if (error.empty() && (!lean_error.empty() || lean_records != records || lean_info.records != info.records ||
                        lean_info.publisher_id != info.publisher_id || lean_info.last_sequence != info.last_sequence))
    std::abort();
  if (error.empty() && info.records != records) std::abort();
  // busd's peek never crashes, and agrees with the visitor on what it accepts.
  const auto peek = peek_log_sequence(bytes, batch);
  if (error.empty() && (!peek || peek->publisher_id != info.publisher_id || peek->highest < info.last_sequence))
    std::abort();
  if (!batch && error.empty() && (records != 1 || info.last_sequence != 0)) std::abort();
  if (copied && !error.empty()) std::abort();
  if (!copied && error.empty() && copied.error.find("exceed the limit") == std::string::npos) std::abort();
  if (copied) {
    if (copied.value->records.size() != records || copied.value->publisher_id != info.publisher_id ||
        copied.value->last_sequence != info.last_sequence)
      std::abort();
    for (std::size_t i = 0; i < copies.size(); ++i) {
      if (!(copies[i] == copied.value->records[i])) std::abort();
    }
  }
}

// The entries of a message on a dashboard topic, in either form.
void check_dashboard_entries(const Bytes& bytes, bool batch) {
  const auto decode = [batch](Bytes payload) { return decode_dashboard_logs(payload, batch); };
  const auto copied = decode(bytes);
  check_round_trip(copied, decode, [batch](const DashboardLogBatch& entries) {
    return batch ? encode(entries) : encode(entries.entries.at(0));
  });
  // The visitor (the web bridge's, the bench's): never crashes, and agrees with
  // the copying decoder on what it read.
  std::size_t entries = 0;
  std::uint64_t sequences = 0;
  std::uint64_t not_streamed = 0;
  const std::string view_error = visit_dashboard_entries(
      bytes, batch,
      [&](const DashboardLogView& entry) {
        ++entries;
        sequences += entry.sequence;
        (void)dashboard_entry_size(entry);
      },
      &not_streamed);
  if (view_error.empty() != copied.value.has_value()) std::abort();
  if (copied) {
    std::uint64_t copied_sequences = 0;
    for (const auto& entry : copied.value->entries) copied_sequences += entry.sequence;
    if (entries != copied.value->entries.size() || sequences != copied_sequences ||
        not_streamed != copied.value->not_streamed)
      std::abort();
    if (!batch) (void)to_json(copied.value->entries.at(0));
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
  for (const bool batch : {false, true}) {
    check_log_records(bytes, batch);
    check_dashboard_entries(bytes, batch);
  }
  check(bytes, decode_history_query);
  check(bytes, decode_history_reply);
  check(bytes, decode_service_status);
  check(bytes, decode_logging_stats);
  check(bytes, decode_set_log_level);
  check(bytes, decode_log_level_changed);
  (void)valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
