#include "logger_sender.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

#include "cantina/bus/clock.h"
#include "cantina/bus/topics.h"

namespace cantina::bus {

namespace {

// The longest an idle Logger sleeps without cause (a safety net: records, control
// requests and subscription changes wake it at once).
constexpr std::chrono::milliseconds kIdleWakeup{1000};

// The step of the grid a linger ends on (at most the linger itself).
constexpr std::chrono::milliseconds kLingerGrid{200};

// How often a Logger holding records looks for a subscriber.
constexpr std::chrono::milliseconds kHoldPoll{10};

// How long after its start a Logger states the tallies of publishers that had
// ended by then (what they sent has passed the bus long before), and the
// directory entries it reads at most. Longer than busd's sweep and grace, so
// that where busd runs it states them first, with its report of what they never
// sent.
constexpr std::chrono::milliseconds kOrphanGrace{5000};
constexpr std::size_t kMaxOrphanEntries = 1024;

// How often a closing Logger sends its receipt again while it waits for it.
constexpr std::chrono::milliseconds kReceiptResend{100};

// The bytes a record's details keep allocated.
std::size_t details_capacity(const RecordDetails& details) {
  std::size_t bytes = details.logger.capacity() + details.file.capacity() + details.function.capacity() +
                      details.thread.capacity() + details.fields.capacity() * sizeof(Field);
  for (const auto& [key, value] : details.fields) bytes += key.capacity() + value.capacity();
  return bytes;
}

constexpr std::int64_t to_ns(std::chrono::milliseconds duration) {
  return duration.count() * 1'000'000;
}

}  // namespace

Logger::Sender::Sender(Logger& logger, zmq::socket_t publisher, std::unique_ptr<Subscriber> control,
                       std::string receipt_topic)
    : logger_(logger),
      publisher_(std::move(publisher)),
      control_(std::move(control)),
      topic_(topics::log_batch_topic(logger.options_.service)),
      receipt_topic_(std::move(receipt_topic)),
      shared_{logger.options_.service, host_name(), logger.options_.logger_name, static_cast<std::uint32_t>(getpid())},
      hold_deadline_ns_(monotonic_ns() + to_ns(logger.options_.hold_until_subscribed)),
      watched_linger_ns_(to_ns(logger.options_.batch_linger)),
      unwatched_linger_ns_(to_ns(logger.options_.batch_linger_unwatched)) {
  if (logger.tally_->active()) {
    tally_dir_ = logger.tally_->directory();
    orphans_ = scan_tallies(tally_dir_, kMaxOrphanEntries).ended;
    if (!orphans_.empty()) orphans_due_ns_ = monotonic_ns() + to_ns(kOrphanGrace);
  }
}

void Logger::Sender::run() {
  for (;;) {
    read_subscriptions();
    if (control_ != nullptr) apply_control();
    const bool holding = !subscribed_ && monotonic_ns() < hold_deadline_ns_;
    const bool stopping = wait_and_take(holding);
    if (holding && !stopping) {
      // Wait for the bus to tell us about a subscriber rather than send into the void.
      wait_for_subscription_message(kHoldPoll);
      continue;
    }
    if (stopping && !subscribed_ && batch_size_ > 0) wait_for_late_subscriber();
    publish_batch();
    heartbeat(batch_size_ > 0);
    state_orphans();
    if (finish_round(stopping)) break;
  }
  // The last number, which alone shows what was dropped for want of a subscriber.
  if (sequence_unstated() && !subscribed_) wait_for_late_subscriber();
  if (sequence_unstated() && subscribed_) send_views(last_used_sequence_);
  const bool sent_any = stated_sequence_ != 0 || logger_.published_.load(std::memory_order_relaxed) != 0;
  const bool delivered = sent_any && subscribed_ && wait_for_receipt();
  // The bus has all of it (or nothing was numbered): no tally for busd to state.
  // Otherwise the file stays, and busd states its last number once this
  // process is gone (a node that has everything ignores that).
  std::lock_guard lock(logger_.mutex_);
  if (delivered || logger_.next_sequence_ == 1) logger_.tally_->remove();
}

void Logger::Sender::read_subscriptions() {
  subscriptions_.read(publisher_);
  subscribed_ = subscriptions_.covers(topic_);
  ever_subscribed_ = ever_subscribed_ || subscribed_;
  watched_ = subscriptions_.covers(topics::kWatching);
}

void Logger::Sender::apply_control() {
  const std::string& service = logger_.options_.service;
  while (auto message = control_->receive(std::chrono::milliseconds(0))) {
    auto request = decode_set_log_level(message->bytes());
    if (!request || request.value->service != service) continue;
    if (request.value->request_id == last_request_id_ && request.value->request_id != 0) continue;  // a resend
    last_request_id_ = request.value->request_id;
    const Level previous = logger_.level();
    logger_.set_level(request.value->level);
    LogLevelChanged change{
        service, request.value->level, previous, request.value->request_id, static_cast<std::uint32_t>(getpid()),
        false};
    std::string topic = topics::log_level_changed_topic(service);
    std::string payload = encode(change);
    publisher_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    publisher_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    // The requester as it states itself (cantina-cli level fills these in).
    const SetLogLevel& asked = *request.value;
    std::string by = asked.tool.empty() ? std::string("an unnamed requester") : asked.tool.substr(0, 64);
    if (asked.pid != 0) by += " (pid " + std::to_string(asked.pid);
    if (!asked.host.empty()) by += (asked.pid != 0 ? " on host " : " (host ") + asked.host.substr(0, 64);
    if (asked.pid != 0 || !asked.host.empty()) by += ')';
    logger_.log(Level::info, "log level changed from " + std::string(to_string(previous)) + " to " +
                                 std::string(to_string(asked.level)) + " by " + by);
  }
}

bool Logger::Sender::wait_and_take(bool holding) {
  std::unique_lock lock(logger_.mutex_);
  if (logger_.queued_ == 0 && !logger_.stopping_) sleep_while_idle(lock);
  const std::int64_t linger_ns = watched_ ? watched_linger_ns_ : unwatched_linger_ns_;
  if (logger_.queued_ > 0 && logger_.queued_ < kWakeRecords && !logger_.urgent_ && !logger_.stopping_ && !holding &&
      linger_ns > 0) {
    linger(lock, linger_ns);
  }
  const bool stopping = logger_.stopping_;
  last_used_sequence_ = logger_.next_sequence_ - 1;
  if (!holding || stopping) take_batch();
  return stopping;
}

void Logger::Sender::sleep_while_idle(std::unique_lock<std::mutex>& lock) {
  std::int64_t timeout_ms = kIdleWakeup.count();
  if (sequence_unstated() && subscribed_) {
    timeout_ms = std::clamp<std::int64_t>((next_heartbeat_ns_ - monotonic_ns()) / 1'000'000 + 1, 0, timeout_ms);
  }
  logger_.idle_ = true;
  lock.unlock();
  wait_idle(static_cast<int>(timeout_ms));
  lock.lock();
  logger_.idle_ = false;
}

void Logger::Sender::wait_idle(int timeout_ms) {
  // ZMQ_FD is readable while the socket has commands to process; both sockets were
  // read until empty just before (read_subscriptions, apply_control), so anything
  // that arrives from now on makes it readable.
  std::array<pollfd, 3> fds{};
  fds[0] = {logger_.idle_fd_, POLLIN, 0};
  fds[1] = {publisher_.get(zmq::sockopt::fd), POLLIN, 0};
  nfds_t count = 2;
  if (control_ != nullptr) fds[count++] = {control_->socket().get(zmq::sockopt::fd), POLLIN, 0};
  if (::poll(fds.data(), count, timeout_ms) < 0 && errno != EINTR) {
    throw std::system_error(errno, std::generic_category(), "Logger: poll");
  }
  std::uint64_t pokes = 0;
  [[maybe_unused]] const ssize_t got = ::read(logger_.idle_fd_, &pokes, sizeof pokes);  // EAGAIN if none
}

void Logger::Sender::linger(std::unique_lock<std::mutex>& lock, std::int64_t linger_ns) {
  logger_.sleeping_ = true;
  // The linger ends on a grid of CLOCK_MONOTONIC (steady_clock), the same for every
  // process of the host: the services' messages reach the bus and the logging node
  // together, in one wake-up of theirs per grid step, not one per service. A record
  // waits at most linger_ns, and at least linger_ns minus the step.
  const std::int64_t step = std::min(linger_ns, to_ns(kLingerGrid));
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const std::int64_t until = (now + linger_ns) / step * step;
  logger_.wake_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until)),
                           [this] { return logger_.queued_ >= kWakeRecords || logger_.urgent_ || logger_.stopping_; });
  logger_.sleeping_ = false;
}

