// The record size caps of limits.h: where a text is cut, the marker, the fields.
#define BOOST_TEST_MODULE limits
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "cantina/bus/limits.h"

using namespace cantina::bus;

namespace {

// True if `text` is valid UTF-8 (no cut character at the end in particular).
bool valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte < 0x80           ? 1
                               : (byte >> 5) == 0x6  ? 2
                               : (byte >> 4) == 0xE  ? 3
                               : (byte >> 3) == 0x1E ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(a_text_within_the_cap_is_untouched) {
  std::string text(1000, 'a');
  BOOST_TEST(!truncate_text(text, 1000));
  BOOST_TEST(text == std::string(1000, 'a'));
  BOOST_TEST(capped_text("short", 4096) == "short");
}

BOOST_AUTO_TEST_CASE(a_longer_text_keeps_its_head_and_says_how_much_was_cut) {
  std::string text = "head " + std::string(9995, 'x');
  BOOST_TEST(truncate_text(text, 4096));
  BOOST_TEST(text.size() <= 4096u);
  BOOST_TEST(text.starts_with("head xxx"));
  const std::size_t kept = text.find("\xE2\x80\xA6 [truncated ");
  BOOST_REQUIRE(kept != std::string::npos);
  BOOST_TEST(text.substr(kept) == "\xE2\x80\xA6 [truncated " + std::to_string(10000 - kept) + " bytes]");
  BOOST_TEST(text.size() > 4096u - 40);  // the cap is used, not wasted
}

BOOST_AUTO_TEST_CASE(the_cut_falls_on_a_character_boundary) {
  // 2-, 3- and 4-byte characters at every offset against the cut.
  for (const std::string character : {"\xC3\xA9", "\xE2\x9C\x93", "\xF0\x9F\x98\x80"}) {
    for (std::size_t pad = 0; pad < 4; ++pad) {
      std::string text(pad, '.');
      while (text.size() < 20000) text += character;
      const std::string cut = capped_text(text, 5000);
      BOOST_TEST(cut.size() <= 5000u);
      BOOST_TEST(valid_utf8(cut), "a cut character with pad " << pad << " and a " << character.size() << "-byte one");
      BOOST_TEST(cut.find(" bytes]") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_copy_is_the_same_cut_as_in_place) {
  const std::string text = std::string(std::size_t{3} * 1024 * 1024, 'm');
  std::string in_place = text;
  truncate_text(in_place, kDefaultMaxRecordBytes);
  BOOST_TEST(capped_text(text, kDefaultMaxRecordBytes) == in_place);
  BOOST_TEST(in_place.size() <= kDefaultMaxRecordBytes);
  BOOST_TEST(
      in_place.ends_with("[truncated " + std::to_string(text.size() - in_place.find("\xE2\x80\xA6")) + " bytes]"));
}

BOOST_AUTO_TEST_CASE(fields_past_the_caps_are_cut_and_counted) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back(std::string(5000, 'k'), "v");
  fields.emplace_back("long", std::string(100000, 'v'));
  for (int i = 0; i < 2000; ++i) fields.emplace_back("key" + std::to_string(i), std::string(100, 'v'));
  BOOST_TEST(cap_fields(fields));
  std::size_t bytes = 0;
  for (const auto& [key, value] : fields) {
    BOOST_TEST(key.size() <= kMaxNameBytes);
    BOOST_TEST(value.size() <= kMaxFieldValueBytes);
    bytes += key.size() + value.size();
  }
  BOOST_TEST(bytes <= kMaxFieldsBytes);
  BOOST_TEST(fields.size() <= kMaxRecordFields);
  BOOST_TEST(fields.back().first == "\xE2\x80\xA6");
  BOOST_TEST(fields.back().second == "[truncated " + std::to_string(2002 - (fields.size() - 1)) + " fields]");

  std::vector<std::pair<std::string, std::string>> few = {{"track", "cantina_band.mp3"}, {"volume", "45"}};
  BOOST_TEST(!cap_fields(few));
  BOOST_TEST(few.size() == 2u);
}

BOOST_AUTO_TEST_CASE(the_largest_message_follows_the_record_cap) {
  BOOST_TEST(max_message_bytes(kDefaultMaxRecordBytes) < std::size_t{512} * 1024);
  BOOST_TEST(max_message_bytes(kDefaultMaxRecordBytes) > kMaxBatchBytes + kDefaultMaxRecordBytes);
  BOOST_TEST(max_message_bytes(kMaxRecordBytesSetting) - max_message_bytes(kDefaultMaxRecordBytes) ==
             kMaxRecordBytesSetting - kDefaultMaxRecordBytes);
}

BOOST_AUTO_TEST_SUITE_END()
