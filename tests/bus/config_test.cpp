#define BOOST_TEST_MODULE config
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "cantina/bus/config.h"
#include "cantina/bus/logger.h"

using namespace cantina::bus;

namespace {

Environment environment(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
}

// The message of the ConfigError that parsing `text` throws ("" if none).
std::string error_of(const std::string& text, const Environment& env = no_environment()) {
  try {
    parse_config(text, "test.toml", env);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_are_the_seeds) {
  const Config config = parse_config("", "empty.toml", no_environment());
  BOOST_TEST((config.logging.log_level == Level::info));
  BOOST_TEST(config.logging.max_memory_logs == 1000u);
  BOOST_TEST(config.logging.session_file_path == "./logs");
  BOOST_TEST(config.logging.enable_dashboard_streaming);
  BOOST_TEST(config.logging.file_flush_interval == 5u);
  BOOST_TEST(config.logging.deduplication_window == 30u);
  BOOST_TEST(config.logging.max_queue_size == 10000u);
  BOOST_TEST(config.logging.batch_size == 100u);
  BOOST_TEST(config.logging.service_names.at("deepgram_direct_mic") == "Voice Input");
  BOOST_TEST(config.logging.service_names.at("logging_service") == "Logging Service");
  BOOST_TEST(config.bus.publish_endpoint == "tcp://127.0.0.1:5555");
  BOOST_TEST(config.webbridge.listen == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(the_shipped_config_is_valid_and_matches_the_defaults) {
  const Config config = load_config(CANTINA_SOURCE_DIR "/conf/cantina.toml", no_environment());
  const Config defaults = parse_config("", "empty.toml", no_environment());
  BOOST_TEST(config.logging.max_memory_logs == defaults.logging.max_memory_logs);
  BOOST_TEST(config.logging.batch_size == defaults.logging.batch_size);
  BOOST_TEST(config.logging.query_endpoint == defaults.logging.query_endpoint);
  BOOST_TEST((config.logging.service_names == defaults.logging.service_names));
  BOOST_REQUIRE_EQUAL(config.services.size(), 1u);
  BOOST_TEST(config.services[0].name == "demo");
}

BOOST_AUTO_TEST_CASE(reads_every_section) {
  const Config config = parse_config(R"(
[bus]
publish_endpoint = "ipc:///tmp/pub"
subscribe_endpoint = "ipc:///tmp/sub"
[logging]
log_level = "debug"
batch_size = 7
max_file_bytes = 8192
[logging.service_names]
r2_unit = "Astromech"
[webbridge]
listen = "0.0.0.0:9000"
[[service]]
name = "voice"
command = "python3 voice.py"
restart = "always"
start_secs = 2.5
environment = { PYTHONUNBUFFERED = "1" }
)",
                                     "full.toml", no_environment());
  BOOST_TEST(config.bus.publish_endpoint == "ipc:///tmp/pub");
  BOOST_TEST((config.logging.log_level == Level::debug));
  BOOST_TEST(config.logging.batch_size == 7u);
  BOOST_TEST(config.logging.max_file_bytes == 8192u);
  BOOST_TEST(config.logging.service_names.at("r2_unit") == "Astromech");
  BOOST_TEST(config.logging.service_names.at("music_controller") == "Music Controller");
  BOOST_TEST(config.webbridge.listen == "0.0.0.0:9000");
  BOOST_REQUIRE_EQUAL(config.services.size(), 1u);
  BOOST_TEST((config.services[0].command == std::vector<std::string>{"/bin/sh", "-c", "python3 voice.py"}));
  BOOST_TEST((config.services[0].restart == RestartPolicy::always));
  BOOST_TEST(config.services[0].start_secs == 2.5);
  BOOST_TEST(config.services[0].environment.at("PYTHONUNBUFFERED") == "1");
}

BOOST_AUTO_TEST_CASE(an_unknown_key_names_file_line_and_key) {
  BOOST_TEST(error_of("[logging]\nlog_level = \"INFO\"\nbatch_sise = 10\n") ==
             "test.toml:3:1: logging.batch_sise: unknown key (allowed here: log_level max_memory_logs "
             "session_file_path enable_dashboard_streaming dashboard_max_rate file_flush_interval "
             "deduplication_window max_queue_size batch_size max_file_bytes query_endpoint service_names)");
  BOOST_TEST(error_of("[loging]\n").starts_with("test.toml:1:2: loging: unknown key"));
}

BOOST_AUTO_TEST_CASE(a_wrong_type_names_file_line_and_key) {
  BOOST_TEST(error_of("\n[logging]\nmax_memory_logs = \"lots\"\n") ==
             "test.toml:3:19: logging.max_memory_logs: must be an integer, not a string");
  BOOST_TEST(error_of("[logging]\nenable_dashboard_streaming = 1\n") ==
             "test.toml:2:30: logging.enable_dashboard_streaming: must be true or false, not an integer");
}

BOOST_AUTO_TEST_CASE(a_bad_value_names_file_line_and_key) {
  BOOST_TEST(error_of("[logging]\nbatch_size = 0\n") ==
             "test.toml:2:14: logging.batch_size: must be from 1 to 100000 (got 0)");
  BOOST_TEST(error_of("[logging]\nlog_level = \"LOUD\"\n") ==
             "test.toml:2:13: logging.log_level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')");
  BOOST_TEST(error_of("[bus]\npublish_endpoint = \"127.0.0.1:5555\"\n")
                 .starts_with("test.toml:2:20: bus.publish_endpoint: must be a ZeroMQ endpoint"));
  BOOST_TEST(error_of("[webbridge]\nlisten = \"localhost\"\n")
                 .starts_with("test.toml:2:10: webbridge.listen: must be HOST:PORT"));
  BOOST_TEST(error_of("[[service]]\nname = \"x\"\ncommand = [\"a\"]\nrestart = \"sometimes\"\n")
                 .starts_with("test.toml:4:11: service.x.restart: must be \"always\", \"on-failure\" or \"never\""));
  BOOST_TEST(error_of("[[service]]\nname = \"x\"\ncommand = [\"a\"]\n[[service]]\nname = \"x\"\ncommand = [\"b\"]\n")
                 .starts_with("test.toml:5:8: service[1].name: duplicate service name 'x'"));
}

BOOST_AUTO_TEST_CASE(a_service_says_what_it_waits_for_and_whether_its_output_is_captured) {
  const Config config = parse_config(R"(
[[service]]
name = "plain"
command = ["a"]
[[service]]
name = "reporting"
command = ["b"]
ready = "status"
capture = false
)",
                                     "test.toml", no_environment());
  BOOST_REQUIRE_EQUAL(config.services.size(), 2u);
  BOOST_TEST((config.services[0].ready == ReadyCheck::uptime));
  BOOST_TEST(config.services[0].capture);
  BOOST_TEST((config.services[1].ready == ReadyCheck::status));
  BOOST_TEST(!config.services[1].capture);
  BOOST_TEST(error_of("[[service]]\nname = \"x\"\ncommand = [\"a\"]\nready = \"soon\"\n") ==
             "test.toml:4:9: service.x.ready: must be \"uptime\" or \"status\" (got 'soon')");
  BOOST_TEST(error_of("[[service]]\nname = \"x\"\ncommand = [\"a\"]\ncapture = \"yes\"\n") ==
             "test.toml:4:11: service.x.capture: must be true or false, not a string");
}

BOOST_AUTO_TEST_CASE(web_bridge_tokens_and_origins_are_checked) {
  BOOST_TEST(error_of("[webbridge]\ntoken = \"short\"\n") ==
             "test.toml:2:9: webbridge.token: must be at least 16 characters (or empty for none)");
  BOOST_TEST(error_of("[webbridge]\nallowed_origins = [\"droid.local\"]\n")
                 .starts_with("test.toml:2:20: webbridge.allowed_origins: each must be an origin"));
  const Config config =
      parse_config("[webbridge]\ntoken = \"0123456789abcdef\"\nallowed_origins = [\"http://droid.local:8080\"]\n",
                   "test.toml", no_environment());
  BOOST_TEST(config.webbridge.token == "0123456789abcdef");
  BOOST_TEST(config.webbridge.allowed_origins.at(0) == "http://droid.local:8080");
}

BOOST_AUTO_TEST_CASE(web_bridge_allowed_hosts_are_checked) {
  for (const char* bad : {"http://droid.local", "droid.local/", "droid.local:", "droid.local:0", "droid.local:65536",
                          "droid local", "", "[::1", "[zz]:80", "a:b"}) {
    BOOST_TEST(error_of("[webbridge]\nallowed_hosts = [\"" + std::string(bad) + "\"]\n")
                   .starts_with("test.toml:2:18: webbridge.allowed_hosts: each must be a host name or address"),
               bad);
  }
  BOOST_TEST(error_of("[webbridge]\nallowed_hosts = \"droid.local\"\n") ==
             "test.toml:2:17: webbridge.allowed_hosts: must be a list of strings");
  const Config config = parse_config(
      "[webbridge]\nallowed_hosts = [\"droid.local\", \"droid.local:8443\", \"192.168.1.10:8080\", \"[fe80::1]:80\"]\n",
      "test.toml", no_environment());
  BOOST_TEST((config.webbridge.allowed_hosts ==
              std::vector<std::string>{"droid.local", "droid.local:8443", "192.168.1.10:8080", "[fe80::1]:80"}));
  BOOST_TEST(parse_config("", "test.toml", no_environment()).webbridge.allowed_hosts.empty());
}

BOOST_AUTO_TEST_CASE(web_bridge_memory_budget_is_checked) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).webbridge.memory_budget_bytes == 64u << 20);
  BOOST_TEST(parse_config("[webbridge]\nmemory_budget_bytes = 16777216\n", "test.toml", no_environment())
                 .webbridge.memory_budget_bytes == 16u << 20);
  BOOST_TEST(error_of("[webbridge]\nmemory_budget_bytes = 1000\n")
                 .starts_with("test.toml:2:23: webbridge.memory_budget_bytes:"));
}

