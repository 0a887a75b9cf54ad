#include "bus_client.h"

#include "cantina/bus/clock.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace cantina::testing {

RawPublisher::RawPublisher(zmq::context_t& context, const std::string& endpoint)
    : socket_(context, zmq::socket_type::xpub), monitor_(context, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::sndhwm, 1'000'000);
  socket_.set(zmq::sockopt::linger, 5000);
  const std::string monitor_endpoint =
      "inproc://raw-publisher-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
    throw std::runtime_error("zmq_socket_monitor failed");
  monitor_.connect(monitor_endpoint);
  socket_.connect(endpoint);
  if (!wait_for_subscription(std::chrono::seconds(10)))
    throw std::runtime_error("no subscriber for /log/ appeared on " + endpoint);
}

bool RawPublisher::wait_for_subscription(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::message_t subscription;
    if (!socket_.recv(subscription, zmq::recv_flags::dontwait)) {
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(50));
      continue;
    }
    const std::string text(static_cast<const char*>(subscription.data()), subscription.size());
    if (!text.empty() && text[0] == 1 && std::string_view("/log/x").starts_with(text.substr(1))) return true;
  }
  return false;
}

bool RawPublisher::wait_for_reconnect(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool disconnected = false;
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::pollitem_t items[] = {{monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    zmq::message_t event, address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) continue;
    (void)monitor_.recv(address, zmq::recv_flags::none);  // [event id, value][endpoint]
    std::uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_DISCONNECTED) disconnected = true;
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && disconnected) return true;
  }
  return false;
}

void RawPublisher::send_frames(const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void RawPublisher::send(const std::string& topic, const std::string& payload) {
  socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(payload), zmq::send_flags::none);
}

void RawPublisher::send_record(const bus::LogRecord& record) {
  send(bus::topics::log_topic(record.service), bus::encode(record));
}

StatsWatcher::StatsWatcher(const std::string& endpoint)
    : thread_([this, endpoint] {
        zmq::context_t context;
        bus::Subscriber stats(context, endpoint, {std::string(bus::topics::kLoggingStats)});
        while (!stop_) {
          auto message = stats.receive(std::chrono::milliseconds(50));
          if (!message) continue;
          auto decoded = bus::decode_logging_stats(message->bytes());
          std::lock_guard lock(mutex_);
          if (decoded) latest_ = *decoded.value;
        }
      }) {}

StatsWatcher::~StatsWatcher() {
  stop_ = true;
  thread_.join();
}

std::optional<bus::LoggingStats> StatsWatcher::latest() {
  std::lock_guard lock(mutex_);
  return latest_;
}

void RawPublisher::send_batch(const std::string& service, const bus::LogRecordBatch& batch) {
  send(bus::topics::log_batch_topic(service), bus::encode(batch));
}

std::vector<bus::LogRecord> records_of(const bus::Received& message) {
  auto topic = bus::topics::parse_log_topic(message.topic);
  if (!topic) return {};
  auto records = bus::decode_log_records(message.bytes(), topic->batch);
  if (!records) return {};
  return std::move(records.value->records);
}

bus::LogRecord make_record(const std::string& service, std::uint64_t publisher, std::uint64_t sequence,
                           const std::string& message, bus::Level level) {
  bus::LogRecord record;
  record.timestamp_ns = bus::now_ns();
  record.level = level;
  record.service = service;
  record.message = message;
  record.publisher_id = publisher;
  record.sequence = sequence;
  return record;
}

std::optional<std::string> wait_for_status(const std::string& subscribe_endpoint, const std::string& service,
                                           bus::ServiceState state, std::chrono::milliseconds timeout) {
  zmq::context_t context;
  bus::Subscriber statuses(context, subscribe_endpoint, {bus::topics::status_topic(service)});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto message = statuses.receive(std::chrono::milliseconds(100));
    if (!message) continue;
    auto status = bus::decode_service_status(message->bytes());
    if (status && status.value->state == state) return status.value->message;
  }
  return std::nullopt;
}

LogNode::LogNode(const std::filesystem::path& dir_in, const Bus& bus_in, const std::string& extra,
                 const std::optional<std::filesystem::path>& logs_in)
    : bus(bus_in),
      dir(dir_in),
      config(dir_in / "cantina.toml"),
      logs(logs_in.value_or(dir_in / "logs")),
      query_endpoint("ipc://" + (dir_in / "query.ipc").string()) {
  write_file(config, bus_section(bus) + "[logging]\nsession_file_path = \"" + logs.string() +
                         "\"\nquery_endpoint = \"" + query_endpoint + "\"\n" + extra);
  start();
}

void LogNode::start() {
  process.reset();
  process.emplace(std::vector<std::string>{bin("cantina-logd"), "--config", config.string()}, dir / "logd.out");
  if (!wait_for_status(bus.subscribe_endpoint, "logging_service", bus::ServiceState::running,
                       std::chrono::seconds(15))) {
    throw std::runtime_error("cantina-logd did not report RUNNING: " + process->output());
  }
}

std::vector<std::filesystem::path> LogNode::session_files() const {
  std::vector<std::filesystem::path> files;
  // The session files (not their .idx indexes).
  for (const auto& entry : std::filesystem::directory_iterator(logs)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("cantina-session-") && entry.path().extension() == ".log") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path LogNode::session_file() const {
  auto files = session_files();
  if (files.size() != 1) throw std::runtime_error("expected one session file, found " + std::to_string(files.size()));
  return files.front();
}

namespace {

bus::LoggerOptions probe_options(const Bus& bus, const std::string& service) {
  bus::LoggerOptions options;
  options.service = service;
  options.publish_endpoint = bus.publish_endpoint;
  options.hold_until_subscribed = std::chrono::seconds(10);
  options.batch_linger = std::chrono::milliseconds(0);
  // Unwatched, a lone record waits for company (a change of watchers applies from
  // the next message on, so a record sent before it may still wait this long).
  options.batch_linger_unwatched = std::chrono::seconds(5);
  return options;
}

}  // namespace

LingerProbe::LingerProbe(zmq::context_t& context, const Bus& bus, const std::string& service)
    : topic_(std::string(bus::topics::kLogPrefix) + service),
      raw_(context, bus.subscribe_endpoint, {topic_}),
      log(context, probe_options(bus, service)) {}

bool LingerProbe::record_arrives(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (auto message = raw_.receive(std::chrono::milliseconds(50)); message && message->topic.starts_with(topic_)) {
      return true;
    }
  }
  return false;
}

}  // namespace cantina::testing
