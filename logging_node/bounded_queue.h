// BoundedQueue: hands items from one producer thread to one consumer thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

namespace cantina::logging {

// The weight of an item for a queue bounded only in count.
struct NoWeight {
  template <class T>
  std::size_t operator()(const T&) const noexcept {
    return 0;
  }
};

// A FIFO queue with a capacity in items and in bytes (the items' weights, as
// `Weigh` says), for one producer thread and one consumer thread
// (more producers are safe too; ordering is then per producer). Overflow policy:
// try_push refuses (returns false) when `capacity` items wait or the item would take
// the bytes waiting past `max_bytes` (an item alone in the queue is never refused
// for its bytes), and the caller counts the drop; push_unbounded is for the few control messages (e.g. shutdown) that
// must never be refused. The producer never blocks. Wake-ups are bounded: a waiting consumer is woken only once
// `wake_items` items wait, an urgent item arrives or the producer calls wake() (otherwise it wakes at its own
// timeout), or, if it sleeps on an empty queue (Idle::wait_for_first), by the first item (unless pushed with
// Wake::later).
template <class T, class Weigh = NoWeight>
class BoundedQueue {
 public:
  // What pop_batch does while the queue is empty: count the timeout from the call
  // (`linger`), or first sleep until an item arrives (`wait_for_first`, with no
  // timeout unless an idle deadline is given: an idle consumer then costs nothing),
  // the timeout then counting from that item's arrival.
  enum class Idle { linger, wait_for_first };

  // capacity 0 is treated as 1.
  // `wake_items` (at least 1): items waiting that wake a waiting consumer.
  // `max_bytes`: the weights of the items waiting, at most.
  explicit BoundedQueue(std::size_t capacity, std::size_t wake_items = 1,
                        std::size_t max_bytes = std::numeric_limits<std::size_t>::max())
      : capacity_(capacity == 0 ? 1 : capacity), wake_items_(wake_items == 0 ? 1 : wake_items), max_bytes_(max_bytes) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Adds `item` unless `capacity` items are waiting. Returns false when full, with
  // `item` left untouched (the caller drops and counts it). Never blocks (beyond the
  // short internal lock). Any thread may call.
  bool try_push(T&& item) {
    const std::size_t weight = Weigh()(item);
    std::unique_lock lock(mutex_);
    if (full_for(weight)) return false;
    note_first_arrival();
    bytes_ += weight;
    items_.push_back(std::move(item));
    notify_if_waiting(lock, false);
    return true;
  }

  // Moves every item of `items` in, in order, under one lock: those for which
  // `keep(item)` is true regardless of capacity, the others while they fit (in
  // count and bytes, as try_push). Returns how many were refused (the caller counts the drops);
  // refused items are left moved-from or untouched. `urgent(item)` true for any
  // item wakes the consumer at once. With `Wake::later` nothing else wakes it: the
  // caller promises a wake() once it is done pushing. Any thread may call.
  enum class Wake { as_usual, later };
  template <class Keep, class Urgent>
  std::size_t push_batch(std::vector<T>& items, Keep keep, Urgent urgent, Wake when = Wake::as_usual) {
    std::size_t refused = 0;
    bool wake_now = false;
    std::unique_lock lock(mutex_);
    for (T& item : items) {
      const std::size_t weight = Weigh()(item);
      if (full_for(weight) && !keep(item)) {
        ++refused;
        continue;
      }
      wake_now = wake_now || urgent(item);
      note_first_arrival();
      bytes_ += weight;
      items_.push_back(std::move(item));
    }
    if (when == Wake::later && !wake_now) return refused;
    notify_if_waiting(lock, wake_now);
    return refused;
  }

  // Wakes the consumer if it waits and items are there, as an urgent item would:
  // it takes them at once. Any thread may call.
  void wake() {
    std::unique_lock lock(mutex_);
    if (items_.empty()) return;
    notify_if_waiting(lock, true);
  }

  // Adds `item` regardless of capacity (for control messages such as shutdown).
  // Never blocks (beyond the short internal lock). Any thread may call.
  void push_unbounded(T&& item) {
    const std::size_t weight = Weigh()(item);
    std::unique_lock lock(mutex_);
    note_first_arrival();
    bytes_ += weight;
    items_.push_back(std::move(item));
    notify_if_waiting(lock, true);
  }

