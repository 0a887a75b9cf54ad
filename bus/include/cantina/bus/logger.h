// The service-side Logger: what a C++ service uses to put log records on the bus.
//
//   zmq::context_t context;
//   cantina::bus::Logger log(context, {.service = "music_controller",
//                                      .publish_endpoint = config.bus.publish_endpoint,
//                                      .subscribe_endpoint = config.bus.subscribe_endpoint});
//   log.info("Playing {} at volume {}, gain {:+.1f} dB", track, volume, gain);
//   log.stream(cantina::bus::Level::warning) << "buffer underrun #" << count;
//
// Records from elsewhere (another language through the C ABI in c_api.h, lines
// captured from a program's output) carry their own logger name, source
// location, thread, time and fields: log(level, message, RecordDetails{...}), or
// as views of the caller's buffers, copied only into the queue slot:
// log(level, message, RecordDetailsView{...}).
//
// Formats: {fmt} format strings, checked at compile time (format.h).
//
// Threads: any thread may call the logging functions. A call formats the message
// in the caller's thread, assigns the next sequence number and appends the record
// to a bounded in-memory queue; it never touches the network and never waits on it.
// One background thread (Logger::Sender, bus/src/logger_sender.h) owns the sockets:
// it encodes and publishes queued records and applies
// `/control/log_level/<service>` requests.
//
// Batching: the background thread publishes what is queued as LogRecordBatch
// messages on `/log/<service>/batch` (at most kMaxBatchBytes each). It is not woken
// per record: a record that finds the thread idle wakes it, which then lingers up
// to `batch_linger` for more, unless kWakeRecords records are queued, an ERROR or
// CRITICAL record arrives or flush() is called (then it sends at once).
//
// Overflow: when the queue is full the record is dropped and counted; its sequence
// number is used anyway, so the logging node sees the gap and reports the loss.
// The last message of each send states the highest sequence number used so far,
// and so does an empty batch about once a second after new records were published
// (and at shutdown): records lost at the end of a burst, which no later record
// would reveal, are reported too.
//
// Start-up: records are held (up to the queue's capacity, for at most
// `hold_until_subscribed`) until a subscriber to the log topic is known to the bus,
// so that a service logging in its first millisecond loses nothing.
//
// Size: a message longer than `max_record_bytes` is cut at a UTF-8 character
// boundary and ends with "… [truncated N bytes]"; names and fields are capped too
// (limits.h). The record is never dropped for its size.
//
// Shutdown: the destructor publishes what is queued and states the last sequence
// number; a Logger that had a subscriber then waits until its receipt
// (topics::kReceiptPrefix) comes back through the bus, which shows that the bus
// has all of it, before it closes its socket. All this takes at most
// `shutdown_timeout`; then it joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <source_location>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/format.h"
#include "cantina/bus/level.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/tally.h"

