#include "cantina/bus/config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "cantina/bus/topics.h"

namespace cantina::bus {

const std::map<std::string, std::string>& default_service_names() {
  static const std::map<std::string, std::string> names = {
      {"deepgram_direct_mic", "Voice Input"},
      {"gpt_service", "AI Assistant"},
      {"elevenlabs_service", "Speech Synthesis"},
      {"music_controller", "Music Controller"},
      {"eye_light_controller", "Eye Lights"},
      {"yoda_mode_manager", "Mode Manager"},
      {"web_bridge", "Web Bridge"},
      {"logging_service", "Logging Service"},
  };
  return names;
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Environment no_environment() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

namespace {

constexpr std::int64_t kMaxCount = 10'000'000;
// A memory budget in bytes: at least 1 MiB (more than the largest entry, see
// limits.h), at most 1 TiB.
constexpr std::int64_t kMinBudgetBytes = std::int64_t{1} << 20;
constexpr std::int64_t kMaxBudgetBytes = std::int64_t{1} << 40;

std::string single_quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (value.size() > 80) out += "...";
  return out + "'";
}

// `text` with line breaks and other control characters made visible, so that an
// error stays on one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += '?';
    else
      out += c;
  }
  return out;
}

// Walks one TOML document, checking every key and value and naming the file,
// line and key of the first problem.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& key, const std::string& problem) const {
    std::ostringstream out;
    out << source_ << ':' << where.begin.line << ':' << where.begin.column << ": " << key << ": " << problem;
    throw ConfigError(out.str());
  }

  // Rejects keys of `table` that are not in `allowed`.
  void only_keys(const toml::table& table, const std::string& prefix,
                 std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, node] : table) {
      bool known = false;
      for (auto name : allowed) known = known || key.str() == name;
      if (!known) {
        std::string full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
        std::string hint = "unknown key (allowed here:";
        for (auto name : allowed) {
          hint += ' ';
          hint += name;
        }
        fail(key.source(), full, hint + ")");
      }
    }
  }

  const toml::table* table(const toml::table& parent, std::string_view key, const std::string& full) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) fail(node->source(), full, "must be a table ([" + full + "])");
    return node->as_table();
  }

  void string(const toml::table& parent, std::string_view key, const std::string& full, std::string& out,
              bool allow_empty = false) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return;
    if (!node->is_string()) fail(node->source(), full, std::string("must be a string, not ") + type_name(*node));
    out = node->as_string()->get();
    if (!allow_empty && out.empty()) fail(node->source(), full, "must not be empty");
  }

  void boolean(const toml::table& parent, std::string_view key, const std::string& full, bool& out) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return;
    if (!node->is_boolean()) fail(node->source(), full, std::string("must be true or false, not ") + type_name(*node));
    out = node->as_boolean()->get();
  }

  template <class Int>
  void integer(const toml::table& parent, std::string_view key, const std::string& full, Int& out, std::int64_t low,
               std::int64_t high, const char* note = "") const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return;
    if (!node->is_integer()) fail(node->source(), full, std::string("must be an integer, not ") + type_name(*node));
    std::int64_t value = node->as_integer()->get();
    if (value < low || value > high) {
      fail(node->source(), full,
           "must be from " + std::to_string(low) + " to " + std::to_string(high) + note + " (got " +
               std::to_string(value) + ")");
    }
    out = static_cast<Int>(value);
  }

  void number(const toml::table& parent, std::string_view key, const std::string& full, double& out, double low,
              double high) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return;
    if (!node->is_number()) fail(node->source(), full, std::string("must be a number, not ") + type_name(*node));
    double value =
        node->is_integer() ? static_cast<double>(node->as_integer()->get()) : node->as_floating_point()->get();
    if (!(value >= low && value <= high)) {
      std::ostringstream problem;
      problem << "must be from " << low << " to " << high << " (got " << value << ")";
      fail(node->source(), full, problem.str());
    }
    out = value;
  }

  void level(const toml::table& parent, std::string_view key, const std::string& full, Level& out) const {
    std::string name;
    string(parent, key, full, name);
    if (name.empty()) return;
    auto parsed = parse_level(name);
    if (!parsed)
      fail(parent.get(key)->source(), full,
           "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got " + single_quoted(name) + ")");
    out = *parsed;
  }

  void endpoint(const toml::table& parent, std::string_view key, const std::string& full, std::string& out,
                bool allow_empty = false) const {
    string(parent, key, full, out, allow_empty);
    if (out.empty()) return;
    if (!(out.starts_with("tcp://") || out.starts_with("ipc://") || out.starts_with("inproc://"))) {
      fail(parent.get(key)->source(), full,
           "must be a ZeroMQ endpoint like tcp://127.0.0.1:5555 or ipc:///path (got " + single_quoted(out) + ")");
    }
  }

  static const char* type_name(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      case toml::node_type::date: return "a date";
      case toml::node_type::time: return "a time";
      case toml::node_type::date_time: return "a date-time";
      default: return "nothing";
    }
  }

 private:
  std::string source_;
};

