// cantina-busd's forwarding loop: messages from the publish socket (XSUB) to the
// subscribe socket (XPUB), subscriptions the other way, in one thread.
//
// Byte budget: every message is handed to the XPUB socket as a ZeroMQ message
// whose memory the loop knows about, so it counts the bytes ZeroMQ still holds
// for subscribers (queued for one that reads slowly, or being written) until
// ZeroMQ frees the last copy (HeldBytes). ZeroMQ's own high-water mark counts
// messages, not bytes; this keeps all subscribers' queues together within
// `max_queue_bytes` whatever the messages' sizes. When a message does not fit:
//   - every subscriber connection whose peer has taken nothing since the last
//     look (kernel send queue not empty, no byte acknowledged: a stopped or
//     frozen reader) is disconnected (shutdown(2) on its socket; ZeroMQ then
//     frees what it held for it, and the subscriber reconnects by itself);
//   - the message is dropped for every subscriber and counted; the logging node
//     sees the loss as a sequence gap.
// busd's own records (service `own_service`: its reports of these drops) and
// Loggers' receipts (topics::kReceiptPrefix) may use kOwnReserveBytes beyond the
// budget, so that the report of a flood's drops is not itself dropped by the
// flood, and a closing Logger learns that busd has its last records even while
// a stopped subscriber holds the budget. Anyone may publish those on loopback:
// the reserve bounds what that takes.
// Connections are looked at every kSampleInterval and when the budget is full.
//
// Restating: a gap shows only when something later from the same publisher
// arrives. For the last records of a publisher that stops (or the statement of
// its last sequence number) lost here, or with a disconnected subscriber,
// nothing would. So the loop remembers, per (service, publisher) of the last
// kMaxPublishers it forwarded log messages of, the highest sequence number seen
// (read without the records' text). kRestateDelay after a drop or a disconnect,
// and at once when a subscription to log messages arrives within kRestateWindow
// of one, it sends every publisher seen within kRestateWindow a statement of
// it (an empty LogRecordBatch stating that number) as the budget allows; rounds
// start kRoundSpacing apart at least. A subscriber that was disconnected
// subscribes again only when its own thread next uses its socket, which may be
// seconds after its connection is back: so rounds follow subscriptions, not
// connections, and the subscribe socket passes on every subscription, also one
// that other subscribers already hold (ZMQ_XPUB_VERBOSER). A node that has
// everything ignores them; one that missed records reports them lost.
//
// Ended publishers (bus/include/cantina/bus/tally.h): every kTallySweep the
// loop reads the tallies of the Loggers on this machine. A tally whose process
// is gone, still there kTallyGrace later (what that process sent has passed
// meanwhile), says the last sequence number it used: if that is more than the
// loop forwarded of it, the loop states it on the publisher's behalf (an empty
// LogRecordBatch, as restating does) and reports what the service never sent,
// so that the logging node counts those records lost. Then the file goes.
//
// Publish rights (LAN mode): each message carries its sender's CURVE key as the
// "User-Id" property (CurveGuard); a key may publish only what its
// PublishRights allow. Anything else is dropped and counted per key. Messages
// without a key (busd's own Logger on inproc) pass.
//
// Both kinds of drops are reported through `report` at most once per
// `report_interval`, naming the key, the topic, the peers disconnected.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/siphash.h"
#include "cantina/bus/unreported.h"

