// LiteralFinder, the prefilter of every regex, level and service query, agrees
// with a plain search at every length, offset and alignment, in both cases.
#define BOOST_TEST_MODULE store_literal
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <random>
#include <string>
#include <string_view>

#include "cantina/store/literal.h"

using cantina::store::LiteralFinder;

namespace {

// The first place of `literal` in `data` at or after `from` (ASCII letters in
// either case with `caseless`, the literal given in lower case), by brute force.
std::size_t reference_find(std::string_view data, std::string_view literal, std::size_t from, bool caseless) {
  for (std::size_t at = from; at + literal.size() <= data.size(); ++at) {
    bool same = true;
    for (std::size_t k = 0; k < literal.size() && same; ++k) {
      const auto c = static_cast<unsigned char>(data[at + k]);
      same = (caseless ? static_cast<char>(std::tolower(c)) : static_cast<char>(c)) == literal[k];
    }
    if (same) return at;
  }
  return std::string_view::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(finds_what_a_plain_search_finds_everywhere) {
  std::mt19937 random(20261207);
  // A small alphabet makes partial matches (the pair of bytes compared first
  // fitting where the literal does not) common.
  const std::string alphabet = "abAB] \nCR";
  for (int round = 0; round < 400; ++round) {
    std::string data(random() % 300, ' ');
    for (char& c : data) c = alphabet[random() % alphabet.size()];
    const bool caseless = round % 2 == 1;
    std::string literal(1 + random() % 6, ' ');
    for (char& c : literal) {
      c = alphabet[random() % alphabet.size()];
      if (caseless) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // Plant it now and then, near the ends and across 16- and 32-byte steps.
    if (round % 3 == 0 && data.size() >= literal.size()) {
      const std::size_t at = random() % (data.size() - literal.size() + 1);
      data.replace(at, literal.size(), literal);
    }
    const LiteralFinder finder(literal, caseless);
    for (std::size_t from = 0; from <= data.size() + 1; from += 1 + random() % 7) {
      BOOST_TEST_REQUIRE(finder.find(data, from) == reference_find(data, literal, from, caseless),
                         "literal '" << literal << "' from " << from << " in " << data.size() << " bytes");
    }
  }
}

BOOST_AUTO_TEST_CASE(finds_a_service_token_among_lines_that_share_its_letters) {
  std::string lines;
  for (int i = 0; i < 2000; ++i) {
    lines += "[2026-12-01T12:00:00.000000Z] INFO     ";
    lines += i == 1234 ? "Rare Service         " : "Rate Servers         ";
    lines += "R S R  S RareS Rare Servic\n";
  }
  const LiteralFinder finder(" Rare Service ", false);
  const std::size_t found = finder.find(lines, 0);
  BOOST_TEST(found == lines.find(" Rare Service "));
  BOOST_TEST(finder.find(lines, found + 1) == std::string_view::npos);
  const LiteralFinder caseless(" rare service ", true);
  BOOST_TEST(caseless.find(lines, 0) == found);
}
