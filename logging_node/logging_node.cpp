#include "logging_node.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "bounded_queue.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "dashboard_stream.h"
#include "dedup_filter.h"
#include "history_filter.h"
#include "retention.h"
#include "ring_buffer.h"
#include "sequence_tracker.h"
#include "service_names.h"
#include "session_file.h"
#include "session_writer.h"

namespace cantina::logging {

namespace {

constexpr std::string_view kNodeService = "Logging Service";
// How late a repeat summary may come after its window closed: the receive loop
// wakes this often while one is pending, and otherwise only for messages and for
// the stats each second (an idle node wakes once a second).
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr std::int64_t kStatsPeriodNs = 1'000'000'000;
constexpr std::size_t kMaxMessagesPerWakeup = 4096;
// Free places in the writer queue below which no more bus messages are read (a
// message holding more records than this may still overflow it: counted).
constexpr std::size_t kWriterMargin = 2048;
constexpr auto kWriterBackoff = std::chrono::milliseconds(2);
// Longest the shutdown spends taking messages ZeroMQ has already delivered.
constexpr auto kDrainLimit = std::chrono::milliseconds(2000);
// Written entries kept for reuse, at most.
constexpr std::size_t kSpareEntries = 1024;
constexpr std::size_t kMaxHistoryEntries = 100000;
constexpr const char* kStopMessage = "stop";
// Services with a pending loss report at most; the rest share one report line.
constexpr std::size_t kMaxReportedServices = 1000;
constexpr std::string_view kOtherServices = "(other services)";
constexpr std::size_t kMaxDedupKeys = 10000;

RetentionOptions retention_options(const bus::LoggingConfig& logging, const SessionFile& session,
                                   const NodeCounters& counters) {
  RetentionOptions options;
  options.directory = session.directory();
  options.current_session = session.session_id();
  options.max_total_bytes = logging.max_total_bytes;
  options.max_sessions = logging.max_sessions;
  options.max_age_days = logging.max_age_days;
  options.min_free_bytes = logging.min_free_bytes;
  options.compress_after = std::chrono::seconds(logging.compress_after);
  options.compress_level = static_cast<int>(logging.compress_level);
  options.bytes_written = &counters.bytes_written;
  return options;
}

std::string stop_endpoint(const void* owner) {
  return "inproc://logging-node-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(owner));
}

// Counts for one service, reported once a second as WARNING lines.
struct PendingLoss {
  std::uint64_t lost = 0;  // sequence gaps
  std::uint64_t gaps = 0;
  std::uint64_t malformed = 0;  // undecodable payloads
  // Publishers first seen after their sequence 1 (this node started, or restarted,
  // while they were logging): the records before their first one here.
  std::uint64_t before_session = 0;
  std::uint64_t late_publishers = 0;
  std::uint64_t late_publisher_id = 0;  // the last of them, and its first sequence here
  std::uint64_t late_first_sequence = 0;
};

std::string hex(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// The streamed and queried form of an entry.
bus::DashboardLog to_dashboard(const LogEntry& entry, const std::string& session_id) {
  bus::DashboardLog out;
  out.timestamp = bus::iso8601(entry.timestamp_ns);
  out.timestamp_ns = entry.timestamp_ns;
  out.level = entry.level;
  out.service = entry.service;
  out.service_id = entry.service_id;
  out.message = entry.message;
  out.session_id = session_id;
  out.entry_id = session_id + "-" + std::to_string(entry.sequence);
  out.repeat_count = entry.repeat_count;
  out.kind = entry.kind;
  out.host = entry.host;
  out.logger = entry.logger;
  out.sequence = entry.sequence;
  return out;
}

}  // namespace

struct LoggingNode::State {
  State(zmq::context_t& context_in, const bus::Config& config_in)
      : context(context_in),
        config(config_in),
        session(config.logging.session_file_path, bus::now_ns(), config.logging.max_file_bytes),
        writer_queue(config.logging.max_queue_size, config.logging.batch_size),
        spares(kSpareEntries),
        writer(session, writer_queue, counters,
               WriterOptions{config.logging.batch_size, std::chrono::seconds(config.logging.file_flush_interval),
                             &spares, [this] { retention.wake(); }}),
        retention(retention_options(config.logging, session, counters)),
        names(config.logging.service_names),
        dedup(std::chrono::seconds(config.logging.deduplication_window), kMaxDedupKeys),
        ring(config.logging.max_memory_logs),
        threshold(config.logging.log_level),
        stop_server(context, zmq::socket_type::pair),
        dashboard(
            session.session_id(),
            [this](std::string_view payload) { publisher->send(bus::topics::kDashboardLogBatch, payload); },
            config.logging.dashboard_max_rate),
        stop_client(context, zmq::socket_type::pair) {
    if (!config.logging.query_endpoint.empty()) {
      query = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
      query->set(zmq::sockopt::linger, 0);
      query->set(zmq::sockopt::maxmsgsize, std::int64_t{64} * 1024);
      if (config.bus.curve.enabled) {
        // LAN mode: the query endpoint admits the same client keys as the bus.
        guard = std::make_unique<bus::CurveGuard>(
            context, config.bus.curve, std::vector<zmq::socket_t*>{query.get()},
            [](const bus::CurveRefusals& refusals, std::uint64_t new_refusals) {
              std::fprintf(stderr,
                           "cantina-logd: query endpoint: %llu connection attempt(s) refused without an authorized "
                           "CURVE key (%llu since start)\n",
                           static_cast<unsigned long long>(new_refusals),
                           static_cast<unsigned long long>(refusals.total));
            });
        bus::secure_server_socket(*query, config.bus.curve);
      }
      try {
        query->bind(config.logging.query_endpoint);
      } catch (const zmq::error_t& error) {
        throw std::runtime_error("cannot bind query endpoint " + config.logging.query_endpoint + ": " + error.what());
      }
    }
    stop_server.bind(stop_endpoint(this));
    stop_client.connect(stop_endpoint(this));
  }