BOOST_AUTO_TEST_CASE(web_bridge_connection_cap_is_checked) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).webbridge.max_connections == 128u);
  BOOST_TEST(
      parse_config("[webbridge]\nmax_connections = 16\n", "test.toml", no_environment()).webbridge.max_connections ==
      16u);
  BOOST_TEST(error_of("[webbridge]\nmax_connections = 3\n").starts_with("test.toml:2:19: webbridge.max_connections:"));
  BOOST_TEST(
      error_of("[webbridge]\nmax_connections = 10001\n").starts_with("test.toml:2:19: webbridge.max_connections:"));
}

BOOST_AUTO_TEST_CASE(bad_toml_names_file_and_line) {
  const std::string message = error_of("[logging]\nlog_level = \"INFO\n");
  BOOST_TEST(message.starts_with("test.toml:2:"));
  BOOST_TEST(message.find("invalid TOML") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_toml_error_stays_on_one_line) {
  const std::string message = error_of("[logging]\nbatch_size = n\n");
  BOOST_TEST(message.starts_with("test.toml:2:"));
  BOOST_TEST(message.find('\n') == std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_a_clear_error) {
  try {
    load_config("/nonexistent/cantina.toml", no_environment());
    BOOST_FAIL("expected ConfigError");
  } catch (const ConfigError& error) {
    BOOST_TEST(std::string(error.what()).starts_with("/nonexistent/cantina.toml: cannot read config file"));
  }
}

BOOST_AUTO_TEST_CASE(the_seeds_environment_variables_override_the_file) {
  const Config config = parse_config(
      "[logging]\nlog_level = \"INFO\"\nmax_memory_logs = 10\n", "test.toml",
      environment({{"LOGGING_LEVEL", "ERROR"}, {"MAX_MEMORY_LOGS", "2500"}, {"SESSION_LOG_PATH", "/var/log/cantina"}}));
  BOOST_TEST((config.logging.log_level == Level::error));
  BOOST_TEST(config.logging.max_memory_logs == 2500u);
  BOOST_TEST(config.logging.session_file_path == "/var/log/cantina");
}

BOOST_AUTO_TEST_CASE(bad_environment_values_name_the_variable) {
  BOOST_TEST(error_of("", environment({{"MAX_MEMORY_LOGS", "many"}})) ==
             "environment variable MAX_MEMORY_LOGS: must be an integer from 1 to 10000000 (got 'many')");
  BOOST_TEST(error_of("", environment({{"LOGGING_LEVEL", "LOUD"}})).starts_with("environment variable LOGGING_LEVEL"));
}

BOOST_AUTO_TEST_SUITE_END()

// [bus.curve] and the start-up hold: files on disk, as load_config reads them.
BOOST_AUTO_TEST_SUITE(lan_mode)

namespace {

struct KeyFolder {
  KeyFolder() : dir(std::filesystem::temp_directory_path() / ("cantina-config-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir / "keys" / "authorized");
    bus = generate_curve_key_pair();
    client = generate_curve_key_pair();
    write("keys/bus.key", "public = \"" + bus.public_key + "\"\nsecret = \"" + bus.secret_key + "\"\n");
    write("keys/bus.pub", "public = \"" + bus.public_key + "\"\n");
    write("keys/host.key", "public = \"" + client.public_key + "\"\nsecret = \"" + client.secret_key + "\"\n");
    write("keys/authorized/host.pub", "public = \"" + client.public_key + "\"\n");
  }
  ~KeyFolder() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  // The ConfigError of loading `text` as dir/cantina.toml ("" if none).
  std::string error_of(const std::string& text) const {
    write("cantina.toml", text);
    try {
      load_config(dir / "cantina.toml", no_environment());
    } catch (const ConfigError& error) {
      return error.what();
    }
    return "";
  }
  std::filesystem::path dir;
  CurveKeyPair bus;
  CurveKeyPair client;
};

const std::string kBusHost =
    "[bus]\npublish_endpoint = \"tcp://0.0.0.0:5555\"\nsubscribe_endpoint = \"tcp://0.0.0.0:5556\"\n"
    "[bus.curve]\nenabled = true\nserver_public_key = \"keys/bus.pub\"\n"
    "server_secret_key = \"keys/bus.key\"\nauthorized_keys = \"keys/authorized\"\n";

}  // namespace

BOOST_AUTO_TEST_CASE(reads_the_bus_hosts_keys_relative_to_the_config_file) {
  KeyFolder keys;
  keys.write("cantina.toml", kBusHost);
  const Config config = load_config(keys.dir / "cantina.toml", no_environment());
  BOOST_TEST(config.bus.curve.enabled);
  BOOST_TEST(config.bus.curve.server_public_key == keys.bus.public_key);
  BOOST_TEST(config.bus.curve.server.secret_key == keys.bus.secret_key);
  BOOST_TEST(config.bus.curve.authorized.size() == 1u);
  BOOST_TEST(config.bus.curve.authorized.contains(keys.client.public_key));
}

BOOST_AUTO_TEST_CASE(reads_a_service_hosts_keys) {
  KeyFolder keys;
  keys.write("cantina.toml",
             "[bus]\npublish_endpoint = \"tcp://10.0.0.1:5555\"\nsubscribe_endpoint = \"tcp://10.0.0.1:5556\"\n"
             "[bus.curve]\nenabled = true\nserver_public_key = \"keys/bus.pub\"\nclient_key = \"keys/host.key\"\n");
  const Config config = load_config(keys.dir / "cantina.toml", no_environment());
  BOOST_TEST(config.bus.curve.client.public_key == keys.client.public_key);
  BOOST_TEST(config.bus.curve.client.secret_key == keys.client.secret_key);
  BOOST_TEST(config.bus.curve.server.secret_key.empty());
}

BOOST_AUTO_TEST_CASE(refuses_an_address_off_the_machine_without_curve) {
  BOOST_TEST(error_of("[bus]\npublish_endpoint = \"tcp://0.0.0.0:5555\"\n")
                 .starts_with("test.toml:2:20: bus.publish_endpoint: an address off this machine needs LAN mode"));
  BOOST_TEST(error_of("[logging]\nquery_endpoint = \"tcp://192.168.1.5:5557\"\n")
                 .starts_with("test.toml:2:18: logging.query_endpoint: an address off this machine needs LAN mode"));
  BOOST_TEST(error_of("[bus]\npublish_endpoint = \"tcp://localhost:5555\"\n") == "");
  BOOST_TEST(error_of("[bus]\npublish_endpoint = \"ipc:///tmp/bus\"\n") == "");
}

BOOST_AUTO_TEST_CASE(names_file_line_and_key_of_a_bad_key_file) {
  KeyFolder keys;
  std::string missing = kBusHost;
  missing.replace(missing.find("keys/bus.key"), 12, "keys/nope.key");
  BOOST_TEST(keys.error_of(missing).find("cantina.toml:7:21: bus.curve.server_secret_key: ") != std::string::npos);
  BOOST_TEST(keys.error_of(missing).find("nope.key: cannot read key file") != std::string::npos);

  std::string public_only = kBusHost;
  public_only.replace(public_only.find("keys/bus.key"), 12, "keys/bus.pub");
  BOOST_TEST(keys.error_of(public_only).find("has no secret key") != std::string::npos);

  keys.write("keys/garbled.key", "public = \"not a key\"\n");
  std::string garbled = kBusHost;
  garbled.replace(garbled.find("keys/bus.key"), 12, "keys/garbled.key");
  BOOST_TEST(keys.error_of(garbled).find("'public' must be a 40-character Z85 CURVE key") != std::string::npos);

  std::string wrong_pair = kBusHost;
  wrong_pair.replace(wrong_pair.find("keys/bus.key"), 12, "keys/host.key");
  BOOST_TEST(keys.error_of(wrong_pair).find("is not the key pair of bus.curve.server_public_key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(requires_the_keys_each_side_needs) {
  BOOST_TEST(error_of("[bus.curve]\nenabled = true\n").find("bus.curve.server_public_key: is required") !=
             std::string::npos);
  BOOST_TEST(error_of("[bus.curve]\nenabled = true\nserver_public_key = \"k.pub\"\n")
                 .find("bus.curve.client_key: is required") != std::string::npos);
  BOOST_TEST(error_of("[bus.curve]\nenabled = true\nserver_public_key = \"k.pub\"\nserver_secret_key = \"k.key\"\n")
                 .find("bus.curve.authorized_keys: is required") != std::string::npos);
  BOOST_TEST(error_of("[bus.curve]\nenabled = true\nclient = \"k.key\"\n").find("unknown key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reads_the_loggers_start_up_hold) {
  const Config config =
      parse_config("[bus]\nlogger_hold_ms = 500\nlogger_queue = 100\n", "test.toml", no_environment());
  BOOST_TEST(config.bus.logger_hold_ms == 500u);
  BOOST_TEST(config.bus.logger_queue == 100u);
  BOOST_TEST(error_of("[bus]\nlogger_queue = 0\n").starts_with("test.toml:2:16: bus.logger_queue: must be from 1"));
}

BOOST_AUTO_TEST_CASE(reads_the_loggers_lingers_into_its_options) {
  const Config config =
      parse_config("[bus]\nlogger_linger_ms = 2\nlogger_linger_unwatched_ms = 40\n", "test.toml", no_environment());
  const cantina::bus::LoggerOptions options = cantina::bus::logger_options(config.bus, "svc");
  BOOST_TEST(options.batch_linger.count() == 2);
  BOOST_TEST(options.batch_linger_unwatched.count() == 40);
  BOOST_TEST(error_of("[bus]\nlogger_linger_unwatched_ms = 5000\n")
                 .starts_with("test.toml:2:30: bus.logger_linger_unwatched_ms: must be from 0"));
}

BOOST_AUTO_TEST_CASE(reads_the_live_view_limit) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).logging.dashboard_max_rate == 10000u);
  BOOST_TEST(
      parse_config("[logging]\ndashboard_max_rate = 0\n", "test.toml", no_environment()).logging.dashboard_max_rate ==
      0u);
  BOOST_TEST(error_of("[logging]\ndashboard_max_rate = 5\n") ==
             "test.toml:2:22: logging.dashboard_max_rate: must be 0 (no limit) or at least 10 (got 5)");
  BOOST_TEST(error_of("[logging]\ndashboard_max_rate = -1\n")
                 .starts_with("test.toml:2:22: logging.dashboard_max_rate: must be from 0"));
}

BOOST_AUTO_TEST_SUITE_END()
