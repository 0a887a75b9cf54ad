// RingBuffer: the last N items, oldest overwritten first (the history kept in memory).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace cantina::logging {

// A fixed-capacity buffer that keeps the newest `capacity` items pushed. Not
// thread-safe: one owner thread uses it (or the owner guards it with a mutex).
template <class T>
class RingBuffer {
 public:
  // `capacity` must be at least 1 (0 is treated as 1). Memory grows with use, up
  // to `capacity` items.
  explicit RingBuffer(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
    assert(capacity != 0 && "RingBuffer capacity must be at least 1");
  }

  // Adds `value` as the newest item; when full, the oldest item is overwritten.
  // Copying into the overwritten item reuses its storage (no allocation once warm
  // for strings that fit what the slot held).
  void push(const T& value) {
    if (items_.size() < capacity_) {
      items_.push_back(value);
      return;
    }
    items_[next_] = value;
    next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
  }
  void push(T&& value) {
    if (items_.size() < capacity_) {
      items_.push_back(std::move(value));
      return;
    }
    items_[next_] = std::move(value);
    next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
  }

  // Number of items held now (at most capacity()).
  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }

  // Copies of the newest `limit` items (0 = no limit) for which `pred(item)` is
  // true, returned oldest first. Calls `pred` newest first and stops once `limit`
  // items matched.
  template <class Pred>
  std::vector<T> newest(std::size_t limit, Pred pred) const {
    std::vector<T> result;
    const std::size_t count = items_.size();
    // Walk from the newest item back; the oldest is at `next_` once full, else at 0.
    for (std::size_t walked = 0; walked < count; ++walked) {
      if (limit != 0 && result.size() == limit) break;
      const std::size_t index = (next_ + count - 1 - walked) % count;
      if (pred(items_[index])) result.push_back(items_[index]);
    }
    std::reverse(result.begin(), result.end());
    return result;
  }

  // Removes every item (capacity unchanged).
  void clear() {
    items_.clear();
    next_ = 0;
  }

 private:
  std::size_t capacity_;
  std::vector<T> items_;  // grows to capacity_, then is reused in place
  std::size_t next_ = 0;  // once full: where the next push goes (= the oldest item)
};

}  // namespace cantina::logging
