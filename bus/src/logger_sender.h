// Logger::Sender: the body of a Logger's background thread ("cantina-logger").
// Private to the bus library (logger.cpp starts it); logger.h's comment tells
// what it does for a service, this file how.
//
// One round of run():
//   1. read the bus's subscription changes (a subscriber to the log topic? someone
//      watching live?) and apply level-change requests;
//   2. wait: with nothing queued, sleep in poll(2) (wait_idle); with records
//      queued, linger for more (linger); then take the queue (take_batch), unless
//      records are held until a subscriber is known (wait_for_subscriber);
//   3. publish what was taken in messages of at most kMaxBatchBytes (publish_batch);
//   4. state the last sequence number when due (heartbeat);
//   5. once, kOrphanGrace after start: state the last numbers of the tallies of
//      this bus's other publishers that had ended when it started and are still
//      there (state_orphans; tally.h), for the hosts where no busd reads them.
// It ends once the Logger stops and the queue is drained, stating the last
// sequence number one more time and, if it had a subscriber, waiting for its
// receipt to come back through the bus.
//
// What the thread shares with the callers (the queue, the sequence counter, the
// flags under Logger::mutex_) stays in Logger; everything here is the thread's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/tally.h"

namespace cantina::bus {

class Logger::Sender {
 public:
  // `publisher`: an XPUB socket connected to the bus; `control`: a subscriber to
  // the Logger's level-change topic and to `receipt_topic`, or null. Both belong
  // to this thread from now on.
  Sender(Logger& logger, zmq::socket_t publisher, std::unique_ptr<Subscriber> control, std::string receipt_topic);

  // Runs until the Logger stops and its queue is drained (or the shutdown
  // timeout gives up on a subscriber).
  void run();

 private:
  // Reads the subscription messages waiting on the XPUB: subscribed_, watched_.
  void read_subscriptions();
  // Applies the level-change requests waiting on the control socket and answers each.
  void apply_control();

  // Waits as the queue requires, then takes it into batch_ unless `holding`
  // (records wait for a subscriber). Returns true if the Logger is stopping.
  bool wait_and_take(bool holding);
  // Nothing queued: sleeps in wait_idle until a record, a request, a subscription
  // change or the heartbeat is due (at most kIdleWakeup).
  void sleep_while_idle(std::unique_lock<std::mutex>& lock);
  // Sleeps in poll(2) on the eventfd (a record, flush(), stop), the XPUB socket and
  // the control socket, for at most `timeout_ms`.
  void wait_idle(int timeout_ms);
  // Records queued: waits up to `linger_ns` for kWakeRecords of them, an urgent
  // record, flush() or stop.
  void linger(std::unique_lock<std::mutex>& lock, std::int64_t linger_ns);
  // Swaps the queue with batch_ (slots travel back and forth); mutex_ held.
  void take_batch();
  // Waits up to `timeout` for a message on the XPUB socket (a subscription change).
  void wait_for_subscription_message(std::chrono::milliseconds timeout);
  // At shutdown with something to send and no subscriber: gives a late one until
  // the shutdown timeout (counted from the first call) ends; and, unless there was a subscriber before (every
  // one gone a moment, as when the bus disconnects stalled ones: they come back),
  // until the start-up hold ends.
  void wait_for_late_subscriber();
  // At shutdown, after the last message: sends the receipt until it comes back
  // on the control socket (the bus has everything before it) or the shutdown
  // timeout ends. Closing before could lose what the kernel still holds.
  // True if it came back.
  bool wait_for_receipt();
  // Starts the one shutdown_timeout that every wait at shutdown shares, unless started.
  void start_shutdown_clock();

  // Publishes batch_ in messages of at most kMaxBatchBytes, the last stating
  // batch_last_sequence_, and empties its slots' details.
  void publish_batch();
  // Appends the view of `pending` to views_; returns its estimated encoded bytes.
  std::size_t add_view(const Pending& pending);
  // Sends views_ as one message stating `last_sequence` (0: not stated); counts
  // its records as published or dropped.
  void send_views(std::uint64_t last_sequence);
  // After publishing, schedules the next statement of the last sequence number;
  // without, states it if it is due.
  void heartbeat(bool published);
  // Records were taken or numbers used since the last sequence number stated.
  bool sequence_unstated() const noexcept { return published_since_stated_ || last_used_sequence_ > stated_sequence_; }
  // Once subscribed and kOrphanGrace after start: states the last number of each
  // tally that had ended at start and still has, then removes it (a node that
  // has them all ignores it; busd may state the same number: no harm).
  void state_orphans();
  // Ends a round: nothing in flight. True if the thread is done (stopping and drained).
  bool finish_round(bool stopping);

  Logger& logger_;
  zmq::socket_t publisher_;
  std::unique_ptr<Subscriber> control_;  // null: no runtime control

  const std::string topic_;                 // /log/<service>/batch
  const std::string receipt_topic_;         // topics::kReceiptPrefix + this Logger's token
  const LogBatchShared shared_;             // stated once per message: service, host, logger, pid
  const std::int64_t hold_deadline_ns_;     // monotonic; records are held until then at most
  const std::int64_t watched_linger_ns_;    // options.batch_linger
  const std::int64_t unwatched_linger_ns_;  // options.batch_linger_unwatched

  SubscriptionTracker subscriptions_;
  bool subscribed_ = false;           // a subscriber to topic_ is known to the bus
  bool ever_subscribed_ = false;      // subscribed_ was true once
  std::int64_t late_give_up_ns_ = 0;  // monotonic; shutdown_timeout from the first wait at shutdown
  bool watched_ = false;              // someone shows records live (topics::kWatching): linger less

  std::vector<Pending> batch_;             // swapped with Logger::queue_
  std::size_t batch_size_ = 0;             // slots of batch_ taken, to publish
  bool batch_urgent_ = false;              // the batch holds an ERROR/CRITICAL record or answers flush()
  std::uint64_t batch_last_sequence_ = 0;  // highest sequence used when the batch was taken
  std::vector<LogRecordView> views_;       // the records of the message being built
  LogBatchEncoder encoder_;
  std::string payload_;  // the encoded message, reused

  std::uint64_t stated_sequence_ = 0;     // last sequence number stated on the bus
  std::uint64_t last_used_sequence_ = 0;  // highest sequence number assigned, as last seen
  bool published_since_stated_ = false;   // records taken since the last heartbeat
  std::int64_t next_heartbeat_ns_ = 0;    // monotonic; when to state the last sequence

  std::uint64_t last_request_id_ = 0;  // of the last level change applied (resends are skipped)

  std::filesystem::path tally_dir_;      // this bus's tallies (empty: none kept)
  std::vector<EndedPublisher> orphans_;  // tallies that had ended at start
  std::int64_t orphans_due_ns_ = 0;      // monotonic; 0: nothing to state
  std::string orphan_payload_;
};

}  // namespace cantina::bus
