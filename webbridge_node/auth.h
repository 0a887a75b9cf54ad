// The dashboard's token (ServerOptions::token, [webbridge] token): a request shows
// it in its URL (?token=), in the cookie the page got, or as Authorization: Bearer.
// A trust boundary: everything here reads what a stranger sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cantina::webbridge {

// The cookie that keeps the token for the page's own requests and its WebSocket.
inline constexpr std::string_view kTokenCookie = "cantina_token";

// The value of the first cookie `name` in a Cookie header, if present.
std::optional<std::string_view> cookie(std::string_view header, std::string_view name);

// Compares without an early exit, so timing reveals nothing about the token
// (but its length).
bool same_secret(std::string_view a, std::string_view b);

// How a request showed the token, looked at in this order.
enum class TokenCheck {
  not_needed,  // no token configured
  query,       // ?token= (the response then sets the cookie)
  cookie,      // the cookie kTokenCookie
  bearer,      // Authorization: Bearer <token>
  refused,     // none of them carries it
};

// `token`: the configured one (empty: none needed); the rest as the request has
// them (decoded ?token= value, Cookie header, Authorization header).
TokenCheck check_token(std::string_view token, const std::optional<std::string>& query_token,
                       std::string_view cookie_header, std::string_view authorization_header);

// The Set-Cookie value that keeps `token` after a request brought it in its URL.
std::string token_cookie(std::string_view token);

}  // namespace cantina::webbridge
