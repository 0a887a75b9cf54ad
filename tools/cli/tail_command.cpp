// `cantina-cli tail`: an ad-hoc subscriber. Subscribes first, then (with -n)
// asks the logging node for history, then follows live messages until Ctrl-C or
// until stdout is closed (e.g. `| head`). A second socket watches the bus
// connection (a socket monitor) and the logging node's /logging/stats, so that
// tail says on stderr, within 2 s, when no bus or no logging node answers.
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <regex>

#include "args.h"
#include "cantina/bus/codec.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"
#include "commands.h"
#include "render.h"
#include "service_names.h"

namespace cantina::cli {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kBusWithin = 1s;       // say so when no bus answers within this,
constexpr auto kNodeWithin = 1500ms;  // or no logging node within this of the bus answering
constexpr auto kStatsSilence = 3s;    // the node publishes its counters every second

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

// One of tail's own lines, on stderr (stdout keeps only what it follows).
void say(const std::string& text) {
  std::fflush(stdout);
  std::cerr << "cantina-cli tail: " << text << std::endl;
}

enum class History { printed, unavailable, stdout_closed };

// Asks the logging node for its newest `count` entries and prints them.
History print_history(zmq::context_t& context, const std::string& endpoint, const bus::CurveConfig& curve,
                      unsigned long count, const TailFilter& filter, const RenderOptions& options) {
  if (endpoint.empty()) {
    say("no history: the config has no [logging] query_endpoint");
    return History::unavailable;
  }
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
    say("no history: cannot reach the logging node at " + endpoint + " (is it running? tools/cantina status)");
    return History::unavailable;
  }
  zmq::message_t reply_frame;
  if (!request.recv(reply_frame, zmq::recv_flags::none)) {
    say("no history: the logging node at " + endpoint + " did not answer within 3 s (is it running? " +
        "tools/cantina status)");
    return History::unavailable;
  }
  auto reply = bus::decode_history_reply({static_cast<const std::byte*>(reply_frame.data()), reply_frame.size()});
  if (!reply || !reply.value->error.empty()) {
    say("no history: " + (reply ? reply.value->error : reply.error));
    return History::unavailable;
  }
  for (const auto& entry : reply.value->entries) {
    std::string line = render_entry(entry, options);
    if (filter.grep && !std::regex_search(line, *filter.grep)) continue;
    if (!emit(line)) return History::stdout_closed;
  }
  return std::fflush(stdout) == 0 ? History::printed : History::stdout_closed;
}

