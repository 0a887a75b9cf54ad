#include "auth.h"

namespace cantina::webbridge {

std::optional<std::string_view> cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    std::string_view pair = header.substr(0, semicolon);
    header = semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

TokenCheck check_token(std::string_view token, const std::optional<std::string>& query_token,
                       std::string_view cookie_header, std::string_view authorization_header) {
  if (token.empty()) return TokenCheck::not_needed;
  if (query_token && same_secret(*query_token, token)) return TokenCheck::query;
  if (auto given = cookie(cookie_header, kTokenCookie); given && same_secret(*given, token)) {
    return TokenCheck::cookie;
  }
  if (authorization_header.starts_with("Bearer ") && same_secret(authorization_header.substr(7), token)) {
    return TokenCheck::bearer;
  }
  return TokenCheck::refused;
}

std::string token_cookie(std::string_view token) {
  return std::string(kTokenCookie) + "=" + std::string(token) + "; Path=/; HttpOnly; SameSite=Strict";
}

}  // namespace cantina::webbridge
