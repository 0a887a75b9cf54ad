// ServiceNames: the friendly name shown for a service id ("Music Controller").
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cantina/bus/siphash.h"

namespace cantina::logging {

// Maps service ids to friendly names: the configured name if there is one, else a
// title-cased form of the id. Not thread-safe: the receive thread owns it.
class ServiceNames {
 public:
  // Derived (title-cased) names cached at most; when full the derived cache is
  // cleared (configured names are kept).
  static constexpr std::size_t kMaxCachedNames = 4096;

  // `names`: service id -> friendly name, from the config.
  explicit ServiceNames(std::map<std::string, std::string> names);

  // The friendly name for `service_id`: the configured one, else the id title-cased
  // ("music_controller" -> "Music Controller": split on '_', '-' and '.', empty words
  // dropped, words joined by one space, each word's first letter upper-cased (ASCII),
  // the rest unchanged; an id with no words at all is returned unchanged).
  // The reference is valid until the next call.
  const std::string& friendly(std::string_view service_id);

  // Number of derived names cached now (for tests).
  std::size_t cached() const { return derived_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> configured_;
  // Ids come from anyone on the bus: keyed, so that none can be chosen to share a bucket.
  std::unordered_map<std::string, std::string, bus::KeyedHash, std::equal_to<>> derived_;
};

// `service_id` title-cased as described for ServiceNames::friendly.
std::string title_case(std::string_view service_id);

}  // namespace cantina::logging
