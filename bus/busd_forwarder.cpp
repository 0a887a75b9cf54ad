#include "busd_forwarder.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <utility>

#include "cantina/bus/tally.h"
#include "cantina/bus/topics.h"

namespace cantina::busd {

namespace {

using Clock = std::chrono::steady_clock;

// How often the subscribers' connections are looked at (and at most how long a
// stopped reader goes unnoticed once the budget is full, plus one look).
constexpr std::chrono::milliseconds kSampleInterval{500};
// The soonest a full budget makes the loop look again.
constexpr std::chrono::milliseconds kMinLookInterval{100};
// What a message costs besides its bytes: the bookkeeping of ZeroMQ (a message
// header in each queue, a shared content block) and of the loop, per frame.
constexpr std::size_t kFrameOverheadBytes = 256;
// No bus message has more frames; one with more is dropped, not stored.
constexpr std::size_t kMaxFrames = 8;
// Messages forwarded per wake-up before the other sockets get a look.
constexpr int kBurst = 1024;
// Peers named in one report at most.
constexpr std::size_t kNamedPeers = 5;
// What busd's own records may use beyond max_queue_bytes (see the header): a
// report is a few hundred bytes, at most a few a second.
constexpr std::size_t kOwnReserveBytes = std::size_t{256} << 10;
// Restating (see the header): publishers remembered at most, how long after a
// loss a round starts (the disconnected reconnect meanwhile), how recently a
// publisher must have been seen to be restated, and rounds' least spacing.
constexpr std::size_t kMaxPublishers = 10000;
constexpr std::chrono::milliseconds kRestateDelay{1000};
constexpr std::chrono::seconds kRestateWindow{60};
constexpr std::chrono::milliseconds kRoundSpacing{300};

// Ended publishers (see the header): how often the tallies are read, how long a
// tally's process must have been gone before its number is stated, and the
// directory entries read at most per sweep.
constexpr std::chrono::milliseconds kTallySweep{1000};
constexpr std::chrono::milliseconds kTallyGrace{1000};
constexpr std::size_t kMaxTallyEntries = 4096;

// Whether a subscription to `prefix` takes log messages ("/log/<service>...").
bool takes_log_messages(std::string_view prefix) {
  return bus::topics::kLogPrefix.starts_with(prefix) || prefix.starts_with(bus::topics::kLogPrefix);
}

HeldBytes held;  // static storage: ZeroMQ may free messages until the context ends

// A forwarded message's last frame, as received: ZeroMQ sends its bytes without a
// copy and calls release() when it frees its last copy, which gives back the
// bytes of the whole message.
struct Held {
  zmq::message_t frame;
  // Stored (release) once the message is ready, loaded (acquire) when ZeroMQ
  // frees it, perhaps on its I/O thread: the handoff goes through libzmq, which
  // ThreadSanitizer does not see, so the message carries its own.
  std::atomic<std::size_t> cost{0};
};

void release(void* /*data*/, void* hint) {
  auto* message = static_cast<Held*>(hint);
  held.release(message->cost.load(std::memory_order_acquire));
  delete message;
}

std::string mebibytes(std::size_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return out.str();
}

std::string peer_address(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return "unknown peer";
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "a local (ipc) peer";
}

}  // namespace

std::size_t Forwarder::held_bytes() noexcept {
  return held.now();
}

Forwarder::Forwarder(zmq::context_t& context, zmq::socket_t& frontend, zmq::socket_t& backend, ForwarderOptions options,
                     Report report, std::function<void()> on_refused_handshake)
    : frontend_(frontend),
      backend_(backend),
      monitor_(context, zmq::socket_type::pair),
      options_(std::move(options)),
      report_(std::move(report)),
      on_refused_handshake_(std::move(on_refused_handshake)) {
  const std::string endpoint =
      "inproc://cantina-busd-subscribers-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  const int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(backend_.handle(), endpoint.c_str(), events) != 0) throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(endpoint);
  // Every subscription, also one that others already hold, and every
  // unsubscription: restating follows subscriptions, and the publish socket
  // counts them to tell publishers when no one wants a topic any more.
  backend_.set(zmq::sockopt::xpub_verboser, 1);
  frames_.reserve(kMaxFrames);
}

void Forwarder::run(zmq::socket_t& control) {
  zmq::pollitem_t items[] = {{frontend_.handle(), 0, ZMQ_POLLIN, 0},
                             {backend_.handle(), 0, ZMQ_POLLIN, 0},
                             {monitor_.handle(), 0, ZMQ_POLLIN, 0},
                             {control.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 4, kSampleInterval);
    if ((items[3].revents & ZMQ_POLLIN) != 0) return;
    if ((items[2].revents & ZMQ_POLLIN) != 0) read_monitor();
    if ((items[1].revents & ZMQ_POLLIN) != 0) forward_subscriptions();
    if ((items[0].revents & ZMQ_POLLIN) != 0) {
      for (int i = 0; i < kBurst; ++i) {
        zmq::message_t first;
        if (!frontend_.recv(first, zmq::recv_flags::dontwait)) break;
        frames_.push_back(std::move(first));
        forward_message();
      }
    }
    const auto now = Clock::now();
    if (now - last_look_ >= kSampleInterval) look_at_peers();
    if ((next_round_ && now >= *next_round_) || owed_next_ < owed_.size()) restate();
    sweep_tallies();
    report_if_due();
  }
}

// frames_ holds the first frame of a message; the rest is already here (ZeroMQ
// delivers a message whole).
void Forwarder::forward_message() {
  bool too_many = false;
  while (frames_.back().more()) {
    zmq::message_t frame;
    (void)frontend_.recv(frame, zmq::recv_flags::none);
    if (frames_.size() == kMaxFrames) {
      too_many = true;  // keep draining, store no more
      frames_.back() = std::move(frame);
      continue;
    }
    frames_.push_back(std::move(frame));
  }
  if (too_many) {
    malformed_.add(1);
    frames_.clear();
    return;
  }
  const std::string_view topic(static_cast<const char*>(frames_[0].data()), frames_[0].size());
  if (options_.rights != nullptr) {
    if (const char* key = zmq_msg_gets(frames_[0].handle(), "User-Id"); key != nullptr) {
      const auto rights = options_.rights->find(std::string_view(key));
      if (rights == options_.rights->end() || !bus::may_publish(rights->second, topic)) {
        Refused& refused = refused_[key];
        refused.messages.add(1);
        refused.last_topic.assign(topic.substr(0, 200));
        frames_.clear();
        return;
      }
    }
  }
  std::size_t budget = options_.max_queue_bytes;
  if (frames_.size() == 2) {
    if (const auto log = bus::topics::parse_log_topic(topic)) {
      note_reached(log->service, log->batch);
      if (log->service == options_.own_service) budget += kOwnReserveBytes;
    } else if (bus::topics::is_receipt_topic(topic)) {
      budget += kOwnReserveBytes;  // a closing Logger waits for it, whatever the subscribers hold
    }
  }
  std::size_t cost = 0;
  for (const auto& frame : frames_) cost += frame.size() + kFrameOverheadBytes;
  if (held.now() + cost > options_.max_queue_bytes) {
    relieve();
    if (held.now() + cost > budget) {
      over_budget_.add(1);
      over_budget_bytes_.add(cost);
      frames_.clear();
      lost_some();
      return;
    }
  }
  send_held(cost);
}

void Forwarder::send_held(std::size_t cost) {
  for (std::size_t i = 0; i + 1 < frames_.size(); ++i) (void)backend_.send(frames_[i], zmq::send_flags::sndmore);
  auto* last = new Held{std::move(frames_.back())};
  void* const bytes = last->frame.data();
  const std::size_t size = last->frame.size();
  held.add(cost);
  last->cost.store(cost, std::memory_order_release);  // this thread's last touch of *last
  // From here ZeroMQ owns `last`: release() runs when it frees the message (also
  // at once if no subscriber wants it).
  zmq::message_t out(bytes, size, release, last);
  (void)backend_.send(out, zmq::send_flags::none);
  frames_.clear();
}

void Forwarder::set_key(std::string_view service, std::uint64_t publisher) {
  key_.assign(service);
  key_ += '\0';
  key_.append(reinterpret_cast<const char*>(&publisher), sizeof publisher);
}

void Forwarder::note_reached(std::string_view service, bool batch) {
  const auto& payload = frames_[1];
  const auto peek =
      bus::peek_log_sequence(bus::Bytes(static_cast<const std::byte*>(payload.data()), payload.size()), batch);
  if (!peek || peek->highest == 0) return;
  set_key(service, peek->publisher_id);
  const auto now = Clock::now();
  auto found = reached_.find(key_);
  if (found == reached_.end()) {
    if (reached_.size() >= kMaxPublishers) {
      // Forget those not seen within the window; if that is not enough, the
      // least recently seen half (amortized: a flood of new publishers costs
      // O(1) each).
      std::erase_if(reached_, [&](const auto& entry) { return now - entry.second.seen > kRestateWindow; });
      if (reached_.size() >= kMaxPublishers) {
        std::vector<Clock::time_point> seen;
        seen.reserve(reached_.size());
        for (const auto& entry : reached_) seen.push_back(entry.second.seen);
        auto middle = seen.begin() + static_cast<std::ptrdiff_t>(seen.size() / 2);
        std::nth_element(seen.begin(), middle, seen.end());
        const Clock::time_point cut = *middle;
        std::erase_if(reached_, [&](const auto& entry) { return entry.second.seen <= cut; });
      }
    }
    found = reached_.emplace(key_, Reached{}).first;
  }
  found->second.highest = std::max(found->second.highest, peek->highest);
  found->second.seen = now;
}

void Forwarder::lost_some() {
  last_loss_ = Clock::now();
  request_round(last_loss_ + kRestateDelay);
}

void Forwarder::request_round(Clock::time_point when) {
  // A round due already starts after whatever asks for one now.
  if (!next_round_) next_round_ = std::max(when, last_round_ + kRoundSpacing);
}

void Forwarder::restate() {
  const auto now = Clock::now();
  if (owed_next_ >= owed_.size()) {
    if (!next_round_ || now < *next_round_) return;
    // A new round: every publisher seen within the window, at its highest now.
    next_round_.reset();
    last_round_ = now;
    owed_.clear();
    owed_next_ = 0;
    for (const auto& [key, reached] : reached_) {
      if (now - reached.seen <= kRestateWindow) owed_.emplace_back(key, reached.highest);
    }
  }
  while (owed_next_ < owed_.size()) {
    const auto& [key, highest] = owed_[owed_next_];
    const std::size_t zero = key.find('\0');
    const std::string_view service(key.data(), zero);
    std::uint64_t publisher = 0;
    std::memcpy(&publisher, key.data() + zero + 1, sizeof publisher);
    if (!send_statement(service, publisher, highest)) return;  // later, as the budget allows
    ++owed_next_;
  }
  owed_.clear();
  owed_next_ = 0;
}

bool Forwarder::send_statement(std::string_view service, std::uint64_t publisher, std::uint64_t last) {
  encoder_.encode({}, publisher, last, statement_, bus::LogBatchShared{service, {}, {}, 0});
  const std::string topic = bus::topics::log_batch_topic(service);
  const std::size_t cost = topic.size() + statement_.size() + 2 * kFrameOverheadBytes;
  if (held.now() + cost > options_.max_queue_bytes) return false;
  frames_.clear();
  frames_.emplace_back(topic.data(), topic.size());
  frames_.emplace_back(statement_.data(), statement_.size());
  send_held(cost);
  return true;
}

void Forwarder::forward_subscriptions() {
  for (int i = 0; i < kBurst; ++i) {
    zmq::message_t message;
    if (!backend_.recv(message, zmq::recv_flags::dontwait)) return;
    const bool more = message.more();
    // A subscriber (re)subscribing to log messages soon after a loss may be one
    // that missed records: a round, which reaches it now that it subscribed.
    const auto* bytes = static_cast<const char*>(message.data());
    if (message.size() > 0 && bytes[0] == 1 && last_loss_ != Clock::time_point{} &&
        takes_log_messages(std::string_view(bytes + 1, message.size() - 1))) {
      const auto now = Clock::now();
      if (now - last_loss_ <= kRestateWindow) request_round(now);
    }
    (void)frontend_.send(message, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

void Forwarder::read_monitor() {
  for (;;) {
    zmq::message_t event;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    zmq::message_t address;
    if (event.more()) (void)monitor_.recv(address, zmq::recv_flags::none);
    if (event.size() < 6) continue;
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
    const int fd = static_cast<int>(value);
    if (id == ZMQ_EVENT_ACCEPTED) {
      peers_[fd] = Peer{peer_address(fd)};
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      peers_.erase(fd);
    } else if (on_refused_handshake_) {
      on_refused_handshake_();
    }
  }
}

void Forwarder::look_at_peers() {
  last_look_ = Clock::now();
  for (auto& [fd, peer] : peers_) {
    int queued = 0;
    if (ioctl(fd, SIOCOUTQ, &queued) != 0) continue;
    std::uint64_t taken = 0;
    tcp_info info{};
    socklen_t size = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 && size >= offsetof(tcp_info, tcpi_bytes_acked) + 8) {
      taken = info.tcpi_bytes_acked;
    } else {
      // A local socket tells only what waits in its queue: a reader that takes
      // something changes it (busd refills it as the reader empties it).
      taken = peer.taken + (static_cast<std::uint64_t>(queued) != peer.queued ? 1 : 0);
    }
    peer.stalled = queued > 0 && taken == peer.taken;
    peer.taken = taken;
    peer.queued = static_cast<std::uint64_t>(queued);
  }
}

void Forwarder::relieve() {
  if (Clock::now() - last_look_ < kMinLookInterval) return;
  read_monitor();  // connections closed meanwhile are gone before any is shut down
  look_at_peers();
  for (auto peer = peers_.begin(); peer != peers_.end();) {
    if (!peer->second.stalled) {
      ++peer;
      continue;
    }
    // ZeroMQ sees the connection fail, frees what it queued for it and forgets it;
    // the subscriber reconnects by itself.
    ::shutdown(peer->first, SHUT_RDWR);
    disconnected_.add(1);
    lost_some();
    if (disconnected_peers_.size() < kNamedPeers) disconnected_peers_.push_back(peer->second.address);
    peer = peers_.erase(peer);
  }
}

void Forwarder::report_if_due() {
  const auto now = Clock::now();
  if (now - last_report_ < options_.report_interval) return;
  bool reported = false;
  if (const auto messages = over_budget_.take()) {
    std::string text = "dropped " + std::to_string(messages) + " messages (" + mebibytes(over_budget_bytes_.take()) +
                       ") for every subscriber: the bus holds at most max_queue_bytes (" +
                       mebibytes(options_.max_queue_bytes) + ") for subscribers that read slowly";
    if (const auto peers = disconnected_.take()) {
      text += "; disconnected " + std::to_string(peers) + " subscriber(s) that stopped reading (";
      for (std::size_t i = 0; i < disconnected_peers_.size(); ++i) text += (i > 0 ? ", " : "") + disconnected_peers_[i];
      text += "), which reconnect by themselves";
    }
    disconnected_peers_.clear();
    report_(text);
    reported = true;
  } else if (const auto peers = disconnected_.take()) {
    std::string text = "disconnected " + std::to_string(peers) +
                       " subscriber(s) that stopped reading while the bus held max_queue_bytes (" +
                       mebibytes(options_.max_queue_bytes) + ") for them (";
    for (std::size_t i = 0; i < disconnected_peers_.size(); ++i) text += (i > 0 ? ", " : "") + disconnected_peers_[i];
    text += "); they reconnect by themselves";
    disconnected_peers_.clear();
    report_(text);
    reported = true;
  }
  for (auto& [key, refused] : refused_) {
    const auto messages = refused.messages.take();
    if (messages == 0) continue;
    const auto rights = options_.rights->find(key);
    std::string text = "dropped " + std::to_string(messages) + " messages from CURVE key ";
    text += rights != options_.rights->end() ? rights->second.name + " (" + key + ")" : key;
    text += " that it may not publish (last on " + refused.last_topic + "; " +
            std::to_string(refused.messages.total()) + " since start); it may publish the records and status of ";
    if (rights == options_.rights->end() || rights->second.services.empty()) {
      text += "no service";
    } else {
      bool first = true;
      for (const auto& service : rights->second.services) {
        text += (first ? "" : ", ") + service;
        first = false;
      }
    }
    report_(text);
    reported = true;
  }
  if (const auto messages = malformed_.take()) {
    report_("dropped " + std::to_string(messages) + " messages of more than " + std::to_string(kMaxFrames) +
            " frames (a bus message has 2)");
    reported = true;
  }
  if (reported) last_report_ = now;
}

void Forwarder::sweep_tallies() {
  const auto now = Clock::now();
  if (tally_dir_.empty() || now - last_sweep_ < kTallySweep) return;
  last_sweep_ = now;
  bus::TallyScan scan = bus::scan_tallies(tally_dir_, kMaxTallyEntries);
  std::unordered_map<std::string, Clock::time_point> still;
  for (const bus::EndedPublisher& ended : scan.ended) {
    std::string path = ended.path.string();
    const auto found = ended_since_.find(path);
    const Clock::time_point since = found == ended_since_.end() ? now : found->second;
    if (now - since < kTallyGrace) {
      still.emplace(std::move(path), since);
      continue;
    }
    set_key(ended.service, ended.publisher_id);
    const auto reached = reached_.find(key_);
    const std::uint64_t forwarded = reached == reached_.end() ? 0 : reached->second.highest;
    if (ended.last_sequence > forwarded) {
      if (!send_statement(ended.service, ended.publisher_id, ended.last_sequence)) {
        still.emplace(std::move(path), since);  // the next sweep, as the budget allows
        continue;
      }
      if (reached != reached_.end()) {
        // Known here: what it never sent is certain (without it, the node alone can tell).
        const std::uint64_t unsent = ended.last_sequence - forwarded;
        const std::string what = unsent == 1 ? "its last record (sequence " + std::to_string(ended.last_sequence) + ")"
                                             : "its last " + std::to_string(unsent) + " records (sequences " +
                                                   std::to_string(forwarded + 1) + "-" +
                                                   std::to_string(ended.last_sequence) + ")";
        report_("service " + ended.service + " (pid " + std::to_string(ended.pid) + ") ended without sending " + what +
                " (killed?): stated for the logging node, which counts them lost");
        reached->second.highest = ended.last_sequence;
      }
    }
    (void)::unlink(path.c_str());
  }
  ended_since_ = std::move(still);
}

}  // namespace cantina::busd
