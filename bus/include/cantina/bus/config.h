// The TOML configuration (conf/cantina.toml), loaded and validated with toml++.
// Unknown keys, wrong types and bad values are errors naming file, line and key.
// The seed's environment variables LOGGING_LEVEL, MAX_MEMORY_LOGS and
// SESSION_LOG_PATH override the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cantina/bus/curve.h"
#include "cantina/bus/level.h"
#include "cantina/bus/limits.h"

namespace cantina::bus {

struct BusConfig {
  std::string publish_endpoint = "tcp://127.0.0.1:5555";    // publishers connect (XSUB side)
  std::string subscribe_endpoint = "tcp://127.0.0.1:5556";  // subscribers connect (XPUB side)
  int high_water_mark = 100000;                             // messages queued per peer
  // A service's Logger holds records until the bus reports a subscriber (the
  // logging node), for at most this long and up to logger_queue records.
  std::uint32_t logger_hold_ms = 2000;
  std::uint32_t logger_queue = 65536;
  // Longest a Logger holds a record for others to share its message, while someone
  // watches live (the dashboard) and while no one does.
  std::uint32_t logger_linger_ms = 5;
  std::uint32_t logger_linger_unwatched_ms = 1000;
  // Longest message a record keeps; a longer one is cut with a marker (limits.h).
  std::uint32_t max_record_bytes = kDefaultMaxRecordBytes;
  // What cantina-busd holds for subscribers that read slowly, all together.
  std::uint64_t max_queue_bytes = std::uint64_t{64} * 1024 * 1024;
  CurveConfig curve;  // [bus.curve]: LAN mode; key files already read by load_config
};

struct LoggingConfig {
  Level log_level = Level::info;
  std::uint32_t max_memory_logs = 1000;
  std::uint64_t max_memory_bytes = std::uint64_t{16} << 20;  // the history in memory, in bytes
  std::string session_file_path = "./logs";
  bool session_fields = false;  // session file lines end with the record's fields, " key=value" each
  bool enable_dashboard_streaming = true;
  std::uint32_t dashboard_max_rate = 10000;  // entries/s streamed live; 0 = no limit
  std::uint32_t file_flush_interval = 5;     // seconds
  std::uint32_t deduplication_window = 30;   // seconds, 0 = off
  std::uint32_t dedup_summary_interval_ms = 2000;  // longest a counted repeat waits for its summary
  std::uint32_t max_queue_size = 10000;
  std::uint64_t max_queue_bytes = std::uint64_t{32} << 20;  // entries waiting for the writer, in bytes
  std::uint32_t batch_size = 100;
  std::uint64_t max_file_bytes = 0;  // 0 = no rotation
  // Retention of the session folder (finished sessions only; 0 = no limit).
  std::uint64_t max_total_bytes = std::uint64_t{1} << 30;  // session and index files, on disk
  std::uint32_t max_sessions = 100;
  std::uint32_t max_age_days = 0;
  std::uint64_t min_free_bytes = std::uint64_t{100} << 20;  // free space kept on the folder's file system
  std::uint32_t compress_after = 60;                         // seconds after a finished part's last write
  std::uint32_t compress_level = 3;                          // zstd level; 0 = never compress
  std::string query_endpoint = "tcp://127.0.0.1:5557";
  std::map<std::string, std::string> service_names;  // service id -> friendly name
};

struct WebBridgeConfig {
  std::string listen = "127.0.0.1:8080";     // HOST:PORT; port 0 = any free port
  std::uint32_t batch_interval_ms = 10;      // shortest time between two messages to a browser
  std::uint32_t max_client_queue = 20000;    // entries waiting per browser before it skips
  std::uint32_t history_limit = 1000;        // most entries /api/logs returns
  std::string static_dir;                    // the page's files; empty = the built-in folder
  std::string token;                         // required from browsers when set (and off loopback)
  std::vector<std::string> allowed_origins;  // WebSocket Origins accepted besides the bridge's own
  std::vector<std::string> allowed_hosts;    // Host headers accepted besides the bridge's own ("name[:port]")
  std::uint32_t max_connections = 128;       // open connections; half of them at most per phase
  std::uint64_t memory_budget_bytes = std::uint64_t{64} << 20;  // all it holds for clients (split in main.cpp)
};

// [supervisor]: `tools/cantina up` itself.
struct SupervisorConfig {
  // A process's captured output file (<state dir>/<name>.out) is renamed to
  // <name>.out.1 (replacing the previous one) when it would grow past this.
  std::uint64_t capture_max_bytes = std::uint64_t{10} * 1024 * 1024;
};

enum class RestartPolicy { always, on_failure, never };

// What the supervisor waits for before it counts a service as started and
// starts the next one: "uptime" = still running after start_secs; "status" =
// the service itself reports RUNNING on /service/status/<name>.
enum class ReadyCheck { uptime, status };

// One [[service]] table: a process the supervisor runs.
struct ServiceConfig {
  std::string name;
  std::vector<std::string> command;
  std::string working_directory;
  std::map<std::string, std::string> environment;
  RestartPolicy restart = RestartPolicy::on_failure;
  double start_secs = 1.0;  // an exit sooner than this counts as a failed start
  ReadyCheck ready = ReadyCheck::uptime;
  bool capture = true;  // publish stdout/stderr lines as log records of the service
};

struct Config {
  std::string source;  // file the config came from ("<defaults>" if none)
  BusConfig bus;
  LoggingConfig logging;
  WebBridgeConfig webbridge;
  SupervisorConfig supervisor;
  std::vector<ServiceConfig> services;
};

// The seed's friendly service names, the default of [logging.service_names].
const std::map<std::string, std::string>& default_service_names();

// A configuration problem. what() is one line: "<file>:<line>:<column>: <key>: <problem>"
// (or "environment variable <NAME>: <problem>").
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks up an environment variable; tests pass their own.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();
Environment no_environment();

// Parses and validates TOML text; `source_name` names it in errors. Throws ConfigError.
// Relative key-file paths of [bus.curve] are taken from `key_folder`; the files are
// read (and errors in them reported with the key's line) only if it is given.
Config parse_config(std::string_view toml_text, const std::string& source_name,
                    const Environment& environment = process_environment(),
                    const std::filesystem::path* key_folder = nullptr);

// Reads and validates a file, and the CURVE key files it names (relative to the
// file's folder). Throws ConfigError (also if it cannot be read).
Config load_config(const std::filesystem::path& path, const Environment& environment = process_environment());

// True for a loopback host: "localhost", or a numeric address in 127.0.0.0/8,
// ::1 or ::ffff:127.0.0.0/104 ("[::1]" too). A name other than localhost is not
// resolved and counts as off the machine.
bool is_loopback_host(std::string_view host);

// True for an endpoint whose traffic may leave this machine: a tcp:// endpoint
// whose host is not a loopback host (is_loopback_host). ipc:// and inproc://
// never leave it.
bool leaves_machine(std::string_view endpoint);

// The config file a program uses when given none: $CANTINA_CONFIG (set by the
// supervisor for every child), else conf/cantina.toml.
std::string default_config_path();

// For main(): load_config(path), or print "<program>: <error>" to stderr and
// exit(1).
Config load_config_or_exit(const std::string& path, std::string_view program);

}  // namespace cantina::bus
