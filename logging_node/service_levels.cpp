#include "service_levels.h"

#include <algorithm>

namespace cantina::logging {

namespace {
constexpr std::string_view kOtherServices = "(other services)";
}

ServiceLevels::Level ServiceLevels::threshold(std::string_view service) const {
  if (levels_.empty()) return own_;
  auto found = levels_.find(service);
  return found == levels_.end() ? own_ : found->second;
}

bool ServiceLevels::set(std::string_view service, Level level) {
  auto found = levels_.find(service);
  if (level == own_) {
    if (found != levels_.end()) {
      bytes_ -= found->first.size();
      levels_.erase(found);
    }
    return true;
  }
  if (found != levels_.end()) {
    found->second = level;
    return true;
  }
  if (levels_.size() >= kMaxServices || bytes_ + service.size() > kMaxBytes) return false;
  levels_.emplace(std::string(service), level);
  bytes_ += service.size();
  return true;
}

std::vector<std::pair<std::string, ServiceLevels::Level>> ServiceLevels::table() const {
  return {levels_.begin(), levels_.end()};
}

std::string span_in_words(std::int64_t span_ns) {
  const std::int64_t minutes = (span_ns + 59'999'999'999) / 60'000'000'000;
  if (minutes <= 1) return "in the last minute";
  return "in the last " + std::to_string(minutes) + " minutes";
}

void FilteredCounts::add(std::string_view service, Level record_level, Level threshold, std::int64_t now_monotonic) {
  if (counts_.empty()) first_ns_ = now_monotonic;
  auto found = counts_.find(service);
  if (found == counts_.end()) {
    if (counts_.size() >= kMaxServices) service = kOtherServices;
    found = counts_.try_emplace(std::string(service)).first;
  }
  Count& count = found->second;
  ++count.records;
  count.levels |= 1U << static_cast<unsigned>(record_level);
  count.threshold = threshold;
}

std::vector<FilteredCounts::Line> FilteredCounts::take_due(std::int64_t now_monotonic, bool force) {
  std::vector<Line> lines;
  if (counts_.empty()) return lines;
  if (!force && last_report_ns_ && now_monotonic - *last_report_ns_ < kPeriodNs) return lines;
  const std::string span = span_in_words(now_monotonic - first_ns_);
  for (const auto& [service, count] : counts_) {
    std::string levels;
    bool serious = false;
    for (unsigned level = 0; level <= static_cast<unsigned>(bus::kHighestLevel); ++level) {
      if ((count.levels & (1U << level)) == 0) continue;
      if (!levels.empty()) levels += '/';
      levels += bus::to_string(static_cast<Level>(level));
      serious = serious || level >= static_cast<unsigned>(Level::warning);
    }
    std::string text = "filtered " + std::to_string(count.records);
    text += ' ';
    text += levels;
    text += " records from ";
    text += service;
    text += " below level ";
    text += bus::to_string(count.threshold);
    text += ' ';
    text += span;
    lines.push_back({serious ? Level::warning : Level::info, std::move(text)});
  }
  counts_.clear();
  last_report_ns_ = now_monotonic;
  return lines;
}

void QuietCount::add(std::uint64_t count, std::int64_t now_monotonic) {
  if (count == 0) return;
  if (pending_ == 0) first_ns_ = now_monotonic;
  pending_ += count;
}

std::uint64_t QuietCount::take_due(std::int64_t now_monotonic, bool force, std::string& span) {
  if (pending_ == 0) return 0;
  if (!force && last_report_ns_ && now_monotonic - *last_report_ns_ < kPeriodNs) return 0;
  span = span_in_words(now_monotonic - first_ns_);
  last_report_ns_ = now_monotonic;
  return std::exchange(pending_, 0);
}

}  // namespace cantina::logging
