// What a benchmark publisher logs, so that the checker can recompute it.
//
// Publisher K of trial TAG logs records with sequence numbers s = 1..count:
//   unique record: "bench TAG pK sS xxxx..."   (padded with 'x' to `size` bytes)
//   repeat record: "bench TAG pK rJ xxxx..."   (J = repeat key, 0..repeat_keys-1)
// plus, before the timed part, one "bench TAG pK ready" record.
// Record s is a repeat when floor(s*r/1000) > floor((s-1)*r/1000), r being the
// repeats per mille: exactly r of every 1000 records repeat, evenly spread; the
// n-th repeat uses key (n-1) mod repeat_keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cantina::bench {

struct LoadPattern {
  std::string tag;                     // trial tag: letters and digits
  std::uint64_t size = 128;            // message bytes (at least the prefix)
  std::uint64_t repeat_per_mille = 0;  // 0..1000
  std::uint64_t repeat_keys = 10;      // distinct repeated messages per publisher

  // The repeat key of record `sequence`, or -1 if it is a unique record.
  std::int64_t repeat_key(std::uint64_t sequence) const {
    if (repeat_per_mille == 0) return -1;
    const std::uint64_t repeats_so_far = sequence * repeat_per_mille / 1000;
    if (repeats_so_far == (sequence - 1) * repeat_per_mille / 1000) return -1;
    return static_cast<std::int64_t>((repeats_so_far - 1) % (repeat_keys == 0 ? 1 : repeat_keys));
  }

  // Padding that brings a message whose prefix is `prefix_bytes` long to `size`.
  std::string_view padding(std::uint64_t prefix_bytes) const {
    static const std::string xs(1 << 16, 'x');
    if (prefix_bytes >= size) return {};
    return std::string_view(xs).substr(0, static_cast<std::size_t>(size - prefix_bytes));
  }
};

// Decimal digits of `value`.
inline std::uint64_t decimal_digits(std::uint64_t value) {
  std::uint64_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace cantina::bench
