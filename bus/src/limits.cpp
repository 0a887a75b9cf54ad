#include "cantina/bus/limits.h"

namespace cantina::bus {

std::string_view truncate_utf8(std::string_view text, std::size_t cap, std::string& out) {
  if (text.size() <= cap) return text;
  std::size_t cut = cap;
  // Back off over continuation bytes (at most 3): the sequence they belong to
  // would not fit whole.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80; ++i) --cut;
  out.assign(text.data(), cut);
  out += "\xe2\x80\xa6 [truncated ";
  out += std::to_string(text.size() - cut);
  out += " bytes]";
  return out;
}

}  // namespace cantina::bus
