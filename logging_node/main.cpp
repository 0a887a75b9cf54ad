// cantina-logd: the logging node. See logging_node.h for the design (threads,
// queues, overflow and shutdown). main() parses the command line and the config,
// builds the node, runs it until SIGINT/SIGTERM/SIGHUP, then stops it cleanly.
#include <malloc.h>

#include <iostream>
#include <string>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/node_args.h"
#include "cantina/bus/shutdown.h"
#include "logging_node.h"

namespace {

constexpr const char* kUsage =
    "usage: cantina-logd [--config FILE]\n"
    "  Subscribes to /log/ on the bus and writes session files; see conf/cantina.toml [logging].\n";

}  // namespace

int main(int argc, char** argv) {
  // Large blocks (ZeroMQ's buffers of large messages, a history reply) come from
  // mmap and go back at once: glibc's default threshold grows with every large
  // block freed, after which freed large blocks stay in the heap for good.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  try {
    cantina::bus::NodeArgs args("cantina-logd", kUsage, cantina::bus::NodeArgs::MissingValue::unknown_argument);
    if (const auto exit_status = args.parse(argc, argv)) return *exit_status;
    const cantina::bus::Config config = args.load_config();

    cantina::bus::ShutdownSignals signals;
    zmq::context_t context(1);
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
  } catch (...) {
    std::cerr << "cantina-logd: unknown error\n";
    return 1;
  }
  return 0;
}