// Reads one key file named by a [bus.curve] key; errors name the key's line.
CurveKeyPair key_file(const Reader& r, const toml::table& t, std::string_view key, const std::filesystem::path& folder,
                      bool need_secret) {
  const toml::node* node = t.get(key);
  const std::string full = "bus.curve." + std::string(key);
  const std::filesystem::path path = folder / node->as_string()->get();
  CurveKeyPair keys;
  try {
    keys = read_curve_key_file(path);
  } catch (const std::exception& error) {
    r.fail(node->source(), full, error.what());
  }
  if (need_secret && keys.secret_key.empty())
    r.fail(node->source(), full,
           path.string() + ": has no secret key (give the .key file made by `tools/cantina keygen`)");
  return keys;
}

// [bus.curve.permissions]: NAME = "admin" or NAME = ["service", ...], by name.
std::map<std::string, PublishRights> read_permissions(const Reader& r, const toml::table& t) {
  std::map<std::string, PublishRights> by_name;
  for (auto&& [key, node] : t) {
    const std::string name(key.str());
    const std::string full = "bus.curve.permissions." + name;
    PublishRights rights;
    rights.name = name;
    if (node.is_string() && node.as_string()->get() == "admin") {
      rights.admin = true;
    } else if (node.is_array()) {
      for (const toml::node& service : *node.as_array()) {
        if (!service.is_string() || !topics::is_valid_service_id(service.as_string()->get()))
          r.fail(service.source(), full, "each must be a service id (letters, digits, '_', '-', '.')");
        const std::string& id = service.as_string()->get();
        if (is_node_service(id))
          r.fail(service.source(), full,
                 "'" + id + "' is a node's own service id: only an \"admin\" key may publish for it");
        rights.services.insert(id);
      }
    } else {
      r.fail(node.source(), full,
             "must be \"admin\" (may publish anything) or a list of the service ids it may publish for");
    }
    by_name.emplace(name, std::move(rights));
  }
  return by_name;
}

// Every authorized key needs an entry in [bus.curve.permissions] and every entry
// a key: what busd lets each key publish (curve.rights, by public key).
void match_permissions(const Reader& r, const toml::table& t, const std::vector<AuthorizedKey>& keys,
                       std::map<std::string, PublishRights> by_name, CurveConfig& curve) {
  const toml::node* table = t.get("permissions");
  for (const AuthorizedKey& key : keys) {
    auto found = by_name.find(key.name);
    if (found == by_name.end())
      r.fail(table != nullptr ? table->source() : t.get("authorized_keys")->source(), "bus.curve.permissions",
             key.path.string() + " has no entry: add " + key.name + " = [\"<service id>\", ...] (the services " +
                 "that host runs) or " + key.name + " = \"admin\" (the bus host's own processes)");
    curve.rights[key.public_key] = found->second;
  }
  for (const auto& entry : by_name) {
    const std::string& name = entry.first;
    const bool known =
        std::any_of(keys.begin(), keys.end(), [&name](const AuthorizedKey& key) { return key.name == name; });
    if (!known)
      r.fail(table->as_table()->get(name)->source(), "bus.curve.permissions." + name,
             "no key " + name + ".pub in bus.curve.authorized_keys");
  }
}

