// `cantina-cli tail`: an ad-hoc subscriber. Subscribes first, then (with -n)
// asks the logging node for history, then follows live messages until Ctrl-C or
// until stdout is closed (e.g. `| head`).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <regex>

#include "args.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "commands.h"
#include "render.h"

namespace cantina::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

struct TailFilter {
  bus::Level min_level = bus::Level::debug;
  std::vector<std::string> services;
  std::optional<std::regex> grep;

  bool wants(bus::Level level, std::string_view service_id, std::string_view friendly) const {
    if (level < min_level) return false;
    if (services.empty()) return true;
    for (const auto& s : services) {
      if (s == service_id || s == friendly) return true;
    }
    return false;
  }
};

// Writes one line; returns false once stdout is gone (EPIPE).
bool emit(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) return false;
  return std::fputc('\n', stdout) != EOF;
}

// Asks the logging node for its newest `count` entries; prints them. Returns false
// if stdout closed.
bool print_history(zmq::context_t& context, const std::string& endpoint, const bus::CurveConfig& curve,
                   unsigned long count, const TailFilter& filter, const RenderOptions& options) {
  zmq::socket_t request(context, zmq::socket_type::req);
  request.set(zmq::sockopt::linger, 0);
  request.set(zmq::sockopt::rcvtimeo, 3000);
  request.set(zmq::sockopt::sndtimeo, 3000);
  bus::secure_client_socket(request, curve);
  request.connect(endpoint);
  bus::HistoryQuery query;
  query.limit = static_cast<std::uint32_t>(std::min<unsigned long>(count, 1'000'000));
  query.min_level = filter.min_level;
  query.services = filter.services;
  std::string payload = bus::encode(query);
  if (!request.send(zmq::buffer(payload), zmq::send_flags::none)) {
    std::cerr << "cantina-cli tail: no history: cannot reach the logging node at " << endpoint << "\n";
    return true;
  }
  zmq::message_t reply_frame;
  if (!request.recv(reply_frame, zmq::recv_flags::none)) {
    std::cerr << "cantina-cli tail: no history: the logging node at " << endpoint << " did not answer\n";
    return true;
  }
  auto reply = bus::decode_history_reply({static_cast<const std::byte*>(reply_frame.data()), reply_frame.size()});
  if (!reply || !reply.value->error.empty()) {
    std::cerr << "cantina-cli tail: no history: " << (reply ? reply.value->error : reply.error) << "\n";
    return true;
  }
  for (const auto& entry : reply.value->entries) {
    std::string line = render_entry(entry, options);
    if (filter.grep && !std::regex_search(line, *filter.grep)) continue;
    if (!emit(line)) return false;
  }
  return std::fflush(stdout) == 0;
}

}  // namespace

const CommandHelp kTailHelp = {
    "tail [-n N] [--no-follow] [--service S]... [--level L] [--grep RE] [--json] [--topic PREFIX]...\n"
    "       [--colour|--no-colour] [--bus ENDPOINT] [--query ENDPOINT] [--config FILE]",
    "print log records live (and the newest ones first with -n)",
    "Prints every log record as it is published, one line each, like the session file:\n"
    "\"[time] LEVEL service message\" with the service's display name, until Ctrl-C. Says on\n"
    "stderr within 2 s when no bus or no logging node answers, and keeps waiting.\n"
    "options:\n"
    "  -n N            first print the newest N entries the logging node keeps (history)\n"
    "  --no-follow     with -n: print the history, then exit (1 if there is none to get)\n"
    "  --service S     only the records of S, an id or a display name (repeatable)\n"
    "  --level L       only L and above: DEBUG, INFO, WARNING, ERROR or CRITICAL\n"
    "  --grep RE       only lines matching RE (an extended regular expression)\n"
    "  --json          one JSON object a line; \"service\" is the id, \"service_name\" the\n"
    "                  display name, in history and live alike\n"
    "  --topic PREFIX  follow these bus topics instead of /log/ (repeatable): /dashboard/log\n"
    "                  (what the logging node wrote), /logging/stats (its counters, a line a\n"
    "                  second), /service/status/ (every process's state)\n"
    "  --colour, --no-colour\n"
    "                  colour lines by level (default: when stdout is a terminal and NO_COLOR\n"
    "                  is not set)\n"
    "  --bus ENDPOINT  the bus's subscribe endpoint (default: the config's)\n"
    "  --query ENDPOINT\n"
    "                  the logging node's history endpoint (default: the config's)\n"
    "  --config FILE   the config file (default: $CANTINA_CONFIG, else conf/cantina.toml;\n"
    "                  tools/cantina passes the running supervisor's)\n"};