namespace cantina::bus {

struct LoggerOptions {
  std::string service;             // service id, e.g. "music_controller"; required
  std::string publish_endpoint;    // the bus's publish endpoint; required
  std::string subscribe_endpoint;  // for control messages; empty = no runtime control
  std::string logger_name;         // logger name inside the service; defaults to service
  Level level = Level::info;       // initial threshold
  std::size_t queue_capacity = 65536;
  std::chrono::milliseconds hold_until_subscribed{2000};
  std::chrono::milliseconds shutdown_timeout{2000};
  // Longest a record waits for others to share its message: batch_linger while
  // someone watches records live (a subscription to topics::kWatching, which the
  // logging node holds while it streams /dashboard/log), else batch_linger_unwatched:
  // fewer, larger messages cost every node less, and only a live view needs haste.
  std::chrono::milliseconds batch_linger{5};
  std::chrono::milliseconds batch_linger_unwatched{1000};
  // A longer message is cut to this many bytes with a visible marker (limits.h),
  // whoever logs it; [bus] max_record_bytes. Kept within kMinRecordBytesSetting
  // and kMaxRecordBytesSetting.
  std::size_t max_record_bytes = kDefaultMaxRecordBytes;
  CurveConfig curve;  // LAN mode: this process's keys and the bus's public key
};

// Options for `service`'s Logger from the [bus] config: endpoints, start-up hold,
// queue capacity, lingers, record size cap and CURVE keys.
LoggerOptions logger_options(const BusConfig& bus, std::string service);

// Records queued that wake the background thread before the linger ends.
inline constexpr std::size_t kWakeRecords = 512;
// How often an idle publisher states its last sequence number after publishing.
inline constexpr std::chrono::milliseconds kSequenceHeartbeat{1000};

// One structured key-value pair of a record ("track" = "cantina_band.mp3").
using Field = std::pair<std::string, std::string>;

// What a record says about itself when it does not come from a C++ call site:
// every string is owned, so the caller's buffers may be reused as soon as
// log() returns. Empty strings and zeros mean "not known" except where noted.
struct RecordDetails {
  std::string logger;             // logger name; empty = LoggerOptions::logger_name
  std::string file;               // source file of the log call
  std::uint32_t line = 0;         // source line, 0 = unknown
  std::string function;           // function that logged
  std::string thread;             // thread name; empty = the calling thread's "name:tid"
  std::int64_t timestamp_ns = 0;  // ns since the Unix epoch, UTC; 0 = now
  std::vector<Field> fields;      // key-value context, in order
};

// One field of a RecordDetailsView.
using FieldView = std::pair<std::string_view, std::string_view>;

// RecordDetails as views of the caller's buffers (the C ABI, the Python handler):
// log() copies them straight into the record's queue slot, whose strings keep
// their capacity from record to record, so a warm Logger allocates nothing for them.
struct RecordDetailsView {
  std::string_view logger;
  std::string_view file;
  std::uint32_t line = 0;
  std::string_view function;
  std::string_view thread;
  std::int64_t timestamp_ns = 0;
  std::span<const FieldView> fields;
};

class Logger {
 public:
  // Connects to the bus; throws zmq::error_t if an endpoint is malformed and
  // std::invalid_argument if the service id is not valid.
  Logger(zmq::context_t& context, LoggerOptions options);
  ~Logger();

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Logs `message` as is (cut to max_record_bytes()). Thread-safe, never blocks
  // on the network.
  void log(Level level, std::string message, std::source_location where = std::source_location::current());

  // Logs `message` as is with run-time details (logger name, source location,
  // thread, time, fields) instead of the C++ call site; the message, the names
  // and the fields are cut to the caps of limits.h. Thread-safe, never blocks on
  // the network. Returns true if the record was queued; false if `level` is below
  // the threshold or the queue was full (then counted in `dropped`).
  bool log(Level level, std::string_view message, const RecordDetails& details);
  // The same from views: nothing is copied but into the queue slot.
  bool log(Level level, std::string_view message, const RecordDetailsView& details);

  // Logs a {fmt}-formatted message (format.h: specs such as "{:.1f}", "{:>8}",
  // "{:x}"; the format string is checked at compile time) if `level` passes the
  // threshold: below it, nothing is formatted. Thread-safe, never blocks on the
  // network; formats into a buffer of the calling thread (no allocation once warm).
  template <class... Args>
  void log_format(Level level, FormatString<Args...> format, const Args&... args) {
    if (!enabled(level)) return;
    fmt::memory_buffer& message = format_buffer();  // this thread's, reused: no allocation once warm
    message.clear();
    detail::format_into(message, format, args...);
    enqueue_formatted(level, message, format.location);
  }

  template <class... Args>
  void debug(FormatString<Args...> format, const Args&... args) {
    log_format(Level::debug, format, args...);
  }
  template <class... Args>
  void info(FormatString<Args...> format, const Args&... args) {
    log_format(Level::info, format, args...);
  }
  template <class... Args>
  void warning(FormatString<Args...> format, const Args&... args) {
    log_format(Level::warning, format, args...);
  }
  template <class... Args>
  void error(FormatString<Args...> format, const Args&... args) {
    log_format(Level::error, format, args...);
  }
  template <class... Args>
  void critical(FormatString<Args...> format, const Args&... args) {
    log_format(Level::critical, format, args...);
  }

  // Stream style: the record is logged when the returned object goes out of scope.
  class Line {
   public:
    Line(Logger* logger, Level level, std::source_location where) : logger_(logger), level_(level), where_(where) {}
    Line(Line&& other) noexcept;
    ~Line();
    template <class T>
    Line& operator<<(const T& value) {
      if (logger_ != nullptr) stream_ << value;
      return *this;
    }

   private:
    Logger* logger_;  // null when the level is filtered out
    Level level_;
    std::source_location where_;
    std::ostringstream stream_;
  };
  Line stream(Level level, std::source_location where = std::source_location::current());

