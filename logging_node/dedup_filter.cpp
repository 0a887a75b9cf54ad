#include "dedup_filter.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "cantina/bus/clock.h"

namespace cantina::logging {

namespace {

// A 64-bit string hash that takes 16 bytes per step (the multiply-and-fold mixing
// of wyhash, public domain): about a third of std::hash's cost on a log message,
// which the node hashes once per record. Every bit of the result depends on
// every input byte, so the low bits index the table as well as the high ones.
__extension__ using Wide = unsigned __int128;

constexpr std::uint64_t kSecret0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t kSecret1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t kSecret2 = 0x8ebc6af09c88c6e3ULL;

std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  const Wide product = static_cast<Wide>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t load_word(const char* bytes, std::size_t count) noexcept {
  std::uint64_t word = 0;
  std::memcpy(&word, bytes, count);
  return word;
}

std::uint64_t hash_text(std::string_view text, std::uint64_t seed) noexcept {
  const char* at = text.data();
  std::size_t left = text.size();
  std::uint64_t state = seed ^ fold_multiply(seed ^ kSecret0, static_cast<std::uint64_t>(left) ^ kSecret1);
  while (left > 16) {
    state = fold_multiply(load_word(at, 8) ^ kSecret1, load_word(at + 8, 8) ^ state);
    at += 16;
    left -= 16;
  }
  // The last 1-16 bytes (zero-padded; the length is in the state already).
  const std::uint64_t low = load_word(at, std::min<std::size_t>(left, 8));
  const std::uint64_t high = left > 8 ? load_word(at + 8, left - 8) : 0;
  return fold_multiply(kSecret1 ^ static_cast<std::uint64_t>(text.size()),
                       fold_multiply(low ^ kSecret1, high ^ state ^ kSecret2));
}

}  // namespace

std::uint64_t DedupFilter::key_hash(std::string_view service_id, Level level, std::string_view message) noexcept {
  return hash_text(message, hash_text(service_id, static_cast<std::uint64_t>(level)));
}

DedupFilter::DedupFilter(std::chrono::seconds window, std::size_t max_keys)
    : window_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()),
      max_keys_(max_keys == 0 ? 1 : max_keys),
      slots_(window_ns_ > 0 ? std::bit_ceil(max_keys_ + max_keys_ / 2 + 1) : 1),
      mask_(slots_.size() - 1) {}

std::size_t DedupFilter::find_slot(std::uint64_t hash) const noexcept {
  std::size_t at = static_cast<std::size_t>(hash) & mask_;
  while (slots_[at].window != 0 && slots_[at].hash != hash) at = (at + 1) & mask_;
  return at;
}

void DedupFilter::erase_slot(std::size_t at) noexcept {
  std::size_t next = at;
  for (;;) {
    next = (next + 1) & mask_;
    if (slots_[next].window == 0) break;
    // An entry may move back to `at` only if its home is not in (at, next].
    const std::size_t home = static_cast<std::size_t>(slots_[next].hash) & mask_;
    const bool stays = at <= next ? (at < home && home <= next) : (at < home || home <= next);
    if (stays) continue;
    slots_[at] = slots_[next];
    at = next;
  }
  slots_[at] = Slot{};
}

bool DedupFilter::admit(const LogEntry& entry, std::uint64_t hash, std::int64_t now_ns,
                        std::vector<LogEntry>& summaries) {
  if (window_ns_ <= 0) return true;
  expire(now_ns, summaries);

  if (const std::size_t at = find_slot(hash); slots_[at].window != 0) {
    Window& window = window_at(slots_[at].window - 1 - closed_);
    if (window.repeats == 0) {
      ++windows_with_repeats_;
      window.first = std::make_unique<LogEntry>(entry);
      window.first_repeat_ns = entry.timestamp_ns;
    } else if (window.first->message != entry.message || window.first->service_id != entry.service_id ||
               window.first->level != entry.level) {
      return true;  // another key with the same hash: never suppress it
    }
    window.last_repeat_ns = entry.timestamp_ns;
    ++window.repeats;
    ++suppressed_;
    return false;
  }

  if (keys_ >= max_keys_) {
    close_oldest(summaries);
    ++closed_early_;
  }
  push_window(Window{hash, now_ns, 0, 0, 0, nullptr});
  slots_[find_slot(hash)] = Slot{hash, closed_ + keys_};
  return true;
}

void DedupFilter::push_window(Window window) {
  if (keys_ == windows_.size()) {
    // Full: grow, keeping the oldest-first order from index 0.
    std::vector<Window> grown(std::min(max_keys_, std::max<std::size_t>(16, windows_.size() * 2)));
    for (std::size_t i = 0; i < keys_; ++i) grown[i] = std::move(window_at(i));
    windows_ = std::move(grown);
    first_window_ = 0;
  }
  window_at(keys_) = std::move(window);
  ++keys_;
}

void DedupFilter::expire(std::int64_t now_ns, std::vector<LogEntry>& summaries) {
  // A window opened at `opened_ns` is closed once now_ns - opened_ns >= window_ns_.
  while (keys_ != 0 && now_ns - window_at(0).opened_ns >= window_ns_) close_oldest(summaries);
}

void DedupFilter::flush_all(std::vector<LogEntry>& summaries) {
  while (keys_ != 0) close_oldest(summaries);
}

void DedupFilter::close_oldest(std::vector<LogEntry>& summaries) {
  Window& window = window_at(0);
  if (window.repeats != 0) {
    --windows_with_repeats_;
    summaries.push_back(
        make_repeat_summary(*window.first, window.repeats, window.first_repeat_ns, window.last_repeat_ns));
  }
  erase_slot(find_slot(window.hash));
  window.first.reset();
  --keys_;
  if (++first_window_ == windows_.size()) first_window_ = 0;
  ++closed_;
}

LogEntry make_repeat_summary(const LogEntry& first, std::uint64_t repeats, std::int64_t first_repeat_ns,
                             std::int64_t last_repeat_ns) {
  LogEntry summary;
  summary.timestamp_ns = last_repeat_ns;
  summary.level = first.level;
  summary.service = first.service;
  summary.service_id = first.service_id;
  summary.kind = EntryKind::repeat_summary;
  summary.repeat_count = repeats > std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                                             : static_cast<std::uint32_t>(repeats);
  summary.host = first.host;
  summary.logger = first.logger;

  char count[24];
  const auto count_end = std::to_chars(count, count + sizeof count, repeats).ptr;
  std::string& message = summary.message;
  message.reserve(first.message.size() + 96);
  message += first.message;
  message += " (repeated ";
  message.append(count, count_end);
  message += repeats == 1 ? " time between " : " times between ";
  bus::append_iso8601(message, first_repeat_ns);
  message += " and ";
  bus::append_iso8601(message, last_repeat_ns);
  message += ')';
  return summary;
}

}  // namespace cantina::logging
