// The Ledger: what the web bridge holds for its clients, against its caps.
// Connections (all of them, and per phase: waiting for a request, answering
// one, WebSocket) and bytes (messages waiting for the browsers, HTTP responses
// being written). io thread only. Shared (std::shared_ptr) by the Hub and every
// connection, so that a connection destroyed late (with the io_context, after
// the Hub) still finds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

namespace cantina::webbridge {

class Ledger : public std::enable_shared_from_this<Ledger> {
 public:
  struct Caps {
    std::size_t connections = 128;  // open connections, all phases
    std::size_t reading = 64;       // waiting for a request: the oldest is closed to make room for a new one
    std::size_t answering = 64;     // HTTP requests being answered
    std::size_t websockets = 64;    // live streams
    std::size_t client_bytes = std::size_t{32} << 20;    // messages waiting for the browsers, each counted once
    std::size_t response_bytes = std::size_t{16} << 20;  // HTTP responses being written, together
  };

  enum class Phase { reading, answering, websocket };

  // One connection's place. Leaves its phase when destroyed (or when evicted).
  class Slot {
   public:
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    // Moves to `phase`. Entering `reading` when it is full closes the oldest
    // connection waiting for a request (not this one).
    void enter(Phase phase);
    Phase phase() const { return phase_; }
    // True once the Ledger closed this connection to make room.
    bool evicted() const { return evicted_; }

   private:
    friend class Ledger;
    Slot(std::shared_ptr<Ledger> ledger, std::function<void()> evict);
    void leave();

    std::shared_ptr<Ledger> ledger_;
    std::function<void()> evict_;  // closes the connection's socket
    Phase phase_ = Phase::reading;
    bool counted_ = false;
    bool evicted_ = false;
    std::list<Slot*>::iterator in_reading_{};
  };

  // Use make(): slots and messages keep the Ledger alive.
  static std::shared_ptr<Ledger> make(const Caps& caps);

  // A new connection, waiting for its first request. When every connection or
  // every reading place is taken, the oldest connection waiting for a request is
  // closed (`evict` of its slot, at once) to make room; if there is none to
  // close, nullptr: the caller closes the new connection (refused).
  std::unique_ptr<Slot> admit(std::function<void()> evict);

  // Room for one more connection in `phase` (answering, websocket).
  bool has_room(Phase phase) const;

  // A message for the browsers: its bytes count in client_bytes() while any
  // queue holds it (the last holder releases them).
  struct Message {
    std::string text;
    ~Message();
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

   private:
    friend class Ledger;
    Message(std::string t, std::shared_ptr<Ledger> l);
    std::shared_ptr<Ledger> ledger_;
  };
  std::shared_ptr<const Message> message(std::string text);
  // Messages for the browsers are past caps().client_bytes: only a browser whose
  // queue is empty gets the next one.
  bool clients_over_budget() const { return client_bytes_ > caps_.client_bytes; }

  // Takes `bytes` of HTTP response if they fit in caps().response_bytes.
  bool hold_response(std::size_t bytes);
  void release_response(std::size_t bytes);

  const Caps& caps() const { return caps_; }
  std::size_t connections() const { return reading_.size() + answering_ + websockets_; }
  std::size_t count(Phase phase) const;
  std::size_t client_bytes() const { return client_bytes_; }
  std::size_t response_bytes() const { return response_bytes_; }
  std::uint64_t refused() const { return refused_; }  // connections closed at once: no room
  std::uint64_t evicted() const { return evicted_; }  // idle connections closed to make room

 private:
  explicit Ledger(const Caps& caps) : caps_(caps) {}
  void evict_oldest(const Slot* spare);
  void add(Slot& slot, Phase phase);
  void remove(Slot& slot);

  Caps caps_;
  std::list<Slot*> reading_;  // oldest first
  std::size_t answering_ = 0;
  std::size_t websockets_ = 0;
  std::size_t client_bytes_ = 0;
  std::size_t response_bytes_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace cantina::webbridge
