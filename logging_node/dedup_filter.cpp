#include "dedup_filter.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <memory>

#include "cantina/bus/clock.h"
#include "cantina/bus/siphash.h"

namespace cantina::logging {

namespace {

constexpr std::size_t kMinTextBytes = 4096;

using KeyHasher = bus::SipHasher13;  // see dedup_filter.h

// What a window keeps of its key from the first repeat on, in this order (the
// order of DedupFilter::field()).
std::array<std::string_view, 5> kept_parts(const LogEntry& entry) {
  return {entry.service_id, entry.message, entry.service, entry.host, entry.logger};
}

std::size_t size_of(const std::array<std::string_view, 5>& parts) {
  std::size_t size = 0;
  for (const std::string_view part : parts) size += part.size();
  return size;
}

}  // namespace

DedupFilter::KeyHash DedupFilter::key_hash(std::string_view service_id, Level level,
                                           std::string_view message) noexcept {
  const bus::ProcessHashKey& key = bus::process_hash_key();
  KeyHasher hasher(key.k0, key.k1, /*wide=*/true);
  // The message first (its words aligned), then the service id, then one word
  // with the service id's length and the level: unambiguous, since the total
  // length is hashed too ("ab"+"c" and "a"+"bc" differ).
  hasher.update(message);
  hasher.update(service_id);
  hasher.update_u64((static_cast<std::uint64_t>(service_id.size()) << 8) | static_cast<std::uint64_t>(level));
  const auto [low, high] = hasher.finish128();
  return KeyHash{low, high};
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

std::string_view DedupFilter::field(const Repeated& repeated, int i) const noexcept {
  std::size_t at = static_cast<std::size_t>(repeated.offset) & (text_capacity_ - 1);
  for (int k = 0; k < i; ++k) at += repeated.lengths[k];
  return {text_.get() + at, repeated.lengths[i]};
}

bool DedupFilter::same_key(const Window& window, const LogEntry& entry, const KeyHash& hash) const noexcept {
  if (window.level != entry.level || window.check != hash.check) return false;
  if (window.repeated == 0) return true;  // the 128-bit keyed hash and the level match
  const Repeated& repeated = repeated_[window.repeated - 1];
  return field(repeated, 0) == entry.service_id && field(repeated, 1) == entry.message;
}

bool DedupFilter::admit(const LogEntry& entry, const KeyHash& hash, std::int64_t now_ns,
                        std::vector<LogEntry>& summaries) {
  if (window_ns_ <= 0) return true;
  expire(now_ns, summaries);

  if (const std::size_t at = find_slot(hash.slot); slots_[at].window != 0) {
    const std::uint64_t number = slots_[at].window - 1;
    // (Closing older windows, as keep_text() may, leaves this one where it is.)
    const Window& window = window_at(number - closed_);
    if (!same_key(window, entry, hash)) return true;  // another key, same slot: never folded
    if (window.repeated == 0 && !keep_text(number, entry, summaries)) return true;
    Repeated& repeated = repeated_[window.repeated - 1];
    if (repeated.repeats == 0) {
      ++windows_with_repeats_;
      repeated.first_repeat_ns = entry.timestamp_ns;
      const std::int64_t interval = entry.level >= Level::error ? urgent_interval_ns_ : interval_ns_;
      // Due before the window closes: queued (a window whose summary comes at its
      // close needs no entry).
      if (now_ns + interval < window.opened_ns + window_ns_) {
        queue_for(entry.level).push(Due{number, now_ns + interval}, 2 * max_keys_, closed_);
      }
    }
    repeated.last_repeat_ns = entry.timestamp_ns;
    ++repeated.repeats;
    ++suppressed_;
    return false;
  }

  if (keys_ >= max_keys_) {
    close_oldest(summaries);
    ++closed_early_;
  }
  if (size_of(kept_parts(entry)) > max_bytes_) return true;  // its text could never be kept: not tracked
  Window window;
  window.hash = hash.slot;
  window.check = hash.check;
  window.opened_ns = now_ns;
  window.level = entry.level;
  push_window(window);
  slots_[find_slot(hash.slot)] = Slot{hash.slot, closed_ + keys_};
  return true;
}

bool DedupFilter::keep_text(std::uint64_t number, const LogEntry& entry, std::vector<LogEntry>& summaries) {
  const auto parts = kept_parts(entry);
  const std::size_t size = size_of(parts);
  std::uint64_t offset = 0;
  for (;;) {  // room at text_head_ (or at the next wrap), growing or closing windows for it
    reclaim_text();
    offset = text_head_;
    if (text_capacity_ != 0) {
      const std::size_t physical = static_cast<std::size_t>(offset) & (text_capacity_ - 1);
      if (physical + size > text_capacity_) offset += text_capacity_ - physical;  // not across the end
      if (offset + size - text_tail_ <= text_capacity_) break;
    }
    if (text_capacity_ < max_bytes_) {
      grow_text(static_cast<std::size_t>(text_head_ - text_tail_) + size);
      continue;
    }
    if (closed_ == number) return false;  // it is the oldest: what holds the room is newer
    close_oldest(summaries);
    ++closed_early_;
  }
  std::uint32_t index = 0;
  if (!free_repeated_.empty()) {
    index = free_repeated_.back();
    free_repeated_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(repeated_.size());
    repeated_.emplace_back();
  }
  Repeated& repeated = repeated_[index];
  repeated.repeats = 0;
  repeated.offset = offset;
  std::size_t physical = static_cast<std::size_t>(offset) & (text_capacity_ - 1);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].empty()) std::memcpy(text_.get() + physical, parts[i].data(), parts[i].size());
    physical += parts[i].size();
    repeated.lengths[i] = static_cast<std::uint32_t>(parts[i].size());
  }
  text_head_ = offset + size;
  if (texts_count_ == texts_.size()) {  // full: grow, keeping the order from index 0
    std::vector<Text> grown(std::max<std::size_t>(16, texts_.size() * 2));
    for (std::size_t i = 0; i < texts_count_; ++i) grown[i] = texts_[(texts_first_ + i) % texts_.size()];
    texts_ = std::move(grown);
    texts_first_ = 0;
  }
  texts_[(texts_first_ + texts_count_++) % texts_.size()] =
      Text{number, index, static_cast<std::uint32_t>(size), offset};
  window_at(number - closed_).repeated = index + 1;
  return true;
}

