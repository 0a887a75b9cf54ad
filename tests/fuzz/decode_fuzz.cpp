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

namespace {

template <class Decode>
void check(const cantina::bus::Bytes& bytes, Decode decode) {
  auto decoded = decode(bytes);
  if (!decoded) return;
  const std::string again = cantina::bus::encode(*decoded.value);
  // Compact input (lists of empty elements) can decode to more than a decoder reads.
  if (again.size() > cantina::bus::kMaxDecodedBytes) return;
  auto round_trip = decode(cantina::bus::as_bytes(again));
  if (!round_trip || !(*round_trip.value == *decoded.value)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cantina::bus;
  const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
  check(bytes, decode_log_record);
  check(bytes, decode_log_record_batch);
  // The node's in-place batch reader: must not crash on anything, and must agree
  // with the copying decoder on what it read.
  // Both fill in the batch's shared fields (service, host, logger, pid) alike.
  LogBatchInfo info;
  std::size_t records = 0;
  std::vector<LogRecordView> views;  // only the fields below are compared
  std::vector<std::string> texts;
  const std::string error = decode_log_batch_view(bytes, info, [&](const LogRecordView& view) {
    ++records;
    if (texts.size() < 3 * 64) {
      texts.emplace_back(view.service);
      texts.emplace_back(view.host);
      texts.emplace_back(view.logger);
      views.push_back(
          LogRecordView{view.timestamp_ns, view.level, {}, {}, {}, {}, view.pid, view.publisher_id, view.sequence});
    }
  });
  // The node's reader skips file, function and thread: it reads at least as much.
  LogBatchInfo lean_info;
  std::size_t lean_records = 0;
  const std::string lean_error = decode_log_batch_view(
      bytes, lean_info, [&lean_records](const LogRecordView&) { ++lean_records; }, ViewFields::without_source);
  if (error.empty() && (!lean_error.empty() || lean_records != records)) std::abort();
  if (auto batch = decode_log_record_batch(bytes); batch && error.empty()) {
    if (records != batch.value->records.size() || info.records != records ||
        info.last_sequence != batch.value->last_sequence)
      std::abort();
    for (std::size_t i = 0; i < views.size(); ++i) {
      const LogRecord& record = batch.value->records[i];
      if (record.service != texts[3 * i] || record.host != texts[3 * i + 1] || record.logger != texts[3 * i + 2] ||
          record.pid != views[i].pid || record.sequence != views[i].sequence)
        std::abort();
    }
  }
  check(bytes, decode_dashboard_log);
  check(bytes, decode_dashboard_log_batch);
  // The in-place dashboard readers (the web bridge's, tail's): never crash, and
  // agree with the copying decoders on what they read, in either form.
  for (const bool batch : {false, true}) {
    std::size_t entries = 0;
    std::uint64_t sequences = 0;
    const std::string view_error = decode_dashboard_entries_view(bytes, batch, [&](const DashboardLogView& entry) {
      ++entries;
      sequences += entry.sequence;
      (void)dashboard_entry_size(entry);
    });
    auto copied = decode_dashboard_logs(bytes, batch);
    if (view_error.empty() != copied.value.has_value()) std::abort();
    if (copied) {
      std::uint64_t copied_sequences = 0;
      for (const auto& entry : copied.value->entries) copied_sequences += entry.sequence;
      if (entries != copied.value->entries.size() || sequences != copied_sequences) std::abort();
    }
  }
  check(bytes, decode_history_query);
  check(bytes, decode_history_reply);
  check(bytes, decode_service_status);
  check(bytes, decode_logging_stats);
  check(bytes, decode_set_log_level);
  check(bytes, decode_log_level_changed);
  if (auto entry = decode_dashboard_log(bytes)) (void)to_json(*entry.value);
  (void)valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