namespace cantina::busd {

// Bytes ZeroMQ holds of the messages the loop handed it: grows when a message is
// sent, shrinks when ZeroMQ frees its last copy (from its I/O thread or ours).
class HeldBytes {
 public:
  std::size_t now() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  void add(std::size_t bytes) noexcept { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void release(std::size_t bytes) noexcept { bytes_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> bytes_{0};
};

struct ForwarderOptions {
  std::size_t max_queue_bytes = 0;  // all subscribers' queues together
  // By CURVE public key; null: no CURVE, every message passes.
  const std::map<std::string, bus::PublishRights, std::less<>>* rights = nullptr;
  std::chrono::milliseconds report_interval{1000};
  // The service id of busd's own records (see the reserve above).
  std::string own_service = "cantina_busd";
};

class Forwarder {
 public:
  // Called with one line (no newline) to report as a WARNING.
  using Report = std::function<void(const std::string& text)>;

  // Watches `backend`'s connections (its socket monitor; handshake failures go
  // to `on_refused_handshake` if given). Create before binding `backend`.
  Forwarder(zmq::context_t& context, zmq::socket_t& frontend, zmq::socket_t& backend, ForwarderOptions options,
            Report report, std::function<void()> on_refused_handshake = {});

  // Reads the tallies in `directory` (bus::tally_directory() of the bound
  // publish endpoint; empty: none) from now on.
  void watch_tallies(std::filesystem::path directory) { tally_dir_ = std::move(directory); }

  // Forwards until a message arrives on `control` (or the context ends).
  void run(zmq::socket_t& control);

  // Bytes of forwarded messages ZeroMQ holds now (any thread).
  static std::size_t held_bytes() noexcept;

 private:
  // One connection of the subscribe socket, as the kernel sees it.
  struct Peer {
    std::string address;       // for reports
    std::uint64_t taken = 0;   // bytes the peer has taken (acknowledged) so far
    std::uint64_t queued = 0;  // bytes in the kernel's send queue
    bool stalled = false;      // queued and nothing taken since the look before
  };

  // How far a publisher got: the highest sequence number of its log messages.
  struct Reached {
    std::uint64_t highest = 0;
    std::chrono::steady_clock::time_point seen{};
  };

  void forward_message();
  // Sends `frames_` to the subscribers, counting its bytes as held.
  void send_held(std::size_t cost);
  // key_ = the reached_ key of `service`'s publisher `publisher`.
  void set_key(std::string_view service, std::uint64_t publisher);
  // Remembers how far the publisher of log message `frames_` got.
  void note_reached(std::string_view service, bool batch);
  // A drop or a disconnect happened now: subscribers may have missed last records.
  void lost_some();
  // A round of restating is due at `when` at the latest (kRoundSpacing after
  // the last one at the earliest), unless one is due already.
  void request_round(std::chrono::steady_clock::time_point when);
  // Sends what is owed of the restating round, as the budget allows.
  void restate();
  // Sends `service`'s publisher's statement that `last` is its last number (an
  // empty LogRecordBatch); false if the budget has no room for it now.
  bool send_statement(std::string_view service, std::uint64_t publisher, std::uint64_t last);
  void forward_subscriptions();
  void read_monitor();
  void look_at_peers();
  void relieve();
  void report_if_due();
  // States the last numbers of publishers whose process ended (see above).
  void sweep_tallies();

  zmq::socket_t& frontend_;
  zmq::socket_t& backend_;
  zmq::socket_t monitor_;
  ForwarderOptions options_;
  Report report_;
  std::function<void()> on_refused_handshake_;

  std::vector<zmq::message_t> frames_;  // of the message being forwarded

  // Restating (see above). Keys: service id, '\0', the publisher id's 8 bytes.
  // Keyed: a publisher may choose its id to share a bucket with thousands of others.
  std::unordered_map<std::string, Reached, bus::KeyedHash, std::equal_to<>> reached_;
  std::string key_;                                                  // reused for lookups
  std::chrono::steady_clock::time_point last_loss_{};                // of the latest drop or disconnect
  std::optional<std::chrono::steady_clock::time_point> next_round_;  // due then
  std::chrono::steady_clock::time_point last_round_{};               // started then
  std::vector<std::pair<std::string, std::uint64_t>> owed_;          // of the round being sent
  std::size_t owed_next_ = 0;
  bus::LogBatchEncoder encoder_;
  std::string statement_;
  std::filesystem::path tally_dir_;
  std::chrono::steady_clock::time_point last_sweep_{};
  // Tallies found ended, by path: since when (bounded by the entries a sweep reads).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> ended_since_;
  std::map<int, Peer> peers_;  // by socket descriptor
  std::chrono::steady_clock::time_point last_look_{};
  std::chrono::steady_clock::time_point last_report_{};

  bus::Unreported over_budget_;                  // messages dropped: the budget was full
  bus::Unreported over_budget_bytes_;            // their bytes
  bus::Unreported disconnected_;                 // stalled subscribers disconnected
  std::vector<std::string> disconnected_peers_;  // since the last report (at most a few kept)
  bus::Unreported malformed_;                    // more frames than any bus message has
  struct Refused {
    bus::Unreported messages;
    std::string last_topic;
  };
  std::map<std::string, Refused> refused_;  // by CURVE key
};

}  // namespace cantina::busd
