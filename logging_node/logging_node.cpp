#include "logging_node.h"

#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "bounded_queue.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "cantina/bus/unreported.h"
#include "dashboard_stream.h"
#include "dedup_filter.h"
#include "history_server.h"
#include "record_caps.h"
#include "retention.h"
#include "ring_buffer.h"
#include "sequence_state.h"
#include "sequence_tracker.h"
#include "service_levels.h"
#include "service_names.h"
#include "session_file.h"
#include "session_writer.h"

namespace cantina::logging {

namespace {

constexpr std::string_view kNodeService = "Logging Service";
// How late the count of entries left out of the live stream may come: the receive
// loop wakes this often while one waits for a batch to carry it, and otherwise only
// for messages, when a repeat summary falls due, and for the stats each second (an
// idle node wakes once a second).
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr std::int64_t kStatsPeriodNs = 1'000'000'000;
constexpr std::size_t kMaxMessagesPerWakeup = 4096;
// Free places in the writer queue below which no more bus messages are read (a
// message holding more records than this may still overflow it: counted).
constexpr std::size_t kWriterMargin = 2048;
constexpr auto kWriterBackoff = std::chrono::milliseconds(2);
// Longest the shutdown spends taking the messages the bus has forwarded to the node.
constexpr auto kDrainLimit = std::chrono::milliseconds(2000);
// Longest it waits for the next of them once the node's socket is empty: what busd
// queued for a node that lagged behind reaches it over TCP a batch at a time.
constexpr auto kDrainQuiet = std::chrono::milliseconds(200);
// Entries of one bus message handed to the writer at most at once (a batch of
// tiny records must not gather tens of MB of entries before they are bounded).
constexpr std::size_t kFlushEntries = 1024;
// Written entries kept for reuse, at most, and their memory at most, in the writer's
// pool and again among the receive thread's spares (which also keep what the ring
// buffer lets go of last); texts over kKeptTextBytes are given back first.
constexpr std::size_t kSpareEntries = 1024;
constexpr std::size_t kSpareBytes = std::size_t{4} << 20;
// Messages ZeroMQ may hold for the node's SUB socket (its receive high-water mark)
// while the node does not read: as many of the largest messages busd forwards
// (max_message_bytes() of [bus] max_record_bytes; busd refuses larger ones) as
// fit in kReceiveQueueBytes, from kMinReceiveQueue to kMaxReceiveQueue (64 with
// the default max_record_bytes). A backlog beyond waits in the bus (its own
// high_water_mark), whose drops the sequence numbers report. Fewer would cost
// more wake-ups and CPU per message: ZeroMQ's I/O thread is woken each time the
// node has read half of it (its pipe's flow control), so with many services at
// once the node woke 87 times a second with 16 (at 1,000 records/s from 50
// services) and 50 with 64; a flood of one-record messages took 40 % more CPU
// per message with 16 than with 100,000.
constexpr std::size_t kReceiveQueueBytes = std::size_t{32} << 20;
constexpr int kMinReceiveQueue = 16;
constexpr int kMaxReceiveQueue = 64;
// The /urgent socket's messages are empty.
constexpr int kUrgentQueueMessages = 16;
// While no one watches live, a bus message that arrives when the node has nothing
// left to read is not read at once: the bus is left alone for kGatherNs (50 ms), so
// that the messages of many services, which their Loggers send on a shared grid
// (kLingerGrid in bus/src/logger_sender.cpp), are taken in one wake-up rather than
// one each. What a wake-up read while no one watches goes to the writer at once
// (which otherwise lingers kWriterLinger for more). A record waits at most
// kGatherNs in the node this way; a Logger's topics::kUrgent message (right after
// an ERROR or CRITICAL record) ends the wait at once. A read of kGatherBelow
// records or more (a flood) is followed by no wait: the next arrival is read at
// once. A wait that gathered no more than the message that started it (one
// service's messages come alone) cost a wake-up of its own: the next
// kSkipAfterLoneGather arrivals are read at once. Timers (repeat summaries, stats)
// keep their time.
constexpr std::uint64_t kGatherBelow = 4096;
constexpr std::int64_t kGatherNs = 50'000'000;
constexpr int kSkipAfterLoneGather = 25;
// Bytes free in the writer queue below which no more bus messages are read (at
// most half the queue).
constexpr std::size_t kWriterMarginBytes = std::size_t{4} << 20;
constexpr const char* kStopMessage = "stop";
// Services with a pending loss report at most; the rest share one report line.
constexpr std::size_t kMaxReportedServices = 1000;
constexpr std::string_view kOtherServices = "(other services)";
constexpr std::size_t kMaxDedupKeys = 10000;
// Longest a counted ERROR or CRITICAL repeat waits for its summary (at most
// [logging] dedup_summary_interval_ms).
constexpr std::chrono::milliseconds kUrgentSummaryInterval{1000};

int receive_queue_messages(std::size_t max_record_bytes) {
  const std::size_t fit = kReceiveQueueBytes / bus::max_message_bytes(max_record_bytes);
  return static_cast<int>(std::clamp<std::size_t>(fit, kMinReceiveQueue, kMaxReceiveQueue));
}

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
  // while they were logging) with nothing known of them: the records before their
  // first one here.
  std::uint64_t before_session = 0;
  std::uint64_t late_publishers = 0;
  std::uint64_t late_publisher_id = 0;  // the last of them, and its first sequence here
  std::uint64_t late_first_sequence = 0;
  // Gaps between where a previous node left a publisher (its state file) and what
  // this one saw first: lost while no node ran. The first few ranges are named.
  static constexpr std::size_t kNamedRanges = 4;
  std::uint64_t lost_while_down = 0;
  std::uint64_t down_ranges = 0;
  std::pair<std::uint64_t, std::uint64_t> down_range[kNamedRanges] = {};
  // Implausible forward jumps and backward jumps: the first, and how many.
  std::uint64_t jumps = 0;
  std::uint64_t jump_publisher = 0, jump_from = 0, jump_to = 0;
  std::uint64_t backs = 0;
  std::uint64_t back_publisher = 0, back_from = 0, back_to = 0;
};

// A warning if the session folder lets others than its owner and group read, or
// others than its owner change, the session files (a folder made by the node is
// 0750; one that existed may be looser); empty if not.
std::string loose_folder_warning(const std::filesystem::path& folder) {
  struct stat info {};
  if (::stat(folder.c_str(), &info) != 0 || (info.st_mode & 027) == 0) return {};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
  return "session folder " + folder.string() + " has mode " + mode + ": " +
         ((info.st_mode & 020) != 0 ? "its group may change or delete the session files"
                                    : "others may read the session files") +
         " (chmod 750 " + folder.string() + ", or 700)";
}

std::string hex(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

struct LoggingNode::State {
  State(zmq::context_t& context_in, const bus::Config& config_in)
      : context(context_in),
        config(config_in),
        session(config.logging.session_file_path, bus::now_ns(), config.logging.max_file_bytes),
        loaded_sequences(SequenceState::load(session.directory() / kSequenceStateName, bus::now_ns())),
        writer_queue(config.logging.max_queue_size, config.logging.batch_size, config.logging.max_queue_bytes),
        spares(kSpareEntries, 1, kSpareBytes),
        sequence_state(session.directory() / kSequenceStateName, loaded_sequences.marks),
        writer(session, writer_queue, counters,
               WriterOptions{config.logging.batch_size, std::chrono::seconds(config.logging.file_flush_interval),
                             &spares, [this] { retention.wake(); }, &sequence_state, config.logging.session_fields}),
        retention(retention_options(config.logging, session, counters)),
        names(config.logging.service_names),
        dedup(DedupFilter::Options{std::chrono::seconds(config.logging.deduplication_window),
                                   std::chrono::milliseconds(config.logging.dedup_summary_interval_ms),
                                   kUrgentSummaryInterval, kMaxDedupKeys, DedupFilter::kDefaultMaxBytes, nullptr}),
        ring(config.logging.max_memory_logs, config.logging.max_memory_bytes, EntryRingTraits{&spare_entries}),
        caps(RecordCaps::Limits{.message = config.bus.max_record_bytes}),
        levels(config.logging.log_level),
        stop_server(context, zmq::socket_type::pair),
        dashboard(
            session.session_id(),
            [this](std::string_view payload) { publisher->send(bus::topics::kDashboardLogBatch, payload); },
            config.logging.dashboard_max_rate),
        stop_client(context, zmq::socket_type::pair) {
    if (!config.logging.query_endpoint.empty()) {
      history =
          std::make_unique<HistoryServer>(context, config.logging.query_endpoint, config.bus.curve, ring, ring_mutex,
                                          session.session_id(), HistoryLimits{config.logging.max_memory_logs});
    }
    // Where a previous node left each publisher: a gap from there is what was lost
    // while no node ran.
    const std::int64_t now = bus::monotonic_ns();
    for (const SequenceMark& mark : loaded_sequences.marks) {
      sequences.restore(mark.service, mark.publisher, mark.last, now, loaded_sequences.age_ns);
    }
    std::vector<SequenceMark>().swap(loaded_sequences.marks);
    if (!sequence_state.error().empty()) {
      loaded_sequences.warning += (loaded_sequences.warning.empty() ? "" : "; ") + sequence_state.error() +
                                  " (losses while no node runs will be reported as not in the session)";
    }
    folder_warning = loose_folder_warning(session.directory());
    if (!folder_warning.empty()) std::fprintf(stderr, "cantina-logd: WARNING: %s\n", folder_warning.c_str());
    stop_server.bind(stop_endpoint(this));
    stop_client.connect(stop_endpoint(this));
  }

  void receive_loop();
  // How long the receive loop may wait for a message before on_tick is due.
  std::chrono::milliseconds sleep_limit(std::int64_t now_monotonic) const;
  void update_streaming();
  void handle_bus_message(bus::Received& message);
  void handle_record(const bus::LogRecordView& record, const std::string& service_name, Level threshold,
                     std::int64_t now_monotonic);
  // Counts what the sequence tracker saw of `publisher` of `service`.
  void note_sequence(std::string_view service, std::uint64_t publisher_id,
                     const SequenceTracker::Observation& observation);
  // A SetLogLevel for `service` (the node's own id: its own threshold).
  void handle_set_level(std::string_view service, const bus::SetLogLevel& request);
  void accept(std::unique_ptr<LogEntry> entry);
  void accept(LogEntry&& entry);
  void accept_summaries();  // the dedup filter's `summaries`
  // Hands to_writer to the writer, which writes them after its linger (or sooner
  // for a full batch or an ERROR); with Wake::later, only once woken.
  void flush_to_writer(WriterQueue::Wake when = WriterQueue::Wake::as_usual);
  // Queues the sequence tracker's changes behind the entries accepted so far.
  void queue_sequence_marks();
  bool writer_has_room() const;
  void node_entry(Level level, EntryKind kind, std::string message);
  void on_tick(std::int64_t now_monotonic);
  void report_losses(std::int64_t now_monotonic);
  PendingLoss& pending_loss(std::string_view service);
  void publish_status(bus::ServiceState state, std::string message);
  void publish_stats();
  void shut_down();

  zmq::context_t& context;
  bus::Config config;
  NodeCounters counters;
  SessionFile session;
  LoadedSequences loaded_sequences;  // the state a previous node left (its marks restored, then freed)
  WriterQueue writer_queue;
  EntryPool spares;              // written entries coming back from the writer for reuse
  SequenceState sequence_state;  // the writer thread's from start() on
  SessionWriter writer;
  Retention retention;  // its own thread; never the current session

  // Owned by the receive thread from start() on.
  ServiceNames names;
  DedupFilter dedup;
  std::mutex ring_mutex;                   // the receive thread pushes, the history thread reads
  EntryRing ring;                          // guarded by ring_mutex
  std::unique_ptr<HistoryServer> history;  // the query endpoint's thread; null without one
  SequenceTracker sequences;
  RecordCaps caps;                // what one record and one bus message may fill into entries
  ServiceLevels levels;           // the node's threshold, and per service
  FilteredCounts filtered;        // records they hid, written at most once a minute
  QuietCount quiet_closed_early;  // closed_early, written at most once a minute
  bool final_tick = false;        // shutting down: the counts above are written now
  std::unique_ptr<bus::Subscriber> subscriber;
  std::unique_ptr<bus::Subscriber> urgent;  // topics::kUrgent only: ends a gathering wait
  std::unique_ptr<bus::Publisher> publisher;
  zmq::socket_t stop_server;
  std::uint64_t entry_sequence = 0;
  std::map<std::string, PendingLoss, std::less<>> pending_losses;  // at most kMaxReportedServices + 1
  bus::Unreported forgotten_publishers;                            // the sequence tracker's forgotten()
  bus::Unreported writer_dropped;                                  // entries the full writer queue refused
  std::vector<LogEntry> summaries;
  std::int64_t newest_timestamp_ns = 0;  // of the entries accepted and the repeats folded so far
  std::unique_ptr<LogEntry> next_entry = std::make_unique<LogEntry>();  // the record being handled
  // Entries to refill in handle_record: from the ring buffer (what it held last) and
  // from `spares` (what the writer held last).
  SpareEntries spare_entries{kSpareEntries, kSpareBytes};
  std::vector<std::unique_ptr<LogEntry>> written_spares;  // taken from `spares`, on their way to spare_entries
  std::vector<WriterItem> to_writer;                      // accepted this wake-up; handed to the writer at once
  DashboardStream dashboard;     // entries for /dashboard/log/batch; flushed at the end of each wake-up
  bool streaming = false;        // someone subscribes to /dashboard/log/batch (checked when the socket says so)
  bool watched = false;          // someone subscribes to topics::kWatching (checked as `streaming` is)
  bus::Unreported closed_early;  // the dedup filter's closed_early()
  bus::ServiceState state = bus::ServiceState::starting;
  std::string state_message;
  std::int64_t state_since_ns = bus::now_ns();
  std::int64_t started_ns = bus::now_ns();
  std::int64_t next_stats_ns = 0;
  bool write_failing = false;             // as last reported (ERROR status)
  std::uint64_t write_failures_seen = 0;  // the writer's health().failures at the last tick
  bus::Unreported frame_malformed;        // the subscriber's malformed()
  std::uint64_t last_request_id = 0;
  std::string folder_warning;  // loose_folder_warning() of the session folder, written at start

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
  stats.log_level = levels.own();
  stats.service_levels = levels.table();
  publisher->publish(bus::topics::kLoggingStats, stats);
}

void LoggingNode::State::accept(std::unique_ptr<LogEntry> entry) {
  entry->sequence = ++entry_sequence;
  newest_timestamp_ns = std::max(newest_timestamp_ns, entry->timestamp_ns);
  if (entry->kind == EntryKind::repeat_summary) counters.repeat_summaries.fetch_add(1, std::memory_order_relaxed);
  if (streaming) dashboard.add(*entry);
  const bool own_report = entry->kind == EntryKind::loss && entry->service_id == bus::topics::kLoggingServiceId;
  to_writer.push_back(WriterItem{EntryHold(std::move(entry)), false, own_report});  // loss reports always get through
}

void LoggingNode::State::accept(LogEntry&& entry) {
  accept(std::make_unique<LogEntry>(std::move(entry)));
}

// A summary is stamped with the time it is made, but never later than the newest
// entry or repeat already in: a record may reach the node up to a Logger's linger
// after it was made, and must not come after a summary stamped later than itself.
void LoggingNode::State::accept_summaries() {
  for (LogEntry& summary : summaries) {
    summary.timestamp_ns = std::min(summary.timestamp_ns, newest_timestamp_ns);
    accept(std::move(summary));
  }
}

bool LoggingNode::State::writer_has_room() const {
  const std::size_t capacity = writer_queue.capacity();
  const std::size_t max_bytes = writer_queue.max_bytes();
  return writer_queue.size() + std::min(capacity / 2, kWriterMargin) < capacity &&
         writer_queue.bytes() + std::min(max_bytes / 2, kWriterMarginBytes) < max_bytes;
}

void LoggingNode::State::flush_to_writer(WriterQueue::Wake when) {
  if (to_writer.empty()) return;
  {
    std::lock_guard lock(ring_mutex);
    for (const WriterItem& item : to_writer) {
      if (item.entry) ring.push(item.entry);  // shared, not copied
    }
  }
  const std::size_t refused = writer_queue.push_batch(
      to_writer, [](const WriterItem& item) { return item.keep; },
      [](const WriterItem& item) { return item.stop || (item.entry && item.entry->level >= Level::error); }, when);
  to_writer.clear();
  if (refused > 0) {
    counters.dropped.fetch_add(refused, std::memory_order_relaxed);
    writer_dropped.add(refused);
  }
}

void LoggingNode::State::queue_sequence_marks() {
  if (!sequences.has_changes()) return;
  auto marks = std::make_unique<std::vector<SequenceMark>>();
  sequences.take_changes([&](std::string_view service, std::uint64_t publisher_id, std::uint64_t last) {
    marks->push_back(SequenceMark{std::string(service), publisher_id, last});
  });
  to_writer.push_back(WriterItem{nullptr, false, true, std::move(marks)});
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

void LoggingNode::State::note_sequence(std::string_view service, std::uint64_t publisher_id,
                                       const SequenceTracker::Observation& observation) {
  using Event = SequenceTracker::Event;
  if (observation.event == Event::none) return;
  if (observation.event == Event::first_seen && observation.to <= 1) return;
  PendingLoss& loss = pending_loss(service);
  switch (observation.event) {
    case Event::none: break;
    case Event::first_seen:
      loss.before_session += observation.to - 1;
      ++loss.late_publishers;
      loss.late_publisher_id = publisher_id;
      loss.late_first_sequence = observation.to;
      break;
    case Event::gap:
      counters.lost.fetch_add(observation.missing, std::memory_order_relaxed);
      if (observation.across_restart) {
        loss.lost_while_down += observation.missing;
        if (loss.down_ranges < PendingLoss::kNamedRanges) {
          loss.down_range[loss.down_ranges] = {observation.first_missing, observation.last_missing};
        }
        ++loss.down_ranges;
      } else {
        loss.lost += observation.missing;
        ++loss.gaps;
      }
      break;
    case Event::jump:
      if (loss.jumps++ == 0) {
        loss.jump_publisher = publisher_id;
        loss.jump_from = observation.from;
        loss.jump_to = observation.to;
      }
      break;
    case Event::back:
      if (loss.backs++ == 0) {
        loss.back_publisher = publisher_id;
        loss.back_from = observation.from;
        loss.back_to = observation.to;
      }
      break;
  }
}

// `service_name` is the friendly name of record.service and `now_monotonic` the
// time the bus message was taken: both are looked up once per message.
void LoggingNode::State::handle_record(const bus::LogRecordView& record, const std::string& service_name,
                                       Level threshold, std::int64_t now_monotonic) {
  counters.received.fetch_add(1, std::memory_order_relaxed);
  note_sequence(record.service, record.publisher_id,
                sequences.observe(record.service, record.publisher_id, record.sequence, now_monotonic));
  if (record.level < threshold) {
    counters.filtered.fetch_add(1, std::memory_order_relaxed);
    filtered.add(record.service, record.level, threshold, now_monotonic);
    return;
  }
  const DedupFilter::KeyHash hash = DedupFilter::key_hash(record.service, record.level, record.message);
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
  entry.file.assign(record.file);
  entry.line = record.line;
  entry.function.assign(record.function);
  entry.thread.assign(record.thread);
  entry.pid = record.pid;
  entry.publisher_id = record.publisher_id;
  entry.publisher_sequence = record.sequence;
  assign_fields(entry.fields, record.fields);
  summaries.clear();
  const bool admitted = dedup.admit(entry, hash, now_monotonic, summaries);
  accept_summaries();
  if (!admitted) {
    newest_timestamp_ns = std::max(newest_timestamp_ns, entry.timestamp_ns);
    counters.deduplicated.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  accept(std::move(next_entry));
  if (spare_entries.size() == 0) {
    spares.pop_batch(written_spares, kSpareEntries, std::chrono::milliseconds(0));
    for (std::unique_ptr<LogEntry>& written : written_spares) spare_entries.put(std::move(written));
    written_spares.clear();
  }
  next_entry = spare_entries.take();
  if (next_entry == nullptr) next_entry = std::make_unique<LogEntry>();
}

namespace {

// The requester in words, as its request states it (not verified: any local
// process may publish; RELIABILITY.md), each part cut at kMaxRequesterText bytes.
std::string requester_words(const bus::SetLogLevel& request) {
  constexpr std::size_t kMaxRequesterText = 64;
  std::string words = request.tool.empty() ? "an unnamed requester" : request.tool.substr(0, kMaxRequesterText);
  std::string where;
  if (request.pid != 0) where = "pid " + std::to_string(request.pid);
  if (!request.host.empty())
    where += (where.empty() ? "host " : " on host ") + request.host.substr(0, kMaxRequesterText);
  if (where.empty()) where = "request " + hex(request.request_id);
  return words + " (" + where + ")";
}

}  // namespace

void LoggingNode::State::handle_set_level(std::string_view service, const bus::SetLogLevel& request) {
  if (request.request_id != 0 && request.request_id == last_request_id) return;  // a resend of the same request
  last_request_id = request.request_id;
  const bool own = service == bus::topics::kLoggingServiceId;
  const Level previous = own ? levels.own() : levels.threshold(service);
  const std::string by = requester_words(request);
  bool changed = true;
  if (own) {
    levels.set_own(request.level);
  } else {
    changed = levels.set(service, request.level);
  }
  const Level now = own ? levels.own() : levels.threshold(service);
  // The node's own threshold answers as the service logging_service; a service's
  // threshold in the node answers beside that service's Logger, marked as the node's.
  bus::LogLevelChanged change{
      std::string(service), now, previous, request.request_id, static_cast<std::uint32_t>(getpid()), !own};
  publisher->publish(bus::topics::log_level_changed_topic(service), change);
  // Never silent: whoever changes what the node writes is named (WARNING).
  const std::string from_to =
      "from " + std::string(bus::to_string(previous)) + " to " + std::string(bus::to_string(now)) + " by " + by;
  if (!changed) {
    node_entry(Level::warning, EntryKind::node,
               "refused log level " + std::string(bus::to_string(request.level)) + " for " + std::string(service) +
                   " requested by " + by + ": levels are kept for at most " +
                   std::to_string(ServiceLevels::kMaxServices) + " services (" + std::to_string(levels.size()) +
                   " now); its records are written from " + std::string(bus::to_string(now)));
  } else if (own) {
    node_entry(Level::warning, EntryKind::node, "log level changed " + from_to);
  } else {
    node_entry(Level::warning, EntryKind::node, "log level for " + std::string(service) + " changed " + from_to);
  }
}

void LoggingNode::State::handle_bus_message(bus::Received& message) {
  if (auto topic = bus::topics::parse_log_topic(message.topic)) {
    // Zero-copy: records are read in place; only what an entry keeps is copied.
    // Every record must name the topic's service (in a batch, also its publisher).
    std::uint64_t mismatched = 0;
    const std::string& service_name = names.friendly(topic->service);  // valid until the next lookup
    const std::int64_t now = bus::monotonic_ns();
    const Level threshold = levels.threshold(topic->service);
    bus::LogBatchInfo info;  // one record: its own publisher, no last sequence
    caps.start_message();
    bool refused = false;  // the rest of the message would fill in too much: a sequence gap
    const std::string error = bus::visit_log_records(
        message.bytes(), topic->batch, info,
        [&](const bus::LogRecordView& record) {
          if (record.service != topic->service || record.publisher_id != info.publisher_id) {
            ++mismatched;
            return;
          }
          bus::LogRecordView capped = record;
          if (!caps.apply(capped, service_name.size())) {
            if (!refused) ++mismatched;  // the message, once
            refused = true;
            return;
          }
          handle_record(capped, service_name, threshold, now);
          if (to_writer.size() >= kFlushEntries) flush_to_writer();
        },
        bus::ViewFields::all);
    if (error.empty() && info.last_sequence != 0) {
      note_sequence(topic->service, info.publisher_id,
                    sequences.observe_last(topic->service, info.publisher_id, info.last_sequence, now));
    }
    if (!error.empty()) ++mismatched;  // the message, or the rest of the batch
    if (mismatched > 0) {
      counters.malformed.fetch_add(mismatched, std::memory_order_relaxed);
      pending_loss(topic->service).malformed += mismatched;
    }
    return;
  }
  if (std::string_view(message.topic).starts_with(bus::topics::kSetLogLevelPrefix)) {
    const std::string_view service = std::string_view(message.topic).substr(bus::topics::kSetLogLevelPrefix.size());
    auto request = bus::decode_set_log_level(message.bytes());
    if (bus::topics::is_valid_service_id(service) && request && request.value->service == service) {
      handle_set_level(service, *request.value);
      return;
    }
  }
  // Anything else under /log/ (bad service id) or a bad control message.
  counters.malformed.fetch_add(1, std::memory_order_relaxed);
  ++pending_loss("(invalid topic)").malformed;
}

PendingLoss& LoggingNode::State::pending_loss(std::string_view service) {
  auto found = pending_losses.find(service);
  if (found != pending_losses.end()) return found->second;
  if (pending_losses.size() >= kMaxReportedServices) service = kOtherServices;
  return pending_losses.try_emplace(std::string(service)).first->second;
}

void LoggingNode::State::report_losses(std::int64_t now_monotonic) {
  const bool forgetting = sequences.forgotten() > 0;
  for (auto& [service, loss] : pending_losses) {
    if (loss.lost > 0) {
      node_entry(Level::warning, EntryKind::loss,
                 "lost " + std::to_string(loss.lost) + " records from " + service + " (" + std::to_string(loss.gaps) +
                     (loss.gaps == 1 ? " gap" : " gaps") + " in sequence numbers)");
    }
    if (loss.lost_while_down > 0) {
      std::string message = "lost " + std::to_string(loss.lost_while_down) + " records from " + service +
                            " while the logging node was not running (sequences ";
      for (std::size_t i = 0; i < std::min<std::uint64_t>(loss.down_ranges, PendingLoss::kNamedRanges); ++i) {
        if (i > 0) message += ", ";
        message += std::to_string(loss.down_range[i].first);
        if (loss.down_range[i].second != loss.down_range[i].first) {
          message += "\u2013";  // an en dash
          message += std::to_string(loss.down_range[i].second);
        }
      }
      if (loss.down_ranges > PendingLoss::kNamedRanges) {
        message += " and " + std::to_string(loss.down_ranges - PendingLoss::kNamedRanges) + " more ranges";
      }
      message += ')';
      node_entry(Level::warning, EntryKind::loss, std::move(message));
    }
    if (loss.jumps > 0) {
      std::string message = "sequence from " + service + " (publisher " + hex(loss.jump_publisher) + ") jumped from ";
      message += std::to_string(loss.jump_from);
      message += " to ";
      message += std::to_string(loss.jump_to);
      message += ": not counted as loss, more records than it could have sent";
      if (loss.jumps > 1) message += " (" + std::to_string(loss.jumps) + " such jumps in all)";
      node_entry(Level::warning, EntryKind::loss, std::move(message));
    }
    if (loss.backs > 0) {
      std::string message = "sequence from " + service + " (publisher " + hex(loss.back_publisher) + ") ";
      if (loss.back_from == loss.back_to) {
        message += "repeated number " + std::to_string(loss.back_to);
      } else {
        message += "went back from " + std::to_string(loss.back_from) + " to " + std::to_string(loss.back_to);
      }
      message += ": the publisher restarted, or another process publishes as it";
      if (loss.backs > 1) message += " (" + std::to_string(loss.backs) + " times in all)";
      node_entry(Level::warning, EntryKind::loss, std::move(message));
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
  if (const std::uint64_t forgotten = forgotten_publishers.take(sequences.forgotten())) {
    node_entry(Level::warning, EntryKind::loss,
               "forgot " + std::to_string(forgotten) + " publishers (more than " +
                   std::to_string(sequences.max_publishers()) +
                   " at once): a gap across the forgetting goes undetected");
  }
  // Informational: summed, at most one line a minute.
  quiet_closed_early.add(closed_early.take(dedup.closed_early()), now_monotonic);
  std::string span;
  if (const std::uint64_t closed = quiet_closed_early.take_due(now_monotonic, final_tick, span)) {
    node_entry(Level::info, EntryKind::node,
               "closed " + std::to_string(closed) + " deduplication windows early " + span + ": more than " +
                   std::to_string(kMaxDedupKeys) +
                   " distinct messages within deduplication_window (their repeats are summarised sooner)");
  }
  for (FilteredCounts::Line& line : filtered.take_due(now_monotonic, final_tick)) {
    node_entry(line.level, EntryKind::node, std::move(line.text));
  }
  if (const std::uint64_t refused = writer_dropped.take()) {
    node_entry(Level::warning, EntryKind::loss,
               "dropped " + std::to_string(refused) + " entries: writer queue full (max_queue_size " +
                   std::to_string(config.logging.max_queue_size) + ", max_queue_bytes " +
                   std::to_string(config.logging.max_queue_bytes) + ")");
  }
}

std::chrono::milliseconds LoggingNode::State::sleep_limit(std::int64_t now_monotonic) const {
  // A count of entries not streamed with nothing to carry it.
  if (streaming && dashboard.count_pending()) return kTick;
  std::int64_t until_ns = next_stats_ns - now_monotonic;
  if (const auto due = dedup.next_due_ns()) until_ns = std::min(until_ns, *due - now_monotonic);  // a summary
  const std::int64_t until_ms = until_ns / 1'000'000 + 1;
  return std::chrono::milliseconds(std::clamp<std::int64_t>(until_ms, 0, kStatsPeriodNs / 1'000'000));
}

void LoggingNode::State::on_tick(std::int64_t now_monotonic) {
  summaries.clear();
  dedup.expire(now_monotonic, summaries);
  accept_summaries();
  if (now_monotonic < next_stats_ns) return;
  next_stats_ns = now_monotonic + kStatsPeriodNs;
  for (Retention::Note& note : retention.take_notes()) node_entry(note.level, EntryKind::node, std::move(note.text));
  if (const std::uint64_t frames = frame_malformed.take(subscriber->malformed())) {
    counters.malformed.fetch_add(frames, std::memory_order_relaxed);
    pending_loss("(wrong number of frames)").malformed += frames;
  }
  report_losses(now_monotonic);
  const SessionWriter::Health health = writer.health();
  // A write that failed since the last tick is reported even if a later one worked
  // (ERROR for one tick, then "writing ... again"): no failure goes unseen.
  const bool failed = health.failing || health.failures != write_failures_seen;
  write_failures_seen = health.failures;
  if (failed != write_failing) {
    write_failing = failed;
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
// Someone watches live while anyone subscribes to topics::kWatching (the web
// bridge while a browser is connected, `cantina tail` while it follows); the
// Loggers see the same subscription and send sooner. The web bridge subscribes
// to the dashboard entries all the time, so streaming alone says nothing of a
// viewer: while no one watches, the node gathers its wake-ups even if it streams.
void LoggingNode::State::update_streaming() {
  streaming = config.logging.enable_dashboard_streaming && publisher->has_subscriber(bus::topics::kDashboardLogBatch);
  watched = publisher->has_subscriber(bus::topics::kWatching);
}

void LoggingNode::State::receive_loop() {
  publisher = std::make_unique<bus::Publisher>(context, config.bus.publish_endpoint, config.bus.high_water_mark,
                                               config.bus.curve, /*track_subscriptions=*/true);
  update_streaming();
  subscriber = std::make_unique<bus::Subscriber>(
      context, config.bus.subscribe_endpoint,
      std::vector<std::string>{std::string(bus::topics::kLogPrefix), std::string(bus::topics::kSetLogLevelPrefix)},
      std::min(config.bus.high_water_mark, receive_queue_messages(config.bus.max_record_bytes)), config.bus.curve);
  urgent = std::make_unique<bus::Subscriber>(context, config.bus.subscribe_endpoint,
                                             std::vector<std::string>{std::string(bus::topics::kUrgent)},
                                             kUrgentQueueMessages, config.bus.curve);
  update_streaming();
  publish_status(bus::ServiceState::starting, "opening session " + session.session_id());
  node_entry(Level::info, EntryKind::node,
             "session " + session.session_id() + " started: " + session.path().string() + " (log level " +
                 std::string(bus::to_string(levels.own())) + ")");
  if (!folder_warning.empty()) node_entry(Level::warning, EntryKind::node, folder_warning);
  if (!loaded_sequences.warning.empty()) {
    node_entry(Level::warning, EntryKind::node, std::move(loaded_sequences.warning));
    loaded_sequences.warning.clear();
  }
  dashboard.flush();

  // The loop sleeps in poll(2) on the sockets' ZMQ_FDs and touches only a socket
  // whose descriptor fired or that may still hold messages. zmq_poll would ask
  // every socket for its events before and after sleeping, a system call each:
  // a dozen per bus message, most of the node's CPU at a thousand records a second.
  // A descriptor only says that the socket has commands to process, and any
  // operation on the socket may process them, so each socket is read until it has
  // nothing (or its "may hold more" is remembered) after it was used.
  enum : std::size_t { kBus, kStop, kDashboard, kUrgentBus };
  std::array<zmq::socket_t*, 4> sockets = {&subscriber->socket(), &stop_server, &publisher->socket(),
                                           &urgent->socket()};
  const std::size_t polled = sockets.size();
  std::array<pollfd, 4> fds{};
  for (std::size_t i = 0; i < polled; ++i) fds[i] = {sockets[i]->get(zmq::sockopt::fd), POLLIN, 0};
  bool bus_may_hold_more = true;
  std::int64_t gather_until = 0;  // monotonic; the bus is not read before (0: no wait)
  bool flood = false;             // the last read took kGatherBelow records or more
  int skip_gathers = 0;
  for (;;) {
    // Backpressure: while the writer queue is nearly full, leave records in
    // ZeroMQ's queues (bounded by high_water_mark; beyond it the bus drops and the
    // sequence numbers tell) instead of taking them only to drop them here.
    const bool room = writer_has_room();
    const std::int64_t before = bus::monotonic_ns();
    bool gathered = false;  // this wake-up ends a wait
    if (gather_until != 0 && (watched || before >= gather_until)) {
      gather_until = 0;
      gathered = !watched;
      bus_may_hold_more = true;  // what arrived meanwhile
    }
    const bool gathering = gather_until != 0;
    fds[kBus].events = room && !gathering ? POLLIN : 0;
    auto sleep = !room                             ? kWriterBackoff
                 : bus_may_hold_more && !gathering ? std::chrono::milliseconds(0)
                                                   : sleep_limit(before);
    if (gathering) sleep = std::min(sleep, std::chrono::milliseconds((gather_until - before) / 1'000'000 + 1));
    if (::poll(fds.data(), polled, static_cast<int>(sleep.count())) < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "cantina-logd: poll");
    }
    if ((fds[kUrgentBus].revents & POLLIN) != 0) {
      // An ERROR or CRITICAL on its way: read the bus now (and until it is empty).
      bool woke = false;
      while (urgent->receive(std::chrono::milliseconds(0))) woke = true;
      if (woke && gathering) {
        gather_until = 0;
        gathered = !watched;
        bus_may_hold_more = true;
      }
    }
    if (streaming) dashboard.refill(bus::monotonic_ns());
    bool wake_writer = false;  // what this wake-up read goes to the file at once (once pushed)
    if (room && gather_until == 0 && (bus_may_hold_more || (fds[kBus].revents & POLLIN) != 0)) {
      const bool arrival = !bus_may_hold_more && !watched && !flood;
      if (arrival && skip_gathers == 0) {
        gather_until = bus::monotonic_ns() + kGatherNs;  // wait for the rest of its step
      } else {
        if (arrival) --skip_gathers;
        bus_may_hold_more = true;  // until a receive finds nothing
        const std::uint64_t received_before = counters.received.load(std::memory_order_relaxed);
        std::size_t n = 0;
        for (; n < kMaxMessagesPerWakeup && writer_has_room(); ++n) {
          auto message = subscriber->receive(std::chrono::milliseconds(0));
          if (!message) {
            bus_may_hold_more = false;
            break;
          }
          handle_bus_message(*message);
          // Into the writer queue message by message, so that its byte bound holds
          // (and writer_has_room() sees them); while no one watches, the writer
          // is woken once, below.
          flush_to_writer(watched ? WriterQueue::Wake::as_usual : WriterQueue::Wake::later);
        }
        flood = counters.received.load(std::memory_order_relaxed) - received_before >= kGatherBelow;
        if (gathered && n <= 1) skip_gathers = kSkipAfterLoneGather;
        wake_writer = !watched && n > 0;
      }
    }
    on_tick(bus::monotonic_ns());
    queue_sequence_marks();
    flush_to_writer(wake_writer ? WriterQueue::Wake::later : WriterQueue::Wake::as_usual);
    if (wake_writer) writer_queue.wake();
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
  // What the bus has forwarded to this node it accepted from the services: take it
  // until none comes for kDrainQuiet or a record comes that was made so long after
  // the stop that everything made before it must be in (services still logging
  // send such records at once: their Loggers hold a record at most their linger),
  // for at most kDrainLimit, leaving it in ZeroMQ's queues while the writer is full.
  const std::int64_t drain_until = bus::monotonic_ns() + kDrainLimit.count() * 1'000'000;
  const std::int64_t caught_up_after =
      bus::now_ns() + (std::int64_t{config.bus.logger_linger_unwatched_ms} + kDrainQuiet.count()) * 1'000'000;
  const auto made_after_stop = [&](const WriterItem& item) {
    return item.entry && item.entry->service_id != bus::topics::kLoggingServiceId &&
           item.entry->timestamp_ns > caught_up_after;
  };
  bool drained = false;
  for (std::int64_t now = bus::monotonic_ns(); now < drain_until && !drained; now = bus::monotonic_ns()) {
    if (!writer_has_room()) {
      std::this_thread::sleep_for(kWriterBackoff);
      continue;
    }
    const auto wait = std::min(kDrainQuiet, std::chrono::milliseconds((drain_until - now) / 1'000'000 + 1));
    auto message = subscriber->receive(wait);
    if (!message) {
      drained = wait == kDrainQuiet;  // quiet, not cut short by the limit
      break;
    }
    handle_bus_message(*message);
    drained = std::any_of(to_writer.begin(), to_writer.end(), made_after_stop);
    flush_to_writer();
  }
  if (!drained) {  // a loss report, so that a full writer queue takes it all the same
    node_entry(Level::warning, EntryKind::loss,
               "stopping with records still arriving from the bus after " + std::to_string(kDrainLimit.count()) +
                   " ms: those not taken are reported lost by the next session when their services log again");
  }
  next_stats_ns = 0;
  final_tick = true;
  on_tick(bus::monotonic_ns());
  summaries.clear();
  dedup.flush_all(summaries);
  accept_summaries();
  node_entry(Level::info, EntryKind::node, "session " + session.session_id() + " stopping");
  queue_sequence_marks();
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
  // The receive thread stops the others when it shuts down: they are started first.
  if (state_->history) state_->history->start();
  state_->retention.start();
  state_->receive_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "logd-receive");
    state_->receive_loop();
  });
}

void LoggingNode::stop() {
  if (!state_->started || state_->stopped) return;
  state_->stopped = true;
  state_->stop_client.send(zmq::buffer(std::string_view(kStopMessage)), zmq::send_flags::none);
  state_->receive_thread.join();
  if (state_->history) state_->history->stop();
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