void read_curve(const Reader& r, const toml::table& t, CurveConfig& curve, const std::filesystem::path* key_folder) {
  r.only_keys(t, "bus.curve",
              {"enabled", "server_public_key", "server_secret_key", "client_key", "authorized_keys", "permissions"});
  r.boolean(t, "enabled", "bus.curve.enabled", curve.enabled);
  std::string server_public, server_secret, client, authorized;
  r.string(t, "server_public_key", "bus.curve.server_public_key", server_public, true);
  r.string(t, "server_secret_key", "bus.curve.server_secret_key", server_secret, true);
  r.string(t, "client_key", "bus.curve.client_key", client, true);
  r.string(t, "authorized_keys", "bus.curve.authorized_keys", authorized, true);
  std::map<std::string, PublishRights> permissions;
  if (const toml::table* table = r.table(t, "permissions", "bus.curve.permissions"))
    permissions = read_permissions(r, *table);
  if (!curve.enabled) return;
  if (server_public.empty()) r.fail(t.source(), "bus.curve.server_public_key", "is required when CURVE is enabled");
  if (server_secret.empty() && client.empty())
    r.fail(t.source(), "bus.curve.client_key",
           "is required when CURVE is enabled (or server_secret_key on the bus host)");
  if (!server_secret.empty() && authorized.empty())
    r.fail(t.get("server_secret_key")->source(), "bus.curve.authorized_keys",
           "is required with server_secret_key: the folder of client public keys the bus admits");
  if (key_folder == nullptr) return;
  curve.server_public_key = key_file(r, t, "server_public_key", *key_folder, false).public_key;
  if (!server_secret.empty()) {
    curve.server = key_file(r, t, "server_secret_key", *key_folder, true);
    if (curve.server.public_key != curve.server_public_key)
      r.fail(t.get("server_secret_key")->source(), "bus.curve.server_secret_key",
             "is not the key pair of bus.curve.server_public_key");
  }
  if (!client.empty()) curve.client = key_file(r, t, "client_key", *key_folder, true);
  if (!authorized.empty()) {
    std::vector<AuthorizedKey> keys;
    try {
      keys = read_authorized_keys(*key_folder / authorized);
    } catch (const std::exception& error) {
      r.fail(t.get("authorized_keys")->source(), "bus.curve.authorized_keys", error.what());
    }
    for (const AuthorizedKey& key : keys) curve.authorized.insert(key.public_key);
    match_permissions(r, t, keys, std::move(permissions), curve);
  }
}