  // Moves up to `max_items` of the oldest items into `out` (appending, in order),
  // and no more once their weights reach `max_bytes` (at least one is moved).
  // Unless `wake_items` items already wait, it first waits until they do, an
  // urgent item arrives, or `timeout` has passed, then takes what is there. With
  // Idle::wait_for_first and an empty queue, it first sleeps until an item arrives
  // or `idle_deadline` passes (then returning 0), and `timeout` counts from the
  // arrival of the oldest item waiting: so a consumer woken by one item, or
  // finding items that arrived while it was busy, does not wait for its own
  // timer to run out on top. Items that a pop left behind because max_items were
  // taken have waited as long as those: the next pop takes them at once. Returns
  // the number moved (0 on timeout with nothing
  // there, or at once if max_items is 0). A timeout of 0 with Idle::linger never
  // waits (not even a system call). The consumer thread calls it.
  std::size_t pop_batch(
      std::vector<T>& out, std::size_t max_items, std::chrono::milliseconds timeout, Idle idle = Idle::linger,
      std::chrono::steady_clock::time_point idle_deadline = std::chrono::steady_clock::time_point::max(),
      std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
    if (max_items == 0) return 0;
    std::unique_lock lock(mutex_);
    auto ready = [this] { return items_.size() >= wake_items_ || urgent_ || left_behind_; };
    if (idle == Idle::wait_for_first) {
      if (items_.empty() && !urgent_) {
        consumer_idle_ = true;
        if (idle_deadline == std::chrono::steady_clock::time_point::max()) {
          ready_.wait(lock, [this] { return !items_.empty() || urgent_; });
        } else {
          ready_.wait_until(lock, idle_deadline, [this] { return !items_.empty() || urgent_; });
        }
        consumer_idle_ = false;
      }
      if (timeout.count() > 0 && !items_.empty() && !ready()) {
        consumer_waiting_ = true;
        ready_.wait_until(lock, oldest_arrived_ + timeout, ready);
        consumer_waiting_ = false;
      }
    } else if (timeout.count() > 0 && !ready()) {
      consumer_waiting_ = true;
      ready_.wait_for(lock, timeout, ready);
      consumer_waiting_ = false;
    }
    urgent_ = false;
    std::size_t moved = 0;
    std::size_t moved_bytes = 0;
    while (moved < max_items && moved_bytes < max_bytes && !items_.empty()) {
      const std::size_t weight = Weigh()(items_.front());
      bytes_ -= weight;
      moved_bytes += weight;
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++moved;
    }
    left_behind_ = !items_.empty();  // only max_items or max_bytes stops the loop short
    return moved;
  }

  // Items waiting now (a snapshot; may be stale by the time it is used). Any thread.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

  // The weights of the items waiting now (a snapshot, as size()). Any thread.
  std::size_t bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

  std::size_t capacity() const { return capacity_; }
  std::size_t max_bytes() const { return max_bytes_; }

 private:
  // With mutex_ held: whether an item of `weight` does not fit now.
  bool full_for(std::size_t weight) const noexcept {
    return items_.size() >= capacity_ || (!items_.empty() && weight > max_bytes_ - std::min(bytes_, max_bytes_));
  }

  // Called with mutex_ held before an item goes in: an item entering an empty
  // queue starts the linger (one clock reading per idle-to-busy change).
  void note_first_arrival() {
    if (items_.empty()) oldest_arrived_ = std::chrono::steady_clock::now();
  }

  // Wakes the consumer if it is waiting, after unlocking `lock` (mutex_): woken
  // under the lock, it would only sleep again on the mutex, a second wake-up.
  // It happens only when the consumer sleeps, so the busy path costs one
  // uncontended lock. (The queue must outlive every call, as for any member
  // function: the owner joins both threads before destroying it.)
  void notify_if_waiting(std::unique_lock<std::mutex>& lock, bool urgent) {
    urgent_ = urgent_ || urgent;
    const bool wake =
        (consumer_waiting_ && (urgent_ || items_.size() >= wake_items_)) || (consumer_idle_ && !items_.empty());
    lock.unlock();
    if (wake) ready_.notify_one();
  }

  const std::size_t capacity_;
  const std::size_t wake_items_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<T> items_;            // guarded by mutex_
  std::size_t bytes_ = 0;          // Weigh of items_; guarded by mutex_
  bool consumer_waiting_ = false;  // lingering for wake_items; guarded by mutex_
  bool consumer_idle_ = false;     // asleep until the first item; guarded by mutex_
  bool urgent_ = false;            // an urgent item arrived since the last pop; guarded by mutex_
  bool left_behind_ = false;       // the last pop stopped at max_items; guarded by mutex_
  std::chrono::steady_clock::time_point oldest_arrived_;  // when the oldest waiting item came; guarded by mutex_
};

}  // namespace cantina::logging
