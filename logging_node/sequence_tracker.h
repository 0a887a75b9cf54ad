// SequenceTracker: detects lost records from the per-publisher sequence numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace cantina::logging {

// Remembers the last sequence number seen from each publisher (the least recently
// seen forgotten beyond max_publishers) and reports gaps. Not thread-safe: the
// receive thread owns it. O(1) per call.
class SequenceTracker {
 public:
  static constexpr std::size_t kDefaultMaxPublishers = 100000;

  // max_publishers is at least 1 (0 is treated as 1).
  explicit SequenceTracker(std::size_t max_publishers = kDefaultMaxPublishers);

  SequenceTracker(const SequenceTracker&) = delete;
  SequenceTracker& operator=(const SequenceTracker&) = delete;

  // The sequence numbers first_missing..last_missing (missing of them) never arrived.
  struct Gap {
    std::uint64_t missing;
    std::uint64_t first_missing;
    std::uint64_t last_missing;
  };

  struct Observation {
    std::optional<Gap> gap;   // set when the sequence jumped forward
    bool first_seen = false;  // the publisher was not tracked (new, or forgotten)
    bool restarted = false;   // sequence <= the last one: restart or reordering
  };

  // Records `sequence` from `publisher_id`. A jump forward (sequence > last + 1) is a
  // gap of the numbers in between. The first record of an unknown publisher sets
  // first_seen and reports no gap, even if sequence > 1 (records sent before this
  // node started are not counted as lost; the node reports them apart, as records
  // not in its session). sequence <= last sets restarted, resets
  // tracking to `sequence` and reports no gap. When more than max_publishers are
  // tracked, the least recently seen is forgotten.
  Observation observe(std::uint64_t publisher_id, std::uint64_t sequence);

  // Records that `publisher_id` has used every number up to `last_sequence` (a
  // batch's lastSequence, sent after its records). If more than the last one seen,
  // the numbers in between never arrived: they are returned as a gap (lost at the
  // end of a burst) and tracking moves on to `last_sequence`, so each is reported
  // once. An unknown publisher starts being tracked at `last_sequence`, no gap.
  std::optional<Gap> observe_last(std::uint64_t publisher_id, std::uint64_t last_sequence);

  // Publishers tracked now, and at most.
  std::size_t publishers() const { return index_.size(); }
  std::size_t max_publishers() const { return max_publishers_; }

  // Publishers forgotten so far to stay within max_publishers. A forgotten one that
  // logs again is first_seen again: a gap across its forgetting goes unnoticed.
  std::uint64_t forgotten() const { return forgotten_; }

 private:
  struct Publisher {
    std::uint64_t id;
    std::uint64_t last_sequence;
  };
  using PublisherList = std::list<Publisher>;

  // The publisher's entry, most recently seen first; created (forgetting the least
  // recently seen beyond max_publishers_) with `sequence` if it was not tracked.
  std::pair<PublisherList::iterator, bool> find_or_add(std::uint64_t publisher_id, std::uint64_t sequence);

  std::size_t max_publishers_;
  std::uint64_t forgotten_ = 0;
  PublisherList recent_;  // most recently seen first
  std::unordered_map<std::uint64_t, PublisherList::iterator> index_;
};

}  // namespace cantina::logging