void read_bus(const Reader& r, const toml::table& t, BusConfig& bus, const std::filesystem::path* key_folder) {
  r.only_keys(t, "bus",
              {"publish_endpoint", "subscribe_endpoint", "high_water_mark", "logger_hold_ms", "logger_queue",
               "logger_linger_ms", "logger_linger_unwatched_ms", "max_record_bytes", "max_queue_bytes", "curve"});
  r.endpoint(t, "publish_endpoint", "bus.publish_endpoint", bus.publish_endpoint);
  r.endpoint(t, "subscribe_endpoint", "bus.subscribe_endpoint", bus.subscribe_endpoint);
  r.integer(t, "high_water_mark", "bus.high_water_mark", bus.high_water_mark, 1, kMaxCount);
  r.integer(t, "logger_hold_ms", "bus.logger_hold_ms", bus.logger_hold_ms, 0, 3600000);
  r.integer(t, "logger_queue", "bus.logger_queue", bus.logger_queue, 1, kMaxCount);
  r.integer(t, "logger_linger_ms", "bus.logger_linger_ms", bus.logger_linger_ms, 0, 1000);
  r.integer(t, "logger_linger_unwatched_ms", "bus.logger_linger_unwatched_ms", bus.logger_linger_unwatched_ms, 0, 1000);
  r.integer(t, "max_record_bytes", "bus.max_record_bytes", bus.max_record_bytes, kMinRecordBytesSetting,
            kMaxRecordBytesSetting);
  r.integer(t, "max_queue_bytes", "bus.max_queue_bytes", bus.max_queue_bytes, std::int64_t{4} << 20,
            std::int64_t{1} << 40);
  if (bus.publish_endpoint == bus.subscribe_endpoint) {
    r.fail(t.source(), "bus.subscribe_endpoint", "must differ from bus.publish_endpoint");
  }
  if (const toml::table* curve = r.table(t, "curve", "bus.curve")) read_curve(r, *curve, bus.curve, key_folder);
  for (const char* key : {"publish_endpoint", "subscribe_endpoint"}) {
    const toml::node* node = t.get(key);
    if (node != nullptr && !bus.curve.enabled && leaves_machine(node->as_string()->get()))
      r.fail(node->source(), "bus." + std::string(key),
             "an address off this machine needs LAN mode: [bus.curve] enabled = true with keys (see "
             "conf/lan-example.toml)");
  }
}

void read_logging(const Reader& r, const toml::table& t, LoggingConfig& logging) {
  r.only_keys(t, "logging",
              {"log_level",
               "max_memory_logs",
               "max_memory_bytes",
               "session_file_path",
               "session_fields",
               "enable_dashboard_streaming",
               "dashboard_max_rate",
               "file_flush_interval",
               "deduplication_window",
               "dedup_summary_interval_ms",
               "max_queue_size",
               "max_queue_bytes",
               "batch_size",
               "max_file_bytes",
               "max_total_bytes",
               "max_sessions",
               "max_age_days",
               "min_free_bytes",
               "compress_after",
               "compress_level",
               "query_endpoint",
               "service_names"});
  r.level(t, "log_level", "logging.log_level", logging.log_level);
  r.integer(t, "max_memory_logs", "logging.max_memory_logs", logging.max_memory_logs, 1, kMaxCount);
  r.integer(t, "max_memory_bytes", "logging.max_memory_bytes", logging.max_memory_bytes, kMinBudgetBytes,
            kMaxBudgetBytes);
  r.string(t, "session_file_path", "logging.session_file_path", logging.session_file_path);
  r.boolean(t, "session_fields", "logging.session_fields", logging.session_fields);
  r.boolean(t, "enable_dashboard_streaming", "logging.enable_dashboard_streaming", logging.enable_dashboard_streaming);
  r.integer(t, "dashboard_max_rate", "logging.dashboard_max_rate", logging.dashboard_max_rate, 0, 10'000'000,
            " entries/s; 0 = no limit");
  if (logging.dashboard_max_rate != 0 && logging.dashboard_max_rate < 10) {
    r.fail(t.get("dashboard_max_rate")->source(), "logging.dashboard_max_rate",
           "must be 0 (no limit) or at least 10 (got " + std::to_string(logging.dashboard_max_rate) + ")");
  }
  r.integer(t, "file_flush_interval", "logging.file_flush_interval", logging.file_flush_interval, 0, 3600,
            " seconds; 0 = after every batch");
  r.integer(t, "deduplication_window", "logging.deduplication_window", logging.deduplication_window, 0, 86400,
            " seconds; 0 = off");
  r.integer(t, "dedup_summary_interval_ms", "logging.dedup_summary_interval_ms", logging.dedup_summary_interval_ms, 10,
            3'600'000, " ms");
  r.integer(t, "max_queue_size", "logging.max_queue_size", logging.max_queue_size, 1, kMaxCount);
  r.integer(t, "max_queue_bytes", "logging.max_queue_bytes", logging.max_queue_bytes, kMinBudgetBytes, kMaxBudgetBytes);
  r.integer(t, "batch_size", "logging.batch_size", logging.batch_size, 1, 100000);
  r.integer(t, "max_file_bytes", "logging.max_file_bytes", logging.max_file_bytes, 0, std::int64_t{1} << 50,
            "; 0 = no rotation");
  if (logging.max_file_bytes != 0 && logging.max_file_bytes < 4096) {
    r.fail(t.get("max_file_bytes")->source(), "logging.max_file_bytes",
           "must be 0 (no rotation) or at least 4096 (got " + std::to_string(logging.max_file_bytes) + ")");
  }
  r.integer(t, "max_total_bytes", "logging.max_total_bytes", logging.max_total_bytes, 0, std::int64_t{1} << 50,
            "; 0 = no limit");
  if (logging.max_total_bytes != 0 && logging.max_total_bytes < (std::uint64_t{1} << 20)) {
    r.fail(t.get("max_total_bytes")->source(), "logging.max_total_bytes",
           "must be 0 (no limit) or at least 1048576 (got " + std::to_string(logging.max_total_bytes) + ")");
  }
  r.integer(t, "max_sessions", "logging.max_sessions", logging.max_sessions, 0, 1'000'000, "; 0 = no limit");
  r.integer(t, "max_age_days", "logging.max_age_days", logging.max_age_days, 0, 36500, " days; 0 = no limit");
  r.integer(t, "min_free_bytes", "logging.min_free_bytes", logging.min_free_bytes, 0, std::int64_t{1} << 50,
            "; 0 = no limit");
  r.integer(t, "compress_after", "logging.compress_after", logging.compress_after, 0, 31'536'000,
            " seconds; 0 = at once");
  r.integer(t, "compress_level", "logging.compress_level", logging.compress_level, 0, 19, "; 0 = never compress");
  r.endpoint(t, "query_endpoint", "logging.query_endpoint", logging.query_endpoint, true);
  if (const toml::table* names = r.table(t, "service_names", "logging.service_names")) {
    for (auto&& [key, node] : *names) {
      std::string full = "logging.service_names." + std::string(key.str());
      if (!topics::is_valid_service_id(key.str())) {
        r.fail(key.source(), full, "service ids use only letters, digits, '_', '-' and '.'");
      }
      if (!node.is_string())
        r.fail(node.source(), full, std::string("must be a string, not ") + Reader::type_name(node));
      const std::string& friendly = node.as_string()->get();
      if (friendly.empty() || friendly.size() > 64) r.fail(node.source(), full, "must be 1 to 64 characters");
      logging.service_names[std::string(key.str())] = friendly;
    }
  }
}

