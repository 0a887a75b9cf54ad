#include "dedup_filter.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>


#include "cantina/bus/clock.h"
#include "siphash.h"

namespace cantina::logging {

namespace {

constexpr std::size_t kMinTextBytes = 4096;

using KeyHasher = SipHasher13;  // see dedup_filter.h

}  // namespace

std::uint64_t DedupFilter::key_hash(std::string_view service_id, Level level, std::string_view message) noexcept {
  const ProcessHashKey& key = process_hash_key();
  KeyHasher hasher(key.k0, key.k1);
  // The message first (its words aligned), then the service id, then one word
  // with the service id's length and the level: unambiguous, since the total
  // length is hashed too ("ab"+"c" and "a"+"bc" differ).
  hasher.update(message);
  hasher.update(service_id);
  hasher.update_u64((static_cast<std::uint64_t>(service_id.size()) << 8) | static_cast<std::uint64_t>(level));
  return hasher.finish();
}

DedupFilter::DedupFilter(const Options& options)
    : window_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(options.window).count()),
      interval_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(options.summary_interval).count()),
      urgent_interval_ns_(std::min(
          interval_ns_, std::chrono::duration_cast<std::chrono::nanoseconds>(options.urgent_interval).count())),
      wall_clock_(options.wall_clock != nullptr ? options.wall_clock : &bus::now_ns),
      max_keys_(options.max_keys == 0 ? 1 : options.max_keys),
      max_bytes_(std::bit_floor(std::max(options.max_bytes, kMinTextBytes))),
      slots_(window_ns_ > 0 ? std::bit_ceil(max_keys_ + max_keys_ / 2 + 1) : 1),
      mask_(slots_.size() - 1) {}

DedupFilter::DedupFilter(std::chrono::seconds window, std::size_t max_keys, std::size_t max_bytes)
    : DedupFilter(Options{window, window, window, max_keys, max_bytes, nullptr}) {}

void DedupFilter::DueQueue::pop() noexcept {
  if (++head_ == items_.size()) head_ = 0;
  --size_;
}

void DedupFilter::DueQueue::push(const Due& due, std::size_t limit, std::uint64_t first_open) {
  if (size_ == items_.size()) {
    std::vector<Due> kept;
    kept.reserve(std::max<std::size_t>(16, std::min(limit, items_.size() * 2)));
    const bool compact = items_.size() >= limit;
    for (std::size_t i = 0; i < size_; ++i) {
      const Due& item = items_[(head_ + i) % items_.size()];
      if (!compact || item.window >= first_open) kept.push_back(item);
    }
    size_ = kept.size();
    kept.resize(std::max(kept.capacity(), size_ + 1));
    items_ = std::move(kept);
    head_ = 0;
  }
  std::size_t at = head_ + size_;
  if (at >= items_.size()) at -= items_.size();
  items_[at] = due;
  ++size_;
}

std::optional<std::int64_t> DedupFilter::next_due_ns() const {
  if (windows_with_repeats_ == 0) return std::nullopt;
  std::optional<std::int64_t> next;
  for (const DueQueue* queue : {&normal_, &urgent_}) {
    if (!queue->empty() && (!next || queue->front().due_ns < *next)) next = queue->front().due_ns;
  }
  // A window whose summary comes when it closes (its interval is longer).
  if (keys_ != 0) {
    const std::int64_t closes = windows_[first_window_].opened_ns + window_ns_;
    if (!next || closes < *next) next = closes;
  }
  return next;
}

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

std::string_view DedupFilter::field(const Window& window, int i) const noexcept {
  std::size_t at = static_cast<std::size_t>(window.offset) & (text_capacity_ - 1);
  for (int k = 0; k < i; ++k) at += window.lengths[k];
  return {text_.get() + at, window.lengths[i]};
}

bool DedupFilter::same_key(const Window& window, const LogEntry& entry) const noexcept {
  return window.level == entry.level && field(window, 0) == entry.service_id && field(window, 1) == entry.message;
}

