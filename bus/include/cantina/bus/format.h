// A small "{}" formatter for the Logger: each "{}" takes the next argument,
// "{{" and "}}" are literal braces. Arguments are rendered with std::to_chars for
// numbers, as-is for strings, and with operator<< for anything else. Surplus
// arguments are appended after a space; missing ones leave "{}" in place.
#pragma once

#include <charconv>
#include <concepts>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace cantina::bus::detail {

template <class T>
void append_argument(std::string& out, const T& value) {
  using Plain = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<Plain, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<Plain, char>) {
    out += value;
  } else if constexpr (std::is_integral_v<Plain> || std::is_floating_point_v<Plain>) {
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += std::string_view(value);
  } else {
    std::ostringstream stream;
    stream << value;
    out += stream.str();
  }
}

// Copies `format` into `out` up to the next "{}" (handling "{{" / "}}"); returns the
// rest after the placeholder, or an empty view with `found` false if there is none.
std::string_view copy_until_placeholder(std::string& out, std::string_view format, bool& found);

inline void format_into(std::string& out, std::string_view format) {
  bool found = false;
  while (!format.empty()) {
    format = copy_until_placeholder(out, format, found);
    if (found) out += "{}";
  }
}

template <class First, class... Rest>
void format_into(std::string& out, std::string_view format, const First& first, const Rest&... rest) {
  bool found = false;
  std::string_view remaining = copy_until_placeholder(out, format, found);
  if (!found) {  // more arguments than placeholders: append them
    out += ' ';
    append_argument(out, first);
    (..., (out += ' ', append_argument(out, rest)));
    return;
  }
  append_argument(out, first);
  format_into(out, remaining, rest...);
}

}  // namespace cantina::bus::detail