// "name", "name:port", "[v6]" or "[v6]:port", as a Host header names the dashboard.
bool valid_host_name(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (const char c : host.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    name = {};
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return false;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const auto colon = host.find(':');
    name = host.substr(0, colon);
    if (name.empty() || name.size() > 253) return false;
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      if (port.empty()) return false;
    }
    for (const char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
    }
  }
  if (port.size() > 5) return false;
  std::uint32_t number = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return port.empty() || (number >= 1 && number <= 65535);
}

void read_webbridge(const Reader& r, const toml::table& t, WebBridgeConfig& webbridge) {
  r.only_keys(t, "webbridge",
              {"listen", "batch_interval_ms", "max_client_queue", "history_limit", "static_dir", "token",
               "allowed_origins", "allowed_hosts", "max_connections", "memory_budget_bytes"});
  r.string(t, "listen", "webbridge.listen", webbridge.listen);
  r.integer(t, "batch_interval_ms", "webbridge.batch_interval_ms", webbridge.batch_interval_ms, 5, 1000);
  r.integer(t, "max_client_queue", "webbridge.max_client_queue", webbridge.max_client_queue, 100, kMaxCount);
  r.integer(t, "history_limit", "webbridge.history_limit", webbridge.history_limit, 1, 100000);
  r.integer(t, "max_connections", "webbridge.max_connections", webbridge.max_connections, 4, 10000);
  r.integer(t, "memory_budget_bytes", "webbridge.memory_budget_bytes", webbridge.memory_budget_bytes,
            std::int64_t{4} << 20, std::int64_t{16} << 30);
  r.string(t, "static_dir", "webbridge.static_dir", webbridge.static_dir, true);
  r.string(t, "token", "webbridge.token", webbridge.token, true);
  if (!webbridge.token.empty() && webbridge.token.size() < 16) {
    r.fail(t.get("token")->source(), "webbridge.token", "must be at least 16 characters (or empty for none)");
  }
  for (const char c : webbridge.token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == ';' || c == ',' || c == '"' || c == '\\' || c == 0x7f) {
      r.fail(t.get("token")->source(), "webbridge.token", "use letters, digits and punctuation other than ; , \" \\");
    }
  }
  if (const toml::node* origins = t.get("allowed_origins")) {
    if (!origins->is_array()) r.fail(origins->source(), "webbridge.allowed_origins", "must be a list of strings");
    for (const toml::node& origin : *origins->as_array()) {
      if (!origin.is_string() ||
          !(origin.as_string()->get().starts_with("http://") || origin.as_string()->get().starts_with("https://"))) {
        r.fail(origin.source(), "webbridge.allowed_origins", "each must be an origin like \"http://droid.local:8080\"");
      }
      webbridge.allowed_origins.push_back(origin.as_string()->get());
    }
  }
  if (const toml::node* hosts = t.get("allowed_hosts")) {
    if (!hosts->is_array()) r.fail(hosts->source(), "webbridge.allowed_hosts", "must be a list of strings");
    for (const toml::node& host : *hosts->as_array()) {
      if (!host.is_string() || !valid_host_name(host.as_string()->get())) {
        r.fail(host.source(), "webbridge.allowed_hosts",
               "each must be a host name or address, optionally with :PORT, like \"droid.local\" or "
               "\"192.168.1.10:8080\"");
      }
      webbridge.allowed_hosts.push_back(host.as_string()->get());
    }
  }
  auto colon = webbridge.listen.rfind(':');
  bool valid = colon != std::string::npos && colon > 0 && colon + 1 < webbridge.listen.size();
  if (valid) {
    for (char c : webbridge.listen.substr(colon + 1)) valid = valid && c >= '0' && c <= '9';
    valid = valid && webbridge.listen.size() - colon - 1 <= 5 && std::stoi(webbridge.listen.substr(colon + 1)) <= 65535;
  }
  if (!valid && t.get("listen") != nullptr)
    r.fail(t.get("listen")->source(), "webbridge.listen",
           "must be HOST:PORT, e.g. 127.0.0.1:8080 (got '" + webbridge.listen + "')");
  if (const toml::node* listen = t.get("listen")) {
    // The bridge listens on an address, not a name; what it refuses at start-up
    // is refused here too, so `tools/cantina check` says it first.
    std::string host = webbridge.listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    in6_addr address{};
    if (::inet_pton(AF_INET, host.c_str(), &address) != 1 && ::inet_pton(AF_INET6, host.c_str(), &address) != 1)
      r.fail(listen->source(), "webbridge.listen",
             "HOST must be an IP address, e.g. 127.0.0.1:8080 or [::1]:8080 (got " + single_quoted(host) + ")");
    if (!is_loopback_host(host) && webbridge.token.empty())
      r.fail(listen->source(), "webbridge.listen",
             "the address is reachable from the network: set [webbridge] token (16 or more characters) so that "
             "only you can read the logs");
  }
}