  void receive_loop();
  // How long the receive loop may wait for a message before on_tick is due.
  std::chrono::milliseconds sleep_limit(std::int64_t now_monotonic) const;
  void update_streaming();
  void handle_bus_message(bus::Received& message);
  void handle_record(const bus::LogRecordView& record, const std::string& service_name, std::int64_t now_monotonic);
  void note_gap(std::string_view service, std::uint64_t missing);
  void handle_set_level(const bus::SetLogLevel& request);
  // Answers one history query if one is waiting; false if none was.
  bool handle_query();
  void accept(std::unique_ptr<LogEntry> entry);
  void accept(LogEntry&& entry);
  void flush_to_writer();
  bool writer_has_room() const;
  void node_entry(Level level, EntryKind kind, std::string message);
  void on_tick(std::int64_t now_monotonic);
  void report_losses();
  PendingLoss& pending_loss(std::string_view service);
  void publish_status(bus::ServiceState state, std::string message);
  void publish_stats();
  void shut_down();

  zmq::context_t& context;
  bus::Config config;
  NodeCounters counters;
  SessionFile session;
  BoundedQueue<WriterItem> writer_queue;
  BoundedQueue<std::unique_ptr<LogEntry>> spares;  // written entries coming back from the writer for reuse
  SessionWriter writer;
  Retention retention;  // its own thread; never the current session

