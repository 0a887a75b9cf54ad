// A cantina-webbridge for the integration tests, and plain HTTP GETs against it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>

#include "integration/bus_client.h"
#include "integration/process.h"

namespace cantina::testing {

// cantina-webbridge on a free loopback port, next to a LogNode; `extra` is added
// to the [webbridge] table of the node's config; `prefix` runs it (e.g.
// {"/usr/bin/prlimit", "--as=...", "--"}). The constructor returns once it listens.
struct WebBridge {
  explicit WebBridge(const LogNode& node, const std::string& extra = "", const std::vector<std::string>& prefix = {});

  // The body of GET `target`.
  std::string get(const std::string& target) const;

  Process process;
  std::string port;
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::string set_cookie;
};

// GET `target` from 127.0.0.1:`port` with `headers` (bodies up to 64 MiB).
HttpResult http_request(const std::string& port, const std::string& target,
                        const std::vector<std::pair<boost::beast::http::field, std::string>>& headers = {});

}  // namespace cantina::testing
