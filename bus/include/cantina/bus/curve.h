// LAN mode: ZeroMQ CURVE encryption and authentication for bus sockets.
//
// Keys are Z85 text (40 characters), made by `tools/cantina keygen NAME`, which
// writes NAME.key (the key pair, mode 0600) and NAME.pub (the public key only).
// Both are small TOML files: `public = "..."` and, in NAME.key, `secret = "..."`.
//
// The host that binds (cantina-busd; cantina-logd's query endpoint) holds the
// bus's key pair and admits only the client public keys in the authorized-keys
// folder (ZAP). Every process that connects holds its own key pair and the bus's
// public key. When CURVE is off every function here does nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace cantina::bus {

// A CURVE key pair in Z85 text. `secret` is empty for a public key alone.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// What one authorized client key may publish on the bus ([bus.curve.permissions]).
struct PublishRights {
  std::string name;    // the key file's name in the authorized folder (NAME.pub)
  bool admin = false;  // everything: the bus host's own processes
  // Otherwise only these services' records (/log/<service>, /log/<service>/batch),
  // statuses (/service/status/<service>) and answers to level changes
  // (/control/log_level_changed/<service>).
  std::set<std::string, std::less<>> services;
};

// Whether `rights` allow publishing a message on `topic`.
bool may_publish(const PublishRights& rights, std::string_view topic) noexcept;

// The service ids the nodes and the supervisor publish as (the logging node, the
// web bridge, busd, and the supervisor's names for them): only an admin key may
// publish for them.
bool is_node_service(std::string_view service) noexcept;

// The CURVE settings of one process, from [bus.curve] with the key files read.
struct CurveConfig {
  bool enabled = false;
  std::string server_public_key;     // the bus's public key; every process needs it
  CurveKeyPair server;               // the bus's key pair; only where sockets bind
  CurveKeyPair client;               // this process's key pair; where sockets connect
  std::set<std::string> authorized;  // client public keys admitted where sockets bind
  // What each of them may publish, by public key (cantina-busd enforces it).
  std::map<std::string, PublishRights, std::less<>> rights;
};

// CURVE off: plain TCP, for loopback and ipc endpoints.
inline const CurveConfig kNoCurve{};

// A fresh key pair from libzmq (which must have been built with CURVE support).
CurveKeyPair generate_curve_key_pair();

// True if `text` is 40 characters of Z85 that decode to a 32-byte key.
bool is_curve_key(const std::string& text);

// Reads a key file (NAME.key or NAME.pub). Throws std::runtime_error naming the
// file and the problem; a file with a secret key that its group or others may
// access (mode & 077) is refused, saying "chmod 600 FILE" (like ssh).
CurveKeyPair read_curve_key_file(const std::filesystem::path& path);

// One public key of the authorized folder and the name it goes by there.
struct AuthorizedKey {
  std::string name;  // the file name without .pub (or .key)
  std::string public_key;
  std::filesystem::path path;
};

// Reads every *.pub (and *.key) file in `folder`, in name order. Throws
// std::runtime_error naming the file and the problem (also for one name with two
// different keys).
std::vector<AuthorizedKey> read_authorized_keys(const std::filesystem::path& folder);

// Makes `socket` a CURVE client of the bus (call before connect). Throws
// std::invalid_argument if CURVE is on but this process has no key pair.
void secure_client_socket(zmq::socket_t& socket, const CurveConfig& curve);

// Makes `socket` a CURVE server (call before bind). Throws std::invalid_argument if
// CURVE is on but the bus's key pair is missing. Use with a CurveGuard.
void secure_server_socket(zmq::socket_t& socket, const CurveConfig& curve);

// What a CurveGuard has refused so far.
struct CurveRefusals {
  std::uint64_t total = 0;         // handshakes that failed, for any reason
  std::uint64_t unauthorized = 0;  // of which: a valid CURVE client whose key is not listed
  std::string last_peer;           // address and key of the last unauthorized client, if any
};

// Answers ZeroMQ's authentication requests (ZAP) for every socket of `context`,
// admitting only the authorized keys (a message's "User-Id" property is then the
// sender's public key in Z85), and watches the given server sockets' handshakes
// so that every refused peer is counted, including peers that do not speak CURVE
// at all. One thread; `on_refused` is called from it at most once per
// `report_interval` while there are new refusals. Create it before binding the
// sockets and destroy it after closing them. Does nothing when CURVE is off.
class CurveGuard {
 public:
  using Report = std::function<void(const CurveRefusals& refusals, std::uint64_t new_refusals)>;

  CurveGuard(zmq::context_t& context, const CurveConfig& curve, const std::vector<zmq::socket_t*>& server_sockets,
             Report on_refused, std::chrono::milliseconds report_interval = std::chrono::seconds(1));
  ~CurveGuard();
  CurveGuard(const CurveGuard&) = delete;
  CurveGuard& operator=(const CurveGuard&) = delete;

  // The counts so far. Any thread.
  CurveRefusals refusals() const;

  // Counts a refused handshake seen by another watcher of a server socket (a
  // socket has one monitor: the bus daemon watches its subscriber socket itself).
  // Any thread.
  void count_refusal();

 private:
  void run(zmq::socket_t& zap, std::vector<zmq::socket_t>& monitors);
  void answer(zmq::socket_t& zap);

  zmq::context_t& context_;
  std::set<std::string> authorized_;
  Report on_refused_;
  std::chrono::milliseconds report_interval_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  CurveRefusals refusals_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace cantina::bus