  // Owned by the receive thread from start() on.
  ServiceNames names;
  DedupFilter dedup;
  RingBuffer<LogEntry> ring;
  SequenceTracker sequences;
  Level threshold;
  std::unique_ptr<bus::Subscriber> subscriber;
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<zmq::socket_t> query;
  std::unique_ptr<bus::CurveGuard> guard;  // LAN mode: authenticates query clients; outlives nothing it watches
  zmq::socket_t stop_server;
  std::uint64_t entry_sequence = 0;
  std::map<std::string, PendingLoss, std::less<>> pending_losses;  // at most kMaxReportedServices + 1
  std::uint64_t forgotten_reported = 0;  // publishers the sequence tracker forgot, as reported
  std::uint64_t pending_dropped = 0;
  std::vector<LogEntry> summaries;
  std::unique_ptr<LogEntry> next_entry = std::make_unique<LogEntry>();  // the record being handled
  std::vector<std::unique_ptr<LogEntry>> spare_entries;  // from `spares`: entries to refill in handle_record
  std::vector<WriterItem> to_writer;                     // accepted this wake-up; handed to the writer at once
  DashboardStream dashboard;  // entries for /dashboard/log/batch; flushed at the end of each wake-up
  bool streaming = false;     // someone subscribes to /dashboard/log/batch (checked when the socket says so)
  bool watching = false;      // subscribed to topics::kWatching (follows `streaming`)
  std::uint64_t closed_early_seen = 0;
  bus::ServiceState state = bus::ServiceState::starting;
  std::string state_message;
  std::int64_t state_since_ns = bus::now_ns();
  std::int64_t started_ns = bus::now_ns();
  std::int64_t next_stats_ns = 0;
  bool write_failing = false;
  std::uint64_t frame_malformed_seen = 0;
  std::uint64_t last_request_id = 0;

