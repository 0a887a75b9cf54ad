#include "cantina/bus/limits.h"

#include <algorithm>

namespace cantina::bus {

namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS

bool is_continuation(char byte) noexcept {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

std::size_t marker_size(std::size_t cut_bytes) noexcept {
  std::size_t digits = 1;
  for (std::size_t rest = cut_bytes; rest >= 10; rest /= 10) ++digits;
  return kEllipsis.size() + std::string_view(" [truncated ").size() + digits + std::string_view(" bytes]").size();
}

}  // namespace

std::size_t kept_bytes(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text.size();
  // The marker names at most text.size() cut bytes: reserve room for that many digits.
  const std::size_t reserve = marker_size(text.size());
  std::size_t keep = max_bytes > reserve ? max_bytes - reserve : 0;
  // Back off to the start of a character: at most 3 continuation bytes in valid
  // UTF-8; invalid text is cut where it stands after that.
  for (int step = 0; step < 3 && keep > 0 && is_continuation(text[keep]); ++step) --keep;
  return keep;
}

std::string truncation_marker(std::size_t cut_bytes) {
  std::string marker(kEllipsis);
  marker += " [truncated ";
  marker += std::to_string(cut_bytes);
  marker += " bytes]";
  return marker;
}

bool truncate_text(std::string& text, std::size_t max_bytes) {
  const std::size_t keep = kept_bytes(text, max_bytes);
  if (keep == text.size()) return false;
  const std::size_t cut = text.size() - keep;
  text.resize(keep);
  text += truncation_marker(cut);
  return true;
}

void assign_capped(std::string& out, std::string_view text, std::size_t max_bytes) {
  const std::size_t keep = kept_bytes(text, max_bytes);
  out.assign(text.substr(0, keep));
  if (keep != text.size()) out += truncation_marker(text.size() - keep);
}

std::string capped_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  assign_capped(out, text, max_bytes);
  return out;
}

namespace {
// Room left for the last field that says how many were dropped.
constexpr std::size_t kMarkerField = 64;
}  // namespace

std::size_t capped_size(std::string_view text, std::size_t max_bytes) noexcept {
  const std::size_t keep = kept_bytes(text, max_bytes);
  return keep == text.size() ? keep : keep + marker_size(text.size() - keep);
}

bool field_fits(std::size_t kept, std::size_t used, std::size_t bytes) noexcept {
  return kept + 1 < kMaxRecordFields && used + bytes <= kMaxFieldsBytes - kMarkerField;
}

std::pair<std::string, std::string> dropped_fields_marker(std::size_t dropped) {
  return {std::string(kEllipsis), "[truncated " + std::to_string(dropped) + " fields]"};
}

bool cap_fields(std::vector<std::pair<std::string, std::string>>& fields) {
  bool cut = false;
  std::size_t used = 0;
  std::size_t kept = 0;
  for (auto& [key, value] : fields) {
    cut = truncate_text(key, kMaxNameBytes) || cut;
    cut = truncate_text(value, kMaxFieldValueBytes) || cut;
    if (!field_fits(kept, used, key.size() + value.size())) break;
    used += key.size() + value.size();
    ++kept;
  }
  if (kept == fields.size()) return cut;
  const std::size_t dropped = fields.size() - kept;
  fields.resize(kept);
  fields.push_back(dropped_fields_marker(dropped));
  return true;
}

std::string_view truncate_utf8(std::string_view text, std::size_t cap, std::string& out) {
  if (text.size() <= cap) return text;
  std::size_t keep = cap;
  // Back off over continuation bytes (at most 3): the character they belong to
  // would not fit whole.
  for (int step = 0; step < 3 && keep > 0 && is_continuation(text[keep]); ++step) --keep;
  out.assign(text.data(), keep);
  out += truncation_marker(text.size() - keep);
  return out;
}

}  // namespace cantina::bus
