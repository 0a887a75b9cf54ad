// `cantina-cli level`, `log` and `wait-status`: commands that talk to running
// services over the bus.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <optional>
#include <random>
#include <system_error>

#include "args.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/line_reader.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "commands.h"

namespace cantina::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds parse_seconds(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    double seconds = std::stod(text, &used);
    if (used != text.size() || seconds < 0 || seconds > 3600) throw std::invalid_argument(text);
    return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  } catch (const std::logic_error&) {
    throw UsageError(flag + " needs a number of seconds (0 to 3600), not '" + text + "'");
  }
}

bus::Level parse_level_or_throw(const std::string& flag, const std::string& text) {
  auto level = bus::parse_level(text);
  if (!level) throw UsageError(flag + " must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not '" + text + "'");
  return *level;
}

void check_service(const std::string& service) {
  if (!bus::topics::is_valid_service_id(service)) {
    throw UsageError("'" + service + "' is not a service id (letters, digits, '_', '-', '.')");
  }
}

// Feeds everything `fd` gives to `reader` until end of file, waking for the
// reader's deadlines in between, then finishes it.
void read_stream(int fd, bus::LineReader& reader) {
  std::array<char, 65536> buffer{};
  for (;;) {
    int timeout_ms = -1;
    if (auto deadline = reader.deadline()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - bus::LineReader::Clock::now());
      timeout_ms = static_cast<int>(std::clamp<long long>(wait.count(), 0, 60'000));
    }
    pollfd input{fd, POLLIN, 0};
    const int ready = ::poll(&input, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw std::system_error(errno, std::generic_category(), "reading standard input");
    if (ready == 0) {
      reader.poll();
      continue;
    }
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) throw std::system_error(errno, std::generic_category(), "reading standard input");
    if (got == 0) break;
    reader.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
  reader.finish();
}

}  // namespace

const CommandHelp kLevelHelp = {
    "level SERVICE LEVEL [--timeout SECS] [--config FILE]\n"
    "       level [SERVICE] [--timeout SECS] [--config FILE]",
    "change a running service's log level, or show the logging node's",
    "With LEVEL (DEBUG, INFO, WARNING, ERROR or CRITICAL): asks SERVICE's Logger to publish\n"
    "from LEVEL up and the logging node to write SERVICE's records from LEVEL up, and prints\n"
    "both changes; exits 1 if either does not answer. \"logging\" is short for the logging\n"
    "node (logging_service): LEVEL is then its own threshold, for every service without one\n"
    "of its own. A service set to the node's own level follows it again. The logging node\n"
    "writes a WARNING line naming who asked (this host, pid and tool).\n"
    "Without LEVEL: prints the logging node's thresholds (its own and those set per\n"
    "service), or SERVICE's, from its stats; exits 1 if none come.\n"
    "options:\n"
    "  --timeout SECS  how long to wait for the answers (default 5)\n"
    "  --config FILE   the config file (default: $CANTINA_CONFIG, else conf/cantina.toml;\n"
    "                  tools/cantina passes the running supervisor's)\n"};

const CommandHelp kLogHelp = {
    "log --service S [--level L] MESSAGE...\n"
    "       log --service S [--level L] --pipe",
    "publish log records from the command line or a pipe",
    "Publishes MESSAGE (its words joined by spaces) as one record of service S, or with\n"
    "--pipe what it reads on stdin, with the rules of a service's captured output: one record\n"
    "a line at the level the line announces (\"ERROR: x\", \"[warn] x\", ...) or L; a Python\n"
    "traceback, or lines indented under another, join that line's record (within 100 ms);\n"
    "at most 256 KiB a record. Exits 1 if a record was not taken by the bus.\n"
    "options:\n"
    "  --service S     the service id (letters, digits, '_', '-', '.'); required\n"
    "  --level L       the level (of lines that announce none, with --pipe); default INFO\n"
    "  --pipe          read the records from stdin\n"
    "  --timeout SECS  how long to wait for a logging node at start and to publish at the\n"
    "                  end (default: [bus] logger_hold_ms, and up to 10 s at the end)\n"
    "  --config FILE   the config file (default: $CANTINA_CONFIG, else conf/cantina.toml;\n"
    "                  tools/cantina passes the running supervisor's)\n"};

const CommandHelp kWaitStatusHelp = {
    "wait-status --service S [--state STATE] [--timeout SECS] [--config FILE]",
    "wait until a service reports a state; print its message",
    "Waits until S publishes STATE on /service/status/S and prints the status message;\n"
    "exits 1 after the timeout, saying what it saw last.\n"
    "options:\n"
    "  --service S     the service id; required\n"
    "  --state STATE   STARTING, RUNNING, STOPPING, STOPPED, ERROR or FATAL (default RUNNING)\n"
    "  --timeout SECS  default 10\n"
    "  --config FILE   the config file (default: $CANTINA_CONFIG, else conf/cantina.toml)\n"};

namespace {

// `level [SERVICE]`: the logging node's thresholds, from its next stats message.
int show_levels(const bus::Config& config, const std::string& service, std::chrono::milliseconds timeout) {
  zmq::context_t context(1);
  bus::Subscriber stats_topic(context, config.bus.subscribe_endpoint, {std::string(bus::topics::kLoggingStats)},
                              bus::kDefaultHighWaterMark, config.bus.curve);
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto message = stats_topic.receive(std::chrono::milliseconds(100));
    if (!message || message->topic != bus::topics::kLoggingStats) continue;
    auto stats = bus::decode_logging_stats(message->bytes());
    if (!stats) continue;
    const auto& table = stats.value->service_levels;
    const std::string own(bus::to_string(stats.value->log_level));
    if (!service.empty() && service != bus::topics::kLoggingServiceId) {
      auto found = std::find_if(table.begin(), table.end(), [&](const auto& row) { return row.first == service; });
      if (found != table.end()) {
        std::cout << service << ": the logging node writes its records from " << bus::to_string(found->second)
                  << " (set for " << service << ")\n";
      } else {
        std::cout << service << ": the logging node writes its records from " << own << " (its own level)\n";
      }
      return 0;
    }
    std::cout << "the logging node writes records from " << own << " (its own level)";
    if (table.empty() || !service.empty()) {
      std::cout << (table.empty() ? ", for every service\n" : "\n");
      return 0;
    }
    std::cout << ", and of these services from:\n";
    std::size_t width = 0;
    for (const auto& row : table) width = std::max(width, row.first.size());
    for (const auto& [name, level] : table) {
      std::cout << "  " << name << std::string(width - name.size() + 2, ' ') << bus::to_string(level) << "\n";
    }
    return 0;
  }
  std::cerr << "cantina-cli level: no stats from the logging node within "
            << std::chrono::duration<double>(timeout).count() << " s: is it running and connected to the bus at "
            << config.bus.subscribe_endpoint << "?\n";
  return 1;
}

}  // namespace

