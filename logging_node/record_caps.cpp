#include "record_caps.h"

namespace cantina::logging {

namespace {

// Caps `text` at `cap` into `scratch`; counts its bytes; notes a cut.
void cap_text(std::string_view& text, std::size_t cap, std::string& scratch, std::size_t& bytes, bool& cut) {
  if (text.size() > cap) {
    text = bus::truncate_utf8(text, cap, scratch);
    cut = true;
  }
  bytes += text.size();
}

}  // namespace

bool RecordCaps::apply(bus::LogRecordView& record, std::size_t extra_bytes) {
  if (refused_) return false;
  bus::LogRecordView capped = record;
  std::size_t bytes = extra_bytes;
  bool cut = false;
  cap_text(capped.message, limits_.message, message_, bytes, cut);
  bytes += capped.service.size();  // the topic's: a valid service id, at most 128 bytes
  cap_text(capped.host, limits_.name, host_, bytes, cut);
  cap_text(capped.logger, limits_.name, logger_, bytes, cut);
  cap_text(capped.file, limits_.name, file_, bytes, cut);
  cap_text(capped.function, limits_.name, function_, bytes, cut);
  cap_text(capped.thread, limits_.name, thread_, bytes, cut);
  std::size_t field_bytes = 0;
  std::size_t kept = 0;
  for (const auto& [key, value] : capped.fields) {
    if (field_bytes + key.size() + value.size() > limits_.fields) break;
    field_bytes += key.size() + value.size();
    ++kept;
  }
  if (kept < capped.fields.size()) {
    fields_.resize(kept + 1);
    for (std::size_t i = 0; i < kept; ++i) {
      fields_[i].first.assign(capped.fields[i].first);
      fields_[i].second.assign(capped.fields[i].second);
    }
    fields_[kept].first.assign("(truncated)");
    fields_[kept].second.assign(std::to_string(capped.fields.size() - kept) + " fields left out");
    field_bytes += fields_[kept].first.size() + fields_[kept].second.size();
    capped.fields = fields_;
    cut = true;
  }
  bytes += field_bytes;
  if (filled_ + bytes > limits_.filled) {
    refused_ = true;
    return false;
  }
  filled_ += bytes;
  if (cut) ++truncated_;
  record = capped;
  return true;
}

}  // namespace cantina::logging
