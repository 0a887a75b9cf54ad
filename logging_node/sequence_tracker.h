// SequenceTracker: detects lost records from the per-publisher sequence numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cantina::logging {

// Remembers the last sequence number seen from each publisher of each service
// (the key is the pair: a record on /log/a carrying the publisher id of a
// publisher of /log/b touches only a's accounting), forgets the least recently
// seen beyond max_publishers, and reports what the numbers say. Not thread-safe:
// the receive thread owns it. O(1) per call.
//
// Sequence 0 means "not numbered" (a hand-made publisher may not count): such a
// record is neither tracked nor reported.
//
// A forward jump is a loss only if it is plausible: no more than kPlausibleGap
// records plus kMaxRecordsPerSecond per second since the publisher was last seen
// (a Logger cannot make more). A larger jump (lastSequence = 1e15, say) is a
// forgery or a broken publisher: reported as a jump, never counted as lost.
// A backward jump (a publisher restarted with the same id, or another process
// publishing as it) is reported too; tracking goes on from the new number, but
// the number before the jump is remembered, so that the original publisher going
// on where it was is not mistaken for a gap.
class SequenceTracker {
 public:
  static constexpr std::size_t kDefaultMaxPublishers = 100000;
  static constexpr std::uint64_t kPlausibleGap = 1'000'000;
  static constexpr std::uint64_t kMaxRecordsPerSecond = 10'000'000;

  // max_publishers is at least 1 (0 is treated as 1).
  explicit SequenceTracker(std::size_t max_publishers = kDefaultMaxPublishers);

  SequenceTracker(const SequenceTracker&) = delete;
  SequenceTracker& operator=(const SequenceTracker&) = delete;

  enum class Event {
    none,        // in order (or sequence 0)
    first_seen,  // a publisher not tracked (new, or forgotten); `to` is its first number here
    gap,         // numbers from+1 .. to-1 never arrived (observe_last: from+1 .. to)
    jump,        // an implausible jump forward from `from` to `to`: not a loss
    back,        // the number went back (or repeated) from `from` to `to`
  };
  struct Observation {
    Event event = Event::none;
    std::uint64_t from = 0;  // the publisher's last number before this one
    std::uint64_t to = 0;    // this number
    // For gap: the numbers lost, first_missing..last_missing (missing of them).
    std::uint64_t missing = 0;
    std::uint64_t first_missing = 0;
    std::uint64_t last_missing = 0;
    // `from` is where a previous logging node left this publisher (restore()):
    // a gap happened while no node ran.
    bool across_restart = false;
  };

  // Records `sequence` from `publisher` of `service`; `now_ns` is a monotonic
  // clock reading. The first record of an unknown publisher is first_seen, never
  // a gap, even if sequence > 1 (records sent before this node started are not
  // counted as lost; the node reports them apart) unless a previous node's state
  // says where it left off (restore()). When more than max_publishers are
  // tracked, the least recently seen is forgotten.
  Observation observe(std::string_view service, std::uint64_t publisher, std::uint64_t sequence, std::int64_t now_ns);

  // Records that `publisher` of `service` has used every number up to
  // `last_sequence` (a batch's lastSequence, sent after its records). More than
  // the last one seen is a gap (lost at the end of a burst; last_missing =
  // last_sequence) or, beyond plausibility, a jump; tracking moves on to
  // `last_sequence`, so each is reported once. Less is nothing. An unknown
  // publisher starts being tracked at `last_sequence`: first_seen with `to`
  // last_sequence + 1 (its numbers so far are not in this session), no gap.
  Observation observe_last(std::string_view service, std::uint64_t publisher, std::uint64_t last_sequence,
                           std::int64_t now_ns);

  // Starts tracking `publisher` of `service` at `last_sequence`, as a previous
  // logging node left it `age_ns` before `now_ns` (its state file): the next
  // number seen is compared with it, and a gap is reported across_restart. Does
  // nothing for a publisher tracked already or beyond max_publishers.
  void restore(std::string_view service, std::uint64_t publisher, std::uint64_t last_sequence, std::int64_t now_ns,
               std::int64_t age_ns);

  // Calls f(service, publisher, last_sequence) for every publisher whose number
  // changed (or that was restored) since the last call: what to keep for the next
  // logging node.
  void take_changes(const std::function<void(std::string_view, std::uint64_t, std::uint64_t)>& f);
  // Whether take_changes would call f.
  bool has_changes() const { return !changed_.empty(); }

  // Publishers tracked now, and at most.
  std::size_t publishers() const { return index_.size(); }
  std::size_t max_publishers() const { return max_publishers_; }

  // Publishers forgotten so far to stay within max_publishers. A forgotten one that
  // logs again is first_seen again: a gap across its forgetting goes unnoticed.
  std::uint64_t forgotten() const { return forgotten_; }

 private:
  struct Publisher {
    std::string service;
    std::uint64_t id = 0;
    std::uint64_t last = 0;    // the last number seen
    std::uint64_t resume = 0;  // after a backward jump, the number before it; else 0
    std::int64_t seen_ns = 0;  // monotonic, when `last` was seen
    bool restored = false;     // `last` is from a previous node; not seen by this one yet
    bool changed = false;      // in changed_
  };
  using PublisherList = std::list<Publisher>;
  struct Key {
    std::string_view service;
    std::uint64_t id;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };

  // The publisher's entry, most recently seen first, or end() (nothing changes).
  PublisherList::iterator find(const Key& key);
  // A new entry, most recently seen first (forgetting the least recently seen
  // beyond max_publishers_).
  PublisherList::iterator add(const Key& key, std::uint64_t sequence, std::int64_t now_ns);
  // Whether `count` numbers could have been sent since `since_ns`.
  static bool plausible(std::uint64_t count, std::int64_t since_ns, std::int64_t now_ns) noexcept;
  // Notes that the entry's number changed.
  void mark(PublisherList::iterator position);

  std::size_t max_publishers_;
  std::uint64_t forgotten_ = 0;
  PublisherList recent_;                                             // most recently seen first
  std::unordered_map<Key, PublisherList::iterator, KeyHash> index_;  // keys view into recent_'s strings
  std::vector<PublisherList::iterator> changed_;
};

}  // namespace cantina::logging
