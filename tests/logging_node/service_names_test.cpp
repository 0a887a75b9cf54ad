#define BOOST_TEST_MODULE service_names
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

#include "service_names.h"

namespace {

using cantina::logging::ServiceNames;
using cantina::logging::title_case;

}  // namespace

BOOST_AUTO_TEST_SUITE(service_names)

BOOST_AUTO_TEST_CASE(uses_the_configured_name_when_there_is_one) {
  ServiceNames names({{"music_controller", "DJ Booth"}, {"r2", "R2-D2"}});
  BOOST_TEST(names.friendly("music_controller") == "DJ Booth");
  BOOST_TEST(names.friendly("r2") == "R2-D2");
  BOOST_TEST(names.cached() == 0u);
}

BOOST_AUTO_TEST_CASE(title_cases_unknown_ids) {
  ServiceNames names({});
  BOOST_TEST(names.friendly("music_controller") == "Music Controller");
  BOOST_TEST(names.friendly("light-show.main") == "Light Show Main");
  BOOST_TEST(names.friendly("bar") == "Bar");
  BOOST_TEST(names.cached() == 3u);
}

BOOST_AUTO_TEST_CASE(keeps_the_rest_of_each_word_unchanged) {
  BOOST_TEST(title_case("HTTP_gateway") == "HTTP Gateway");
  BOOST_TEST(title_case("droidControl_v2") == "DroidControl V2");
  BOOST_TEST(title_case("\xc3\xa9"
                        "clair_bar") ==
             "\xc3\xa9"
             "clair Bar");  // only ASCII letters change case
  BOOST_TEST(title_case("9lives") == "9lives");
}

BOOST_AUTO_TEST_CASE(drops_empty_words) {
  BOOST_TEST(title_case("__init__") == "Init");
  BOOST_TEST(title_case("a--b..c") == "A B C");
  BOOST_TEST(title_case("-x-") == "X");
}

BOOST_AUTO_TEST_CASE(returns_ids_without_words_unchanged) {
  BOOST_TEST(title_case("") == "");
  BOOST_TEST(title_case("_.-") == "_.-");
  ServiceNames names({});
  BOOST_TEST(names.friendly("") == "");
}

BOOST_AUTO_TEST_CASE(configured_names_match_the_id_exactly) {
  ServiceNames names(std::map<std::string, std::string>{{"music_controller", "DJ Booth"}});
  BOOST_TEST(names.friendly("Music_Controller") == "Music Controller");
}

BOOST_AUTO_TEST_CASE(clears_only_derived_names_when_the_cache_is_full) {
  ServiceNames names(std::map<std::string, std::string>{{"configured", "Configured Name"}});
  for (std::size_t i = 0; i < ServiceNames::kMaxCachedNames; ++i) names.friendly("id_" + std::to_string(i));
  BOOST_TEST(names.cached() == ServiceNames::kMaxCachedNames);
  BOOST_TEST(names.friendly("id_7") == "Id 7");  // a hit does not grow the cache
  BOOST_TEST(names.cached() == ServiceNames::kMaxCachedNames);
  BOOST_TEST(names.friendly("one_more") == "One More");
  BOOST_TEST(names.cached() == 1u);
  BOOST_TEST(names.friendly("configured") == "Configured Name");
  BOOST_TEST(names.friendly("id_7") == "Id 7");
}

BOOST_AUTO_TEST_SUITE_END()