  // Used by the thread that calls start()/stop().
  zmq::socket_t stop_client;
  std::thread receive_thread;
  std::thread writer_thread;
  bool started = false;
  bool stopped = false;
};

void LoggingNode::State::publish_status(bus::ServiceState new_state, std::string message) {
  if (new_state != state) state_since_ns = bus::now_ns();
  state = new_state;
  state_message = std::move(message);
  bus::ServiceStatus status{std::string(bus::topics::kLoggingServiceId),
                            state,
                            state_message,
                            bus::now_ns(),
                            static_cast<std::uint32_t>(getpid()),
                            bus::host_name(),
                            state_since_ns};
  publisher->publish(bus::topics::status_topic(bus::topics::kLoggingServiceId), status);
}

void LoggingNode::State::publish_stats() {
  bus::LoggingStats stats;
  stats.timestamp_ns = bus::now_ns();
  stats.session_id = session.session_id();
  stats.session_file = writer.health().path;
  stats.received = counters.received.load(std::memory_order_relaxed);
  stats.written = counters.written.load(std::memory_order_relaxed);
  stats.deduplicated = counters.deduplicated.load(std::memory_order_relaxed);
  stats.filtered = counters.filtered.load(std::memory_order_relaxed);
  stats.lost = counters.lost.load(std::memory_order_relaxed);
  stats.dropped = counters.dropped.load(std::memory_order_relaxed);
  stats.malformed = counters.malformed.load(std::memory_order_relaxed);
  stats.queue_depth = writer_queue.size();
  stats.bytes_written = counters.bytes_written.load(std::memory_order_relaxed);
  stats.unwritten = counters.unwritten.load(std::memory_order_relaxed);
  stats.repeat_summaries = counters.repeat_summaries.load(std::memory_order_relaxed);
  stats.publishers = sequences.publishers();
  stats.uptime_ns = stats.timestamp_ns - started_ns;
  stats.not_streamed = dashboard.not_streamed();
  stats.bytes_kept = retention.bytes_kept();
  publisher->publish(bus::topics::kLoggingStats, stats);
}

void LoggingNode::State::accept(std::unique_ptr<LogEntry> entry) {
  entry->sequence = ++entry_sequence;
  if (entry->kind == EntryKind::repeat_summary) counters.repeat_summaries.fetch_add(1, std::memory_order_relaxed);
  if (streaming) dashboard.add(*entry);
  ring.push(*entry);
  const bool own_report = entry->kind == EntryKind::loss && entry->service_id == bus::topics::kLoggingServiceId;
  to_writer.push_back(WriterItem{std::move(entry), false, own_report});  // loss reports always get through
}

void LoggingNode::State::accept(LogEntry&& entry) {
  accept(std::make_unique<LogEntry>(std::move(entry)));
}

bool LoggingNode::State::writer_has_room() const {
  const std::size_t capacity = writer_queue.capacity();
  return writer_queue.size() + std::min(capacity / 2, kWriterMargin) < capacity;
}

void LoggingNode::State::flush_to_writer() {
  if (to_writer.empty()) return;
  const std::size_t refused = writer_queue.push_batch(
      to_writer, [](const WriterItem& item) { return item.keep; },
      [](const WriterItem& item) { return item.stop || item.entry->level >= Level::error; });
  to_writer.clear();
  if (refused > 0) {
    counters.dropped.fetch_add(refused, std::memory_order_relaxed);
    pending_dropped += refused;
  }
}

void LoggingNode::State::node_entry(Level level, EntryKind kind, std::string message) {
  LogEntry entry;
  entry.timestamp_ns = bus::now_ns();
  entry.level = level;
  entry.service = std::string(kNodeService);
  entry.service_id = std::string(bus::topics::kLoggingServiceId);
  entry.message = std::move(message);
  entry.kind = kind;
  entry.host = bus::host_name();
  accept(std::move(entry));
}

void LoggingNode::State::note_gap(std::string_view service, std::uint64_t missing) {
  counters.lost.fetch_add(missing, std::memory_order_relaxed);
  PendingLoss& loss = pending_loss(service);
  loss.lost += missing;
  ++loss.gaps;
}

// `service_name` is the friendly name of record.service and `now_monotonic` the
// time the bus message was taken: both are looked up once per message.
void LoggingNode::State::handle_record(const bus::LogRecordView& record, const std::string& service_name,
                                       std::int64_t now_monotonic) {
  counters.received.fetch_add(1, std::memory_order_relaxed);
  const auto observation = sequences.observe(record.publisher_id, record.sequence);
  if (observation.gap) {
    note_gap(record.service, observation.gap->missing);
  } else if (observation.first_seen && record.sequence > 1) {
    PendingLoss& loss = pending_loss(record.service);
    loss.before_session += record.sequence - 1;
    ++loss.late_publishers;
    loss.late_publisher_id = record.publisher_id;
    loss.late_first_sequence = record.sequence;
  }
  if (record.level < threshold) {
    counters.filtered.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t hash = DedupFilter::key_hash(record.service, record.level, record.message);
  // Filled in place: its strings keep their capacity while records are repeats, and
  // once it is handed on, an entry the writer has written takes its place.
  LogEntry& entry = *next_entry;
  entry.timestamp_ns = record.timestamp_ns;
  entry.level = record.level;
  entry.service.assign(service_name);
  entry.service_id.assign(record.service);
  entry.message.assign(record.message);
  entry.kind = EntryKind::record;
  entry.repeat_count = 0;
  entry.host.assign(record.host);
  entry.logger.assign(record.logger);
  summaries.clear();
  const bool admitted = dedup.admit(entry, hash, now_monotonic, summaries);
  for (LogEntry& summary : summaries) accept(std::move(summary));
  if (!admitted) {
    counters.deduplicated.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  accept(std::move(next_entry));
  if (spare_entries.empty()) spares.pop_batch(spare_entries, kSpareEntries, std::chrono::milliseconds(0));
  if (!spare_entries.empty()) {
    next_entry = std::move(spare_entries.back());
    spare_entries.pop_back();
  } else {
    next_entry = std::make_unique<LogEntry>();
  }
}

void LoggingNode::State::handle_set_level(const bus::SetLogLevel& request) {
  if (request.request_id != 0 && request.request_id == last_request_id) return;  // a resend of the same request
  last_request_id = request.request_id;
  const Level previous = threshold;
  threshold = request.level;
  bus::LogLevelChanged change{std::string(bus::topics::kLoggingServiceId), threshold, previous, request.request_id,
                              static_cast<std::uint32_t>(getpid())};
  publisher->publish(bus::topics::log_level_changed_topic(bus::topics::kLoggingServiceId), change);
  node_entry(Level::info, EntryKind::node,
             "log level changed from " + std::string(bus::to_string(previous)) + " to " +
                 std::string(bus::to_string(threshold)) + " (request " + std::to_string(request.request_id) + ")");
}

void LoggingNode::State::handle_bus_message(bus::Received& message) {
  if (auto topic = bus::topics::parse_log_topic(message.topic)) {
    // Zero-copy: records are read in place; only what an entry keeps is copied.
    // Every record must name the topic's service (in a batch, also its publisher).
    std::uint64_t mismatched = 0;
    std::string error;
    const std::string& service_name = names.friendly(topic->service);  // valid until the next lookup
    const std::int64_t now = bus::monotonic_ns();
    if (!topic->batch) {
      bool handled = false;
      error = bus::decode_log_record_view(
          message.bytes(),
          [&](const bus::LogRecordView& record) {
            if (record.service != topic->service) return;
            handle_record(record, service_name, now);
            handled = true;
          },
          bus::ViewFields::without_source);
      if (error.empty() && !handled) ++mismatched;
    } else {
      bus::LogBatchInfo info;
      error = bus::decode_log_batch_view(
          message.bytes(), info,
          [&](const bus::LogRecordView& record) {
            if (record.service != topic->service || record.publisher_id != info.publisher_id) {
              ++mismatched;
              return;
            }
            handle_record(record, service_name, now);
          },
          bus::ViewFields::without_source);
      if (error.empty() && info.last_sequence != 0) {
        if (auto gap = sequences.observe_last(info.publisher_id, info.last_sequence)) {
          note_gap(topic->service, gap->missing);
        }
      }
    }
    if (!error.empty()) ++mismatched;  // the message, or the rest of the batch
    if (mismatched > 0) {
      counters.malformed.fetch_add(mismatched, std::memory_order_relaxed);
      pending_loss(topic->service).malformed += mismatched;
    }
    return;
  }
  if (message.topic == bus::topics::set_log_level_topic(bus::topics::kLoggingServiceId)) {
    auto request = bus::decode_set_log_level(message.bytes());
    if (request && request.value->service == bus::topics::kLoggingServiceId) {
      handle_set_level(*request.value);
      return;
    }
  }
  // Anything else under /log/ (bad service id) or a bad control message.
  counters.malformed.fetch_add(1, std::memory_order_relaxed);
  ++pending_loss("(invalid topic)").malformed;
}

bool LoggingNode::State::handle_query() {
  zmq::message_t request;
  if (!query->recv(request, zmq::recv_flags::dontwait)) return false;
  while (request.more()) {  // a REP socket must answer once per request; ignore extra frames
    zmq::message_t extra;
    (void)query->recv(extra, zmq::recv_flags::none);
    request.swap(extra);
  }
  bus::HistoryReply reply;
  reply.session_id = session.session_id();
  auto decoded = bus::decode_history_query({static_cast<const std::byte*>(request.data()), request.size()});
  if (!decoded) {
    reply.error = "bad history query: " + decoded.error;
  } else {
    const bus::HistoryQuery& q = *decoded.value;
    std::size_t limit = q.limit == 0 ? kMaxHistoryEntries : std::min<std::size_t>(q.limit, kMaxHistoryEntries);
    for (const LogEntry& entry : ring.newest(limit, [&q](const LogEntry& e) { return matches(e, q); })) {
      reply.entries.push_back(to_dashboard(entry, session.session_id()));
    }
  }
  std::string payload = bus::encode(reply);
  query->send(zmq::buffer(payload), zmq::send_flags::dontwait);
  return true;
}

PendingLoss& LoggingNode::State::pending_loss(std::string_view service) {
  auto found = pending_losses.find(service);
  if (found != pending_losses.end()) return found->second;
  if (pending_losses.size() >= kMaxReportedServices) service = kOtherServices;
  return pending_losses.try_emplace(std::string(service)).first->second;
}

void LoggingNode::State::report_losses() {
  const bool forgetting = sequences.forgotten() > 0;
  for (auto& [service, loss] : pending_losses) {
    if (loss.lost > 0) {
      node_entry(Level::warning, EntryKind::loss,
                 "lost " + std::to_string(loss.lost) + " records from " + service + " (" + std::to_string(loss.gaps) +
                     (loss.gaps == 1 ? " gap" : " gaps") + " in sequence numbers)");
    }
    if (loss.malformed > 0) {
      node_entry(Level::warning, EntryKind::loss,
                 "dropped " + std::to_string(loss.malformed) + " malformed messages from " + service);
    }
    if (loss.before_session > 0) {
      const std::string which =
          loss.late_publishers == 1
              ? "publisher " + hex(loss.late_publisher_id) + " first seen at sequence " +
                    std::to_string(loss.late_first_sequence)
              : std::to_string(loss.late_publishers) + " publishers first seen after their first record";
      std::string message = std::to_string(loss.before_session) + " earlier records from ";
      message += service;
      message += " are not in this session: ";
      message += which;
      if (forgetting) message += " (or were in it before the node forgot the publisher)";
      node_entry(Level::warning, EntryKind::loss, std::move(message));
    }
  }
  pending_losses.clear();
  if (sequences.forgotten() > forgotten_reported) {
    node_entry(Level::warning, EntryKind::loss,
               "forgot " + std::to_string(sequences.forgotten() - forgotten_reported) + " publishers (more than " +
                   std::to_string(sequences.max_publishers()) +
                   " at once): a gap across the forgetting goes undetected");
    forgotten_reported = sequences.forgotten();
  }
  if (dedup.closed_early() > closed_early_seen) {
    node_entry(Level::info, EntryKind::node,
               "closed " + std::to_string(dedup.closed_early() - closed_early_seen) +
                   " deduplication windows early: more than " + std::to_string(kMaxDedupKeys) +
                   " distinct messages within deduplication_window (their repeats are summarised sooner)");
    closed_early_seen = dedup.closed_early();
  }
  if (pending_dropped > 0) {
    node_entry(Level::warning, EntryKind::loss,
               "dropped " + std::to_string(pending_dropped) + " entries: writer queue full (max_queue_size " +
                   std::to_string(config.logging.max_queue_size) + ")");
    pending_dropped = 0;
  }
}

std::chrono::milliseconds LoggingNode::State::sleep_limit(std::int64_t now_monotonic) const {
  // A pending summary, or a count of entries not streamed with nothing to carry it.
  if (dedup.summaries_pending() || (streaming && dashboard.count_pending())) return kTick;
  const std::int64_t until_stats_ms = (next_stats_ns - now_monotonic) / 1'000'000 + 1;
  return std::chrono::milliseconds(std::clamp<std::int64_t>(until_stats_ms, 0, kStatsPeriodNs / 1'000'000));
}

void LoggingNode::State::on_tick(std::int64_t now_monotonic) {
  summaries.clear();
  dedup.expire(now_monotonic, summaries);
  for (LogEntry& summary : summaries) accept(std::move(summary));
  if (now_monotonic < next_stats_ns) return;
  next_stats_ns = now_monotonic + kStatsPeriodNs;
  for (Retention::Note& note : retention.take_notes()) node_entry(note.level, EntryKind::node, std::move(note.text));
  const std::uint64_t frame_malformed = subscriber->malformed();
  if (frame_malformed > frame_malformed_seen) {
    counters.malformed.fetch_add(frame_malformed - frame_malformed_seen, std::memory_order_relaxed);
    pending_loss("(wrong number of frames)").malformed += frame_malformed - frame_malformed_seen;
    frame_malformed_seen = frame_malformed;
  }
  report_losses();
  const SessionWriter::Health health = writer.health();
  if (health.failing != write_failing) {
    write_failing = health.failing;
    if (write_failing) {
      node_entry(Level::error, EntryKind::node, health.error);
      publish_status(bus::ServiceState::error, health.error);
    } else {
      node_entry(Level::info, EntryKind::node, "writing to " + health.path + " again");
    }
  }
  if (!write_failing) {
    publish_status(bus::ServiceState::running, "session " + session.session_id() + ": " + health.path);
  } else {
    publish_status(bus::ServiceState::error, health.error);
  }
  publish_stats();
}

// Dashboard entries are built only while someone subscribes to them (to
// "/dashboard/log", or any prefix of "/dashboard/log/batch"): the bus forwards
// subscriptions to the node's XPUB socket; a subscriber that appears later gets
// the entries accepted from the next wake-up on.
//
// While it streams, the node also subscribes to topics::kWatching, which tells every
// Logger that someone watches live, so that they send records sooner.
void LoggingNode::State::update_streaming() {
  streaming = config.logging.enable_dashboard_streaming && publisher->has_subscriber(bus::topics::kDashboardLogBatch);
  if (subscriber == nullptr || streaming == watching) return;
  watching = streaming;
  if (watching) {
    subscriber->subscribe(bus::topics::kWatching);
  } else {
    subscriber->unsubscribe(bus::topics::kWatching);
  }
}

void LoggingNode::State::receive_loop() {
  publisher = std::make_unique<bus::Publisher>(context, config.bus.publish_endpoint, config.bus.high_water_mark,
                                               config.bus.curve, /*track_subscriptions=*/true);
  update_streaming();
  subscriber = std::make_unique<bus::Subscriber>(
      context, config.bus.subscribe_endpoint,
      std::vector<std::string>{std::string(bus::topics::kLogPrefix),
                               bus::topics::set_log_level_topic(bus::topics::kLoggingServiceId)},
      config.bus.high_water_mark, config.bus.curve);
  update_streaming();
  publish_status(bus::ServiceState::starting, "opening session " + session.session_id());
  node_entry(Level::info, EntryKind::node,
             "session " + session.session_id() + " started: " + session.path().string() + " (log level " +
                 std::string(bus::to_string(threshold)) + ")");
  dashboard.flush();

  // The loop sleeps in poll(2) on the sockets' ZMQ_FDs and touches only a socket
  // whose descriptor fired or that may still hold messages. zmq_poll would ask
  // every socket for its events before and after sleeping, a system call each:
  // a dozen per bus message, most of the node's CPU at a thousand records a second.
  // A descriptor only says that the socket has commands to process, and any
  // operation on the socket may process them, so each socket is read until it has
  // nothing (or its "may hold more" is remembered) after it was used.
  enum : std::size_t { kBus, kStop, kDashboard, kQuery };
  std::array<zmq::socket_t*, 4> sockets = {&subscriber->socket(), &stop_server, &publisher->socket(), query.get()};
  const std::size_t watched = query ? 4 : 3;
  std::array<pollfd, 4> fds{};
  for (std::size_t i = 0; i < watched; ++i) fds[i] = {sockets[i]->get(zmq::sockopt::fd), POLLIN, 0};
  bool bus_may_hold_more = true;
  for (;;) {
    // Backpressure: while the writer queue is nearly full, leave records in
    // ZeroMQ's queues (bounded by high_water_mark; beyond it the bus drops and the
    // sequence numbers tell) instead of taking them only to drop them here.
    const bool room = writer_has_room();
    fds[kBus].events = room ? POLLIN : 0;
    const auto sleep = !room               ? kWriterBackoff
                       : bus_may_hold_more ? std::chrono::milliseconds(0)
                                           : sleep_limit(bus::monotonic_ns());
    if (::poll(fds.data(), watched, static_cast<int>(sleep.count())) < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "cantina-logd: poll");
    }
    if (streaming) dashboard.refill(bus::monotonic_ns());
    if (room && (bus_may_hold_more || (fds[kBus].revents & POLLIN) != 0)) {
      bus_may_hold_more = true;  // until a receive finds nothing
      for (std::size_t n = 0; n < kMaxMessagesPerWakeup && writer_has_room(); ++n) {
        auto message = subscriber->receive(std::chrono::milliseconds(0));
        if (!message) {
          bus_may_hold_more = false;
          break;
        }
        handle_bus_message(*message);
        flush_to_writer();
      }
    }
    if (query && (fds[kQuery].revents & POLLIN) != 0) {
      while (handle_query()) {
      }
    }
    on_tick(bus::monotonic_ns());
    flush_to_writer();
    dashboard.flush();  // everything this wake-up accepted, as one message (or a few, if large)
    if ((fds[kDashboard].revents & POLLIN) != 0 || publisher->subscriptions_unread()) update_streaming();
    if ((fds[kStop].revents & POLLIN) != 0) {
      zmq::message_t stop;
      if (stop_server.recv(stop, zmq::recv_flags::dontwait)) {
        shut_down();
        return;
      }
    }
  }
}

void LoggingNode::State::shut_down() {
  publish_status(bus::ServiceState::stopping, "draining session " + session.session_id());
  retention.stop();  // a compression under way is abandoned (its temporary files removed)
  // What ZeroMQ has already delivered to this process was accepted by the bus: take
  // it, for at most kDrainLimit (publishers still sending must not keep us here).
  const std::int64_t drain_until = bus::monotonic_ns() + kDrainLimit.count() * 1'000'000;
  while (bus::monotonic_ns() < drain_until) {
    auto message = subscriber->receive(std::chrono::milliseconds(0));
    if (!message) break;
    handle_bus_message(*message);
    flush_to_writer();
  }
  next_stats_ns = 0;
  on_tick(bus::monotonic_ns());
  summaries.clear();
  dedup.flush_all(summaries);
  for (LogEntry& summary : summaries) accept(std::move(summary));
  node_entry(Level::info, EntryKind::node, "session " + session.session_id() + " stopping");
  flush_to_writer();
  dashboard.flush(/*final=*/true);
  writer_queue.push_unbounded(WriterItem{nullptr, true, true});  // wakes the writer at once
  writer_thread.join();
  publish_stats();
  publish_status(bus::ServiceState::stopped, "session " + session.session_id() + " closed: " +
                                                 std::to_string(counters.written.load()) + " lines written");
}

LoggingNode::LoggingNode(zmq::context_t& context, const bus::Config& config)
    : state_(std::make_unique<State>(context, config)) {}

LoggingNode::~LoggingNode() {
  try {
    stop();
  } catch (const std::exception& error) {  // destructors report instead of throwing
    std::fprintf(stderr, "cantina-logd: error while stopping: %s\n", error.what());
  }
}

void LoggingNode::start() {
  if (state_->started) return;
  state_->started = true;
  state_->writer_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "logd-writer");  // as top -H and /proc show it
    state_->writer.run();
  });
  state_->receive_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "logd-receive");
    state_->receive_loop();
  });
  state_->retention.start();
}

void LoggingNode::stop() {
  if (!state_->started || state_->stopped) return;
  state_->stopped = true;
  state_->stop_client.send(zmq::buffer(std::string_view(kStopMessage)), zmq::send_flags::none);
  state_->receive_thread.join();
}

const std::string& LoggingNode::session_id() const noexcept {
  return state_->session.session_id();
}
std::filesystem::path LoggingNode::session_path() const {
  return state_->session.path();
}
const NodeCounters& LoggingNode::counters() const noexcept {
  return state_->counters;
}

}  // namespace cantina::logging