// Watches whether the bus and the logging node answer: a SUB socket of its own on
// /logging/stats (the node's counters, every second), whose connection a socket
// monitor reports. Says on stderr when either does not answer within 2 s, when it
// comes (back), and when it goes away; never stops tail.
class AnswerWatch {
 public:
  AnswerWatch(zmq::context_t& context, const std::string& endpoint, const bus::CurveConfig& curve)
      : endpoint_(endpoint), socket_(context, zmq::socket_type::sub), monitor_(context, zmq::socket_type::pair) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize, bus::kMaxMessageBytes);
    bus::secure_client_socket(socket_, curve);
    const std::string monitor_endpoint = "inproc://cantina-tail-watch";
    if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
      throw zmq::error_t();
    monitor_.connect(monitor_endpoint);
    socket_.set(zmq::sockopt::subscribe, std::string(bus::topics::kLoggingStats));
    socket_.connect(endpoint);
  }

  ~AnswerWatch() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }
  AnswerWatch(const AnswerWatch&) = delete;
  AnswerWatch& operator=(const AnswerWatch&) = delete;

  zmq::pollitem_t stats_item() { return {socket_.handle(), 0, ZMQ_POLLIN, 0}; }
  zmq::pollitem_t monitor_item() { return {monitor_.handle(), 0, ZMQ_POLLIN, 0}; }

  // Reads what arrived on either socket, then says what changed.
  void update(Clock::time_point now) {
    zmq::message_t frame;
    while (socket_.recv(frame, zmq::recv_flags::dontwait)) {
      if (!frame.more()) node_seen_ = now;  // the payload frame: a LoggingStats from the node
    }
    while (monitor_.recv(frame, zmq::recv_flags::dontwait)) {
      std::uint16_t event = 0;
      if (frame.size() >= sizeof event) std::memcpy(&event, frame.data(), sizeof event);
      const bool more = frame.more();
      if (more) (void)monitor_.recv(frame, zmq::recv_flags::none);  // the peer's address
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (bus_warned_) say("the bus at " + endpoint_ + " answers now");
        bus_up_ = true;
        bus_warned_ = false;
        bus_since_ = now;
      } else if (event == ZMQ_EVENT_DISCONNECTED) {
        bus_up_ = false;
        bus_since_ = now;
      } else if (!refused_) {
        refused_ = true;
        say("the bus at " + endpoint_ + " refused the connection (LAN mode: is this host's key authorized?)");
      }
    }
    if (!bus_up_) {
      if (!bus_warned_ && now - bus_since_ >= kBusWithin) {
        bus_warned_ = true;
        say(std::string(started_ ? "lost the bus at " : "no bus answers at ") + endpoint_ +
            " (is it running? tools/cantina status); still waiting");
      }
      return;
    }
    const bool node_quiet = !node_seen_ || now - *node_seen_ >= kStatsSilence;
    if (node_quiet && !node_warned_ && now - std::max(start_, bus_since_) >= kNodeWithin) {
      node_warned_ = true;
      say(std::string(node_seen_ ? "the logging node stopped reporting" : "no logging node answers") +
          " on the bus at " + endpoint_ + " (no /logging/stats for " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(now - (node_seen_ ? *node_seen_ : start_)).count()) +
          " s): nothing is written or kept; still waiting");
    } else if (!node_quiet && node_warned_) {
      node_warned_ = false;
      say("the logging node answers now");
    }
    started_ = true;
  }

 private:
  std::string endpoint_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point bus_since_ = start_;  // when the bus came or went
  std::optional<Clock::time_point> node_seen_;
  bool bus_up_ = false;
  bool bus_warned_ = false;
  bool node_warned_ = false;
  bool refused_ = false;
  bool started_ = false;  // the bus answered once
};

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
    "  --service S     only the records of service id S (repeatable)\n"
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
  const bool follow = !parsed.has("--no-follow");
  std::optional<unsigned long> history;
  if (auto count = parsed.value("-n")) history = parse_count("-n", *count);
  if (!follow && !history) throw UsageError("--no-follow prints only the history: give -n N too");

  std::vector<std::string> prefixes = parsed.values("--topic");
  if (prefixes.empty()) {
    if (filter.services.empty()) prefixes.emplace_back(bus::topics::kLogPrefix);
    for (const auto& service : filter.services) prefixes.push_back(bus::topics::log_topic(service));
  }
  // Following live, tail watches as the dashboard does: the Loggers see the
  // subscription and send within their watched linger (5 ms), not the unwatched one.
  if (follow) prefixes.emplace_back(bus::topics::kWatching);
  const std::string bus_endpoint = parsed.value("--bus").value_or(config.bus.subscribe_endpoint);
  const std::string query_endpoint = parsed.value("--query").value_or(config.logging.query_endpoint);
  // Live records carry the service id: shown with the display name the logging node gives it.
  logging::ServiceNames names(config.logging.service_names);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  zmq::context_t context(1);
  bus::Subscriber subscriber(context, bus_endpoint, prefixes, bus::kDefaultHighWaterMark, config.bus.curve);
  subscriber.socket().set(zmq::sockopt::linger, 0);  // only subscriptions to send: Ctrl-C ends at once
  std::optional<AnswerWatch> watch;
  if (follow) watch.emplace(context, bus_endpoint, config.bus.curve);
  if (history && *history > 0) {
    const History printed = print_history(context, query_endpoint, config.bus.curve, *history, filter, options);
    if (printed == History::stdout_closed) return 0;
    if (!follow) return printed == History::printed ? 0 : 1;
  } else if (!follow) {
    return 0;
  }

  std::uint64_t undecodable = 0;
  while (g_stop == 0) {
    std::array<zmq::pollitem_t, 3> items = {zmq::pollitem_t{subscriber.socket().handle(), 0, ZMQ_POLLIN, 0},
                                            watch->stats_item(), watch->monitor_item()};
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(200));
    } catch (const zmq::error_t& error) {
      if (error.num() == EINTR) continue;
      throw;
    }
    watch->update(Clock::now());
    std::optional<bus::Received> message = subscriber.receive(std::chrono::milliseconds(0));
    bool wrote = false;
    while (message) {
      std::string line;
      if (auto topic = bus::topics::parse_log_topic(message->topic)) {
        // One record, or a batch of them: each is filtered and printed on its own.
        auto records = bus::decode_log_records(message->bytes(), topic->batch);
        if (!records) ++undecodable;
        for (const bus::LogRecord& record : records ? records.value->records : std::vector<bus::LogRecord>{}) {
          const std::string& name = names.friendly(record.service);
          if (!filter.wants(record.level, record.service, name)) continue;
          std::string record_line = render_record(message->topic, record, name, options);
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
          say(std::to_string(entries.value->not_streamed) +
              " DEBUG/INFO entries not streamed live (over [logging] dashboard_max_rate a second; "
              "they are in the session file)");
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
  if (undecodable > 0) say("skipped " + std::to_string(undecodable) + " undecodable messages");
  return 0;
}

}  // namespace cantina::cli
