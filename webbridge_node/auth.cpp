#include "auth.h"

#include <algorithm>
#include <cctype>

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

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "name:port", "[v6]:port", "name": the name (with brackets) and the port, 0 if
// absent; nullopt if malformed.
struct HostPort {
  std::string_view name;
  std::uint32_t port = 0;
};
std::optional<HostPort> split_host(std::string_view host) {
  HostPort out;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.name = host.substr(0, close + 1);
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = host.find(':');
    out.name = host.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (out.name.empty() || out.name == "[]") return std::nullopt;
  if (!out.name.starts_with('[')) {
    for (const char c : out.name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return std::nullopt;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    for (const char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      out.port = out.port * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (out.port == 0 || out.port > 65535) return std::nullopt;
  }
  return out;
}

// The IP address a host name is written as ("127.0.0.1", "[::1]"), if it is one.
std::optional<boost::asio::ip::address> ip_literal(std::string_view name) {
  boost::system::error_code error;
  boost::asio::ip::address address;
  if (name.starts_with('[')) {
    address = boost::asio::ip::make_address_v6(std::string(name.substr(1, name.size() - 2)), error);
  } else {
    address = boost::asio::ip::make_address_v4(std::string(name), error);
  }
  if (error) return std::nullopt;
  return address;
}

}  // namespace

HostCheck::HostCheck(const boost::asio::ip::address& listen, std::uint16_t port,
                     const std::vector<std::string>& allowed_hosts)
    : listen_(listen), port_(port) {
  for (const auto& host : allowed_hosts) allowed_.push_back(lower(host));
}

bool HostCheck::allows(std::string_view host) const {
  const std::string name_and_port = lower(host);
  const auto parts = split_host(name_and_port);
  if (!parts) return false;
  if (parts->port == port_) {
    if (parts->name == "localhost") return true;
    if (const auto address = ip_literal(parts->name)) {
      if (*address == boost::asio::ip::address_v4::loopback() || *address == boost::asio::ip::address_v6::loopback() ||
          *address == listen_ || listen_.is_unspecified()) {
        return true;
      }
    }
  }
  for (const auto& entry : allowed_) {
    const auto allowed = split_host(entry);
    if (!allowed || allowed->name != parts->name) continue;
    if (allowed->port != 0 ? parts->port == allowed->port : parts->port == 0 || parts->port == port_) return true;
  }
  return false;
}

bool HostCheck::allows_origin(std::string_view origin, const std::vector<std::string>& allowed_origins) const {
  if (origin.empty()) return false;
  for (const auto& allowed : allowed_origins) {
    if (lower(origin) == lower(allowed)) return true;
  }
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() > scheme.size() && lower(origin.substr(0, scheme.size())) == scheme) {
      return allows(origin.substr(scheme.size()));
    }
  }
  return false;
}

}  // namespace cantina::webbridge
