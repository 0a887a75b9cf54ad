#include "sequence_tracker.h"

namespace cantina::logging {

SequenceTracker::SequenceTracker(std::size_t max_publishers)
    : max_publishers_(max_publishers == 0 ? 1 : max_publishers) {}

std::pair<SequenceTracker::PublisherList::iterator, bool> SequenceTracker::find_or_add(std::uint64_t publisher_id,
                                                                                       std::uint64_t sequence) {
  const auto found = index_.find(publisher_id);
  if (found != index_.end()) {
    recent_.splice(recent_.begin(), recent_, found->second);
    return {found->second, false};
  }
  if (index_.size() >= max_publishers_) {
    // Forget the least recently seen; reuse its list node.
    const auto oldest = std::prev(recent_.end());
    index_.erase(oldest->id);
    ++forgotten_;
    *oldest = Publisher{publisher_id, sequence};
    recent_.splice(recent_.begin(), recent_, oldest);
  } else {
    recent_.push_front(Publisher{publisher_id, sequence});
  }
  index_.emplace(publisher_id, recent_.begin());
  return {recent_.begin(), true};
}

SequenceTracker::Observation SequenceTracker::observe(std::uint64_t publisher_id, std::uint64_t sequence) {
  Observation observation;
  const auto [position, added] = find_or_add(publisher_id, sequence);
  if (added) {
    observation.first_seen = true;
    return observation;
  }
  const std::uint64_t last = position->last_sequence;
  if (sequence <= last) {
    observation.restarted = true;
  } else if (sequence - last > 1) {
    observation.gap = Gap{sequence - last - 1, last + 1, sequence - 1};
  }
  position->last_sequence = sequence;
  return observation;
}

std::optional<SequenceTracker::Gap> SequenceTracker::observe_last(std::uint64_t publisher_id,
                                                                  std::uint64_t last_sequence) {
  const auto [position, added] = find_or_add(publisher_id, last_sequence);
  if (added || last_sequence <= position->last_sequence) return std::nullopt;
  const Gap gap{last_sequence - position->last_sequence, position->last_sequence + 1, last_sequence};
  position->last_sequence = last_sequence;
  return gap;
}

}  // namespace cantina::logging
