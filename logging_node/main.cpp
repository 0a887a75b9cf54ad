// cantina-logd: the logging node. See logging_node.h for the design (threads,
// queues, overflow and shutdown). main() parses the command line and the config,
// builds the node, runs it until SIGINT/SIGTERM/SIGHUP, then stops it cleanly.
#include <iostream>
#include <string>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/shutdown.h"
#include "logging_node.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: cantina-logd [--config FILE]\n"
         "  Subscribes to /log/ on the bus and writes session files; see conf/cantina.toml [logging].\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = cantina::bus::default_config_path();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      usage(std::cout);
      return 0;
    } else {
      std::cerr << "cantina-logd: unknown argument " << arg << "\n";
      usage(std::cerr);
      return 2;
    }
  }

  const cantina::bus::Config config = cantina::bus::load_config_or_exit(config_path, "cantina-logd");

  cantina::bus::ShutdownSignals signals;
  zmq::context_t context(1);
  try {
    cantina::logging::LoggingNode node(context, config);
    std::cout << "cantina-logd: session file " << node.session_path().string() << std::endl;
    node.start();
    const int signal_number = signals.wait();
    std::cout << "cantina-logd: signal " << signal_number << ", draining" << std::endl;
    node.stop();
    std::cout << "cantina-logd: stopped, " << node.counters().written.load() << " lines written to "
              << node.session_path().string() << std::endl;
  } catch (const std::exception& error) {
    std::cerr << "cantina-logd: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