void DedupFilter::reclaim_text() noexcept {
  while (texts_count_ != 0 && texts_[texts_first_].window < closed_) {
    if (++texts_first_ == texts_.size()) texts_first_ = 0;
    --texts_count_;
  }
  if (texts_count_ == 0) {
    text_head_ = text_tail_ = 0;
  } else {
    text_tail_ = texts_[texts_first_].offset;
  }
}

void DedupFilter::grow_text(std::size_t needed) {
  const std::size_t capacity =
      std::min(max_bytes_, std::max({kMinTextBytes, text_capacity_ * 2, std::bit_ceil(needed)}));
  // Not zeroed: only the texts' bytes are ever read, and a page no text has
  // filled yet stays out of the process's memory.
  auto grown = std::make_unique_for_overwrite<char[]>(capacity);
  // The live texts again from 0, in order (texts of closed windows dropped).
  std::uint64_t at = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < texts_count_; ++i) {
    Text text = texts_[(texts_first_ + i) % texts_.size()];
    if (text.window < closed_) continue;
    if (text.size != 0) {
      std::memcpy(grown.get() + at, text_.get() + (static_cast<std::size_t>(text.offset) & (text_capacity_ - 1)),
                  text.size);
    }
    text.offset = at;
    repeated_[text.repeated].offset = at;
    at += text.size;
    texts_[(texts_first_ + kept++) % texts_.size()] = text;
  }
  texts_count_ = kept;
  text_ = std::move(grown);
  text_capacity_ = capacity;
  text_tail_ = 0;
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
    const Window& window = window_at(number - closed_);
    if (window.repeated != 0 && repeated_[window.repeated - 1].repeats != 0) summarise(window, summaries);
  }
  // A window opened at `opened_ns` is closed once now_ns - opened_ns >= window_ns_.
  while (keys_ != 0 && now_ns - window_at(0).opened_ns >= window_ns_) close_oldest(summaries);
}

void DedupFilter::summarise(const Window& window, std::vector<LogEntry>& summaries) {
  Repeated& repeated = repeated_[window.repeated - 1];
  LogEntry first;
  first.level = window.level;
  first.service_id.assign(field(repeated, 0));
  first.message.assign(field(repeated, 1));
  first.service.assign(field(repeated, 2));
  first.host.assign(field(repeated, 3));
  first.logger.assign(field(repeated, 4));
  summaries.push_back(
      make_repeat_summary(first, repeated.repeats, repeated.first_repeat_ns, repeated.last_repeat_ns, wall_clock_()));
  repeated.repeats = 0;
  --windows_with_repeats_;
}

void DedupFilter::flush_all(std::vector<LogEntry>& summaries) {
  while (keys_ != 0) close_oldest(summaries);
}

void DedupFilter::close_oldest(std::vector<LogEntry>& summaries) {
  Window& window = window_at(0);
  if (window.repeated != 0) {
    Repeated& repeated = repeated_[window.repeated - 1];
    if (repeated.repeats != 0) summarise(window, summaries);
    free_repeated_.push_back(window.repeated - 1);  // its text is dead from here
    window.repeated = 0;
  }
  erase_slot(find_slot(window.hash));
  --keys_;
  if (++first_window_ == windows_.size()) first_window_ = 0;
  ++closed_;
  reclaim_text();
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
