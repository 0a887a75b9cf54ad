// Unreported: a count that only grows and the part of it already reported, for
// reports that say "N more since the last report" and appear only when there is
// something new (the logging node's loss lines, the web bridge's skip notices).
//
//   Unreported dropped;
//   dropped.add(refused);                      // as it happens
//   if (const auto n = dropped.take()) report(n);  // once in a while
//
// A count kept elsewhere (a counter of another object) is followed instead:
//   if (const auto n = forgotten.take(tracker.forgotten())) report(n);
//
// Not thread-safe: the thread that adds is the one that takes (or a lock guards both).
#pragma once

#include <cstdint>

namespace cantina::bus {

class Unreported {
 public:
  // The count grows by `n`.
  constexpr void add(std::uint64_t n) noexcept { total_ += n; }

  // What is not reported yet; 0 if nothing changed since the last take().
  constexpr std::uint64_t pending() const noexcept { return total_ > reported_ ? total_ - reported_ : 0; }

  // The count in all, reported or not.
  constexpr std::uint64_t total() const noexcept { return total_; }

  // Returns pending() and counts it as reported.
  constexpr std::uint64_t take() noexcept {
    const std::uint64_t n = pending();
    if (n > 0) reported_ = total_;
    return n;
  }

  // For a count kept elsewhere: the count is now `total`; returns what it grew by
  // since the last take() and counts that as reported. A smaller `total` than
  // already reported reports nothing (only growth past it will be).
  constexpr std::uint64_t take(std::uint64_t total) noexcept {
    total_ = total;
    return take();
  }

 private:
  std::uint64_t total_ = 0;
  std::uint64_t reported_ = 0;
};

}  // namespace cantina::bus
