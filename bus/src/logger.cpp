#include "cantina/bus/logger.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <random>
#include <stdexcept>
#include <system_error>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"

namespace cantina::bus {

namespace {

// "name:tid" of the calling thread, computed once per thread and shared with
// the slots (it may outlive the thread).
const std::shared_ptr<const std::string>& current_thread_label() {
  thread_local const std::shared_ptr<const std::string> label = [] {
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return std::make_shared<const std::string>(std::string(name) + ":" +
                                               std::to_string(static_cast<long>(syscall(SYS_gettid))));
  }();
  return label;
}

std::uint64_t random_publisher_id() {
  std::random_device device;
  std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return id == 0 ? 1 : id;
}

}  // namespace

LoggerOptions logger_options(const BusConfig& bus, std::string service) {
  LoggerOptions options;
  options.service = std::move(service);
  options.publish_endpoint = bus.publish_endpoint;
  options.subscribe_endpoint = bus.subscribe_endpoint;
  options.queue_capacity = bus.logger_queue;
  options.hold_until_subscribed = std::chrono::milliseconds(bus.logger_hold_ms);
  options.batch_linger = std::chrono::milliseconds(bus.logger_linger_ms);
  options.batch_linger_unwatched = std::chrono::milliseconds(bus.logger_linger_unwatched_ms);
  options.curve = bus.curve;
  return options;
}

Logger::Logger(zmq::context_t& context, LoggerOptions options)
    : options_(std::move(options)),
      context_(context),
      publisher_id_(random_publisher_id()),
      level_(static_cast<int>(options_.level)) {
  if (!topics::is_valid_service_id(options_.service)) {
    throw std::invalid_argument("invalid service id '" + options_.service +
                                "': use 1 to 128 letters, digits, '_', '-' or '.'");
  }
  if (options_.publish_endpoint.empty()) throw std::invalid_argument("Logger needs a publish endpoint");
  if (options_.logger_name.empty()) options_.logger_name = options_.service;
  options_.queue_capacity = std::max<std::size_t>(options_.queue_capacity, 1);
  queue_.resize(std::min<std::size_t>(options_.queue_capacity, 1024));
  // Create the sockets here so that a bad endpoint throws in the caller's thread;
  // they move to the background thread, which alone uses them from then on.
  auto publisher = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::xpub);
  publisher->set(zmq::sockopt::sndhwm, kDefaultHighWaterMark);
  publisher->set(zmq::sockopt::linger, static_cast<int>(options_.shutdown_timeout.count()));
  secure_client_socket(*publisher, options_.curve);
  publisher->connect(options_.publish_endpoint);
  idle_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (idle_fd_ < 0) throw std::system_error(errno, std::generic_category(), "Logger: eventfd");
  std::unique_ptr<Subscriber> control;
  if (!options_.subscribe_endpoint.empty()) {
    control = std::make_unique<Subscriber>(context_, options_.subscribe_endpoint,
                                           std::vector<std::string>{topics::set_log_level_topic(options_.service)},
                                           1000, options_.curve);
  }
  thread_ = std::thread([this, publisher = std::move(publisher), control = std::move(control)]() mutable {
    pthread_setname_np(pthread_self(), "cantina-logger");  // as top -H and /proc show it
    run_with(*publisher, control.get());
  });
}

Logger::~Logger() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  poke_idle();
  if (thread_.joinable()) thread_.join();
  if (idle_fd_ >= 0) ::close(idle_fd_);
}

void Logger::poke_idle() noexcept {
  const std::uint64_t one = 1;
  // The counter cannot overflow in practice; a failed write leaves the 1 s safety timeout.
  [[maybe_unused]] const ssize_t written = ::write(idle_fd_, &one, sizeof one);
}

