#include "cantina/bus/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

#include "cantina/bus/topics.h"

namespace cantina::bus {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // fixed by ZeroMQ's ZAP (RFC 27)
constexpr std::size_t kKeyFileMaxBytes = 4096;
constexpr int kWatchedEvents =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::string z85_of(const void* binary_key) {
  std::array<char, 41> text{};
  zmq_z85_encode(text.data(), static_cast<const std::uint8_t*>(binary_key), 32);
  return std::string(text.data(), 40);
}

std::string frame_text(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

}  // namespace

CurveKeyPair generate_curve_key_pair() {
  std::array<char, 41> public_key{};
  std::array<char, 41> secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0)
    throw std::runtime_error("this libzmq has no CURVE support: " + std::string(zmq_strerror(zmq_errno())));
  return {std::string(public_key.data(), 40), std::string(secret_key.data(), 40)};
}

bool is_curve_key(const std::string& text) {
  if (text.size() != 40) return false;
  std::array<std::uint8_t, 32> binary{};
  return zmq_z85_decode(binary.data(), text.c_str()) != nullptr;
}

CurveKeyPair read_curve_key_file(const std::filesystem::path& path) {
  auto fail = [&](const std::string& problem) -> CurveKeyPair {
    throw std::runtime_error(path.string() + ": " + problem);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot read key file: ") + std::strerror(errno));
  struct stat status {};
  std::string text(kKeyFileMaxBytes + 1, '\0');
  std::size_t length = 0;
  bool read_ok = ::fstat(fd, &status) == 0;
  while (read_ok && length < text.size()) {
    const ssize_t got = ::read(fd, text.data() + length, text.size() - length);
    if (got < 0 && errno == EINTR) continue;
    read_ok = got >= 0;
    if (got <= 0) break;
    length += static_cast<std::size_t>(got);
  }
  ::close(fd);
  if (!read_ok) return fail(std::string("cannot read key file: ") + std::strerror(errno));
  text.resize(length);
  if (text.size() > kKeyFileMaxBytes) return fail("not a key file (larger than 4 KiB)");
  toml::table document;
  try {
    document = toml::parse(text, path.string());
  } catch (const toml::parse_error& error) {
    return fail("not a key file (" + std::string(error.description()) + ")");
  }
  CurveKeyPair keys;
  keys.public_key = document["public"].value_or(std::string());
  keys.secret_key = document["secret"].value_or(std::string());
  if (!is_curve_key(keys.public_key)) return fail("'public' must be a 40-character Z85 CURVE key");
  if (!keys.secret_key.empty()) {
    if (!is_curve_key(keys.secret_key)) return fail("'secret' must be a 40-character Z85 CURVE key");
    std::array<char, 41> derived{};
    if (zmq_curve_public(derived.data(), keys.secret_key.c_str()) != 0 ||
        std::string(derived.data(), 40) != keys.public_key)
      return fail("'public' is not the public key of 'secret'");
    // Like ssh: a secret others can read is no secret; say how to fix it.
    if ((status.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
      return fail(std::string("permissions ") + mode +
                  " are too open: a secret key must be readable by its owner only; fix with: chmod 600 " +
                  path.string());
    }
  }
  return keys;
}

std::vector<AuthorizedKey> read_authorized_keys(const std::filesystem::path& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error))
    throw std::runtime_error(folder.string() + ": not a folder of public keys (*.pub)");
  std::map<std::string, AuthorizedKey> by_name;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const auto extension = entry.path().extension();
    if (!entry.is_regular_file() || (extension != ".pub" && extension != ".key")) continue;
    AuthorizedKey key{entry.path().stem().string(), read_curve_key_file(entry.path()).public_key, entry.path()};
    auto [found, added] = by_name.emplace(key.name, key);
    if (!added && found->second.public_key != key.public_key)
      throw std::runtime_error(entry.path().string() + ": a different key than " + found->second.path.string() +
                               " under the same name");
  }
  std::vector<AuthorizedKey> keys;
  keys.reserve(by_name.size());
  for (auto& [name, key] : by_name) keys.push_back(std::move(key));
  return keys;
}

bool is_node_service(std::string_view service) noexcept {
  for (std::string_view node :
       {"logging_service", "web_bridge", "cantina_busd", "cantina-busd", "cantina-logd", "cantina-webbridge"})
    if (service == node) return true;
  return false;
}

bool may_publish(const PublishRights& rights, std::string_view topic) noexcept {
  if (rights.admin) return true;
  // Every Logger sends an empty /urgent after an ERROR or CRITICAL record: it only
  // ends the logging node's wait to gather messages (50 ms at most), no more than a
  // key's own records could make it do.
  if (topic == topics::kUrgent) return true;
  // A Logger's receipt (topics::kReceiptPrefix) is empty and comes back only to
  // the one subscriber that knows its token.
  if (topics::is_receipt_topic(topic)) return true;
  std::optional<std::string_view> service;
  if (const auto log = topics::parse_log_topic(topic))
    service = log->service;
  else if (!(service = topics::service_of(topic, topics::kStatusPrefix)))
    service = topics::service_of(topic, topics::kLogLevelChangedPrefix);
  return service && !is_node_service(*service) && rights.services.contains(*service);
}

