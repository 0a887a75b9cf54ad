#include "dashboard_stream.h"

#include <algorithm>
#include <charconv>

#include "cantina/bus/clock.h"
#include "cantina/bus/limits.h"

namespace cantina::logging {

DashboardStream::DashboardStream(std::string session_id, Send send, std::uint32_t max_rate, std::size_t max_entries,
                                 std::size_t max_bytes)
    : session_id_(std::move(session_id)),
      send_(std::move(send)),
      max_entries_(max_entries == 0 ? 1 : max_entries),
      max_bytes_(max_bytes),
      max_rate_(max_rate),
      budget_(max_rate) {}

void DashboardStream::refill(std::int64_t now_ns) noexcept {
  if (refilled_ns_ != 0 && now_ns > refilled_ns_) {
    budget_ = std::min(max_rate_, budget_ + static_cast<double>(now_ns - refilled_ns_) * max_rate_ / 1e9);
  }
  refilled_ns_ = now_ns;
}

bool DashboardStream::add(const LogEntry& entry) {
  if (max_rate_ > 0) {
    const bool always = entry.level >= Level::warning || entry.kind != EntryKind::record;
    if (budget_ >= 1) {
      budget_ -= 1;
    } else if (!always) {
      not_streamed_.add(1);
      return false;
    }
  }
  timestamp_.clear();
  bus::append_iso8601(timestamp_, entry.timestamp_ns);
  entry_id_.assign(session_id_);
  entry_id_ += '-';
  char digits[24];
  entry_id_.append(digits, std::to_chars(digits, digits + sizeof digits, entry.sequence).ptr);
  field_views_.assign(entry.fields.begin(), entry.fields.end());
  const std::size_t size = bus::dashboard_entry_size(bus::DashboardLogView{
      timestamp_, entry.timestamp_ns, entry.level, entry.service, entry.service_id, entry.message, session_id_,
      entry_id_, entry.repeat_count, entry.kind, entry.host, entry.logger, entry.sequence, entry.file, entry.line,
      entry.function, entry.thread, entry.pid, field_views_});
  if (!pending_.empty() && pending_bytes_ + size > max_bytes_) flush();

  Pending& added = pending_.emplace_back();
  added.timestamp_ns = entry.timestamp_ns;
  added.level = entry.level;
  added.kind = entry.kind;
  added.repeat_count = entry.repeat_count;
  added.sequence = entry.sequence;
  added.line = entry.line;
  added.pid = entry.pid;
  added.text_begin = text_.size();
  std::size_t i = 0;
  for (std::string_view text :
       {std::string_view(timestamp_), std::string_view(entry.service), std::string_view(entry.service_id),
        std::string_view(entry.message), std::string_view(entry_id_), std::string_view(entry.host),
        std::string_view(entry.logger), std::string_view(entry.file), std::string_view(entry.function),
        std::string_view(entry.thread)}) {
    text_ += text;
    added.lengths[i++] = text.size();
  }
  added.fields_begin = field_lengths_.size();
  added.fields = entry.fields.size();
  for (const auto& [key, value] : entry.fields) {
    text_ += key;
    text_ += value;
    field_lengths_.emplace_back(key.size(), value.size());
  }
  pending_bytes_ += size;
  if (pending_.size() >= max_entries_ || pending_bytes_ >= max_bytes_) flush();
  return true;
}

void DashboardStream::flush(bool final) {
  if (pending_.empty()) {
    // Only a count to tell: now if the last message is not too recent, else later.
    if (not_streamed_.pending() == 0 || (!final && refilled_ns_ - count_sent_ns_ < kCountOnlyInterval)) return;
    encoder_.encode({}, payload_, not_streamed_.take());
    count_sent_ns_ = refilled_ns_;
    send_(payload_);
    return;
  }
  views_.clear();
  // Every field's view first (field_views_ does not grow after), then the entries'.
  field_views_.clear();
  for (const Pending& entry : pending_) {
    const char* next = text_.data() + entry.text_begin;
    for (std::size_t length : entry.lengths) next += length;
    for (std::size_t i = 0; i < entry.fields; ++i) {
      const auto [key, value] = field_lengths_[entry.fields_begin + i];
      field_views_.emplace_back(std::string_view(next, key), std::string_view(next + key, value));
      next += key + value;
    }
  }
  std::size_t field_at = 0;
  for (const Pending& entry : pending_) {
    std::string_view texts[Pending::kTexts];
    const char* next = text_.data() + entry.text_begin;
    for (std::size_t i = 0; i < Pending::kTexts; ++i) {
      texts[i] = {next, entry.lengths[i]};
      next += entry.lengths[i];
    }
    views_.push_back(bus::DashboardLogView{texts[0], entry.timestamp_ns, entry.level, texts[1], texts[2], texts[3],
                                           session_id_, texts[4], entry.repeat_count, entry.kind, texts[5], texts[6],
                                           entry.sequence, texts[7], entry.line, texts[8], texts[9], entry.pid,
                                           std::span(field_views_).subspan(field_at, entry.fields)});
    field_at += entry.fields;
  }
  encoder_.encode(views_, payload_, not_streamed_.take());
  count_sent_ns_ = refilled_ns_;
  pending_.clear();
  pending_bytes_ = 0;
  text_.clear();
  field_lengths_.clear();
  if (field_views_.capacity() > 2 * bus::kMaxRecordFields) field_views_ = {};
  if (field_lengths_.capacity() > 2 * bus::kMaxRecordFields) field_lengths_ = {};
  // One very large entry must not keep its memory for good.
  if (text_.capacity() > 2 * max_bytes_) text_ = std::string();
  send_(payload_);
  if (payload_.capacity() > 4 * max_bytes_) payload_ = std::string();
}

}  // namespace cantina::logging
