// The history endpoint's filter: which stored entries answer a HistoryQuery.
#pragma once

#include <algorithm>
#include <string_view>

#include "cantina/bus/records.h"
#include "log_entry.h"

namespace cantina::logging {

namespace detail {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// True if `a` and `b` are equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// True if `needle` occurs in `haystack` ignoring ASCII case (an empty needle always does).
inline bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char x, char y) { return ascii_lower(x) == ascii_lower(y); }) != haystack.end() ||
         needle.empty();
}

}  // namespace detail

// True if `entry` answers `query`: its level is at least query.min_level; if
// query.services is non-empty, its service_id or its friendly service name equals
// one of them (ASCII case-insensitive); if query.text is non-empty, its message
// contains that text (ASCII case-insensitive). query.limit is not looked at here.
// Any thread may call.
inline bool matches(const LogEntry& entry, const bus::HistoryQuery& query) {
  if (entry.level < query.min_level) return false;
  if (!query.services.empty()) {
    const bool service_matches = std::any_of(query.services.begin(), query.services.end(), [&](const auto& wanted) {
      return detail::iequals(entry.service_id, wanted) || detail::iequals(entry.service, wanted);
    });
    if (!service_matches) return false;
  }
  return query.text.empty() || detail::icontains(entry.message, query.text);
}

}  // namespace cantina::logging
