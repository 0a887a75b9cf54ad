#include "cantina/bus/topics.h"

#include <algorithm>

#include <fmt/format.h>

namespace cantina::bus::topics {

bool is_valid_service_id(std::string_view service) noexcept {
  if (service.empty() || service.size() > 128) return false;
  return std::all_of(service.begin(), service.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

static std::string join(std::string_view prefix, std::string_view service) {
  std::string topic;
  topic.reserve(prefix.size() + service.size());
  topic += prefix;
  topic += service;
  return topic;
}

std::string log_topic(std::string_view service) {
  return join(kLogPrefix, service);
}
std::string log_batch_topic(std::string_view service) {
  return join(kLogPrefix, service) + std::string(kLogBatchSuffix);
}
std::string status_topic(std::string_view service) {
  return join(kStatusPrefix, service);
}
std::string set_log_level_topic(std::string_view service) {
  return join(kSetLogLevelPrefix, service);
}
std::string log_level_changed_topic(std::string_view service) {
  return join(kLogLevelChangedPrefix, service);
}

std::string receipt_topic(std::uint64_t token) {
  return fmt::format("{}{:016x}", kReceiptPrefix, token);
}

bool is_receipt_topic(std::string_view topic) noexcept {
  if (!topic.starts_with(kReceiptPrefix) || topic.size() != kReceiptPrefix.size() + 16) return false;
  return std::all_of(topic.begin() + static_cast<std::ptrdiff_t>(kReceiptPrefix.size()), topic.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<std::string_view> service_of(std::string_view topic, std::string_view prefix) noexcept {
  if (!topic.starts_with(prefix)) return std::nullopt;
  std::string_view service = topic.substr(prefix.size());
  if (!is_valid_service_id(service)) return std::nullopt;
  return service;
}

std::optional<LogTopic> parse_log_topic(std::string_view topic) noexcept {
  if (!topic.starts_with(kLogPrefix)) return std::nullopt;
  LogTopic parsed{topic.substr(kLogPrefix.size()), false};
  if (parsed.service.ends_with(kLogBatchSuffix)) {
    parsed.service.remove_suffix(kLogBatchSuffix.size());
    parsed.batch = true;
  }
  if (!is_valid_service_id(parsed.service)) return std::nullopt;
  return parsed;
}

std::optional<DashboardTopic> parse_dashboard_topic(std::string_view topic) noexcept {
  if (topic == kDashboardLog) return DashboardTopic{false};
  if (topic == kDashboardLogBatch) return DashboardTopic{true};
  return std::nullopt;
}

}  // namespace cantina::bus::topics
