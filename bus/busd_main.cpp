// cantina-busd: the bus. An XSUB/XPUB forwarder: publishers connect to
// [bus] publish_endpoint (XSUB), subscribers to [bus] subscribe_endpoint (XPUB);
// subscriptions flow upstream, messages downstream.
//
// DESIGN
// - main() blocks the shutdown signals, binds both sockets (a failed bind exits
//   non-zero naming the endpoint), then runs the Forwarder (busd_forwarder.h) in
//   a thread and waits for SIGINT/SIGTERM/SIGHUP.
// - Shutdown is a message: main sends TERMINATE on an inproc PAIR control socket;
//   the forwarder returns and the thread ends.
// - Size: the publish socket takes messages of at most
//   max_message_bytes([bus] max_record_bytes) (about 490 KiB by default: a
//   Logger's batch plus one whole record); ZeroMQ closes the connection of a
//   publisher that sends a bigger one. The subscribe socket takes subscriptions
//   of at most kMaxSubscriptionBytes.
// - Memory: the forwarder counts the bytes ZeroMQ holds for subscribers and keeps
//   them within [bus] max_queue_bytes (64 MiB), all subscribers together: a
//   message that does not fit is dropped for everyone (counted, reported; the
//   logging node sees a sequence gap), and a subscriber that has stopped reading
//   is disconnected, which frees what was held for it. Each subscriber's queue is
//   also at most [bus] high_water_mark messages (ZeroMQ drops beyond it, for that
//   subscriber only). Each publisher's connection queues at most
//   max_queue_bytes / max_message_bytes messages before ZeroMQ stops reading it
//   (TCP then holds the publisher back; its own queue drops and counts).
// - LAN mode ([bus.curve] enabled): both sockets are CURVE servers with the bus's
//   key pair; a CurveGuard thread answers ZeroMQ's authentication requests (ZAP),
//   admitting only the authorized client keys, and counts every refused
//   handshake. Each message carries its sender's key, and the forwarder drops
//   what that key may not publish ([bus.curve.permissions]).
// - Reports (refused handshakes, drops over the budget, disconnected
//   subscribers, messages a key may not publish) go at most once a second to
//   stderr and as WARNING records of service "cantina_busd" on the bus itself (a
//   Logger on an inproc endpoint of the XSUB socket), so they reach the session
//   file and the dashboard.
#include <algorithm>
#include <iostream>
#include <optional>
#include <thread>

#include <zmq.hpp>

#include "busd_forwarder.h"
#include "cantina/bus/config.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/node_args.h"
#include "cantina/bus/shutdown.h"
#include "cantina/bus/socket.h"

namespace {

// Longest subscription (topic prefix) a subscriber may send; topics are far shorter.
constexpr std::int64_t kMaxSubscriptionBytes = 4096;

constexpr const char* kUsage =
    "usage: cantina-busd [--config FILE] [--publish ENDPOINT] [--subscribe ENDPOINT]\n"
    "  Runs the bus proxy. Prints the bound endpoints, then runs until SIGINT/SIGTERM.\n";

void bind_or_exit(zmq::socket_t& socket, const std::string& endpoint, const char* what) {
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& error) {
    std::cerr << "cantina-busd: cannot bind " << what << " endpoint " << endpoint << ": " << error.what() << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string publish_endpoint;    // overrides the config when set
  std::string subscribe_endpoint;  // overrides the config when set
  cantina::bus::NodeArgs args("cantina-busd", kUsage, cantina::bus::NodeArgs::MissingValue::needs_a_value);
  args.option("--publish", &publish_endpoint).option("--subscribe", &subscribe_endpoint);
  if (const auto exit_status = args.parse(argc, argv)) return *exit_status;

  cantina::bus::Config config = args.load_config();
  if (!publish_endpoint.empty()) config.bus.publish_endpoint = publish_endpoint;
  if (!subscribe_endpoint.empty()) config.bus.subscribe_endpoint = subscribe_endpoint;

  cantina::bus::ShutdownSignals signals;
  zmq::context_t context(1);
  zmq::socket_t frontend(context, zmq::socket_type::xsub);
  zmq::socket_t backend(context, zmq::socket_type::xpub);
  const std::size_t max_message = cantina::bus::max_message_bytes(config.bus.max_record_bytes);
  // A publisher's connection queues at most about the budget's worth of the largest messages.
  const int publisher_queue = static_cast<int>(std::max<std::size_t>(16, config.bus.max_queue_bytes / max_message));
  frontend.set(zmq::sockopt::rcvhwm, std::min(publisher_queue, config.bus.high_water_mark));
  frontend.set(zmq::sockopt::sndhwm, config.bus.high_water_mark);
  frontend.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(max_message));
  backend.set(zmq::sockopt::sndhwm, config.bus.high_water_mark);
  backend.set(zmq::sockopt::rcvhwm, config.bus.high_water_mark);
  backend.set(zmq::sockopt::maxmsgsize, kMaxSubscriptionBytes);
  for (zmq::socket_t* socket : {&frontend, &backend}) socket->set(zmq::sockopt::linger, 0);

