// The dashboard's token (ServerOptions::token, [webbridge] token): a request shows
// it in its URL (?token=), in the cookie the page got, or as Authorization: Bearer.
// A trust boundary: everything here reads what a stranger sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

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

// The names a request may give in its Host header ([webbridge] allowed_hosts and
// the bridge's own). A page of another site that got its name to resolve to this
// machine (DNS rebinding) names its own domain there, so it is refused; and a
// browser's WebSocket must come from a page served under one of these names.
class HostCheck {
 public:
  // `listen`: the address the bridge listens on, `port` its port (as bound);
  // `allowed_hosts`: "name" (with no port or the bridge's own) or "name:port".
  HostCheck(const boost::asio::ip::address& listen, std::uint16_t port, const std::vector<std::string>& allowed_hosts);

  // True for a Host header naming, with the bridge's port, the listen address,
  // localhost, 127.0.0.1 or [::1] (any IP address of the machine when listening
  // on 0.0.0.0 or [::]); or an entry of allowed_hosts. Names compare case-insensitively.
  bool allows(std::string_view host) const;

  // True for an Origin header "http://H" or "https://H" with allows(H), or one
  // equal to an entry of `allowed_origins`. An absent Origin ("") or "null" is refused.
  bool allows_origin(std::string_view origin, const std::vector<std::string>& allowed_origins) const;

 private:
  boost::asio::ip::address listen_;
  std::uint16_t port_;
  std::vector<std::string> allowed_;  // lowercased
};

}  // namespace cantina::webbridge