void secure_client_socket(zmq::socket_t& socket, const CurveConfig& curve) {
  if (!curve.enabled) return;
  if (curve.client.secret_key.empty() || curve.server_public_key.empty())
    throw std::invalid_argument("CURVE is on but bus.curve.client_key or bus.curve.server_public_key is not set");
  socket.set(zmq::sockopt::curve_serverkey, curve.server_public_key);
  socket.set(zmq::sockopt::curve_publickey, curve.client.public_key);
  socket.set(zmq::sockopt::curve_secretkey, curve.client.secret_key);
}

void secure_server_socket(zmq::socket_t& socket, const CurveConfig& curve) {
  if (!curve.enabled) return;
  if (curve.server.secret_key.empty())
    throw std::invalid_argument("CURVE is on but bus.curve.server_secret_key is not set on this host");
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, curve.server.secret_key);
  socket.set(zmq::sockopt::zap_domain, "cantina");
}

CurveGuard::CurveGuard(zmq::context_t& context, const CurveConfig& curve,
                       const std::vector<zmq::socket_t*>& server_sockets, Report on_refused,
                       std::chrono::milliseconds report_interval)
    : context_(context),
      authorized_(curve.authorized),
      on_refused_(std::move(on_refused)),
      report_interval_(report_interval) {
  if (!curve.enabled) return;
  // Bound here, in the caller's thread, so that no handshake can happen before
  // the handler exists (without one, libzmq would admit every CURVE client).
  auto zap = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::rep);
  zap->set(zmq::sockopt::linger, 0);
  zap->bind(kZapEndpoint);
  auto monitors = std::make_unique<std::vector<zmq::socket_t>>();
  for (std::size_t i = 0; i < server_sockets.size(); ++i) {
    const std::string endpoint = "inproc://cantina-curve-monitor-" +
                                 std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" + std::to_string(i);
    if (zmq_socket_monitor(server_sockets[i]->handle(), endpoint.c_str(), kWatchedEvents) != 0) throw zmq::error_t();
    zmq::socket_t& monitor = monitors->emplace_back(context_, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(endpoint);
  }
  thread_ = std::thread([this, zap = std::move(zap), monitors = std::move(monitors)] { run(*zap, *monitors); });
}

CurveGuard::~CurveGuard() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

CurveRefusals CurveGuard::refusals() const {
  std::lock_guard lock(mutex_);
  return refusals_;
}

void CurveGuard::count_refusal() {
  std::lock_guard lock(mutex_);
  ++refusals_.total;
}

void CurveGuard::run(zmq::socket_t& zap, std::vector<zmq::socket_t>& monitors) {
  std::vector<zmq::pollitem_t> items;
  items.push_back({zap.handle(), 0, ZMQ_POLLIN, 0});
  for (auto& monitor : monitors) items.push_back({monitor.handle(), 0, ZMQ_POLLIN, 0});
  std::uint64_t reported = 0;
  auto last_report = std::chrono::steady_clock::now() - report_interval_;
  // Polls with a short timeout: the thread only answers handshakes, and the flag
  // is the one way to stop it without a socket the owner would have to share.
  while (!stopping_) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
      if ((items[0].revents & ZMQ_POLLIN) != 0) answer(zap);
      for (std::size_t i = 0; i < monitors.size(); ++i) {
        if ((items[i + 1].revents & ZMQ_POLLIN) == 0) continue;
        zmq::message_t event;
        zmq::message_t address;
        if (!monitors[i].recv(event, zmq::recv_flags::dontwait)) continue;
        if (event.more()) (void)monitors[i].recv(address, zmq::recv_flags::none);
        std::lock_guard lock(mutex_);
        ++refusals_.total;
      }
    } catch (const zmq::error_t&) {
      if (stopping_) break;
    }
    const auto now = std::chrono::steady_clock::now();
    CurveRefusals snapshot = refusals();
    if (snapshot.total > reported && now - last_report >= report_interval_ && on_refused_) {
      on_refused_(snapshot, snapshot.total - reported);
      reported = snapshot.total;
      last_report = now;
    }
  }
}

// One ZAP request (RFC 27): version, request id, domain, address, identity,
// mechanism, then the client's public key for CURVE. Replies 200 or 400.
void CurveGuard::answer(zmq::socket_t& zap) {
  std::vector<zmq::message_t> frames;
  for (;;) {
    zmq::message_t frame;
    if (!zap.recv(frame, zmq::recv_flags::dontwait)) return;
    const bool more = frame.more();
    frames.push_back(std::move(frame));
    if (!more) break;
  }
  if (frames.size() < 2) return;
  const std::string version = frame_text(frames[0]);
  bool admitted = false;
  std::string peer;
  if (frames.size() >= 7 && frame_text(frames[5]) == "CURVE" && frames[6].size() == 32) {
    const std::string key = z85_of(frames[6].data());
    admitted = authorized_.contains(key);
    peer = frame_text(frames[3]) + " with key " + key;
  }
  if (!admitted) {
    std::lock_guard lock(mutex_);
    ++refusals_.unauthorized;
    refusals_.last_peer = peer.empty() ? frame_text(frames[3]) : peer;
  }
  zap.send(zmq::buffer(version), zmq::send_flags::sndmore);
  zap.send(frames[1], zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string_view(admitted ? "200" : "400")), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string_view(admitted ? "OK" : "key not authorized")), zmq::send_flags::sndmore);
  // The user id: the client's key, which every message it sends carries as its "User-Id" property.
  zap.send(zmq::buffer(admitted ? z85_of(frames[6].data()) : std::string()), zmq::send_flags::sndmore);
  zap.send(zmq::str_buffer(""), zmq::send_flags::none);
}

}  // namespace cantina::bus
