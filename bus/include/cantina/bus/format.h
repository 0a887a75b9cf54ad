// The Logger's formatter: {fmt} format strings (https://fmt.dev/9.1.0/syntax.html),
// checked against the arguments' types at compile time.
//
//   log.info("Volume {:>3}% on {}, {:.1f} dB, frame {:#x}", volume, device, gain, frame);
//
// A format string that does not fit its arguments (a spec the type has not, an
// argument missing or left unused, a type nothing can format) does not compile.
// A type without a fmt::formatter is written with its operator<<, specs of a
// string applying to the result ("{:>8}"). A format string known only at run
// time is passed as fmt::runtime(text); if it does not fit its arguments, the
// record keeps it as written followed by " [format error: ...]" (the Logger never
// throws for it; arguments it leaves unused are not checked).
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <source_location>
#include <string_view>
#include <type_traits>

#include <fmt/compile.h>
#include <fmt/core.h>
#include <fmt/format.h>
#include <fmt/ostream.h>

namespace cantina::bus {

namespace detail {

// What {fmt} is given for an argument of type T: the argument itself, or a view
// that formats it with operator<< when {fmt} cannot format T.
template <class T>
decltype(auto) formattable(const T& value) {
  if constexpr (fmt::is_formattable<T>::value) {
    return (value);
  } else {
    static_assert(
        requires(std::ostream & out) { out << value; }, "a log argument needs a fmt::formatter or an operator<<");
    return fmt::streamed(value);
  }
}

template <class T>
using formatted_t = std::remove_cvref_t<decltype(formattable(std::declval<const T&>()))>;

// Not constexpr: reaching it in a constant expression is the compile error.
void a_log_argument_is_not_in_the_format_string();

// The argument a replacement field or a nested width/precision field names,
// starting at `i` (just after its '{'): sets its bit in `used` and returns false
// for a named argument (whose use is not checked).
consteval bool mark_argument(std::string_view format, std::size_t& i, std::size_t& next, std::uint64_t& used) {
  std::size_t id = 0;
  if (i < format.size() && format[i] >= '0' && format[i] <= '9') {
    for (; i < format.size() && format[i] >= '0' && format[i] <= '9'; ++i) id = id * 10 + (format[i] - '0');
  } else if (i < format.size() && format[i] != ':' && format[i] != '}') {
    return false;
  } else {
    id = next++;
  }
  if (id < 64) used |= std::uint64_t{1} << id;
  return true;
}

// A format string that {fmt} has accepted but that leaves one of the first
// `count` arguments unused does not compile: its value would be lost.
consteval void require_every_argument_used(std::string_view format, std::size_t count) {
  std::uint64_t used = 0;
  std::size_t next = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '{') continue;
    if (i + 1 < format.size() && format[i + 1] == '{') {
      ++i;
      continue;
    }
    ++i;
    if (!mark_argument(format, i, next, used)) return;
    for (int depth = 1; i < format.size() && depth > 0; ++i) {  // the spec, with its nested fields
      if (format[i] == '{') {
        ++i;
        if (!mark_argument(format, i, next, used)) return;  // i: at the nested field's '}'
      } else if (format[i] == '}') {
        --depth;
      }
    }
    --i;
  }
  for (std::size_t k = 0; k < count && k < 64; ++k) {
    if ((used & (std::uint64_t{1} << k)) == 0) a_log_argument_is_not_in_the_format_string();
  }
}

// True if every replacement field of `format` is a plain "{}" (no index, no spec).
consteval bool only_plain_fields(std::string_view format) {
  for (std::size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '{') continue;
    if (format[i + 1] != '{' && format[i + 1] != '}') return false;
    ++i;
  }
  return true;
}

}  // namespace detail

// A format string checked at compile time against Args, which remembers where
// the log call was made. Use FormatString<Args...>, where Args are not deduced.
template <class... Args>
struct BasicFormatString {
  fmt::format_string<detail::formatted_t<Args>...> text;
  std::source_location location;
  bool plain = false;  // only "{}" fields: detail::format_plain may format it

  template <class S>
  requires std::is_convertible_v<const S&, std::string_view>
  consteval BasicFormatString(const S& format,  // NOLINT(google-explicit-constructor)
                              std::source_location where = std::source_location::current())
      : text(format), location(where), plain(detail::only_plain_fields(std::string_view(format))) {
    detail::require_every_argument_used(std::string_view(format), sizeof...(Args));
  }
  // fmt::runtime(text): checked when the record is made (see above).
  BasicFormatString(fmt::basic_runtime<char> format,  // NOLINT(google-explicit-constructor)
                    std::source_location where = std::source_location::current())
      : text(format), location(where) {}
};

template <class... Args>
using FormatString = BasicFormatString<std::type_identity_t<Args>...>;

namespace detail {

// Appends `format` with `args` to `out`; a format string that does not fit them
// (only possible with fmt::runtime) is appended as is with " [format error: ...]".
void vformat_into(fmt::memory_buffer& out, fmt::string_view format, fmt::format_args args);

// Appends `format` up to its next "{}" to `out` ("{{" and "}}" as one brace) and
// returns the rest after that "{}", or an empty view if there is none. For a
// format string {fmt} has checked: a '{' or '}' is never its last character.
inline std::string_view copy_literal(fmt::memory_buffer& out, std::string_view format) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '{' && c != '}') continue;
    out.append(format.data() + start, format.data() + i);
    if (c == '{' && format[i + 1] == '}') return format.substr(i + 2);
    out.push_back(c);  // "{{" or "}}"
    start = ++i + 1;
  }
  out.append(format.data() + start, format.data() + format.size());
  return {};
}

// format_into for a format string of plain "{}" fields only: each argument is
// written by {fmt}'s compiled "{}" (the same text as fmt::format gives), without
// parsing the format string and dispatching on argument types at run time.
template <class... Args>
void format_plain(fmt::memory_buffer& out, std::string_view format, const Args&... args) {
  ((format = copy_literal(out, format), fmt::format_to(fmt::appender(out), FMT_COMPILE("{}"), args)), ...);
  copy_literal(out, format);
}

template <class... Args>
void format_into(fmt::memory_buffer& out, FormatString<Args...> format, const Args&... args) {
  const fmt::string_view text(format.text);
  if (format.plain) {
    const std::size_t start = out.size();
    try {
      format_plain(out, std::string_view(text.data(), text.size()), formattable(args)...);
      return;
    } catch (const fmt::format_error&) {  // e.g. a null const char*: said as vformat_into says it
      out.resize(start);
    }
  }
  vformat_into(out, text, fmt::make_format_args(formattable(args)...));
}

}  // namespace detail

}  // namespace cantina::bus