bool DedupFilter::admit(const LogEntry& entry, std::uint64_t hash, std::int64_t now_ns,
                        std::vector<LogEntry>& summaries) {
  if (window_ns_ <= 0) return true;
  expire(now_ns, summaries);

  if (const std::size_t at = find_slot(hash); slots_[at].window != 0) {
    Window& window = window_at(slots_[at].window - 1 - closed_);
    if (!same_key(window, entry)) return true;  // another key with the same hash: never folded
    if (window.repeats == 0) {
      ++windows_with_repeats_;
      window.first_repeat_ns = entry.timestamp_ns;
      const std::int64_t interval = entry.level >= Level::error ? urgent_interval_ns_ : interval_ns_;
      // Due before the window closes: queued (a window whose summary comes at its
      // close needs no entry).
      if (now_ns + interval < window.opened_ns + window_ns_) {
        queue_for(entry.level).push(Due{slots_[at].window - 1, now_ns + interval}, 2 * max_keys_, closed_);
      }
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
  const std::string_view parts[5] = {entry.service_id, entry.message, entry.service, entry.host, entry.logger};
  std::size_t size = 0;
  for (const std::string_view part : parts) size += part.size();
  std::uint64_t offset = 0;
  if (!make_room(size, offset, summaries)) return true;  // larger than all the room there is: not tracked
  Window window;
  window.hash = hash;
  window.opened_ns = now_ns;
  window.level = entry.level;
  window.offset = offset;
  std::size_t physical = static_cast<std::size_t>(offset) & (text_capacity_ - 1);
  for (int i = 0; i < 5; ++i) {
    if (!parts[i].empty()) std::memcpy(text_.get() + physical, parts[i].data(), parts[i].size());
    physical += parts[i].size();
    window.lengths[i] = static_cast<std::uint32_t>(parts[i].size());
  }
  text_head_ = offset + size;
  push_window(window);
  slots_[find_slot(hash)] = Slot{hash, closed_ + keys_};
  return true;
}

bool DedupFilter::make_room(std::size_t size, std::uint64_t& offset, std::vector<LogEntry>& summaries) {
  if (size > max_bytes_) return false;
  for (;;) {
    if (keys_ == 0) text_head_ = 0;
    const std::uint64_t tail = text_tail();
    std::uint64_t start = text_head_;
    if (text_capacity_ != 0) {
      const std::size_t physical = static_cast<std::size_t>(start) & (text_capacity_ - 1);
      if (physical + size > text_capacity_) start += text_capacity_ - physical;  // not across the end
      if (start + size - tail <= text_capacity_) {
        offset = start;
        return true;
      }
    }
    if (text_capacity_ < max_bytes_) {
      grow_text(static_cast<std::size_t>(text_head_ - tail) + size);
      continue;
    }
    close_oldest(summaries);  // keys_ > 0 here: an empty buffer of max_bytes_ holds `size`
    ++closed_early_;
  }
}

void DedupFilter::grow_text(std::size_t needed) {
  const std::size_t capacity =
      std::min(max_bytes_, std::max({kMinTextBytes, text_capacity_ * 2, std::bit_ceil(needed)}));
  auto grown = std::make_unique<char[]>(capacity);
  // Lay the windows' bytes out again from 0, oldest first.
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < keys_; ++i) {
    Window& window = window_at(i);
    const std::size_t size = window.bytes();
    if (size != 0) {
      std::memcpy(grown.get() + at, text_.get() + (static_cast<std::size_t>(window.offset) & (text_capacity_ - 1)),
                  size);
    }
    window.offset = at;
    at += size;
  }
  text_ = std::move(grown);
  text_capacity_ = capacity;
  text_head_ = at;
}

void DedupFilter::push_window(const Window& window) {
  if (keys_ == windows_.size()) {
    // Full: grow, keeping the oldest-first order from index 0.
    std::vector<Window> grown(std::min(max_keys_, std::max<std::size_t>(16, windows_.size() * 2)));
    for (std::size_t i = 0; i < keys_; ++i) grown[i] = window_at(i);
    windows_ = std::move(grown);
    first_window_ = 0;
  }
  window_at(keys_) = window;
  ++keys_;
}

void DedupFilter::expire(std::int64_t now_ns, std::vector<LogEntry>& summaries) {
  for (;;) {  // the summaries due, earliest first
    DueQueue* next = nullptr;
    for (DueQueue* queue : {&normal_, &urgent_}) {
      if (!queue->empty() && queue->front().due_ns <= now_ns &&
          (next == nullptr || queue->front().due_ns < next->front().due_ns)) {
        next = queue;
      }
    }
    if (next == nullptr) break;
    const std::uint64_t number = next->front().window;
    next->pop();
    if (number < closed_) continue;  // closed meanwhile, summarised then
    Window& window = window_at(number - closed_);
    if (window.repeats != 0) summarise(window, summaries);
  }
  // A window opened at `opened_ns` is closed once now_ns - opened_ns >= window_ns_.
  while (keys_ != 0 && now_ns - window_at(0).opened_ns >= window_ns_) close_oldest(summaries);
}

void DedupFilter::summarise(Window& window, std::vector<LogEntry>& summaries) {
  LogEntry first;
  first.level = window.level;
  first.service_id.assign(field(window, 0));
  first.message.assign(field(window, 1));
  first.service.assign(field(window, 2));
  first.host.assign(field(window, 3));
  first.logger.assign(field(window, 4));
  summaries.push_back(
      make_repeat_summary(first, window.repeats, window.first_repeat_ns, window.last_repeat_ns, wall_clock_()));
  window.repeats = 0;
  --windows_with_repeats_;
}

void DedupFilter::flush_all(std::vector<LogEntry>& summaries) {
  while (keys_ != 0) close_oldest(summaries);
}

void DedupFilter::close_oldest(std::vector<LogEntry>& summaries) {
  Window& window = window_at(0);
  if (window.repeats != 0) summarise(window, summaries);
  erase_slot(find_slot(window.hash));
  --keys_;
  if (++first_window_ == windows_.size()) first_window_ = 0;
  ++closed_;
}

LogEntry make_repeat_summary(const LogEntry& first, std::uint64_t repeats, std::int64_t first_repeat_ns,
                             std::int64_t last_repeat_ns, std::int64_t written_ns) {
  LogEntry summary;
  summary.timestamp_ns = written_ns;
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