void read_supervisor(const Reader& r, const toml::table& t, SupervisorConfig& supervisor) {
  r.only_keys(t, "supervisor", {"capture_max_bytes"});
  r.integer(t, "capture_max_bytes", "supervisor.capture_max_bytes", supervisor.capture_max_bytes, 4096,
            std::int64_t{1} << 40, " bytes");
}

void read_services(const Reader& r, const toml::node& node, std::vector<ServiceConfig>& services) {
  if (!node.is_array_of_tables()) r.fail(node.source(), "service", "must be [[service]] tables");
  std::set<std::string> names;
  std::size_t index = 0;
  for (const toml::node& element : *node.as_array()) {
    const toml::table& t = *element.as_table();
    std::string prefix = "service[" + std::to_string(index++) + "]";
    r.only_keys(t, prefix,
                {"name", "command", "working_directory", "environment", "restart", "start_secs", "ready", "capture"});
    ServiceConfig service;
    if (t.get("name") == nullptr) r.fail(t.source(), prefix + ".name", "is required");
    r.string(t, "name", prefix + ".name", service.name);
    if (!topics::is_valid_service_id(service.name)) {
      r.fail(t.get("name")->source(), prefix + ".name", "service names use only letters, digits, '_', '-' and '.'");
    }
    if (!names.insert(service.name).second) {
      r.fail(t.get("name")->source(), prefix + ".name", "duplicate service name '" + service.name + "'");
    }
    prefix = "service." + service.name;
    const toml::node* command = t.get("command");
    if (command == nullptr) r.fail(t.source(), prefix + ".command", "is required");
    if (command->is_string()) {
      service.command = {"/bin/sh", "-c", command->as_string()->get()};
    } else if (command->is_array() && !command->as_array()->empty()) {
      for (const toml::node& part : *command->as_array()) {
        if (!part.is_string()) r.fail(part.source(), prefix + ".command", "must be a list of strings");
        service.command.push_back(part.as_string()->get());
      }
    } else {
      r.fail(command->source(), prefix + ".command", "must be a non-empty list of strings or a shell command string");
    }
    r.string(t, "working_directory", prefix + ".working_directory", service.working_directory);
    if (const toml::table* environment = r.table(t, "environment", prefix + ".environment")) {
      for (auto&& [key, value] : *environment) {
        if (!value.is_string())
          r.fail(value.source(), prefix + ".environment." + std::string(key.str()), "must be a string");
        service.environment[std::string(key.str())] = value.as_string()->get();
      }
    }
    std::string restart;
    r.string(t, "restart", prefix + ".restart", restart);
    if (restart == "always")
      service.restart = RestartPolicy::always;
    else if (restart == "on-failure" || restart.empty())
      service.restart = RestartPolicy::on_failure;
    else if (restart == "never")
      service.restart = RestartPolicy::never;
    else
      r.fail(t.get("restart")->source(), prefix + ".restart",
             "must be \"always\", \"on-failure\" or \"never\" (got " + single_quoted(restart) + ")");
    r.number(t, "start_secs", prefix + ".start_secs", service.start_secs, 0, 3600);
    std::string ready;
    r.string(t, "ready", prefix + ".ready", ready);
    if (ready == "uptime" || ready.empty())
      service.ready = ReadyCheck::uptime;
    else if (ready == "status")
      service.ready = ReadyCheck::status;
    else
      r.fail(t.get("ready")->source(), prefix + ".ready",
             "must be \"uptime\" or \"status\" (got " + single_quoted(ready) + ")");
    r.boolean(t, "capture", prefix + ".capture", service.capture);
    services.push_back(std::move(service));
  }
}