int tail_command(const Arguments& args) {
  Args parsed(args, {"--config", "--service", "--level", "-n", "--bus", "--query", "--grep", "--topic"},
              {"--json", "--no-follow", "--colour", "--color", "--no-colour", "--no-color"});
  if (!parsed.positional().empty()) throw UsageError("unexpected argument '" + parsed.positional().front() + "'");
  const bus::Config config = load(config_path(parsed));

  TailFilter filter;
  if (auto level = parsed.value("--level")) {
    auto parsed_level = bus::parse_level(*level);
    if (!parsed_level)
      throw UsageError("--level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not '" + *level + "'");
    filter.min_level = *parsed_level;
  }
  filter.services = parsed.values("--service");
  for (const auto& service : filter.services) {
    if (!bus::topics::is_valid_service_id(service)) throw UsageError("'" + service + "' is not a service id");
  }
  if (auto pattern = parsed.value("--grep")) {
    try {
      filter.grep.emplace(*pattern, std::regex::extended);
    } catch (const std::regex_error& error) {
      throw UsageError("--grep '" + *pattern + "' is not a valid regular expression: " + error.what());
    }
  }
  RenderOptions options;
  options.json = parsed.has("--json");
  options.colour = !options.json && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  if (parsed.has("--colour") || parsed.has("--color")) options.colour = !options.json;
  if (parsed.has("--no-colour") || parsed.has("--no-color")) options.colour = false;

  std::vector<std::string> prefixes = parsed.values("--topic");
  if (prefixes.empty()) {
    if (filter.services.empty()) prefixes.emplace_back(bus::topics::kLogPrefix);
    for (const auto& service : filter.services) prefixes.push_back(bus::topics::log_topic(service));
  }
  const std::string bus_endpoint = parsed.value("--bus").value_or(config.bus.subscribe_endpoint);
  const std::string query_endpoint = parsed.value("--query").value_or(config.logging.query_endpoint);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  zmq::context_t context(1);
  bus::Subscriber subscriber(context, bus_endpoint, prefixes, bus::kDefaultHighWaterMark, config.bus.curve);
  if (auto count = parsed.value("-n")) {
    const unsigned long n = parse_count("-n", *count);
    if (n > 0 && !print_history(context, query_endpoint, config.bus.curve, n, filter, options)) return 0;
  }
  if (parsed.has("--no-follow")) return 0;

  std::uint64_t undecodable = 0;
  while (g_stop == 0) {
    std::optional<bus::Received> message;
    try {
      message = subscriber.receive(std::chrono::milliseconds(200));
    } catch (const zmq::error_t& error) {
      if (error.num() == EINTR) continue;
      throw;
    }
    bool wrote = false;
    while (message) {
      std::string line;
      if (auto topic = bus::topics::parse_log_topic(message->topic)) {
        // One record, or a batch of them: each is filtered and printed on its own.
        auto records = bus::decode_log_records(message->bytes(), topic->batch);
        if (!records) ++undecodable;
        for (const bus::LogRecord& record : records ? records.value->records : std::vector<bus::LogRecord>{}) {
          if (!filter.wants(record.level, record.service, record.service)) continue;
          std::string record_line =
              options.json ? render_record(message->topic, record, options)
                           : to_line(record.timestamp_ns, record.level, record.service, record.message, options.colour);
          if (filter.grep && !std::regex_search(record_line, *filter.grep)) continue;
          if (!emit(record_line)) return 0;
          wrote = true;
        }
      } else if (auto dashboard = bus::topics::parse_dashboard_topic(message->topic)) {
        // One entry (`/dashboard/log`), or a batch of them (`/dashboard/log/batch`,
        // as the logging node sends them): each is filtered and printed on its own.
        auto entries = bus::decode_dashboard_logs(message->bytes(), dashboard->batch);
        if (!entries) ++undecodable;
        if (entries && entries.value->not_streamed > 0) {
          // The node's live-view limit: said on stderr, so stdout keeps only entries.
          std::fflush(stdout);
          std::cerr << "cantina-cli tail: " << entries.value->not_streamed
                    << " DEBUG/INFO entries not streamed live (over [logging] dashboard_max_rate a second; "
                       "they are in the session file)\n";
        }
        for (const bus::DashboardLog& entry : entries ? entries.value->entries : std::vector<bus::DashboardLog>{}) {
          if (!filter.wants(entry.level, entry.service_id, entry.service)) continue;
          std::string entry_line = render_entry(entry, options);
          if (filter.grep && !std::regex_search(entry_line, *filter.grep)) continue;
          if (!emit(entry_line)) return 0;
          wrote = true;
        }
      } else {
        line = render(message->topic, message->bytes(), options);
        if (line.empty()) ++undecodable;
      }
      if (!line.empty() && (!filter.grep || std::regex_search(line, *filter.grep))) {
        if (!emit(line)) return 0;
        wrote = true;
      }
      message = subscriber.receive(std::chrono::milliseconds(0));
    }
    if (wrote && std::fflush(stdout) != 0) return 0;
  }
  if (undecodable > 0) std::cerr << "cantina-cli tail: skipped " << undecodable << " undecodable messages\n";
  return 0;
}

}  // namespace cantina::cli
