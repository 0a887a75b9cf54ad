#include "bus_client.h"

#include "cantina/bus/clock.h"

#include <algorithm>
#include <stdexcept>

namespace cantina::testing {

RawPublisher::RawPublisher(zmq::context_t& context, const std::string& endpoint)
    : socket_(context, zmq::socket_type::xpub) {
  socket_.set(zmq::sockopt::sndhwm, 1'000'000);
  socket_.set(zmq::sockopt::linger, 5000);
  socket_.connect(endpoint);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::message_t subscription;
    if (!socket_.recv(subscription, zmq::recv_flags::dontwait)) {
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(50));
      continue;
    }
    const std::string text(static_cast<const char*>(subscription.data()), subscription.size());
    if (!text.empty() && text[0] == 1 && std::string_view("/log/x").starts_with(text.substr(1))) return;
  }
  throw std::runtime_error("no subscriber for /log/ appeared on " + endpoint);
}

void RawPublisher::send(const std::string& topic, const std::string& payload) {
  socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(payload), zmq::send_flags::none);
}

void RawPublisher::send_record(const bus::LogRecord& record) {
  send(bus::topics::log_topic(record.service), bus::encode(record));
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
  for (const auto& entry : std::filesystem::directory_iterator(logs)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path LogNode::session_file() const {
  auto files = session_files();
  if (files.size() != 1) throw std::runtime_error("expected one session file, found " + std::to_string(files.size()));
  return files.front();
}

}  // namespace cantina::testing
