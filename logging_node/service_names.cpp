#include "service_names.h"

#include <utility>

namespace cantina::logging {

namespace {

constexpr bool is_separator(char c) {
  return c == '_' || c == '-' || c == '.';
}

constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

std::string title_case(std::string_view service_id) {
  std::string result;
  result.reserve(service_id.size());
  bool at_word_start = true;
  for (char c : service_id) {
    if (is_separator(c)) {
      at_word_start = true;
      continue;
    }
    if (at_word_start) {
      if (!result.empty()) result += ' ';
      result += ascii_upper(c);
      at_word_start = false;
    } else {
      result += c;
    }
  }
  if (result.empty()) result = service_id;
  return result;
}

ServiceNames::ServiceNames(std::map<std::string, std::string> names) {
  configured_.merge(names);
}

const std::string& ServiceNames::friendly(std::string_view service_id) {
  if (auto found = configured_.find(service_id); found != configured_.end()) return found->second;
  if (auto found = derived_.find(service_id); found != derived_.end()) return found->second;
  if (derived_.size() >= kMaxCachedNames) derived_.clear();
  return derived_.emplace(std::string(service_id), title_case(service_id)).first->second;
}

}  // namespace cantina::logging
