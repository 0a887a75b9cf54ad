#include "sequence_tracker.h"

#include <algorithm>
#include <iterator>

#include "cantina/bus/siphash.h"

namespace cantina::logging {

std::size_t SequenceTracker::KeyHash::operator()(const Key& key) const noexcept {
  // Keyed: publisher ids and service names come from anyone on the bus, who must
  // not be able to pile them up in one bucket.
  const bus::ProcessHashKey& secret = bus::process_hash_key();
  bus::SipHasher13 hasher(secret.k0, secret.k1);
  hasher.update_u64(key.id);
  hasher.update(key.service);
  return static_cast<std::size_t>(hasher.finish());
}

SequenceTracker::SequenceTracker(std::size_t max_publishers)
    : max_publishers_(max_publishers == 0 ? 1 : max_publishers) {}

bool SequenceTracker::plausible(std::uint64_t count, std::int64_t since_ns, std::int64_t now_ns) noexcept {
  static_assert(1'000'000'000 % kMaxRecordsPerSecond == 0);
  constexpr std::int64_t kNsPerRecord = 1'000'000'000 / kMaxRecordsPerSecond;
  const std::int64_t elapsed = std::max<std::int64_t>(0, now_ns - since_ns);
  return count <= kPlausibleGap + static_cast<std::uint64_t>(elapsed / kNsPerRecord);
}

SequenceTracker::PublisherList::iterator SequenceTracker::find(const Key& key) {
  // The records of a bus message, and most messages in a row, come from one
  // publisher: the most recently seen, compared directly instead of hashed
  // (keyed SipHash of the service name, per record).
  if (!recent_.empty() && recent_.front().id == key.id && recent_.front().service == key.service) {
    return recent_.begin();
  }
  const auto found = index_.find(key);
  if (found == index_.end()) return recent_.end();
  recent_.splice(recent_.begin(), recent_, found->second);
  return found->second;
}

SequenceTracker::PublisherList::iterator SequenceTracker::add(const Key& key, std::uint64_t sequence,
                                                              std::int64_t now_ns) {
  if (index_.size() >= max_publishers_) {
    // Forget the least recently seen; reuse its list node (and its place in
    // changed_, if it has one).
    const auto oldest = std::prev(recent_.end());
    index_.erase(Key{oldest->service, oldest->id});
    ++forgotten_;
    oldest->service.assign(key.service);
    oldest->id = key.id;
    oldest->last = sequence;
    oldest->resume = 0;
    oldest->seen_ns = now_ns;
    oldest->restored = false;
    recent_.splice(recent_.begin(), recent_, oldest);
  } else {
    recent_.push_front(Publisher{std::string(key.service), key.id, sequence, 0, now_ns, false, false});
  }
  index_.emplace(Key{recent_.front().service, key.id}, recent_.begin());
  return recent_.begin();
}

void SequenceTracker::mark(PublisherList::iterator position) {
  if (position->changed) return;
  position->changed = true;
  changed_.push_back(position);
}

SequenceTracker::Observation SequenceTracker::observe(std::string_view service, std::uint64_t publisher,
                                                      std::uint64_t sequence, std::int64_t now_ns) {
  Observation observation;
  if (sequence == 0) return observation;  // not numbered
  observation.to = sequence;
  auto position = find(Key{service, publisher});
  if (position == recent_.end()) {
    mark(add(Key{service, publisher}, sequence, now_ns));
    observation.event = Event::first_seen;
    return observation;
  }
  Publisher& entry = *position;
  observation.from = entry.last;
  observation.across_restart = entry.restored;
  if (sequence > entry.last && sequence - entry.last > 1) {
    const std::uint64_t missing = sequence - entry.last - 1;
    if (entry.resume != 0 && sequence == entry.resume + 1) {
      entry.resume = 0;  // after a backward jump, the publisher that was there goes on
    } else if (plausible(missing, entry.seen_ns, now_ns)) {
      observation.event = Event::gap;
      observation.missing = missing;
      observation.first_missing = entry.last + 1;
      observation.last_missing = sequence - 1;
    } else {
      observation.event = Event::jump;
    }
  } else if (sequence <= entry.last) {
    observation.event = Event::back;
    entry.resume = entry.last;
  }
  entry.last = sequence;
  entry.seen_ns = now_ns;
  entry.restored = false;
  mark(position);
  return observation;
}

SequenceTracker::Observation SequenceTracker::observe_last(std::string_view service, std::uint64_t publisher,
                                                           std::uint64_t last_sequence, std::int64_t now_ns) {
  Observation observation;
  if (last_sequence == 0) return observation;
  observation.to = last_sequence;
  auto position = find(Key{service, publisher});
  if (position == recent_.end()) {
    // As if its next record came now: 1..last_sequence are not in this session.
    mark(add(Key{service, publisher}, last_sequence, now_ns));
    observation.event = Event::first_seen;
    observation.to = last_sequence + 1;
    return observation;
  }
  Publisher& entry = *position;
  // Nothing new, or (after a backward jump) the numbers of the publisher that was
  // there before.
  if (last_sequence <= entry.last || last_sequence <= entry.resume) return observation;
  observation.from = entry.last;
  observation.across_restart = entry.restored;
  const std::uint64_t missing = last_sequence - entry.last;
  if (plausible(missing, entry.seen_ns, now_ns)) {
    observation.event = Event::gap;
    observation.missing = missing;
    observation.first_missing = entry.last + 1;
    observation.last_missing = last_sequence;
  } else {
    observation.event = Event::jump;
  }
  entry.last = last_sequence;
  entry.seen_ns = now_ns;
  entry.restored = false;
  mark(position);
  return observation;
}

void SequenceTracker::restore(std::string_view service, std::uint64_t publisher, std::uint64_t last_sequence,
                              std::int64_t now_ns, std::int64_t age_ns) {
  if (last_sequence == 0 || index_.size() >= max_publishers_ || index_.contains(Key{service, publisher})) return;
  // Least recently seen: what this node sees itself is kept before it.
  recent_.push_back(Publisher{std::string(service), publisher, last_sequence, 0, now_ns - age_ns, true, false});
  index_.emplace(Key{recent_.back().service, publisher}, std::prev(recent_.end()));
}

void SequenceTracker::take_changes(const std::function<void(std::string_view, std::uint64_t, std::uint64_t)>& f) {
  for (const auto position : changed_) {
    position->changed = false;
    f(position->service, position->id, position->last);
  }
  changed_.clear();
}

}  // namespace cantina::logging
