#include "history_server.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"
#include "history_filter.h"

namespace cantina::logging {

namespace {

std::string stop_endpoint(const void* owner) {
  return "inproc://logging-node-history-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(owner));
}

// A reply handed to ZeroMQ without a copy; freed (and uncounted) once ZeroMQ is done.
struct ReplyBuffer {
  std::string bytes;
  std::shared_ptr<std::atomic<std::size_t>> in_flight;
  // Stored (release) once the buffer is complete, loaded (acquire) when ZeroMQ
  // frees it, perhaps on its I/O thread: the handoff goes through libzmq, which
  // ThreadSanitizer does not see, so the buffer carries its own.
  std::atomic<bool> handed{false};
};

void free_reply(void* /*data*/, void* hint) {
  auto* reply = static_cast<ReplyBuffer*>(hint);
  (void)reply->handed.load(std::memory_order_acquire);
  reply->in_flight->fetch_sub(reply->bytes.size(), std::memory_order_relaxed);
  delete reply;  // NOLINT(cppcoreguidelines-owning-memory): ZeroMQ's free callback takes a raw pointer
}

// Why `query` cannot be answered, or empty.
std::string oversize(const bus::HistoryQuery& query) {
  if (query.text.size() > bus::kMaxNameBytes) {
    return "history query text is " + std::to_string(query.text.size()) + " bytes, at most " +
           std::to_string(bus::kMaxNameBytes);
  }
  for (const std::string& service : query.services) {
    if (service.size() > bus::kMaxNameBytes) {
      return "history query service name is " + std::to_string(service.size()) + " bytes, at most " +
             std::to_string(bus::kMaxNameBytes);
    }
  }
  return {};
}

// The bytes `entry` adds to the encoded reply.
std::size_t encoded_size(const bus::DashboardLog& entry) {
  return bus::dashboard_entry_size(entry);
}

}  // namespace

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
  out.file = entry.file;
  out.line = entry.line;
  out.function = entry.function;
  out.thread = entry.thread;
  out.pid = entry.pid;
  out.fields = entry.fields;
  return out;
}

bus::HistoryReply answer_history_query(bus::Bytes payload, const EntryRing& ring, std::mutex& ring_mutex,
                                       const std::string& session_id, const HistoryLimits& limits) {
  bus::HistoryReply reply;
  reply.session_id = session_id;
  auto decoded = bus::decode_history_query(payload);
  if (!decoded) {
    reply.error = "bad history query: " + decoded.error;
    return reply;
  }
  const bus::HistoryQuery& query = *decoded.value;
  if (std::string why = oversize(query); !why.empty()) {
    reply.error = "bad history query: " + why;
    return reply;
  }
  const std::size_t most = std::min(limits.max_entries, kMaxReplyEntries);
  const std::size_t limit = query.limit == 0 ? most : std::min<std::size_t>(query.limit, most);
  std::size_t bytes = 0;
  // Newest first, a chunk per hold of the mutex; `before` is the sequence of the
  // oldest entry looked at so far (entries are in ascending sequence in the ring).
  std::uint64_t before = UINT64_MAX;
  bool more = true;
  while (more && reply.entries.size() < limit && !reply.truncated) {
    std::lock_guard lock(ring_mutex);
    // The first entry at or after `before`: everything below it is still to look at.
    std::size_t lo = 0;
    std::size_t hi = ring.size();
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (ring.at(mid)->sequence < before) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    std::size_t index = lo;
    for (std::size_t looked = 0; looked < kScanChunk; ++looked) {
      if (index == 0) {
        more = false;
        break;
      }
      const LogEntry& entry = *ring.at(--index);
      before = entry.sequence;
      if (!matches(entry, query)) continue;
      bus::DashboardLog out = to_dashboard(entry, session_id);
      const std::size_t size = encoded_size(out);
      if (bytes + size > limits.max_reply_bytes && !reply.entries.empty()) {
        reply.truncated = true;
        break;
      }
      bytes += size;
      reply.entries.push_back(std::move(out));
      if (reply.entries.size() == limit) break;
    }
  }
  std::reverse(reply.entries.begin(), reply.entries.end());
  return reply;
}

HistoryServer::HistoryServer(zmq::context_t& context, const std::string& endpoint, const bus::CurveConfig& curve,
                             const EntryRing& ring, std::mutex& ring_mutex, std::string session_id,
                             HistoryLimits limits)
    : context_(context),
      ring_(ring),
      ring_mutex_(ring_mutex),
      session_id_(std::move(session_id)),
      limits_(limits),
      socket_(context, zmq::socket_type::router),
      stop_server_(context, zmq::socket_type::pair),
      stop_client_(context, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, kMaxQueryBytes);
  socket_.set(zmq::sockopt::rcvhwm, kRequestQueueMessages);
  socket_.set(zmq::sockopt::sndhwm, kReplyQueueMessages);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  if (curve.enabled) {
    // LAN mode: the query endpoint admits the same client keys as the bus.
    guard_ = std::make_unique<bus::CurveGuard>(
        context, curve, std::vector<zmq::socket_t*>{&socket_},
        [](const bus::CurveRefusals& refusals, std::uint64_t new_refusals) {
          std::fprintf(stderr,
                       "cantina-logd: query endpoint: %llu connection attempt(s) refused without an authorized "
                       "CURVE key (%llu since start)\n",
                       static_cast<unsigned long long>(new_refusals), static_cast<unsigned long long>(refusals.total));
        });
    bus::secure_server_socket(socket_, curve);
  }
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& error) {
    throw std::runtime_error("cannot bind query endpoint " + endpoint + ": " + error.what());
  }
  stop_server_.bind(stop_endpoint(this));
  stop_client_.connect(stop_endpoint(this));
}