  bool enabled(Level level) const noexcept { return static_cast<int>(level) >= level_.load(std::memory_order_relaxed); }
  Level level() const noexcept { return static_cast<Level>(level_.load(std::memory_order_relaxed)); }
  void set_level(Level level) noexcept { level_.store(static_cast<int>(level), std::memory_order_relaxed); }

  const std::string& service() const noexcept { return options_.service; }
  // The longest message a record keeps (LoggerOptions::max_record_bytes).
  std::size_t max_record_bytes() const noexcept { return options_.max_record_bytes; }
  std::uint64_t publisher_id() const noexcept { return publisher_id_; }

  // Blocks until everything logged so far has been handed to ZeroMQ, or `timeout`.
  // Returns true if the queue drained.
  bool flush(std::chrono::milliseconds timeout);

  struct Counters {
    std::uint64_t logged = 0;     // records accepted into the queue
    std::uint64_t published = 0;  // records handed to ZeroMQ
    std::uint64_t dropped = 0;    // records dropped because the queue was full
  };
  Counters counters() const noexcept;

 private:
  // A queue slot: a record waiting for the background thread. Slots are reused
  // (the message keeps up to kFormatBufferKeepBytes of capacity from record to
  // record), so a warm Logger allocates nothing per C++ call. C++ call sites fill `file` and `function`
  // from std::source_location; records with RecordDetails keep them in
  // `details` (has_details). The first kKeepDetailsSlots slots keep theirs for
  // their next such record while its strings hold at most kKeepDetailsBytes; the
  // others (a burst's) give theirs back once published.
  struct Pending {
    std::int64_t timestamp_ns = 0;
    Level level = Level::info;
    std::uint64_t sequence = 0;
    std::string message;
    const char* file = "";  // static storage (std::source_location)
    std::uint32_t line = 0;
    const char* function = "";  // static storage (std::source_location)
    std::shared_ptr<const std::string> thread;
    std::unique_ptr<RecordDetails> details;  // logger, file, function, fields (C ABI, Python)
    bool has_details = false;                // this record's details are in `details`
  };
  static constexpr std::size_t kKeepDetailsBytes = 1024;
  static constexpr std::size_t kKeepDetailsSlots = 2 * kWakeRecords;
  // Copies the record into the next free slot (`details`, if not null, cut to the
  // caps of limits.h); false (and counted) if the queue is full.
  bool enqueue(std::int64_t timestamp_ns, Level level, std::string_view message, const char* file, std::uint32_t line,
               const char* function, const RecordDetailsView* details);
  // A thread's format buffer or a slot's message keeps at most this much capacity
  // from one record to the next.
  static constexpr std::size_t kFormatBufferKeepBytes = std::size_t{64} * 1024;
  static fmt::memory_buffer& format_buffer();
  // Enqueues log_format's message, made now at `where`; gives the buffer's
  // memory back if it grew past kFormatBufferKeepBytes.
  void enqueue_formatted(Level level, fmt::memory_buffer& message, const std::source_location& where);
  // Wakes the background thread from its idle poll(2) (async-signal-safe; any thread).
  void poke_idle() noexcept;

  // The background thread's body (bus/src/logger_sender.h): owns the sockets,
  // takes the queue, publishes it, applies level changes.
  class Sender;

  LoggerOptions options_;
  zmq::context_t& context_;
  std::uint64_t publisher_id_;
  std::atomic<int> level_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // background thread waits for records
  std::condition_variable drained_;  // flush() waits for the queue to empty
  std::vector<Pending> queue_;       // slots; the first queued_ are waiting; guarded by mutex_
  std::size_t queued_ = 0;           // guarded by mutex_
  std::uint64_t next_sequence_ = 1;  // guarded by mutex_
  // Where the last number used outlives the process (tally.h); note() and
  // remove() under mutex_.
  std::unique_ptr<PublisherTally> tally_;
  std::uint64_t in_flight_ = 0;  // taken by the thread, not yet sent; guarded
  bool stopping_ = false;        // guarded by mutex_
  bool sleeping_ = false;        // lingering on wake_ for more records; guarded by mutex_
  bool idle_ = false;            // in its idle poll(2) (nothing queued); guarded by mutex_
  int idle_fd_ = -1;             // eventfd that ends the idle poll(2)
  bool urgent_ = false;          // ERROR/CRITICAL queued or flush() waiting: no linger; guarded

  std::atomic<std::uint64_t> logged_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> dropped_{0};

  std::thread thread_;  // runs a Sender
};

}  // namespace cantina::bus