void Logger::Sender::take_batch() {
  batch_.swap(logger_.queue_);
  batch_size_ = logger_.queued_;
  batch_urgent_ = logger_.urgent_ && batch_size_ > 0;
  batch_last_sequence_ = last_used_sequence_;
  logger_.queued_ = 0;
  logger_.urgent_ = false;
  logger_.in_flight_ = batch_size_;
}

void Logger::Sender::wait_for_subscription_message(std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[] = {{publisher_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, timeout);
}

void Logger::Sender::wait_for_late_subscriber() {
  // One shutdown_timeout in all: the last batch, the last number and the receipt share it.
  start_shutdown_clock();
  const std::int64_t give_up = ever_subscribed_ ? late_give_up_ns_ : std::min(late_give_up_ns_, hold_deadline_ns_);
  while (!subscribed_ && monotonic_ns() < give_up) {
    wait_for_subscription_message(kHoldPoll);
    read_subscriptions();
  }
}

void Logger::Sender::start_shutdown_clock() {
  if (late_give_up_ns_ == 0) late_give_up_ns_ = monotonic_ns() + to_ns(logger_.options_.shutdown_timeout);
}

bool Logger::Sender::wait_for_receipt() {
  if (control_ == nullptr) return false;
  start_shutdown_clock();
  std::int64_t next_send_ns = 0;
  for (std::int64_t now = monotonic_ns(); now < late_give_up_ns_; now = monotonic_ns()) {
    if (now >= next_send_ns) {
      // Sent again now and then: the first may reach the bus before the control
      // socket's subscription does.
      (void)(publisher_.send(zmq::buffer(receipt_topic_), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
             publisher_.send(zmq::const_buffer(), zmq::send_flags::dontwait));
      next_send_ns = now + to_ns(kReceiptResend);
    }
    const std::int64_t wait_ns = std::min(next_send_ns, late_give_up_ns_) - now;
    auto message = control_->receive(std::chrono::milliseconds(wait_ns / 1'000'000 + 1));
    if (message && message->topic == receipt_topic_) return true;  // level requests are too late now
  }
  return false;
}

void Logger::Sender::publish_batch() {
  std::size_t estimated_bytes = 0;
  for (std::size_t i = 0; i < batch_size_; ++i) {
    estimated_bytes += add_view(batch_[i]);
    const bool last = i + 1 == batch_size_;
    if (last || estimated_bytes >= kMaxBatchBytes) {
      send_views(last ? batch_last_sequence_ : 0);
      estimated_bytes = 0;
    }
  }
  if (batch_urgent_ && subscribed_) {
    // Tells the logging node not to wait (topics::kUrgent); it follows the records.
    (void)(publisher_.send(zmq::buffer(topics::kUrgent), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
           publisher_.send(zmq::const_buffer(), zmq::send_flags::dontwait));
  }
  batch_urgent_ = false;
  for (std::size_t i = 0; i < batch_size_; ++i) {
    Pending& pending = batch_[i];
    pending.has_details = false;
    // Its details stay for the slot's next record with details, unless they hold much
    // or the slot is one that only bursts reach (what it keeps would stay for good).
    if (pending.details && (i >= kKeepDetailsSlots || details_capacity(*pending.details) > kKeepDetailsBytes)) {
      pending.details.reset();
    }
    // A slot that held a huge message gives the memory back rather than keep it.
    if (batch_[i].message.capacity() > kFormatBufferKeepBytes) std::string().swap(batch_[i].message);
  }
}

std::size_t Logger::Sender::add_view(const Pending& pending) {
  LogRecordView& view = views_.emplace_back();
  view.timestamp_ns = pending.timestamp_ns;
  view.level = pending.level;
  // service, host and pid are the batch's (shared_); so is the logger name unless
  // the record brings another one.
  const RecordDetails* details = pending.has_details ? pending.details.get() : nullptr;
  view.logger = details != nullptr && details->logger != logger_.options_.logger_name
                    ? std::string_view(details->logger)
                    : std::string_view();
  view.message = pending.message;
  view.publisher_id = logger_.publisher_id_;
  view.sequence = pending.sequence;
  view.file = details != nullptr ? std::string_view(details->file) : std::string_view(pending.file);
  view.line = pending.line;
  view.function = details != nullptr ? std::string_view(details->function) : std::string_view(pending.function);
  view.thread = details != nullptr && !details->thread.empty() ? std::string_view(details->thread)
                : pending.thread                               ? std::string_view(*pending.thread)
                                                               : std::string_view();
  // A record's encoded size: 14 words of struct and pointers, the texts padded.
  std::size_t estimated_bytes = 112 + 8 * 8 + view.service.size() + view.logger.size() + view.message.size() +
                                view.host.size() + view.file.size() + view.function.size() + view.thread.size();
  if (details != nullptr) {
    view.fields = details->fields;
    for (const auto& [key, value] : details->fields) estimated_bytes += 48 + key.size() + value.size();
  }
  return estimated_bytes;
}

void Logger::Sender::send_views(std::uint64_t last_sequence) {
  encoder_.encode(views_, logger_.publisher_id_, last_sequence, payload_, shared_);
  const bool sent = publisher_.send(zmq::buffer(topic_), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                    publisher_.send(zmq::buffer(payload_), zmq::send_flags::dontwait);
  if (sent && subscribed_) {
    logger_.published_.fetch_add(views_.size(), std::memory_order_relaxed);
    if (last_sequence != 0) stated_sequence_ = last_sequence;
  } else {
    logger_.dropped_.fetch_add(views_.size(), std::memory_order_relaxed);  // no subscriber or queue full: the gap shows
  }
  views_.clear();
}

void Logger::Sender::heartbeat(bool published) {
  // Once a second after publishing, and at shutdown, state the last sequence
  // number used: a lost last message, or records dropped after it, show up then.
  // (ZeroMQ and the bus drop at their high-water marks without telling us.)
  const std::int64_t now = monotonic_ns();
  if (published) {
    published_since_stated_ = true;
    next_heartbeat_ns_ = now + to_ns(kSequenceHeartbeat);
  } else if (sequence_unstated() && now >= next_heartbeat_ns_ && subscribed_) {
    send_views(last_used_sequence_);
    published_since_stated_ = false;
  }
}

void Logger::Sender::state_orphans() {
  if (orphans_due_ns_ == 0 || !subscribed_ || monotonic_ns() < orphans_due_ns_) return;
  orphans_due_ns_ = 0;
  for (const EndedPublisher& ended : scan_tallies(tally_dir_, kMaxOrphanEntries).ended) {
    const bool ended_at_start = std::any_of(orphans_.begin(), orphans_.end(), [&](const EndedPublisher& orphan) {
      return orphan.path == ended.path && orphan.pid == ended.pid;
    });
    if (!ended_at_start || ended.last_sequence == 0) continue;
    encoder_.encode({}, ended.publisher_id, ended.last_sequence, orphan_payload_,
                    LogBatchShared{ended.service, {}, {}, 0});
    const std::string topic = topics::log_batch_topic(ended.service);
    if (publisher_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        publisher_.send(zmq::buffer(orphan_payload_), zmq::send_flags::dontwait)) {
      (void)::unlink(ended.path.c_str());
    }
  }
  orphans_.clear();
  orphans_.shrink_to_fit();
}

bool Logger::Sender::finish_round(bool stopping) {
  batch_size_ = 0;
  {
    std::lock_guard lock(logger_.mutex_);
    logger_.in_flight_ = 0;
    if (stopping && logger_.queued_ == 0) {
      last_used_sequence_ = logger_.next_sequence_ - 1;  // records refused while stopping included
      logger_.drained_.notify_all();
      return true;
    }
  }
  logger_.drained_.notify_all();
  return false;
}

}  // namespace cantina::bus
