#include "bus_feed.h"

#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"
#include "cantina/bus/topics.h"
#include "cantina/bus/unreported.h"
#include "entry_json.h"

namespace cantina::webbridge {

namespace json = boost::json;

constexpr std::string_view kServiceId = "web_bridge";

constexpr std::string_view kEntriesPrefix = "{\"type\":\"entries\",\"entries\":[";

// Entries the bus thread gathers before taking the Inbox's lock once for all of
// them (also the granularity of drops when the Inbox is full).
constexpr std::size_t kChunkBytes = std::size_t{64} * 1024;

void Inbox::add_entries(std::string_view json_text, std::size_t count, std::uint64_t not_streamed,
                        std::string_view timestamps) {
  if (count == 0 && not_streamed == 0) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    not_streamed_ += not_streamed;
    if (entries_ + count > max_entries_ ||
        entries_message_.size() + json_text.size() + timestamps_.size() + timestamps.size() > max_bytes_) {
      dropped_ += count;
    } else if (count > 0) {
      if (entries_ == 0) {
        entries_message_.assign(kEntriesPrefix);
        timestamps_.clear();
        timestamps_complete_ = true;
      } else {
        entries_message_ += ',';
        if (!timestamps_.empty()) timestamps_ += ',';
      }
      entries_message_ += json_text;
      entries_ += count;
      timestamps_ += timestamps;
      if (timestamps.empty()) timestamps_complete_ = false;
    }
    wake = !wake_outstanding_;
    wake_outstanding_ = true;
  }
  if (wake && wake_) wake_();
}

void Inbox::add_event(std::string json_text) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (events_.size() < 1000) events_.push_back(std::move(json_text));  // status/stats: a few a second
    wake = !wake_outstanding_;
    wake_outstanding_ = true;
  }
  if (wake && wake_) wake_();
}

void Inbox::set_stats(std::string stats_json) {
  std::lock_guard lock(mutex_);
  stats_ = std::move(stats_json);
}

void Inbox::set_status(const std::string& service, std::string status_json) {
  std::lock_guard lock(mutex_);
  if (statuses_.size() < 1000 || statuses_.count(service) > 0) statuses_[service] = std::move(status_json);
}

void Inbox::take(Batch& batch) {
  // The next message will likely be as long as the last: reserve outside the lock.
  std::string next;
  next.reserve(std::min(last_message_size_, max_bytes_) + kEntriesPrefix.size());
  batch.entries_message.clear();
  batch.events.clear();
  std::string timestamps;
  bool timestamps_complete = false;
  {
    std::lock_guard lock(mutex_);
    batch.entries = entries_;
    if (entries_ > 0) {
      batch.entries_message.swap(entries_message_);
      entries_message_.swap(next);
      entries_ = 0;
      timestamps.swap(timestamps_);
      timestamps_complete = timestamps_complete_;
    }
    batch.events.swap(events_);
    batch.dropped = dropped_;
    dropped_ = 0;
    batch.not_streamed = not_streamed_;
    not_streamed_ = 0;
    wake_outstanding_ = false;
  }
  if (batch.entries > 0) {
    batch.entries_message += ']';
    if (timestamps_complete) {
      batch.entries_message += ",\"timestamps_ns\":[";
      batch.entries_message += timestamps;
      batch.entries_message += ']';
    }
    batch.entries_message += '}';
    last_message_size_ = batch.entries_message.size();
  }
}

std::string Inbox::stats_json() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<std::string> Inbox::status_jsons() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [service, text] : statuses_) out.push_back(text);
  return out;
}

