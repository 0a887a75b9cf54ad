// cantina-busd: the bus. An XSUB/XPUB proxy: publishers connect to
// [bus] publish_endpoint (XSUB), subscribers to [bus] subscribe_endpoint (XPUB);
// subscriptions flow upstream, messages downstream.
//
// DESIGN
// - main() blocks the shutdown signals, binds both sockets (a failed bind exits
//   non-zero naming the endpoint), then runs zmq::proxy_steerable in a proxy
//   thread and waits for SIGINT/SIGTERM/SIGHUP.
// - Shutdown is a message: main sends TERMINATE on an inproc PAIR control socket;
//   the proxy returns and the thread ends.
// - Overflow: each subscriber has a queue of [bus] high_water_mark messages in the
//   XPUB socket; when it is full ZeroMQ drops for that subscriber only, so a slow
//   subscriber never blocks publishers or other subscribers. Loss shows up as
//   sequence gaps at the logging node.
// - LAN mode ([bus.curve] enabled): both sockets are CURVE servers with the bus's
//   key pair; a CurveGuard thread answers ZeroMQ's authentication requests (ZAP),
//   admitting only the authorized client keys, and counts every refused
//   handshake. Refusals are reported at most once a second, on stderr and as a
//   WARNING record of service "cantina_busd" on the bus itself (a Logger on an
//   inproc endpoint of the XSUB socket), so they reach the session file and the
//   dashboard.
#include <iostream>
#include <optional>
#include <thread>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/curve.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/node_args.h"
#include "cantina/bus/shutdown.h"
#include "cantina/bus/socket.h"

namespace {

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
  for (zmq::socket_t* socket : {&frontend, &backend}) {
    socket->set(zmq::sockopt::sndhwm, config.bus.high_water_mark);
    socket->set(zmq::sockopt::rcvhwm, config.bus.high_water_mark);
    socket->set(zmq::sockopt::maxmsgsize, cantina::bus::kMaxMessageBytes);
    socket->set(zmq::sockopt::linger, 0);
  }
  std::optional<cantina::bus::Logger> own_log;
  std::optional<cantina::bus::CurveGuard> guard;
  if (config.bus.curve.enabled) {
    frontend.bind("inproc://cantina-busd-own-log");  // the Logger below; inproc needs no keys
    cantina::bus::LoggerOptions log_options;
    log_options.service = "cantina_busd";
    log_options.publish_endpoint = "inproc://cantina-busd-own-log";
    own_log.emplace(context, log_options);
    guard.emplace(context, config.bus.curve, std::vector<zmq::socket_t*>{&frontend, &backend},
                  [&own_log](const cantina::bus::CurveRefusals& refusals, std::uint64_t new_refusals) {
                    std::string text = std::to_string(new_refusals) +
                                       " connection attempt(s) refused without an authorized CURVE key (" +
                                       std::to_string(refusals.total) + " refused since start";
                    if (!refusals.last_peer.empty()) text += "; last unauthorized peer: " + refusals.last_peer;
                    text += ")";
                    std::cerr << "cantina-busd: " << text << std::endl;
                    own_log->log(cantina::bus::Level::warning, text);
                  });
    try {
      cantina::bus::secure_server_socket(frontend, config.bus.curve);
      cantina::bus::secure_server_socket(backend, config.bus.curve);
    } catch (const std::exception& error) {
      std::cerr << "cantina-busd: " << config.source << ": " << error.what() << "\n";
      return 1;
    }
  }
  bind_or_exit(frontend, config.bus.publish_endpoint, "publish");
  bind_or_exit(backend, config.bus.subscribe_endpoint, "subscribe");

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

  std::thread proxy([&] {
    try {
      zmq::proxy_steerable(frontend, backend, zmq::socket_ref(), control_server);
    } catch (const zmq::error_t& error) {
      std::cerr << "cantina-busd: proxy stopped: " << error.what() << "\n";
    }
  });

  const int signal_number = signals.wait();
  control_client.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
  proxy.join();
  std::cout << "cantina-busd: stopped on signal " << signal_number << std::endl;
  return 0;
}