HistoryServer::~HistoryServer() {
  try {
    stop();
  } catch (const std::exception& error) {  // destructors report instead of throwing
    std::fprintf(stderr, "cantina-logd: error while stopping the history thread: %s\n", error.what());
  }
}

void HistoryServer::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "logd-history");  // as top -H and /proc show it
    run();
  });
}

void HistoryServer::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stop_client_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  thread_.join();
}

void HistoryServer::run() {
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {stop_server_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(1000));
    if ((items[1].revents & ZMQ_POLLIN) != 0) break;
    while (serve_one()) {
    }
    report_refusals(false);
  }
  report_refusals(true);
}

void HistoryServer::report_refusals(bool final) {
  const std::uint64_t busy = refused_busy_.load(std::memory_order_relaxed);
  const std::uint64_t unread = refused_unread_.load(std::memory_order_relaxed);
  if (busy == reported_busy_ && unread == reported_unread_) return;
  const std::int64_t now = bus::monotonic_ns();
  if (!final && reported_at_ns_ != 0 && now - reported_at_ns_ < kReportIntervalNs) return;
  std::fprintf(stderr,
               "cantina-logd: query endpoint: %llu history queries answered \"busy\" and %llu replies not queued "
               "(their client does not read them, or has gone); %llu and %llu since start\n",
               static_cast<unsigned long long>(busy - reported_busy_),
               static_cast<unsigned long long>(unread - reported_unread_), static_cast<unsigned long long>(busy),
               static_cast<unsigned long long>(unread));
  reported_busy_ = busy;
  reported_unread_ = unread;
  reported_at_ns_ = now;
}

bool HistoryServer::serve_one() {
  // ROUTER: [routing id][envelope...][empty delimiter][query] from a REQ (or a
  // DEALER that adds the delimiter); the reply goes back with the same envelope.
  std::vector<zmq::message_t> frames;
  zmq::message_t frame;
  if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return false;
  bool usable = true;
  for (;;) {
    const bool more = frame.more();
    if (frames.size() <= kMaxEnvelopeFrames + 1) {
      frames.push_back(std::move(frame));
    } else {
      usable = false;
    }
    if (!more) break;
    frame = zmq::message_t();
    (void)socket_.recv(frame, zmq::recv_flags::none);  // the rest of a message is there at once
  }
  // Not a request a REQ could have sent (no delimiter right before one body
  // frame): dropped without a reply, as a REP socket does.
  if (!usable || frames.size() < 3 || frames[frames.size() - 2].size() != 0) return true;
  const zmq::message_t query = std::move(frames.back());
  frames.pop_back();  // what is left is the envelope, delimiter included
  bus::HistoryReply reply;
  const std::size_t in_flight = in_flight_->load(std::memory_order_relaxed);
  if (in_flight + limits_.max_reply_bytes > kMaxRepliesInFlight) {
    // Clients that do not read hold what they were sent: answer no more until
    // ZeroMQ has written (or dropped) some of it.
    refused_busy_.fetch_add(1, std::memory_order_relaxed);
    reply.session_id = session_id_;
    reply.error = "busy: " + std::to_string(in_flight) + " bytes of history replies not yet taken by their readers";
  } else {
    reply = answer_history_query({static_cast<const std::byte*>(query.data()), query.size()}, ring_, ring_mutex_,
                                 session_id_, limits_);
  }
  auto* buffer = new ReplyBuffer{bus::encode(reply), in_flight_};  // NOLINT(cppcoreguidelines-owning-memory)
  reply = {};
  char* const bytes = buffer->bytes.data();
  const std::size_t size = buffer->bytes.size();
  in_flight_->fetch_add(size, std::memory_order_relaxed);
  buffer->handed.store(true, std::memory_order_release);  // this thread's last touch of *buffer
  zmq::message_t message(bytes, size, free_reply, buffer);
  try {
    // With ZMQ_ROUTER_MANDATORY the first frame fails (EAGAIN) if the client's
    // queue is full, and (EHOSTUNREACH) if it has gone: nothing is queued then.
    if (!socket_.send(frames.front(), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      refused_unread_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    for (std::size_t i = 1; i < frames.size(); ++i) {
      (void)socket_.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    (void)socket_.send(message, zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {  // the client has gone
    refused_unread_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

}  // namespace cantina::logging