BusFeed::BusFeed(zmq::context_t& context, const bus::Config& config, Inbox& inbox, BridgeCounters& counters,
                 std::string listen_url)
    : context_(context),
      config_(config),
      inbox_(inbox),
      counters_(counters),
      listen_url_(std::move(listen_url)),
      stop_endpoint_("inproc://webbridge-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(this))),
      stop_server_(context, zmq::socket_type::pair),
      stop_client_(context, zmq::socket_type::pair) {
  // Both ends exist before run() starts, so a stop() can never be lost.
  stop_server_.bind(stop_endpoint_);
  stop_client_.connect(stop_endpoint_);
}

void BusFeed::publish_status(bus::ServiceState state, const std::string& message) {
  const std::int64_t now = bus::now_ns();
  if (state != state_ || since_ns_ == 0) since_ns_ = now;
  state_ = state;
  publisher_->publish(bus::topics::status_topic(kServiceId),
                      bus::ServiceStatus{std::string(kServiceId), state, message, now,
                                         static_cast<std::uint32_t>(getpid()), bus::host_name(), since_ns_});
}

void BusFeed::handle(const std::string& topic, bus::Bytes payload) {
  if (auto dashboard = bus::topics::parse_dashboard_topic(topic)) {
    // One entry or a batch of them, read in place; a malformed message is dropped
    // whole and counted once.
    const std::size_t size_before = entries_json_.size();
    const std::size_t timestamps_before = timestamps_json_.size();
    if (size_before > 0) {
      entries_json_ += ',';
      timestamps_json_ += ',';
    }
    std::uint64_t not_streamed = 0;
    const auto count = append_entries_json(payload, dashboard->batch, entries_json_, &not_streamed, &timestamps_json_);
    if (!count || *count == 0) {
      entries_json_.resize(size_before);
      timestamps_json_.resize(timestamps_before);
    }
    if (!count) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    entries_count_ += *count;
    not_streamed_ += not_streamed;
    if (entries_json_.size() >= kChunkBytes) flush_entries();
  } else if (topic.starts_with(bus::topics::kStatusPrefix)) {
    auto status = bus::decode_service_status(payload);
    if (!status || !bus::topics::service_of(topic, bus::topics::kStatusPrefix) ||
        status.value->service != topic.substr(bus::topics::kStatusPrefix.size())) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    std::string status_json = json::serialize(bus::to_json(*status.value));
    inbox_.add_event("{\"type\":\"status\",\"status\":" + status_json + "}");
    inbox_.set_status(status.value->service, std::move(status_json));
  } else if (topic == bus::topics::kLoggingStats) {
    auto stats = bus::decode_logging_stats(payload);
    if (!stats) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    std::string stats_json = json::serialize(bus::to_json(*stats.value));
    inbox_.add_event("{\"type\":\"stats\",\"stats\":" + stats_json + "}");
    inbox_.set_stats(std::move(stats_json));
  } else {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);  // not a topic we asked for
  }
}

void BusFeed::flush_entries() {
  if (entries_count_ == 0 && not_streamed_ == 0) return;
  counters_.received.fetch_add(entries_count_, std::memory_order_relaxed);
  inbox_.add_entries(entries_json_, entries_count_, not_streamed_, timestamps_json_);
  entries_json_.clear();
  timestamps_json_.clear();
  entries_count_ = 0;
  not_streamed_ = 0;
}

void BusFeed::run() {
  publisher_ = std::make_unique<bus::Publisher>(context_, config_.bus.publish_endpoint, config_.bus.high_water_mark,
                                                config_.bus.curve);
  bus::Subscriber subscriber(context_, config_.bus.subscribe_endpoint,
                             {std::string(bus::topics::kDashboardLog), std::string(bus::topics::kStatusPrefix),
                              std::string(bus::topics::kLoggingStats)},
                             config_.bus.high_water_mark, config_.bus.curve);
  const std::string running_message = "dashboard at " + listen_url_;
  publish_status(bus::ServiceState::running, running_message);
  std::int64_t next_heartbeat = bus::monotonic_ns() + 1'000'000'000;
  bus::Unreported frame_malformed;  // the subscriber's malformed()
  bool watching = false;            // subscribed to topics::kWatching (a browser is connected)
  zmq::pollitem_t items[] = {{subscriber.socket().handle(), 0, ZMQ_POLLIN, 0},
                             {stop_server_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(100));
    // Everything waiting (up to a bound, so that a flood cannot keep stop() and
    // the heartbeat waiting: the next poll then returns at once).
    for (int n = 0; n < 100'000; ++n) {
      auto message = subscriber.receive(std::chrono::milliseconds(0));
      if (!message) break;
      handle(message->topic, message->bytes());
    }
    flush_entries();
    if (const std::uint64_t frames = frame_malformed.take(subscriber.malformed())) {
      counters_.malformed.fetch_add(frames, std::memory_order_relaxed);
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    // While a browser is connected someone watches live: the Loggers (and the
    // logging node) see the subscription to /watching and send at once rather
    // than after their unwatched linger. Checked every poll (at most 100 ms).
    const bool viewers = counters_.clients.load(std::memory_order_relaxed) > 0;
    if (viewers != watching) {
      watching = viewers;
      if (watching) {
        subscriber.subscribe(bus::topics::kWatching);
      } else {
        subscriber.unsubscribe(bus::topics::kWatching);
      }
    }
    if (bus::monotonic_ns() >= next_heartbeat) {
      next_heartbeat += 1'000'000'000;
      publish_status(bus::ServiceState::running, running_message);
    }
  }
  publish_status(bus::ServiceState::stopping, "closing connections");
  publish_status(bus::ServiceState::stopped, "stopped");
}

void BusFeed::stop() {
  std::lock_guard lock(stop_mutex_);
  stop_client_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
}

}  // namespace cantina::webbridge
