#include "url.h"

namespace cantina::webbridge {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> Target::get(const std::string& key) const {
  auto found = query.find(key);
  if (found == query.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> Target::all(const std::string& key) const {
  std::vector<std::string> out;
  auto range = query.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

Target parse_target(std::string_view target) {
  Target out;
  const auto question = target.find('?');
  out.path = url_decode(target.substr(0, question));
  if (question == std::string_view::npos) return out;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    out.query.emplace(url_decode(pair.substr(0, eq)),
                      eq == std::string_view::npos ? std::string{} : url_decode(pair.substr(eq + 1)));
  }
  return out;
}

}  // namespace cantina::webbridge
