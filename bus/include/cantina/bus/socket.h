// Typed publisher and subscriber over cppzmq. Messages are [topic][payload].
// Each object owns one socket and belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/limits.h"

namespace cantina::bus {

// Messages a socket may queue per peer before it drops (PUB) or stops reading.
inline constexpr int kDefaultHighWaterMark = 100000;

// Largest message a bus socket accepts (ZeroMQ closes the connection a bigger
// one comes on): the largest a producer makes with the largest record a config
// allows (limits.h). cantina-busd takes only what its config's
// max_record_bytes allows.
inline constexpr std::int64_t kMaxMessageBytes = static_cast<std::int64_t>(max_message_bytes(kMaxRecordBytesSetting));

// The subscriptions an XPUB socket has been told about (through the bus, the
// prefixes every subscriber asked for), to know whether anyone would receive a
// topic before building the message. Belongs to the socket's thread.
class SubscriptionTracker {
 public:
  // Reads the subscription messages waiting on `xpub`, without waiting.
  void read(zmq::socket_t& xpub);

  // True if a subscription seen so far covers `topic`.
  bool covers(std::string_view topic) const noexcept;

 private:
  std::set<std::string, std::less<>> prefixes_;
};

// A PUB socket connected to the bus's publish endpoint (or bound, for tests).
// send() never blocks: when a peer's queue is full ZeroMQ drops the message.
// With CURVE on (LAN mode) the socket authenticates to the bus with `curve`'s keys.
class Publisher {
 public:
  // `track_subscriptions`: an XPUB socket, so that has_subscriber() can answer.
  Publisher(zmq::context_t& context, const std::string& endpoint, int high_water_mark = kDefaultHighWaterMark,
            const CurveConfig& curve = kNoCurve, bool track_subscriptions = false);

  // Whether a subscriber to `topic` is known now (reads pending subscription
  // messages first). Always true unless track_subscriptions was set.
  bool has_subscriber(std::string_view topic);

  // Sends [topic][payload]. Returns false if ZeroMQ refused it (would block).
  bool send(std::string_view topic, std::string_view payload);

  template <class Message>
  bool publish(std::string_view topic, const Message& message) {
    return send(topic, encode(message));
  }

  zmq::socket_t& socket() noexcept { return socket_; }

  // For a caller that sleeps on the socket's ZMQ_FD rather than zmq_poll: true if
  // a send since the last has_subscriber() may have taken the descriptor's signal
  // for a subscription message (ZeroMQ processes pending commands in send), so
  // has_subscriber() must be asked without waiting for the descriptor.
  bool subscriptions_unread() const noexcept { return track_subscriptions_ && sent_since_read_; }

 private:
  zmq::socket_t socket_;
  bool track_subscriptions_;
  bool sent_since_read_ = false;
  SubscriptionTracker subscriptions_;
};

// One message taken off a subscriber: the topic and the payload frame.
struct Received {
  std::string topic;
  zmq::message_t payload;

  Bytes bytes() const noexcept { return {static_cast<const std::byte*>(payload.data()), payload.size()}; }
};

// A SUB socket connected to the bus's subscribe endpoint, filtering by topic prefix.
// With CURVE on (LAN mode) the socket authenticates to the bus with `curve`'s keys.
class Subscriber {
 public:
  Subscriber(zmq::context_t& context, const std::string& endpoint, const std::vector<std::string>& prefixes,
             int high_water_mark = kDefaultHighWaterMark, const CurveConfig& curve = kNoCurve);

  // Waits up to `timeout` (0 = do not wait) for the next well-formed message.
  // Messages that are not exactly two frames are counted in malformed() and
  // skipped. Returns nullopt if nothing arrived in time.
  std::optional<Received> receive(std::chrono::milliseconds timeout);

  void subscribe(std::string_view prefix);
  void unsubscribe(std::string_view prefix);

  // Frame-level malformed messages seen so far (wrong number of frames).
  std::uint64_t malformed() const noexcept { return malformed_; }

  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  std::optional<Received> receive_now();

  zmq::socket_t socket_;
  std::uint64_t malformed_ = 0;
};

}  // namespace cantina::bus
