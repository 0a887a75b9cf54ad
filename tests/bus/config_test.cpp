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

Environment environment(const std::map<std::string, std::string>& values) {
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
  BOOST_TEST(!config.logging.session_fields);
  BOOST_TEST(parse_config("[logging]\nsession_fields = true\n", "t.toml", no_environment()).logging.session_fields);
  BOOST_TEST(config.logging.enable_dashboard_streaming);
  BOOST_TEST(config.logging.file_flush_interval == 5u);
  BOOST_TEST(config.logging.deduplication_window == 30u);
  BOOST_TEST(config.logging.max_queue_size == 10000u);
  BOOST_TEST(config.logging.max_memory_bytes == 16u * 1024 * 1024);
  BOOST_TEST(config.logging.max_queue_bytes == 32u * 1024 * 1024);
  BOOST_TEST(config.logging.batch_size == 100u);
  BOOST_TEST(config.logging.service_names.at("deepgram_direct_mic") == "Voice Input");
  BOOST_TEST(config.logging.service_names.at("logging_service") == "Logging Service");
  BOOST_TEST(config.bus.publish_endpoint == "tcp://127.0.0.1:5555");
  BOOST_TEST(config.webbridge.listen == "127.0.0.1:8080");
  BOOST_TEST(config.supervisor.capture_max_bytes == 10u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(the_shipped_config_is_valid_and_matches_the_defaults) {
  const Config config = load_config(CANTINA_SOURCE_DIR "/conf/cantina.toml", no_environment());
  const Config defaults = parse_config("", "empty.toml", no_environment());
  BOOST_TEST(config.logging.max_memory_logs == defaults.logging.max_memory_logs);
  BOOST_TEST(config.logging.batch_size == defaults.logging.batch_size);
  BOOST_TEST(config.logging.dedup_summary_interval_ms == defaults.logging.dedup_summary_interval_ms);
  BOOST_TEST(config.logging.max_memory_bytes == defaults.logging.max_memory_bytes);
  BOOST_TEST(config.logging.max_queue_bytes == defaults.logging.max_queue_bytes);
  BOOST_TEST(config.logging.query_endpoint == defaults.logging.query_endpoint);
  BOOST_TEST(config.bus.max_record_bytes == defaults.bus.max_record_bytes);
  BOOST_TEST(config.bus.max_queue_bytes == defaults.bus.max_queue_bytes);
  BOOST_TEST((config.logging.service_names == defaults.logging.service_names));
  BOOST_REQUIRE_EQUAL(config.services.size(), 1u);
  BOOST_TEST(config.services[0].name == "demo");
  BOOST_TEST(config.supervisor.capture_max_bytes == defaults.supervisor.capture_max_bytes);
}

BOOST_AUTO_TEST_CASE(the_supervisor_bounds_its_capture_files) {
  BOOST_TEST(parse_config("[supervisor]\ncapture_max_bytes = 65536\n", "test.toml", no_environment())
                 .supervisor.capture_max_bytes == 65536u);
  BOOST_TEST(error_of("[supervisor]\ncapture_max_bytes = 0\n") ==
             "test.toml:2:21: supervisor.capture_max_bytes: must be from 4096 to 1099511627776 bytes (got 0)");
  BOOST_TEST(error_of("[supervisor]\ncapture_bytes = 1\n")
                 .starts_with("test.toml:2:1: supervisor.capture_bytes: unknown key"));
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
max_memory_bytes = 2097152
max_queue_bytes = 0x400000
[logging.service_names]
r2_unit = "Astromech"
[webbridge]
listen = "0.0.0.0:9000"
token = "0123456789abcdef"
[supervisor]
capture_max_bytes = 1048576
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
  BOOST_TEST(config.logging.max_memory_bytes == 2097152u);
  BOOST_TEST(config.logging.max_queue_bytes == 4194304u);
  BOOST_TEST(config.logging.service_names.at("r2_unit") == "Astromech");
  BOOST_TEST(config.logging.service_names.at("music_controller") == "Music Controller");
  BOOST_TEST(config.webbridge.listen == "0.0.0.0:9000");
  BOOST_TEST(config.supervisor.capture_max_bytes == 1048576u);
  BOOST_REQUIRE_EQUAL(config.services.size(), 1u);
  BOOST_TEST((config.services[0].command == std::vector<std::string>{"/bin/sh", "-c", "python3 voice.py"}));
  BOOST_TEST((config.services[0].restart == RestartPolicy::always));
  BOOST_TEST(config.services[0].start_secs == 2.5);
  BOOST_TEST(config.services[0].environment.at("PYTHONUNBUFFERED") == "1");
}

BOOST_AUTO_TEST_CASE(an_unknown_key_names_file_line_and_key) {
  BOOST_TEST(error_of("[logging]\nlog_level = \"INFO\"\nbatch_sise = 10\n") ==
             "test.toml:3:1: logging.batch_sise: unknown key (allowed here: log_level max_memory_logs "
             "max_memory_bytes session_file_path session_fields enable_dashboard_streaming dashboard_max_rate "
             "file_flush_interval "
             "deduplication_window dedup_summary_interval_ms max_queue_size max_queue_bytes batch_size max_file_bytes "
             "max_total_bytes max_sessions max_age_days min_free_bytes compress_after compress_level query_endpoint "
             "service_names)");
  BOOST_TEST(error_of("[loging]\n").starts_with("test.toml:1:2: loging: unknown key"));
}

BOOST_AUTO_TEST_CASE(a_wrong_type_names_file_line_and_key) {
  BOOST_TEST(error_of("\n[logging]\nmax_memory_logs = \"lots\"\n") ==
             "test.toml:3:19: logging.max_memory_logs: must be an integer, not a string");
  BOOST_TEST(error_of("[logging]\nenable_dashboard_streaming = 1\n") ==
             "test.toml:2:30: logging.enable_dashboard_streaming: must be true or false, not an integer");
  BOOST_TEST(error_of("[logging]\nsession_fields = \"yes\"\n") ==
             "test.toml:2:18: logging.session_fields: must be true or false, not a string");
}

BOOST_AUTO_TEST_CASE(a_bad_value_names_file_line_and_key) {
  BOOST_TEST(error_of("[logging]\nbatch_size = 0\n") ==
             "test.toml:2:14: logging.batch_size: must be from 1 to 100000 (got 0)");
  BOOST_TEST(error_of("[logging]\nmax_memory_bytes = 1000\n") ==
             "test.toml:2:20: logging.max_memory_bytes: must be from 1048576 to 1099511627776 (got 1000)");
  BOOST_TEST(error_of("[logging]\nmax_queue_bytes = -1\n") ==
             "test.toml:2:19: logging.max_queue_bytes: must be from 1048576 to 1099511627776 (got -1)");
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

BOOST_AUTO_TEST_CASE(retention_keys_are_read_and_checked) {
  const Config defaults = parse_config("", "empty.toml", no_environment());
  BOOST_TEST(defaults.logging.max_total_bytes == std::uint64_t{1} << 30);
  BOOST_TEST(defaults.logging.max_sessions == 100u);
  BOOST_TEST(defaults.logging.max_age_days == 0u);
  BOOST_TEST(defaults.logging.min_free_bytes == std::uint64_t{100} << 20);
  BOOST_TEST(defaults.logging.compress_after == 60u);
  BOOST_TEST(defaults.logging.compress_level == 3u);
  const Config config = parse_config(
      "[logging]\nmax_total_bytes = 0\nmax_sessions = 5\nmax_age_days = 30\nmin_free_bytes = 1000\n"
      "compress_after = 0\ncompress_level = 19\n",
      "retention.toml", no_environment());
  BOOST_TEST(config.logging.max_total_bytes == 0u);
  BOOST_TEST(config.logging.max_sessions == 5u);
  BOOST_TEST(config.logging.max_age_days == 30u);
  BOOST_TEST(config.logging.min_free_bytes == 1000u);
  BOOST_TEST(config.logging.compress_after == 0u);
  BOOST_TEST(config.logging.compress_level == 19u);
  BOOST_TEST(error_of("[logging]\nmax_total_bytes = 4096\n") ==
             "test.toml:2:19: logging.max_total_bytes: must be 0 (no limit) or at least 1048576 (got 4096)");
  BOOST_TEST(error_of("[logging]\nmax_total_bytes = -1\n") ==
             "test.toml:2:19: logging.max_total_bytes: must be from 0 to 1125899906842624; 0 = no limit (got -1)");
  BOOST_TEST(error_of("\n[logging]\nmax_age_days = 40000\n") ==
             "test.toml:3:16: logging.max_age_days: must be from 0 to 36500 days; 0 = no limit (got 40000)");
  BOOST_TEST(error_of("[logging]\ncompress_level = 20\n") ==
             "test.toml:2:18: logging.compress_level: must be from 0 to 19; 0 = never compress (got 20)");
  BOOST_TEST(error_of("[logging]\nmax_sessions = \"ten\"\n") ==
             "test.toml:2:16: logging.max_sessions: must be an integer, not a string");
  BOOST_TEST(error_of("[logging]\nmin_free_bytes = 1.5\n") ==
             "test.toml:2:18: logging.min_free_bytes: must be an integer, not a float");
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

BOOST_AUTO_TEST_CASE(the_web_bridge_address_is_checked_as_start_up_checks_it) {
  // Start-up refuses these; `check` must say so first, with the same file, line and key.
  BOOST_TEST(error_of("[webbridge]\nlisten = \"0.0.0.0:8080\"\n") ==
             "test.toml:2:10: webbridge.listen: the address is reachable from the network: set [webbridge] token "
             "(16 or more characters) so that only you can read the logs");
  BOOST_TEST(error_of("[webbridge]\nlisten = \"[::]:8080\"\n").starts_with("test.toml:2:10: webbridge.listen: the "));
  BOOST_TEST(error_of("[webbridge]\nlisten = \"localhost:8080\"\n") ==
             "test.toml:2:10: webbridge.listen: HOST must be an IP address, e.g. 127.0.0.1:8080 or [::1]:8080 (got "
             "'localhost')");
  BOOST_TEST(error_of("[webbridge]\nlisten = \"127.attacker.example:8080\"\n")
                 .starts_with("test.toml:2:10: webbridge.listen: HOST must be an IP address"));
  BOOST_TEST(error_of("[webbridge]\nlisten = \"0.0.0.0:8080\"\ntoken = \"0123456789abcdef\"\n") == "");
  BOOST_TEST(error_of("[webbridge]\nlisten = \"127.0.0.2:0\"\n") == "");
  BOOST_TEST(error_of("[webbridge]\nlisten = \"[::1]:8080\"\n") == "");
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

BOOST_AUTO_TEST_CASE(reads_how_long_repeats_wait_for_their_summary) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).logging.dedup_summary_interval_ms == 2000u);
  BOOST_TEST(parse_config("[logging]\ndedup_summary_interval_ms = 250\n", "test.toml", no_environment())
                 .logging.dedup_summary_interval_ms == 250u);
  BOOST_TEST(error_of("[logging]\ndedup_summary_interval_ms = 0\n") ==
             "test.toml:2:29: logging.dedup_summary_interval_ms: must be from 10 to 3600000 ms (got 0)");
  BOOST_TEST(error_of("[logging]\ndedup_summary_interval_ms = \"2s\"\n") ==
             "test.toml:2:29: logging.dedup_summary_interval_ms: must be an integer, not a string");
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
  // Key files are written as keygen writes them: a secret one readable by its owner only.
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    if (text.find("secret") != std::string::npos)
      std::filesystem::permissions(dir / name,
                                   std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
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
    "server_secret_key = \"keys/bus.key\"\nauthorized_keys = \"keys/authorized\"\n"
    "[bus.curve.permissions]\nhost = \"admin\"\n";

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

BOOST_AUTO_TEST_CASE(says_what_each_authorized_key_may_publish) {
  KeyFolder keys;
  const CurveKeyPair droid = generate_curve_key_pair();
  keys.write("keys/authorized/droid1.pub", "public = \"" + droid.public_key + "\"\n");
  const std::string bus_host = kBusHost + "droid1 = [\"head_servo\", \"eye_light_controller\"]\n";
  keys.write("cantina.toml", bus_host);
  const Config config = load_config(keys.dir / "cantina.toml", no_environment());
  const auto& rights = config.bus.curve.rights;
  BOOST_REQUIRE_EQUAL(rights.size(), 2u);
  BOOST_TEST(rights.at(keys.client.public_key).admin);
  BOOST_TEST(rights.at(keys.client.public_key).name == "host");
  const PublishRights& droid_rights = rights.at(droid.public_key);
  BOOST_TEST(!droid_rights.admin);
  BOOST_TEST(droid_rights.name == "droid1");
  for (const char* topic : {"/log/head_servo", "/log/head_servo/batch", "/service/status/eye_light_controller",
                            "/control/log_level_changed/head_servo", "/urgent", "/receipt/0123456789abcdef"})
    BOOST_TEST(may_publish(droid_rights, topic), topic);
  for (const char* topic :
       {"/log/music_controller/batch", "/log/head_servo2", "/log/head_servo/batch/x", "/control/log_level/head_servo",
        "/control/log_level/logging_service", "/dashboard/log/batch", "/logging/stats",
        "/service/status/logging_service", "/service/status/cantina-busd", "/watching", "", "/log/", "/urgent/x",
        "/receipt/", "/receipt/0123456789ABCDEF", "/receipt/0123456789abcdef0"})
    BOOST_TEST(!may_publish(droid_rights, topic), topic);
  BOOST_TEST(may_publish(rights.at(keys.client.public_key), "/control/log_level/logging_service"));

  // Every key needs an entry, every entry a key; nodes' ids and odd values are refused.
  keys.write("keys/authorized/droid2.pub", "public = \"" + generate_curve_key_pair().public_key + "\"\n");
  BOOST_TEST(keys.error_of(bus_host).find("cantina.toml:9:1: bus.curve.permissions: ") != std::string::npos,
             keys.error_of(bus_host));
  BOOST_TEST(keys.error_of(bus_host).find("droid2.pub has no entry: add droid2 = [\"<service id>\", ...]") !=
             std::string::npos);
  std::filesystem::remove(keys.dir / "keys/authorized/droid2.pub");
  BOOST_TEST(keys.error_of(bus_host + "droid3 = [\"x\"]\n") ==
             (keys.dir / "cantina.toml").string() +
                 ":12:10: bus.curve.permissions.droid3: no key droid3.pub in bus.curve.authorized_keys");
  BOOST_TEST(keys.error_of(kBusHost + "droid1 = [\"logging_service\"]\n")
                 .find("bus.curve.permissions.droid1: 'logging_service' is a node's own service id") !=
             std::string::npos);
  BOOST_TEST(keys.error_of(kBusHost + "droid1 = \"all\"\n")
                 .find("bus.curve.permissions.droid1: must be \"admin\" (may publish anything) or a list") !=
             std::string::npos);
  BOOST_TEST(keys.error_of(kBusHost + "droid1 = [\"bad id\"]\n").find("each must be a service id") !=
             std::string::npos);
  std::string without = kBusHost;
  without.erase(without.find("[bus.curve.permissions]"));
  BOOST_TEST(keys.error_of(without).find("cantina.toml:8:19: bus.curve.permissions: ") != std::string::npos,
             keys.error_of(without));
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

BOOST_AUTO_TEST_CASE(decides_what_leaves_the_machine_by_parsing_the_address) {
  // A name that merely starts like a loopback address resolves wherever its owner wants.
  BOOST_TEST(error_of("[bus]\npublish_endpoint = \"tcp://127.attacker.example:5555\"\n")
                 .starts_with("test.toml:2:20: bus.publish_endpoint: an address off this machine needs LAN mode"));
  BOOST_TEST(error_of("[bus]\nsubscribe_endpoint = \"tcp://localhost.attacker.example:5556\"\n")
                 .starts_with("test.toml:2:22: bus.subscribe_endpoint: an address off this machine"));
  BOOST_TEST(error_of("[logging]\nquery_endpoint = \"tcp://[::ffff:10.0.0.1]:5557\"\n")
                 .starts_with("test.toml:2:18: logging.query_endpoint: an address off this machine"));
  for (const char* local :
       {"tcp://127.0.0.1:5555", "tcp://127.255.0.9:5555", "tcp://[::1]:5555", "tcp://LOCALHOST:5555",
        "tcp://[::ffff:127.0.0.1]:5555", "tcp://127.0.0.1;127.0.0.1:5555", "inproc://bus"}) {
    BOOST_TEST(!leaves_machine(local), local);
  }
  for (const char* remote : {"tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.5:5555", "tcp://[::]:5555",
                             "tcp://127.0.0.1;10.0.0.1:5555", "tcp://lo:5555", "tcp://128.0.0.1:5555"}) {
    BOOST_TEST(leaves_machine(remote), remote);
  }
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

BOOST_AUTO_TEST_CASE(refuses_a_secret_key_file_others_can_read_and_says_how_to_fix_it) {
  KeyFolder keys;
  keys.write("cantina.toml", kBusHost);
  for (const auto mode : {std::filesystem::perms::group_read, std::filesystem::perms::others_read}) {
    std::filesystem::permissions(keys.dir / "keys/bus.key",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write | mode);
    const std::string path = (keys.dir / "keys/bus.key").string();
    const std::string octal = mode == std::filesystem::perms::group_read ? "0640" : "0604";
    std::string expected = (keys.dir / "cantina.toml").string();
    expected += ":7:21: bus.curve.server_secret_key: " + path;
    expected += ": permissions " + octal;
    expected += " are too open: a secret key must be readable by its owner only; fix with: chmod 600 " + path;
    BOOST_TEST(keys.error_of(kBusHost) == expected);
  }
  std::filesystem::permissions(keys.dir / "keys/bus.key",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  BOOST_TEST(keys.error_of(kBusHost) == "");
  // A public key is public: its mode is not checked.
  std::filesystem::permissions(keys.dir / "keys/bus.pub", std::filesystem::perms::all);
  BOOST_TEST(keys.error_of(kBusHost) == "");
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

BOOST_AUTO_TEST_CASE(reads_the_record_size_cap_into_the_loggers_options) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).bus.max_record_bytes == 262144u);
  const Config config = parse_config("[bus]\nmax_record_bytes = 65536\n", "test.toml", no_environment());
  BOOST_TEST(config.bus.max_record_bytes == 65536u);
  BOOST_TEST(cantina::bus::logger_options(config.bus, "svc").max_record_bytes == 65536u);
  BOOST_TEST(error_of("[bus]\nmax_record_bytes = 100\n") ==
             "test.toml:2:20: bus.max_record_bytes: must be from 4096 to 1048576 (got 100)");
  BOOST_TEST(error_of("[bus]\nmax_record_bytes = 4194304\n")
                 .starts_with("test.toml:2:20: bus.max_record_bytes: must be from 4096 to 1048576"));
}

BOOST_AUTO_TEST_CASE(reads_the_bus_daemons_queue_budget) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).bus.max_queue_bytes == 64u * 1024 * 1024);
  BOOST_TEST(parse_config("[bus]\nmax_queue_bytes = 8388608\n", "test.toml", no_environment()).bus.max_queue_bytes ==
             8388608u);
  BOOST_TEST(error_of("[bus]\nmax_queue_bytes = 1000\n")
                 .starts_with("test.toml:2:19: bus.max_queue_bytes: must be from 4194304 to 1099511627776"));
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

BOOST_AUTO_TEST_CASE(reads_how_long_repeats_wait_for_their_summary) {
  BOOST_TEST(parse_config("", "test.toml", no_environment()).logging.dedup_summary_interval_ms == 2000u);
  BOOST_TEST(parse_config("[logging]\ndedup_summary_interval_ms = 250\n", "test.toml", no_environment())
                 .logging.dedup_summary_interval_ms == 250u);
  BOOST_TEST(error_of("[logging]\ndedup_summary_interval_ms = 0\n") ==
             "test.toml:2:29: logging.dedup_summary_interval_ms: must be from 10 to 3600000 ms (got 0)");
  BOOST_TEST(error_of("[logging]\ndedup_summary_interval_ms = \"2s\"\n") ==
             "test.toml:2:29: logging.dedup_summary_interval_ms: must be an integer, not a string");
}

BOOST_AUTO_TEST_SUITE_END()
