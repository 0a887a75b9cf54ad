// The Logger's formatter (format.h): {fmt} format specs, the operator<< fallback
// and run-time format strings that do not fit their arguments. Format strings
// that do not fit their arguments at compile time are format_compile_check's.
#define BOOST_TEST_MODULE format
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

#include "cantina/bus/format.h"
#include "cantina/bus/level.h"

namespace bus = cantina::bus;

namespace {

template <class... Args>
std::string render(bus::FormatString<Args...> format, const Args&... args) {
  fmt::memory_buffer out;
  bus::detail::format_into(out, format, args...);
  return fmt::to_string(out);
}

struct Volume {
  int percent;
};
std::ostream& operator<<(std::ostream& out, const Volume& v) {
  return out << v.percent << '%';
}

}  // namespace

BOOST_AUTO_TEST_SUITE(format)

BOOST_AUTO_TEST_CASE(replaces_placeholders_in_order) {
  BOOST_TEST(render("Playing {} at {}", std::string("Cantina Band"), 80) == "Playing Cantina Band at 80");
  BOOST_TEST(render("{} {} {}", 1.5, true, 'x') == "1.5 true x");
  BOOST_TEST(render("no placeholders") == "no placeholders");
}

BOOST_AUTO_TEST_CASE(applies_format_specs) {
  BOOST_TEST(render("{:.1f}", 3.14159) == "3.1");
  BOOST_TEST(render("[{:>8}]", "right") == "[   right]");
  BOOST_TEST(render("{:x} {:#x} {:08b}", 255, 255, 5) == "ff 0xff 00000101");
  BOOST_TEST(render("{:+.2e}", 12345.678) == "+1.23e+04");
  BOOST_TEST(render("{1} {0}", "world", "hello") == "hello world");
  BOOST_TEST(render("{:*^{}}", "mid", 7) == "**mid**");
  BOOST_TEST(render("{0:{2}.{1}f} {0:.0f}", 3.14159, 2, 8) == "    3.14 3");
  BOOST_TEST(render("{0} {0:x}", 26) == "26 1a");
}

// A format string of plain "{}" fields takes a faster path (format_plain): the
// same text as {fmt}'s own formatting.
BOOST_AUTO_TEST_CASE(plain_fields_read_as_fmt_format_writes_them) {
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  BOOST_TEST(render("{} {} {} {}", 0.1, 1e300, -0.0, 0.1F) == fmt::format("{} {} {} {}", 0.1, 1e300, -0.0, 0.1F));
  BOOST_TEST(render("{}|{}|{}", lowest, std::uint8_t{200}, 'c') ==
             fmt::format("{}|{}|{}", lowest, std::uint8_t{200}, 'c'));
  BOOST_TEST(render("{{{}}}{}}}", std::string_view("a"), false) == "{a}false}");
  BOOST_TEST(render("{}{}", "", std::string()) == "");
  BOOST_TEST(render("{} {}", Volume{5}, 7) == "5% 7");
  // {fmt} refuses a null C string; the record says so instead of crashing.
  BOOST_TEST(render("at {}", static_cast<const char*>(nullptr)) == "at {} [format error: string pointer is null]");
}

BOOST_AUTO_TEST_CASE(uses_stream_insertion_for_other_types) {
  BOOST_TEST(render("volume {}", Volume{70}) == "volume 70%");
  BOOST_TEST(render("volume [{:>5}]", Volume{70}) == "volume [  70%]");
  BOOST_TEST(render("{}", std::filesystem::path("/tmp/a b")) == "\"/tmp/a b\"");
}

BOOST_AUTO_TEST_CASE(keeps_escaped_braces) {
  BOOST_TEST(render("{{literal}} {}", 5) == "{literal} 5");
  BOOST_TEST(render("{{{}}}", 5) == "{5}");
}

BOOST_AUTO_TEST_CASE(a_run_time_format_string_that_does_not_fit_is_kept_with_the_error) {
  BOOST_TEST(render(fmt::runtime("volume {}%"), 70) == "volume 70%");
  BOOST_TEST(render(fmt::runtime("volume {:d}"), "loud") == "volume {:d} [format error: invalid type specifier]");
  BOOST_TEST(render(fmt::runtime("{} and {}"), 1) == "{} and {} [format error: argument not found]");
  BOOST_TEST(render(fmt::runtime("unclosed {")) == "unclosed { [format error: invalid format string]");
}

BOOST_AUTO_TEST_CASE(parses_level_names) {
  using cantina::bus::Level;
  BOOST_TEST((cantina::bus::parse_level("warning") == Level::warning));
  BOOST_TEST((cantina::bus::parse_level("WARN") == Level::warning));
  BOOST_TEST((cantina::bus::parse_level("Critical") == Level::critical));
  BOOST_TEST(!cantina::bus::parse_level("LOUD").has_value());
  BOOST_TEST(cantina::bus::to_string(Level::critical) == "CRITICAL");
}

BOOST_AUTO_TEST_SUITE_END()