int level_command(const Arguments& args) {
  Args parsed(args, {"--config", "--timeout"}, {});
  const auto& positional = parsed.positional();
  if (positional.size() > 2) throw UsageError("usage: level SERVICE LEVEL, or level [SERVICE]");
  std::string service;
  if (!positional.empty()) {
    // "logging" is short for the logging node's id.
    service = positional[0] == "logging" ? std::string(bus::topics::kLoggingServiceId) : positional[0];
    check_service(service);
  }
  std::optional<bus::Level> level;
  if (positional.size() == 2) level = parse_level_or_throw("LEVEL", positional[1]);
  const auto timeout = parse_seconds("--timeout", parsed.value("--timeout").value_or("5"));
  const bus::Config config = load(config_path(parsed));
  if (!level) return show_levels(config, service, timeout);

  zmq::context_t context(1);
  bus::Subscriber replies(context, config.bus.subscribe_endpoint, {bus::topics::log_level_changed_topic(service)},
                          bus::kDefaultHighWaterMark, config.bus.curve);
  bus::Publisher requests(context, config.bus.publish_endpoint, bus::kDefaultHighWaterMark, config.bus.curve);
  std::random_device random;
  const bus::SetLogLevel request{service,
                                 *level,
                                 (static_cast<std::uint64_t>(random()) << 32) | random(),
                                 bus::host_name(),
                                 static_cast<std::uint32_t>(getpid()),
                                 "cantina-cli level"};
  const std::string topic = bus::topics::set_log_level_topic(service);
  // The service's Logger answers, and the logging node for what it writes of the
  // service (the node itself answers once, as the service logging_service).
  const bool own = service == bus::topics::kLoggingServiceId;
  bool service_answered = false;
  bool node_answered = own;
  bool refused = false;
  std::string service_line;  // printed in this order once both answered (or the time is up)
  std::string node_line;

  // Publish until the replies come: the first sends may reach nobody while the
  // connections are being made.
  const auto deadline = Clock::now() + timeout;
  auto next_send = Clock::now();
  while (Clock::now() < deadline && !(service_answered && node_answered)) {
    if (Clock::now() >= next_send) {
      requests.publish(topic, request);
      next_send = Clock::now() + std::chrono::milliseconds(200);
    }
    auto message = replies.receive(std::chrono::milliseconds(50));
    if (!message) continue;
    auto change = bus::decode_log_level_changed(message->bytes());
    if (!change || change.value->request_id != request.request_id || change.value->service != service) continue;
    if (change.value->logging_node && !node_answered) {
      node_answered = true;
      const std::string now(bus::to_string(change.value->level));
      refused = change.value->level != *level;
      node_line = "logging node: ";
      if (refused) {
        node_line += "refused ";
        node_line += bus::to_string(*level);
        node_line += " for ";
        node_line += service;
        node_line +=
            " (it keeps levels for a limited number of services; see its WARNING line); writes its records "
            "from ";
        node_line += now;
      } else {
        node_line += "writes ";
        node_line += service;
        node_line += "'s records from ";
        node_line += now;
        node_line += " (was ";
        node_line += bus::to_string(change.value->previous);
        node_line += ')';
      }
      node_line += '\n';
    } else if (!change.value->logging_node && !service_answered) {
      service_answered = true;
      service_line = service + ": log level " + std::string(bus::to_string(change.value->previous)) + " -> " +
                     std::string(bus::to_string(change.value->level)) + " (pid " + std::to_string(change.value->pid) +
                     ")\n";
    }
  }
  std::cout << service_line << node_line << std::flush;
  const double seconds = std::chrono::duration<double>(timeout).count();
  if (!service_answered) {
    std::cerr << "cantina-cli level: no answer from " << service << " within " << seconds
              << " s: is it running and connected to the bus at " << config.bus.publish_endpoint << "?\n";
  }
  if (!node_answered) {
    std::cerr << "cantina-cli level: no answer from the logging node within " << seconds
              << " s: it may still leave out " << service << "'s records below its own level\n";
  }
  return service_answered && node_answered && !refused ? 0 : 1;
}