  frontend.bind("inproc://cantina-busd-own-log");  // the Logger below; inproc needs no keys
  cantina::bus::LoggerOptions log_options;
  log_options.service = "cantina_busd";
  log_options.publish_endpoint = "inproc://cantina-busd-own-log";
  cantina::bus::Logger own_log(context, log_options);
  const auto report = [&own_log](const std::string& text) {
    std::cerr << "cantina-busd: " << text << std::endl;
    own_log.log(cantina::bus::Level::warning, text);
  };

  std::optional<cantina::bus::CurveGuard> guard;
  if (config.bus.curve.enabled) {
    // The guard watches the publish socket's handshakes; the forwarder, which
    // watches the subscribe socket's connections, passes on those it sees fail.
    guard.emplace(context, config.bus.curve, std::vector<zmq::socket_t*>{&frontend},
                  [&report](const cantina::bus::CurveRefusals& refusals, std::uint64_t new_refusals) {
                    std::string text = std::to_string(new_refusals) +
                                       " connection attempt(s) refused without an authorized CURVE key (" +
                                       std::to_string(refusals.total) + " refused since start";
                    if (!refusals.last_peer.empty()) text += "; last unauthorized peer: " + refusals.last_peer;
                    text += ")";
                    report(text);
                  });
    try {
      cantina::bus::secure_server_socket(frontend, config.bus.curve);
      cantina::bus::secure_server_socket(backend, config.bus.curve);
    } catch (const std::exception& error) {
      std::cerr << "cantina-busd: " << config.source << ": " << error.what() << "\n";
      return 1;
    }
  }
  cantina::busd::ForwarderOptions forwarder_options;
  forwarder_options.max_queue_bytes = config.bus.max_queue_bytes;
  forwarder_options.own_service = log_options.service;
  if (config.bus.curve.enabled) forwarder_options.rights = &config.bus.curve.rights;
  cantina::busd::Forwarder forwarder(context, frontend, backend, forwarder_options, report, [&guard] {
    if (guard) guard->count_refusal();
  });
  bind_or_exit(frontend, config.bus.publish_endpoint, "publish");
  bind_or_exit(backend, config.bus.subscribe_endpoint, "subscribe");
  // The Loggers of this machine that connect to the publish endpoint keep their tallies there.
  forwarder.watch_tallies(cantina::bus::tally_directory(frontend.get(zmq::sockopt::last_endpoint)));

  zmq::socket_t control_server(context, zmq::socket_type::pair);
  control_server.bind("inproc://busd-control");
  zmq::socket_t control_client(context, zmq::socket_type::pair);
  control_client.connect("inproc://busd-control");

  std::cout << "cantina-busd: publish endpoint " << frontend.get(zmq::sockopt::last_endpoint) << "\n"
            << "cantina-busd: subscribe endpoint " << backend.get(zmq::sockopt::last_endpoint) << "\n"
            << "cantina-busd: "
            << (config.bus.curve.enabled ? "LAN mode: CURVE on, " + std::to_string(config.bus.curve.authorized.size()) +
                                               " client key(s) admitted"
                                         : std::string("CURVE off"))
            << std::endl;

  std::thread forwarding([&] {
    try {
      forwarder.run(control_server);
    } catch (const zmq::error_t& error) {
      std::cerr << "cantina-busd: forwarding stopped: " << error.what() << "\n";
    }
  });

  const int signal_number = signals.wait();
  control_client.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
  forwarding.join();
  std::cout << "cantina-busd: stopped on signal " << signal_number << std::endl;
  return 0;
}
