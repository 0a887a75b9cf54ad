#include "bus_feed.h"

#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"
#include "cantina/bus/topics.h"

namespace cantina::webbridge {

namespace json = boost::json;

constexpr std::string_view kServiceId = "web_bridge";

void Inbox::add_entry(std::string json_text) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_) {
    ++dropped_;
    return;
  }
  entries_.push_back(std::move(json_text));
}

void Inbox::add_event(std::string json_text) {
  std::lock_guard lock(mutex_);
  if (events_.size() < 1000) events_.push_back(std::move(json_text));  // status/stats: a few a second
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
  batch.entries.clear();
  batch.events.clear();
  std::lock_guard lock(mutex_);
  batch.entries.swap(entries_);
  batch.events.swap(events_);
  batch.dropped = dropped_;
  dropped_ = 0;
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
  if (topic == bus::topics::kDashboardLog) {
    auto entry = bus::decode_dashboard_log(payload);
    if (!entry) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    inbox_.add_entry(json::serialize(bus::to_json(*entry.value)));
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
  std::uint64_t frame_malformed_seen = 0;
  zmq::pollitem_t items[] = {{subscriber.socket().handle(), 0, ZMQ_POLLIN, 0},
                             {stop_server_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(100));
    for (int n = 0; n < 10000; ++n) {
      auto message = subscriber.receive(std::chrono::milliseconds(0));
      if (!message) break;
      handle(message->topic, message->bytes());
    }
    if (subscriber.malformed() > frame_malformed_seen) {
      counters_.malformed.fetch_add(subscriber.malformed() - frame_malformed_seen, std::memory_order_relaxed);
      frame_malformed_seen = subscriber.malformed();
    }
    if (items[1].revents & ZMQ_POLLIN) break;
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
