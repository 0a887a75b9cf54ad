#include "cantina/bus/logger.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <stdexcept>
#include <system_error>

#include "cantina/bus/clock.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "logger_sender.h"

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
  options.max_record_bytes = bus.max_record_bytes;
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
  options_.max_record_bytes = std::clamp(options_.max_record_bytes, kMinRecordBytesSetting, kMaxRecordBytesSetting);
  queue_.resize(std::min<std::size_t>(options_.queue_capacity, 1024));
  tally_ =
      std::make_unique<PublisherTally>(tally_directory(options_.publish_endpoint), options_.service, publisher_id_);
  // Create the sockets here so that a bad endpoint throws in the caller's thread;
  // they move to the background thread, which alone uses them from then on.
  zmq::socket_t publisher(context_, zmq::socket_type::xpub);
  publisher.set(zmq::sockopt::sndhwm, kDefaultHighWaterMark);
  publisher.set(zmq::sockopt::linger, static_cast<int>(options_.shutdown_timeout.count()));
  secure_client_socket(publisher, options_.curve);
  publisher.connect(options_.publish_endpoint);
  idle_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (idle_fd_ < 0) throw std::system_error(errno, std::generic_category(), "Logger: eventfd");
  std::unique_ptr<Subscriber> control;
  std::string receipt_topic;  // known only to this Logger: what comes back on it is its own receipt
  if (!options_.subscribe_endpoint.empty()) {
    receipt_topic = topics::receipt_topic(random_publisher_id());
    control = std::make_unique<Subscriber>(
        context_, options_.subscribe_endpoint,
        std::vector<std::string>{topics::set_log_level_topic(options_.service), receipt_topic}, 1000, options_.curve);
  }
  thread_ = std::thread([this, publisher = std::move(publisher), control = std::move(control),
                         receipt_topic = std::move(receipt_topic)]() mutable {
    pthread_setname_np(pthread_self(), "cantina-logger");  // as top -H and /proc show it
    Sender(*this, std::move(publisher), std::move(control), std::move(receipt_topic)).run();
  });
  if (!tally_->error().empty()) {
    warning(
        "cannot keep this process's sequence tally ({}): records it still holds if it is killed "
        "will not be counted as lost",
        tally_->error());
  }
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

fmt::memory_buffer& Logger::format_buffer() {
  thread_local fmt::memory_buffer buffer;
  return buffer;
}

void Logger::enqueue_formatted(Level level, fmt::memory_buffer& message, const std::source_location& where) {
  enqueue(now_ns(), level, std::string_view(message.data(), message.size()), where.file_name(), where.line(),
          where.function_name(), nullptr);
  if (message.capacity() > kFormatBufferKeepBytes) message = fmt::memory_buffer();  // one huge message: give it back
}

void Logger::log(Level level, std::string message, std::source_location where) {
  if (!enabled(level)) return;
  enqueue(now_ns(), level, message, where.file_name(), where.line(), where.function_name(), nullptr);
}

bool Logger::log(Level level, std::string_view message, const RecordDetails& details) {
  if (!enabled(level)) return false;
  std::vector<FieldView> fields(details.fields.begin(), details.fields.end());
  const RecordDetailsView view{details.logger, details.file,         details.line, details.function,
                               details.thread, details.timestamp_ns, fields};
  return log(level, message, view);
}

bool Logger::log(Level level, std::string_view message, const RecordDetailsView& details) {
  if (!enabled(level)) return false;
  const std::int64_t timestamp = details.timestamp_ns != 0 ? details.timestamp_ns : now_ns();
  return enqueue(timestamp, level, message, "", details.line, "", &details);
}

namespace {

// A slot's details from `view`, cut to the caps of limits.h.
void fill_details(RecordDetails& out, const RecordDetailsView& view) {
  assign_capped(out.logger, view.logger, kMaxNameBytes);
  assign_capped(out.file, view.file, kMaxNameBytes);
  assign_capped(out.function, view.function, kMaxNameBytes);
  assign_capped(out.thread, view.thread, kMaxNameBytes);
  out.line = view.line;
  out.timestamp_ns = view.timestamp_ns;
  // The fields cap_fields would keep (the cut ones are never copied whole), then
  // its marker for the rest.
  std::size_t used = 0;
  std::size_t kept = 0;
  for (const auto& [key, value] : view.fields) {
    const std::size_t bytes = capped_size(key, kMaxNameBytes) + capped_size(value, kMaxFieldValueBytes);
    if (!field_fits(kept, used, bytes)) break;
    used += bytes;
    ++kept;
  }
  out.fields.resize(kept);
  for (std::size_t i = 0; i < kept; ++i) {
    assign_capped(out.fields[i].first, view.fields[i].first, kMaxNameBytes);
    assign_capped(out.fields[i].second, view.fields[i].second, kMaxFieldValueBytes);
  }
  if (kept < view.fields.size()) out.fields.push_back(dropped_fields_marker(view.fields.size() - kept));
}

}  // namespace

bool Logger::enqueue(std::int64_t timestamp_ns, Level level, std::string_view message, const char* file,
                     std::uint32_t line, const char* function, const RecordDetailsView* details) {
  const std::shared_ptr<const std::string>& thread = current_thread_label();
  // A message over the cap keeps its head and says how much was cut.
  const std::size_t keep = kept_bytes(message, options_.max_record_bytes);
  const std::string marker = keep < message.size() ? truncation_marker(message.size() - keep) : std::string();
  bool wake = false;
  bool poke = false;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t sequence = next_sequence_++;
    tally_->note(sequence);  // spent even if the record is dropped below: the node counts it
    if (queued_ >= options_.queue_capacity || stopping_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (queued_ == queue_.size()) {
      queue_.resize(std::min(std::max<std::size_t>(64, queue_.size() * 2), options_.queue_capacity));
    }
    Pending& slot = queue_[queued_];
    try {
      slot.message.assign(message.substr(0, keep));
      slot.message += marker;
      slot.has_details = details != nullptr;
      if (details != nullptr) {
        if (!slot.details) slot.details = std::make_unique<RecordDetails>();
        fill_details(*slot.details, *details);
      }
    } catch (const std::bad_alloc&) {
      // Its sequence number is spent: the gap tells the logging node, as for a full queue.
      slot.has_details = false;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++queued_;
    slot.timestamp_ns = timestamp_ns;
    slot.level = level;
    slot.sequence = sequence;
    slot.file = file;
    slot.line = line;
    slot.function = function;
    slot.thread = thread;
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

}  // namespace cantina::bus
