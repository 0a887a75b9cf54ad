// Request targets: "/api/logs?limit=10&service=a&service=b" split into a path and
// decoded query parameters.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cantina::webbridge {

struct Target {
  std::string path;
  std::multimap<std::string, std::string> query;

  std::optional<std::string> get(const std::string& key) const;
  std::vector<std::string> all(const std::string& key) const;
};

// Decodes %XX and '+'; invalid escapes are kept as they are.
std::string url_decode(std::string_view text);

Target parse_target(std::string_view target);

}  // namespace cantina::webbridge
