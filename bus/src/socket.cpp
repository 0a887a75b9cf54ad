#include "cantina/bus/socket.h"

namespace cantina::bus {

namespace {

void common_options(zmq::socket_t& socket, int high_water_mark) {
  socket.set(zmq::sockopt::linger, 1000);
  socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
  socket.set(zmq::sockopt::sndhwm, high_water_mark);
  socket.set(zmq::sockopt::rcvhwm, high_water_mark);
}

}  // namespace

void SubscriptionTracker::read(zmq::socket_t& xpub) {
  zmq::message_t message;
  while (xpub.recv(message, zmq::recv_flags::dontwait)) {
    if (message.size() == 0) continue;
    const char* data = static_cast<const char*>(message.data());
    std::string_view prefix(data + 1, message.size() - 1);
    if (data[0] == 1) {
      prefixes_.emplace(prefix);
    } else if (data[0] == 0) {
      if (auto found = prefixes_.find(prefix); found != prefixes_.end()) prefixes_.erase(found);
    }
  }
}

bool SubscriptionTracker::covers(std::string_view topic) const noexcept {
  for (const std::string& prefix : prefixes_) {
    if (topic.starts_with(prefix)) return true;
  }
  return false;
}

Publisher::Publisher(zmq::context_t& context, const std::string& endpoint, int high_water_mark,
                     const CurveConfig& curve, bool track_subscriptions)
    : socket_(context, track_subscriptions ? zmq::socket_type::xpub : zmq::socket_type::pub),
      track_subscriptions_(track_subscriptions) {
  common_options(socket_, high_water_mark);
  secure_client_socket(socket_, curve);
  socket_.connect(endpoint);
}

bool Publisher::has_subscriber(std::string_view topic) {
  if (!track_subscriptions_) return true;
  sent_since_read_ = false;
  subscriptions_.read(socket_);
  return subscriptions_.covers(topic);
}

bool Publisher::send(std::string_view topic, std::string_view payload) {
  sent_since_read_ = true;
  if (!socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
  return socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
}

Subscriber::Subscriber(zmq::context_t& context, const std::string& endpoint, const std::vector<std::string>& prefixes,
                       int high_water_mark, const CurveConfig& curve)
    : socket_(context, zmq::socket_type::sub) {
  common_options(socket_, high_water_mark);
  secure_client_socket(socket_, curve);
  for (const auto& prefix : prefixes) subscribe(prefix);
  socket_.connect(endpoint);
}

void Subscriber::subscribe(std::string_view prefix) {
  socket_.set(zmq::sockopt::subscribe, prefix);
}

void Subscriber::unsubscribe(std::string_view prefix) {
  socket_.set(zmq::sockopt::unsubscribe, prefix);
}

std::optional<Received> Subscriber::receive(std::chrono::milliseconds timeout) {
  if (auto message = receive_now()) return message;
  if (timeout.count() == 0) return std::nullopt;
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  if (zmq::poll(items, 1, timeout) <= 0) return std::nullopt;
  return receive_now();
}

std::optional<Received> Subscriber::receive_now() {
  for (;;) {
    zmq::message_t topic;
    if (!socket_.recv(topic, zmq::recv_flags::dontwait)) return std::nullopt;
    Received received;
    received.topic.assign(static_cast<const char*>(topic.data()), topic.size());
    int frames = 1;
    bool more = topic.more();
    while (more) {
      zmq::message_t frame;
      (void)socket_.recv(frame, zmq::recv_flags::none);  // the rest of a multipart message is already here
      more = frame.more();
      if (++frames == 2) received.payload = std::move(frame);
    }
    if (frames == 2) return received;
    ++malformed_;
  }
}

}  // namespace cantina::bus