void Logger::wait_idle(zmq::socket_t& publisher, Subscriber* control, int timeout_ms) {
  // ZMQ_FD is readable while the socket has commands to process; both sockets were
  // read until empty just before (read_subscriptions, apply_control), so anything
  // that arrives from now on makes it readable.
  std::array<pollfd, 3> fds{};
  fds[0] = {idle_fd_, POLLIN, 0};
  fds[1] = {publisher.get(zmq::sockopt::fd), POLLIN, 0};
  nfds_t count = 2;
  if (control != nullptr) fds[count++] = {control->socket().get(zmq::sockopt::fd), POLLIN, 0};
  if (::poll(fds.data(), count, timeout_ms) < 0 && errno != EINTR) {
    throw std::system_error(errno, std::generic_category(), "Logger: poll");
  }
  std::uint64_t pokes = 0;
  [[maybe_unused]] const ssize_t got = ::read(idle_fd_, &pokes, sizeof pokes);  // EAGAIN if none
}

std::string& Logger::format_buffer() {
  thread_local std::string buffer;
  return buffer;
}

std::int64_t Logger::now_ns_() {
  return now_ns();
}

void Logger::log(Level level, std::string message, std::source_location where) {
  if (!enabled(level)) return;
  enqueue(now_ns(), level, message, where.file_name(), where.line(), where.function_name(), nullptr);
}

bool Logger::log(Level level, std::string message, RecordDetails details) {
  if (!enabled(level)) return false;
  const std::int64_t timestamp = details.timestamp_ns != 0 ? details.timestamp_ns : now_ns();
  const std::uint32_t line = details.line;
  return enqueue(timestamp, level, message, "", line, "", std::make_unique<RecordDetails>(std::move(details)));
}

bool Logger::enqueue(std::int64_t timestamp_ns, Level level, std::string_view message, const char* file,
                     std::uint32_t line, const char* function, std::unique_ptr<RecordDetails> details) {
  const std::shared_ptr<const std::string>& thread = current_thread_label();
  bool wake = false;
  bool poke = false;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t sequence = next_sequence_++;
    if (queued_ >= options_.queue_capacity || stopping_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (queued_ == queue_.size()) {
      queue_.resize(std::min(std::max<std::size_t>(64, queue_.size() * 2), options_.queue_capacity));
    }
    Pending& slot = queue_[queued_++];
    slot.timestamp_ns = timestamp_ns;
    slot.level = level;
    slot.sequence = sequence;
    slot.message.assign(message);
    slot.file = file;
    slot.line = line;
    slot.function = function;
    slot.thread = thread;
    slot.details = std::move(details);
    // Wake the thread for the first record it will see (it then lingers for more),
    // a full batch, or a record that must go at once.
    const bool urgent = level >= Level::error;
    urgent_ = urgent_ || urgent;
    wake = sleeping_ && (queued_ == 1 || queued_ == kWakeRecords || urgent);
    poke = idle_ && queued_ == 1;
  }
  logged_.fetch_add(1, std::memory_order_relaxed);
  if (wake) wake_.notify_one();
  if (poke) poke_idle();
  return true;
}

Logger::Line::Line(Line&& other) noexcept
    : logger_(other.logger_), level_(other.level_), where_(other.where_), stream_(std::move(other.stream_)) {
  other.logger_ = nullptr;
}

Logger::Line::~Line() {
  if (logger_ != nullptr) logger_->log(level_, stream_.str(), where_);
}

Logger::Line Logger::stream(Level level, std::source_location where) {
  return Line(enabled(level) ? this : nullptr, level, where);
}

bool Logger::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  urgent_ = true;
  wake_.notify_one();
  if (idle_) poke_idle();
  return drained_.wait_for(lock, timeout, [this] { return queued_ == 0 && in_flight_ == 0; });
}

Logger::Counters Logger::counters() const noexcept {
  return {logged_.load(std::memory_order_relaxed), published_.load(std::memory_order_relaxed),
          dropped_.load(std::memory_order_relaxed)};
}

