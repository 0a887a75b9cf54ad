// cantina-example-service: how a droid service written in C++ logs on the bus.
//
// It pretends to drive the droid's head servo: every --interval seconds it
// "turns the head" and logs what it did. Run it under the supervisor with a
// [[service]] table (see conf/cantina.toml):
//
//   [[service]]
//   name = "head_servo"
//   command = ["cantina-example-service", "--interval", "0.5"]
//   ready = "status"          # it reports RUNNING itself, see below
//
// then watch it with `tools/cantina tail --service head_servo` and turn on its
// debug lines with `tools/cantina level head_servo DEBUG`.
//
// DESIGN
// - Threads: main() blocks SIGINT/SIGTERM/SIGHUP before anything starts a thread
//   (ShutdownSignals), so the Logger's background thread never sees them; the
//   main loop waits for a signal for one interval at a time, which is also its
//   timer. The Logger owns one background thread that publishes records and
//   applies level changes sent by `tools/cantina level`.
// - Ownership: main() owns the ZeroMQ context, the Logger and the status
//   publisher; nothing is global.
// - Overflow: the Logger's queue is bounded; a full queue drops and counts, and
//   the logging node reports the gap. A log call never waits for the network.
// - Shutdown: on a signal the loop ends, the service reports STOPPING then
//   STOPPED, and the Logger's destructor publishes what is still queued.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include <zmq.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/config.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/records.h"
#include "cantina/bus/shutdown.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"

namespace {

struct Options {
  std::string config_path = cantina::bus::default_config_path();  // $CANTINA_CONFIG, else conf/cantina.toml
  std::string service = "head_servo";
  double interval_secs = 1.0;
};

// Defaults come from the supervisor's environment (CANTINA_CONFIG, CANTINA_SERVICE);
// the command line overrides them. Returns false after printing a usage error.
bool parse_options(int argc, char** argv, Options& options) {
  if (const char* service = std::getenv("CANTINA_SERVICE")) options.service = service;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--config" && has_value)
      options.config_path = argv[++i];
    else if (arg == "--service" && has_value)
      options.service = argv[++i];
    else if (arg == "--interval" && has_value)
      options.interval_secs = std::atof(argv[++i]);
    else {
      std::cerr << "usage: cantina-example-service [--config FILE] [--service NAME] [--interval SECONDS]\n";
      return false;
    }
  }
  if (!(options.interval_secs >= 0.01 && options.interval_secs <= 3600)) {
    std::cerr << "cantina-example-service: --interval must be from 0.01 to 3600 seconds\n";
    return false;
  }
  return true;
}

// Tells the bus (and a supervisor waiting with `ready = "status"`) what state the
// service is in. The state is published again every second, so one message lost
// to ZeroMQ's slow joiner does not matter.
class StatusReporter {
 public:
  StatusReporter(zmq::context_t& context, const cantina::bus::BusConfig& bus, std::string service)
      : publisher_(context, bus.publish_endpoint, cantina::bus::kDefaultHighWaterMark, bus.curve),
        service_(std::move(service)) {}

  // Publishes `state` if it changed or the last report is a second old.
  void report(cantina::bus::ServiceState state, const std::string& message) {
    const std::int64_t now = cantina::bus::now_ns();
    if (state == state_ && now - last_report_ns_ < 1'000'000'000) return;
    if (state != state_) since_ns_ = now;
    state_ = state;
    last_report_ns_ = now;
    cantina::bus::ServiceStatus status{service_,
                                       state,
                                       message,
                                       cantina::bus::now_ns(),
                                       static_cast<std::uint32_t>(getpid()),
                                       cantina::bus::host_name(),
                                       since_ns_};
    publisher_.publish(cantina::bus::topics::status_topic(service_), status);
  }

 private:
  cantina::bus::Publisher publisher_;
  std::string service_;
  cantina::bus::ServiceState state_ = cantina::bus::ServiceState::starting;
  std::int64_t since_ns_ = cantina::bus::now_ns();
  std::int64_t last_report_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) return 2;
  // A bad config is one line naming file, line and key, then exit 1.
  const cantina::bus::Config config = cantina::bus::load_config_or_exit(options.config_path, "cantina-example-service");

  cantina::bus::ShutdownSignals signals;  // before any thread starts
  zmq::context_t context(1);
  // The [bus] config gives the endpoints, the start-up hold and, in LAN mode, the
  // CURVE keys. With subscribe_endpoint set, `tools/cantina level head_servo DEBUG`
  // reaches this Logger.
  cantina::bus::LoggerOptions log_options = cantina::bus::logger_options(config.bus, options.service);
  log_options.logger_name = "cantina_os.head_servo";
  cantina::bus::Logger log(context, log_options);
  StatusReporter status(context, config.bus, options.service);

  // Logged before the bus may even have a subscriber: the Logger holds records
  // until one is there (up to [bus] logger_hold_ms), so this line is not lost.
  log.info("Head servo ready on /dev/ttyACM0 (interval {} s, level {})", options.interval_secs,
           cantina::bus::to_string(log.level()));

  const auto interval = std::chrono::milliseconds(static_cast<long>(options.interval_secs * 1000));
  int angle = 0;
  int step = 15;
  for (long tick = 1;; ++tick) {
    status.report(cantina::bus::ServiceState::running, "turning the head");
    if (auto signal = signals.wait_for(interval)) {
      log.info("Received signal {}; parking the head", *signal);
      break;
    }
    if (angle + step > 90 || angle + step < -90) step = -step;
    angle += step;
    // {fmt} format strings, checked at compile time: each {} takes the next
    // argument; specs such as {:.1f}, {:>8} or {:x} work too. Below the threshold
    // (INFO by default) a debug call costs one atomic load and formats nothing.
    log.debug("tick {}: PWM duty {} us for {} degrees", tick, 1500 + angle * 10, angle);
    if (tick % 5 == 0) log.info("Head turned to {} degrees", angle);
    if (tick % 20 == 0) {
      // Stream style, for values that already have an operator<<.
      log.stream(cantina::bus::Level::warning) << "Servo current " << 480 + tick % 7 << " mA near the limit";
    }
  }

  status.report(cantina::bus::ServiceState::stopping, "parking the head");
  log.info("Head parked at 0 degrees; stopping");
  log.flush(std::chrono::seconds(2));
  status.report(cantina::bus::ServiceState::stopped, "stopped");
  return 0;  // ~Logger publishes anything still queued, then joins its thread
}
