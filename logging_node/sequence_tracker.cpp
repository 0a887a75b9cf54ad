#include "sequence_tracker.h"

namespace cantina::logging {

SequenceTracker::SequenceTracker(std::size_t max_publishers)
    : max_publishers_(max_publishers == 0 ? 1 : max_publishers) {}

SequenceTracker::Observation SequenceTracker::observe(std::uint64_t publisher_id, std::uint64_t sequence) {
  Observation observation;
  const auto found = index_.find(publisher_id);
  if (found == index_.end()) {
    observation.first_seen = true;
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
    return observation;
  }

  const auto position = found->second;
  recent_.splice(recent_.begin(), recent_, position);
  const std::uint64_t last = position->last_sequence;
  if (sequence <= last) {
    observation.restarted = true;
  } else if (sequence - last > 1) {
    observation.gap = Gap{sequence - last - 1, last + 1, sequence - 1};
  }
  position->last_sequence = sequence;
  return observation;
}

}  // namespace cantina::logging