void apply_environment(const Environment& environment, LoggingConfig& logging) {
  if (auto value = environment("LOGGING_LEVEL")) {
    auto parsed = parse_level(*value);
    if (!parsed)
      throw ConfigError(
          "environment variable LOGGING_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got " +
          single_quoted(*value) + ")");
    logging.log_level = *parsed;
  }
  if (auto value = environment("MAX_MEMORY_LOGS")) {
    char* end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(value->c_str(), &end, 10);
    if (value->empty() || *end != '\0' || errno != 0 || parsed < 1 || parsed > kMaxCount) {
      throw ConfigError("environment variable MAX_MEMORY_LOGS: must be an integer from 1 to " +
                        std::to_string(kMaxCount) + " (got " + single_quoted(*value) + ")");
    }
    logging.max_memory_logs = static_cast<std::uint32_t>(parsed);
  }
  if (auto value = environment("SESSION_LOG_PATH")) {
    if (value->empty()) throw ConfigError("environment variable SESSION_LOG_PATH: must not be empty");
    logging.session_file_path = *value;
  }
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() > 255) return false;
  std::string lower(host);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "localhost") return true;
  // A numeric address only (no DNS: a name could point anywhere, and later
  // elsewhere); what getaddrinfo parses here is what ZeroMQ connects to.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(lower.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return false;
  bool loopback = true;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    if (address->ai_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(address->ai_addr);  // NOLINT: the sockaddr API
      loopback = loopback && (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (address->ai_family == AF_INET6) {
      const auto& v6 = reinterpret_cast<const sockaddr_in6*>(address->ai_addr)->sin6_addr;  // NOLINT: as above
      const bool mapped_v4_loopback = IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
      loopback = loopback && (IN6_IS_ADDR_LOOPBACK(&v6) || mapped_v4_loopback);
    } else {
      loopback = false;
    }
  }
  ::freeaddrinfo(found);
  return loopback;
}

