#include "service_names.h"

#include <utility>

#include "cantina/store/line.h"

namespace cantina::logging {

std::string title_case(std::string_view service_id) {
  return store::title_case(service_id);
}

ServiceNames::ServiceNames(std::map<std::string, std::string> names) {
  configured_.merge(names);
}

const std::string& ServiceNames::friendly(std::string_view service_id) {
  if (auto found = configured_.find(service_id); found != configured_.end()) return found->second;
  if (auto found = derived_.find(service_id); found != derived_.end()) return found->second;
  if (derived_.size() >= kMaxCachedNames) derived_.clear();
  return derived_.emplace(std::string(service_id), title_case(service_id)).first->second;
}

}  // namespace cantina::logging