int log_command(const Arguments& args) {
  Args parsed(args, {"--config", "--service", "--level", "--timeout"}, {"--pipe"});
  const std::string service = parsed.value("--service").value_or("");
  if (service.empty()) throw UsageError("--service is required");
  check_service(service);
  const bus::Level level = parse_level_or_throw("--level", parsed.value("--level").value_or("INFO"));
  const std::optional<std::string> timeout_text = parsed.value("--timeout");
  const bool pipe = parsed.has("--pipe");
  if (pipe == !parsed.positional().empty()) throw UsageError("give either a MESSAGE or --pipe");
  const bus::Config config = load(config_path(parsed));

  zmq::context_t context(1);
  bus::Logger::Counters counters;
  std::uint64_t offered = 0;  // records this command logged (none is below the DEBUG threshold)
  {
    // The start-up hold and queue come from [bus] (logger_hold_ms, logger_queue);
    // --timeout overrides the hold. Publishing what is queued at the end may take
    // longer than the hold on a busy machine: it waits up to --timeout or 10 s.
    bus::LoggerOptions options = bus::logger_options(config.bus, service);
    options.subscribe_endpoint.clear();  // a one-shot publisher takes no level requests
    options.logger_name = "cantina-cli";
    options.level = bus::Level::debug;
    if (timeout_text) options.hold_until_subscribed = parse_seconds("--timeout", *timeout_text);
    const auto timeout = timeout_text ? options.hold_until_subscribed : std::chrono::milliseconds(10000);
    options.shutdown_timeout = timeout;
    bus::Logger logger(context, options);
    if (pipe) {
      // The same reader as the supervisor's output capture: level prefixes, tracebacks
      // and indented lines as one record, a bounded wait and size.
      bus::LineReader::Options read_options;
      read_options.default_level = level;
      read_options.max_record_bytes = bus::max_record_bytes(config.bus);
      bus::LineReader reader(read_options, [&](bus::ReadRecord&& record) {
        bus::RecordDetails details;
        details.timestamp_ns = record.timestamp_ns;
        logger.log(record.level, std::move(record.text), std::move(details));
        ++offered;
      });
      read_stream(STDIN_FILENO, reader);
    } else {
      std::string message;
      for (const auto& part : parsed.positional()) message += (message.empty() ? "" : " ") + part;
      logger.log(level, message);
      ++offered;
    }
    logger.flush(timeout);
    counters = logger.counters();
  }
  if (counters.published != offered) {
    std::cerr << "cantina-cli log: " << offered - counters.published << " of " << offered
              << " records were not taken by the bus (is the bus running with a logging node at "
              << config.bus.publish_endpoint << "?)\n";
    return 1;
  }
  return 0;
}

int wait_status_command(const Arguments& args) {
  Args parsed(args, {"--config", "--service", "--state", "--timeout"}, {});
  const std::string service = parsed.value("--service").value_or("");
  if (service.empty()) throw UsageError("--service is required");
  check_service(service);
  const std::string wanted = parsed.value("--state").value_or("RUNNING");
  const auto timeout = parse_seconds("--timeout", parsed.value("--timeout").value_or("10"));
  const bus::Config config = load(config_path(parsed));

  zmq::context_t context(1);
  bus::Subscriber statuses(context, config.bus.subscribe_endpoint, {bus::topics::status_topic(service)},
                           bus::kDefaultHighWaterMark, config.bus.curve);
  const auto deadline = Clock::now() + timeout;
  std::string last = "nothing";
  while (Clock::now() < deadline) {
    auto message = statuses.receive(std::chrono::milliseconds(100));
    if (!message) continue;
    auto status = bus::decode_service_status(message->bytes());
    if (!status || status.value->service != service) continue;
    last = std::string(bus::to_string(status.value->state)) + " (" + status.value->message + ")";
    if (wanted == bus::to_string(status.value->state)) {
      std::cout << status.value->message << std::endl;
      return 0;
    }
  }
  std::cerr << "cantina-cli wait-status: " << service << " did not report " << wanted << " within "
            << std::chrono::duration<double>(timeout).count() << " s; last seen: " << last << "\n";
  return 1;
}

}  // namespace cantina::cli
