// RingBuffer: the last N items, oldest dropped first (the history kept in memory),
// bounded in count and in bytes.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace cantina::logging {

// How a RingBuffer weighs, copies into and empties its slots. The default: items
// weigh their size only, copying is plain assignment. A RingBuffer keeps a Traits
// object (given to its constructor), so traits may carry state.
template <class T>
struct RingTraits {
  // Heap bytes an item holds besides its own sizeof (its strings' buffers, ...).
  static std::size_t heap_bytes(const T&) noexcept { return 0; }
  // Copies `value` into the slot `slot` (which held an older item).
  static void assign(T& slot, const T& value) { slot = value; }
  // Empties a slot whose item was dropped, so that it holds no heap memory. (Not
  // `slot = T()`: a std::string moved from a short one keeps its own buffer.)
  static void release(T& slot) {
    T empty{};
    std::swap(slot, empty);
  }
};

// A buffer that keeps the newest items pushed: at most `capacity` of them, and at
// most `max_bytes` of memory (the slots, sizeof(T) each, plus what the items hold
// on the heap, as Traits::heap_bytes says): when either bound would be passed, the
// oldest items are dropped (dropped() counts those dropped for bytes). The newest
// item is always kept, even alone over max_bytes. Not thread-safe: one owner
// thread uses it (or the owner guards it with a mutex).
template <class T, class Traits = RingTraits<T>>
class RingBuffer {
 public:
  // `capacity` must be at least 1 (0 is treated as 1). Memory grows with use (the
  // slots double as needed), up to the bounds.
  explicit RingBuffer(std::size_t capacity, std::size_t max_bytes = std::numeric_limits<std::size_t>::max(),
                      Traits traits = {})
      : traits_(std::move(traits)), capacity_(capacity == 0 ? 1 : capacity), max_bytes_(max_bytes) {
    assert(capacity != 0 && "RingBuffer capacity must be at least 1");
  }

  // Adds `value` as the newest item; when full (in count), the oldest item is
  // overwritten in place (Traits::assign: reusing its storage once warm), and
  // while over max_bytes the oldest items are dropped.
  void push(const T& value) {
    place([&](T& slot) { traits_.assign(slot, value); });
  }
  void push(T&& value) {
    place([&](T& slot) {
      traits_.release(slot);  // a short item moved in would keep the slot's buffers
      slot = std::move(value);
    });
  }

  // Number of items held now (at most capacity()).
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t max_bytes() const { return max_bytes_; }

  // Memory held now: the slots (sizeof(T) each, in use or not) and the items' heap
  // bytes. At most max_bytes(), unless the newest item alone is larger.
  std::size_t bytes() const { return slots_.capacity() * sizeof(T) + heap_bytes_; }

  // Items dropped to stay within max_bytes (not those overwritten for the count).
  std::size_t dropped() const { return dropped_; }

  // The i-th item held, oldest first (i < size()).
  const T& at(std::size_t i) const { return slots_[wrap(head_ + i)]; }

  // Copies of the newest `limit` items (0 = no limit) for which `pred(item)` is
  // true, returned oldest first. Calls `pred` newest first and stops once `limit`
  // items matched.
  template <class Pred>
  std::vector<T> newest(std::size_t limit, Pred pred) const {
    std::vector<T> result;
    for (std::size_t walked = 0; walked < size_; ++walked) {
      if (limit != 0 && result.size() == limit) break;
      const T& item = at(size_ - 1 - walked);
      if (pred(item)) result.push_back(item);
    }
    std::reverse(result.begin(), result.end());
    return result;
  }

  // Removes every item (capacity unchanged; the items' heap memory is released).
  void clear() {
    for (std::size_t i = 0; i < size_; ++i) traits_.release(slots_[wrap(head_ + i)]);
    head_ = 0;
    size_ = 0;
    heap_bytes_ = 0;
  }

 private:
  std::size_t wrap(std::size_t index) const { return index >= slots_.size() ? index - slots_.size() : index; }

  template <class Fill>
  void place(Fill fill) {
    if (size_ == capacity_) {
      // Full in count: the oldest slot becomes the newest item.
      T& slot = slots_[head_];
      heap_bytes_ -= traits_.heap_bytes(slot);
      fill(slot);
      heap_bytes_ += traits_.heap_bytes(slot);
      head_ = wrap(head_ + 1);
    } else {
      if (size_ == slots_.size() && !grow()) drop_oldest();
      T& slot = slots_[wrap(head_ + size_)];
      fill(slot);
      heap_bytes_ += traits_.heap_bytes(slot);
      ++size_;
    }
    while (size_ > 1 && bytes() > max_bytes_) drop_oldest();
  }

  // Doubles the slots (at most to capacity_) if that stays within max_bytes_;
  // false if it would not (the caller then frees a slot instead).
  bool grow() {
    const std::size_t old_size = slots_.size();
    const std::size_t new_size = std::min(capacity_, std::max<std::size_t>(16, 2 * old_size));
    if (old_size > 0 && new_size * sizeof(T) + heap_bytes_ > max_bytes_) return false;
    // The items run from head_ to the end, then from 0: the new slots go in
    // between, so the order stays (head_ moves past them).
    slots_.reserve(new_size);
    if (head_ == 0) {
      slots_.resize(new_size);
    } else {
      slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(head_), new_size - old_size, T());
      head_ += new_size - old_size;
    }
    return true;
  }

  void drop_oldest() {
    T& slot = slots_[head_];
    heap_bytes_ -= traits_.heap_bytes(slot);
    traits_.release(slot);
    head_ = wrap(head_ + 1);
    --size_;
    ++dropped_;
  }

  Traits traits_;
  std::size_t capacity_;
  std::size_t max_bytes_;
  std::vector<T> slots_;        // grows (doubling) to at most capacity_; circular from head_
  std::size_t head_ = 0;        // the oldest item
  std::size_t size_ = 0;        // items held
  std::size_t heap_bytes_ = 0;  // Traits::heap_bytes of the items held
  std::size_t dropped_ = 0;
};

}  // namespace cantina::logging
