#include <iostream>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "args.h"
#include "commands.h"

namespace cantina::cli {

namespace json = boost::json;

const CommandHelp kCheckConfigHelp = {
    "check-config [--config FILE] [--quiet]", "validate a config file (the same checks as every node at start-up)",
    "Loads FILE as every node does (its CURVE key files included) and prints \"FILE: ok\", or the\n"
    "first problem as FILE:LINE:COLUMN: KEY: PROBLEM and exits 1.\n"
    "options:\n"
    "  --config FILE  the config file (default: $CANTINA_CONFIG, else conf/cantina.toml)\n"
    "  --quiet        print nothing when it is valid\n"};

const CommandHelp kShowConfigHelp = {"show-config [--config FILE]", "print the settled config as JSON",
                                     "Prints the config after defaults and environment overrides, as one JSON\n"
                                     "object (secret keys are never printed).\n"
                                     "options:\n"
                                     "  --config FILE  the config file (default: $CANTINA_CONFIG, else "
                                     "conf/cantina.toml)\n"};

bus::Config load(const std::string& path) {
  return bus::load_config(path);
}

std::string config_path(const Args& parsed) {
  return parsed.value("--config").value_or(bus::default_config_path());
}

int check_config_command(const Arguments& args) {
  Args parsed(args, {"--config"}, {"--quiet"});
  const std::string path = config_path(parsed);
  load(path);
  if (!parsed.has("--quiet")) std::cout << path << ": ok\n";
  return 0;
}

int show_config_command(const Arguments& args) {
  Args parsed(args, {"--config"}, {});
  const bus::Config config = load(config_path(parsed));
  json::object out;
  out["source"] = config.source;
  out["bus"] = json::object{{"publish_endpoint", config.bus.publish_endpoint},
                            {"subscribe_endpoint", config.bus.subscribe_endpoint},
                            {"high_water_mark", config.bus.high_water_mark},
                            {"logger_hold_ms", config.bus.logger_hold_ms},
                            {"logger_queue", config.bus.logger_queue},
                            {"max_record_bytes", config.bus.max_record_bytes},
                            {"max_queue_bytes", config.bus.max_queue_bytes},
                            // Public facts only: secret keys are never printed.
                            {"curve", json::object{{"enabled", config.bus.curve.enabled},
                                                   {"server_public_key", config.bus.curve.server_public_key},
                                                   {"client_public_key", config.bus.curve.client.public_key},
                                                   {"authorized_keys", config.bus.curve.authorized.size()}}}};
  json::object names;
  for (const auto& [id, name] : config.logging.service_names) names[id] = name;
  const auto& l = config.logging;
  out["logging"] = json::object{{"log_level", std::string(bus::to_string(l.log_level))},
                                {"max_memory_logs", l.max_memory_logs},
                                {"session_file_path", l.session_file_path},
                                {"enable_dashboard_streaming", l.enable_dashboard_streaming},
                                {"file_flush_interval", l.file_flush_interval},
                                {"deduplication_window", l.deduplication_window},
                                {"max_queue_size", l.max_queue_size},
                                {"batch_size", l.batch_size},
                                {"max_file_bytes", l.max_file_bytes},
                                {"max_total_bytes", l.max_total_bytes},
                                {"max_sessions", l.max_sessions},
                                {"max_age_days", l.max_age_days},
                                {"min_free_bytes", l.min_free_bytes},
                                {"compress_after", l.compress_after},
                                {"compress_level", l.compress_level},
                                {"query_endpoint", l.query_endpoint},
                                {"service_names", std::move(names)}};
  out["webbridge"] = json::object{{"listen", config.webbridge.listen}};
  out["supervisor"] = json::object{{"capture_max_bytes", config.supervisor.capture_max_bytes}};
  json::array services;
  for (const auto& service : config.services) {
    json::array command;
    for (const auto& part : service.command) command.emplace_back(part);
    json::object environment;
    for (const auto& [key, value] : service.environment) environment[key] = value;
    const char* restart = service.restart == bus::RestartPolicy::always  ? "always"
                          : service.restart == bus::RestartPolicy::never ? "never"
                                                                         : "on-failure";
    services.emplace_back(json::object{{"name", service.name},
                                       {"command", std::move(command)},
                                       {"working_directory", service.working_directory},
                                       {"environment", std::move(environment)},
                                       {"restart", restart},
                                       {"start_secs", service.start_secs},
                                       {"ready", service.ready == bus::ReadyCheck::status ? "status" : "uptime"},
                                       {"capture", service.capture}});
  }
  out["services"] = std::move(services);
  std::cout << json::serialize(out) << "\n";
  return 0;
}

}  // namespace cantina::cli
