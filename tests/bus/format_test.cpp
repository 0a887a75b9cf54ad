#define BOOST_TEST_MODULE format
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "cantina/bus/format.h"
#include "cantina/bus/level.h"

using cantina::bus::detail::format_into;

namespace {

template <class... Args>
std::string render(std::string_view text, const Args&... args) {
  std::string out;
  format_into(out, text, args...);
  return out;
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

BOOST_AUTO_TEST_CASE(uses_stream_insertion_for_other_types) {
  BOOST_TEST(render("volume {}", Volume{70}) == "volume 70%");
}

BOOST_AUTO_TEST_CASE(keeps_escaped_braces_and_surplus_arguments) {
  BOOST_TEST(render("{{literal}} {}", 5) == "{literal} 5");
  BOOST_TEST(render("only {}", 1, 2, 3) == "only 1 2 3");
  BOOST_TEST(render("missing {} and {}", 1) == "missing 1 and {}");
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
