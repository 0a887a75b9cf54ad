// The dashboard's token check: what a request must show, and what it may not
// get away with (a wrong token of the right length, a prefix, a NUL, another
// cookie whose name merely contains ours).
#define BOOST_TEST_MODULE auth
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "auth.h"

using namespace cantina::webbridge;

namespace cantina::webbridge {
std::ostream& operator<<(std::ostream& out, TokenCheck check) {
  return out << static_cast<int>(check);
}
}  // namespace cantina::webbridge

namespace {

const std::string kToken = "droid-0123456789abcdef";

// The token check for a request with only a ?token=, a Cookie or an Authorization header.
TokenCheck with_query(const std::string& given) {
  return check_token(kToken, given, "", "");
}
TokenCheck with_cookie(const std::string& header) {
  return check_token(kToken, std::nullopt, header, "");
}
TokenCheck with_authorization(const std::string& header) {
  return check_token(kToken, std::nullopt, "", header);
}

// kToken with one character changed at `index`: the same length, wrong.
std::string wrong_at(std::size_t index) {
  std::string wrong = kToken;
  wrong[index] = wrong[index] == 'x' ? 'y' : 'x';
  return wrong;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(without_a_token_configured_every_request_passes) {
  BOOST_TEST(check_token("", std::nullopt, "", "") == TokenCheck::not_needed);
  BOOST_TEST(check_token("", std::string("anything"), "cantina_token=x", "Bearer y") == TokenCheck::not_needed);
}

BOOST_AUTO_TEST_CASE(the_token_in_the_url_the_cookie_or_a_bearer_header_passes) {
  BOOST_TEST(with_query(kToken) == TokenCheck::query);
  BOOST_TEST(with_cookie("cantina_token=" + kToken) == TokenCheck::cookie);
  BOOST_TEST(with_cookie("theme=dark; cantina_token=" + kToken + "; lang=en") == TokenCheck::cookie);
  BOOST_TEST(with_cookie("theme=dark;cantina_token=" + kToken) == TokenCheck::cookie);
  BOOST_TEST(with_authorization("Bearer " + kToken) == TokenCheck::bearer);
  // In that order: a wrong ?token= does not spoil a right cookie.
  BOOST_TEST(check_token(kToken, std::string("wrong"), "cantina_token=" + kToken, "") == TokenCheck::cookie);
  BOOST_TEST(check_token(kToken, kToken, "cantina_token=" + kToken, "Bearer " + kToken) == TokenCheck::query);
  BOOST_TEST(check_token(kToken, std::nullopt, "cantina_token=wrong", "Bearer " + kToken) == TokenCheck::bearer);
}

BOOST_AUTO_TEST_CASE(nothing_else_passes) {
  BOOST_TEST(check_token(kToken, std::nullopt, "", "") == TokenCheck::refused);
  for (std::size_t i : {std::size_t{0}, kToken.size() / 2, kToken.size() - 1}) {
    BOOST_TEST(with_query(wrong_at(i)) == TokenCheck::refused, "query wrong at " << i);
    BOOST_TEST(with_cookie("cantina_token=" + wrong_at(i)) == TokenCheck::refused, "cookie wrong at " << i);
    BOOST_TEST(with_authorization("Bearer " + wrong_at(i)) == TokenCheck::refused, "bearer wrong at " << i);
  }
  BOOST_TEST(with_query("") == TokenCheck::refused);
  BOOST_TEST(with_query(kToken.substr(0, kToken.size() - 1)) == TokenCheck::refused);  // a prefix
  BOOST_TEST(with_query(kToken + "x") == TokenCheck::refused);                         // longer
  BOOST_TEST(with_query(kToken + std::string(1, '\0')) == TokenCheck::refused);        // ?token=...%00
  BOOST_TEST(with_query(std::string(1'000'000, 'd')) == TokenCheck::refused);          // overlong
  BOOST_TEST(with_query(" " + kToken) == TokenCheck::refused);
}

BOOST_AUTO_TEST_CASE(only_the_cookie_of_that_exact_name_counts) {
  BOOST_TEST(with_cookie("xcantina_token=" + kToken) == TokenCheck::refused);
  BOOST_TEST(with_cookie("cantina_token_old=" + kToken) == TokenCheck::refused);
  BOOST_TEST(with_cookie("cantina_token " + kToken) == TokenCheck::refused);
  BOOST_TEST(with_cookie("Cantina_Token=" + kToken) == TokenCheck::refused);
  BOOST_TEST(with_cookie("other=cantina_token=" + kToken) == TokenCheck::refused);
  BOOST_TEST(with_cookie("cantina_token=") == TokenCheck::refused);
  BOOST_TEST(with_cookie("cantina_token") == TokenCheck::refused);
  BOOST_TEST(with_cookie(";;; ;") == TokenCheck::refused);
  BOOST_TEST(with_cookie("cantina_token=" + kToken + " ") == TokenCheck::refused);  // not trimmed at the end
  BOOST_TEST(with_cookie(std::string(100'000, ';') + "cantina_token=" + kToken) == TokenCheck::cookie);
}

BOOST_AUTO_TEST_CASE(only_a_bearer_header_counts) {
  BOOST_TEST(with_authorization(kToken) == TokenCheck::refused);
  BOOST_TEST(with_authorization("bearer " + kToken) == TokenCheck::refused);
  BOOST_TEST(with_authorization("Bearer  " + kToken) == TokenCheck::refused);
  BOOST_TEST(with_authorization("Basic " + kToken) == TokenCheck::refused);
  BOOST_TEST(with_authorization("Bearer") == TokenCheck::refused);
  BOOST_TEST(with_authorization("Bearer ") == TokenCheck::refused);
}

BOOST_AUTO_TEST_CASE(cookie_finds_the_first_of_its_name) {
  BOOST_TEST(cookie("a=1; b=2", "b").value_or("?") == "2");
  BOOST_TEST(cookie("  a=1", "a").value_or("?") == "1");
  BOOST_TEST(cookie("a=1; a=2", "a").value_or("?") == "1");
  BOOST_TEST(cookie("a=", "a").value_or("?") == "");
  BOOST_TEST(cookie("a=x=y", "a").value_or("?") == "x=y");
  BOOST_TEST(!cookie("", "a").has_value());
  BOOST_TEST(!cookie("ab=1", "a").has_value());
  BOOST_TEST(!cookie("a", "a").has_value());
}

BOOST_AUTO_TEST_CASE(same_secret_compares_every_byte) {
  BOOST_TEST(same_secret("", ""));
  BOOST_TEST(same_secret(kToken, kToken));
  BOOST_TEST(!same_secret(kToken, wrong_at(0)));
  BOOST_TEST(!same_secret(kToken, wrong_at(kToken.size() - 1)));
  BOOST_TEST(!same_secret("abc", "ab"));
  BOOST_TEST(!same_secret("", "a"));
  BOOST_TEST(same_secret(std::string("a\0b", 3), std::string("a\0b", 3)));
  BOOST_TEST(!same_secret(std::string("a\0b", 3), std::string("a\0c", 3)));  // past a NUL too
  BOOST_TEST(!same_secret(std::string(1, '\x80'), std::string(1, '\0')));    // the high bit
}

BOOST_AUTO_TEST_CASE(the_cookie_set_after_a_url_token_keeps_it_for_this_site_only) {
  BOOST_TEST(token_cookie(kToken) == "cantina_token=" + kToken + "; Path=/; HttpOnly; SameSite=Strict");
}

// DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 sends
// "Host: evil.example:8080" and "Origin: http://evil.example:8080".
BOOST_AUTO_TEST_CASE(host_check_knows_only_the_bridge_s_own_names_and_the_allowed_ones) {
  const auto loopback = boost::asio::ip::make_address("127.0.0.1");
  const HostCheck check(loopback, 8080, {"Droid.local", "proxy.example:8443", "[fe80::1]:9000"});
  for (const char* own :
       {"127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080", "[0:0:0:0:0:0:0:1]:8080", "droid.local",
        "droid.local:8080", "DROID.LOCAL:8080", "proxy.example:8443", "[fe80::1]:9000"}) {
    BOOST_TEST(check.allows(own), own);
  }
  for (const char* other : {"evil.example:8080",
                            "evil.example",
                            "",
                            "127.0.0.1",
                            "127.0.0.1:80",
                            "localhost",
                            "localhost:8081",
                            "127.0.0.2:8080",
                            "192.168.1.10:8080",
                            "droid.local:8081",
                            "proxy.example",
                            "proxy.example:8080",
                            "localhost.:8080",
                            "localhost:8080:8080",
                            "localhost:08080x",
                            "[::1]",
                            "[::1:8080",
                            "127.0.0.1:8080/",
                            "user@127.0.0.1:8080",
                            "127.0.0.1 :8080",
                            "[fe80::1]:8080",
                            "localhost.evil.example:8080"}) {
    BOOST_TEST(!check.allows(other), other);
  }
}

BOOST_AUTO_TEST_CASE(host_check_on_a_wildcard_address_knows_every_address_of_the_machine_but_no_name) {
  const HostCheck any(boost::asio::ip::make_address("0.0.0.0"), 8080, {});
  BOOST_TEST(any.allows("192.168.1.10:8080"));
  BOOST_TEST(any.allows("[fe80::1]:8080"));
  BOOST_TEST(!any.allows("192.168.1.10:8081"));
  BOOST_TEST(!any.allows("droid.local:8080"));  // a name must be listed: it could be a rebinding domain
  const HostCheck lan(boost::asio::ip::make_address("192.168.1.10"), 8080, {});
  BOOST_TEST(lan.allows("192.168.1.10:8080"));
  BOOST_TEST(!lan.allows("192.168.1.11:8080"));
}

BOOST_AUTO_TEST_CASE(a_websocket_origin_must_be_a_page_of_an_allowed_host) {
  const HostCheck check(boost::asio::ip::make_address("127.0.0.1"), 8080, {"droid.local"});
  const std::vector<std::string> origins{"http://dashboard.example:3000"};
  for (const char* good :
       {"http://127.0.0.1:8080", "https://127.0.0.1:8080", "http://localhost:8080", "HTTP://LOCALHOST:8080",
        "http://droid.local", "https://droid.local:8080", "http://dashboard.example:3000"}) {
    BOOST_TEST(check.allows_origin(good, origins), good);
  }
  for (const char* bad : {"", "null", "http://evil.example:8080", "http://127.0.0.1:8081", "ws://127.0.0.1:8080",
                          "127.0.0.1:8080", "http://", "http://127.0.0.1:8080/", "http://dashboard.example:3001",
                          "file://", "http://localhost:8080.evil.example"}) {
    BOOST_TEST(!check.allows_origin(bad, origins), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