void Logger::apply_control(Subscriber& control, zmq::socket_t& publisher) {
  while (auto message = control.receive(std::chrono::milliseconds(0))) {
    auto request = decode_set_log_level(message->bytes());
    if (!request || request.value->service != options_.service) continue;
    if (request.value->request_id == last_request_id_ && request.value->request_id != 0) continue;  // a resend
    last_request_id_ = request.value->request_id;
    const Level previous = level();
    set_level(request.value->level);
    LogLevelChanged change{options_.service, request.value->level, previous, request.value->request_id,
                           static_cast<std::uint32_t>(getpid())};
    std::string topic = topics::log_level_changed_topic(options_.service);
    std::string payload = encode(change);
    publisher.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    publisher.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    log(Level::info, "log level changed from " + std::string(to_string(previous)) + " to " +
                         std::string(to_string(request.value->level)) + " by request " +
                         std::to_string(request.value->request_id));
  }
}

void Logger::run_with(zmq::socket_t& publisher, Subscriber* control) {
  // The longest an idle Logger sleeps without cause (a safety net: records, control
  // requests and subscription changes wake it at once).
  constexpr std::chrono::milliseconds kIdleWakeup{1000};
  const std::string topic = topics::log_batch_topic(options_.service);
  const std::uint32_t pid = static_cast<std::uint32_t>(getpid());
  SubscriptionTracker subscriptions;
  bool subscribed = false;
  bool watched = false;  // someone shows records live: linger less
  auto read_subscriptions = [&] {
    subscriptions.read(publisher);
    subscribed = subscriptions.covers(topic);
    watched = subscriptions.covers(topics::kWatching);
  };
  const std::int64_t hold_deadline = monotonic_ns() + options_.hold_until_subscribed.count() * 1'000'000;
  const std::int64_t watched_linger_ns = options_.batch_linger.count() * 1'000'000;
  const std::int64_t unwatched_linger_ns = options_.batch_linger_unwatched.count() * 1'000'000;
  std::vector<Pending> batch;  // swapped with queue_: slots travel back and forth
  std::size_t batch_size = 0;
  std::uint64_t batch_last_sequence = 0;  // highest sequence used when the batch was taken
  std::vector<LogRecordView> views;
  LogBatchEncoder encoder;
  std::string payload;
  std::uint64_t stated_sequence = 0;  // last sequence number stated on the bus
  std::int64_t next_heartbeat_ns = 0;
  bool unstated = false;        // published since the last sequence heartbeat
  std::uint64_t last_used = 0;  // highest sequence number assigned, as last seen

  // Stated once per batch; records leave these fields empty (or carry their own logger).
  const LogBatchShared shared{options_.service, host_name(), options_.logger_name, pid};

  // Sends views[...] as one batch; counts its records as published or dropped.
  auto send_batch = [&](std::uint64_t last_sequence) {
    encoder.encode(views, publisher_id_, last_sequence, payload, shared);
    const bool sent = publisher.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                      publisher.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    if (sent && subscribed) {
      published_.fetch_add(views.size(), std::memory_order_relaxed);
      if (last_sequence != 0) stated_sequence = last_sequence;
    } else {
      dropped_.fetch_add(views.size(), std::memory_order_relaxed);  // no subscriber or queue full: the gap shows
    }
    views.clear();
  };

  for (;;) {
    read_subscriptions();
    if (control != nullptr) apply_control(*control, publisher);
    const bool holding = !subscribed && monotonic_ns() < hold_deadline;
    const std::int64_t linger_ns = watched ? watched_linger_ns : unwatched_linger_ns;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      if (queued_ == 0 && !stopping_) {
        // Idle: sleep until the first record (or stop, or flush), a control request,
        // a subscription change, or the sequence heartbeat.
        std::int64_t timeout_ms = kIdleWakeup.count();
        if ((unstated || last_used > stated_sequence) && subscribed) {
          timeout_ms = std::clamp<std::int64_t>((next_heartbeat_ns - monotonic_ns()) / 1'000'000 + 1, 0, timeout_ms);
        }
        idle_ = true;
        lock.unlock();
        wait_idle(publisher, control, static_cast<int>(timeout_ms));
        lock.lock();
        idle_ = false;
      }
      if (queued_ > 0 && queued_ < kWakeRecords && !urgent_ && !stopping_ && !holding && linger_ns > 0) {
        // Linger for more records to share the message.
        sleeping_ = true;
        wake_.wait_for(lock, std::chrono::nanoseconds(linger_ns),
                       [this] { return queued_ >= kWakeRecords || urgent_ || stopping_; });
        sleeping_ = false;
      }
      stop = stopping_;
      last_used = next_sequence_ - 1;
      if (!holding || stop) {
        batch.swap(queue_);
        batch_size = queued_;
        batch_last_sequence = last_used;
        queued_ = 0;
        urgent_ = false;
        in_flight_ = batch_size;
      }
    }
    if (holding && !stop) {
      // Wait for the bus to tell us about a subscriber rather than send into the void.
      zmq::pollitem_t items[] = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(10));
      continue;
    }
    if (stop && !subscribed && batch_size > 0) {
      // Last chance at shutdown: give a late subscriber until the deadline.
      const std::int64_t give_up = monotonic_ns() + options_.shutdown_timeout.count() * 1'000'000;
      while (!subscribed && monotonic_ns() < std::min(give_up, hold_deadline)) {
        zmq::pollitem_t items[] = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, std::chrono::milliseconds(10));
        read_subscriptions();
      }
    }
    std::size_t estimated_bytes = 0;
    for (std::size_t i = 0; i < batch_size; ++i) {
      Pending& pending = batch[i];
      LogRecordView& view = views.emplace_back();
      view.timestamp_ns = pending.timestamp_ns;
      view.level = pending.level;
      // service, host and pid are the batch's (`shared`); so is the logger name
      // unless the record brings another one.
      const RecordDetails* details = pending.details.get();
      view.logger = details != nullptr && details->logger != options_.logger_name ? std::string_view(details->logger)
                                                                                  : std::string_view();
      view.message = pending.message;
      view.publisher_id = publisher_id_;
      view.sequence = pending.sequence;
      view.file = details != nullptr ? std::string_view(details->file) : std::string_view(pending.file);
      view.line = pending.line;
      view.function = details != nullptr ? std::string_view(details->function) : std::string_view(pending.function);
      view.thread = details != nullptr && !details->thread.empty() ? std::string_view(details->thread)
                    : pending.thread                               ? std::string_view(*pending.thread)
                                                                   : std::string_view();
      // A record's encoded size: 14 words of struct and pointers, the texts padded.
      estimated_bytes += 112 + 8 * 8 + view.service.size() + view.logger.size() + view.message.size() +
                         view.host.size() + view.file.size() + view.function.size() + view.thread.size();
      if (details != nullptr) {
        view.fields = details->fields;
        for (const auto& [key, value] : details->fields) estimated_bytes += 48 + key.size() + value.size();
      }
      const bool last = i + 1 == batch_size;
      if (last || estimated_bytes >= kMaxBatchBytes) {
        send_batch(last ? batch_last_sequence : 0);
        estimated_bytes = 0;
      }
    }
    for (std::size_t i = 0; i < batch_size; ++i) batch[i].details.reset();
    // Once a second after publishing, and at shutdown, state the last sequence
    // number used: a lost last message, or records dropped after it, show up then.
    // (ZeroMQ and the bus drop at their high-water marks without telling us.)
    const std::int64_t now = monotonic_ns();
    if (batch_size > 0) {
      unstated = true;
      next_heartbeat_ns = now + kSequenceHeartbeat.count() * 1'000'000;
    } else if ((unstated || last_used > stated_sequence) && now >= next_heartbeat_ns && subscribed) {
      send_batch(last_used);
      unstated = false;
    }
    batch_size = 0;
    {
      std::lock_guard lock(mutex_);
      in_flight_ = 0;
      if (stop && queued_ == 0) {
        last_used = next_sequence_ - 1;  // records refused while stopping included
        drained_.notify_all();
        break;
      }
    }
    drained_.notify_all();
  }
  if ((unstated || last_used > stated_sequence) && subscribed) send_batch(last_used);
}

}  // namespace cantina::bus