bool leaves_machine(std::string_view endpoint) {
  if (!endpoint.starts_with("tcp://")) return false;  // ipc://, inproc://
  std::string_view address = endpoint.substr(6);
  // "tcp://source;host:port" connects from `source` to `host`: `host` decides.
  if (auto semicolon = address.rfind(';'); semicolon != std::string_view::npos) address = address.substr(semicolon + 1);
  const auto colon = address.rfind(':');
  return !is_loopback_host(colon == std::string_view::npos ? address : address.substr(0, colon));
}

Config parse_config(std::string_view toml_text, const std::string& source_name, const Environment& environment,
                    const std::filesystem::path* key_folder) {
  Config config;
  config.source = source_name;
  config.logging.service_names = default_service_names();
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream out;
    out << source_name << ':' << error.source().begin.line << ':' << error.source().begin.column
        << ": invalid TOML: " << one_line(error.description());
    throw ConfigError(out.str());
  }
  Reader r(source_name);
  r.only_keys(document, "", {"bus", "logging", "webbridge", "supervisor", "service"});
  if (const toml::table* bus = r.table(document, "bus", "bus")) read_bus(r, *bus, config.bus, key_folder);
  if (const toml::table* logging = r.table(document, "logging", "logging")) read_logging(r, *logging, config.logging);
  if (const toml::table* webbridge = r.table(document, "webbridge", "webbridge"))
    read_webbridge(r, *webbridge, config.webbridge);
  if (const toml::table* supervisor = r.table(document, "supervisor", "supervisor"))
    read_supervisor(r, *supervisor, config.supervisor);
  if (const toml::node* services = document.get("service")) read_services(r, *services, config.services);
  if (const toml::node* query = document.at_path("logging.query_endpoint").node();
      query != nullptr && query->is_string() && !config.bus.curve.enabled &&
      leaves_machine(config.logging.query_endpoint))
    r.fail(
        query->source(), "logging.query_endpoint",
        "an address off this machine needs LAN mode: [bus.curve] enabled = true with keys (see conf/lan-example.toml)");
  apply_environment(environment, config.logging);
  return config;
}

Config load_config(const std::filesystem::path& path, const Environment& environment) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(path.string() + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  const std::filesystem::path key_folder = path.parent_path();
  return parse_config(text.str(), path.string(), environment, &key_folder);
}

std::string default_config_path() {
  const char* from_supervisor = std::getenv("CANTINA_CONFIG");
  return from_supervisor != nullptr && *from_supervisor != '\0' ? from_supervisor : "conf/cantina.toml";
}

Config load_config_or_exit(const std::string& path, std::string_view program) {
  try {
    return load_config(path);
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), error.what());
    std::exit(1);
  }
}

}  // namespace cantina::bus
