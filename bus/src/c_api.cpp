// The C ABI (c_api.h) over the C++ bus library. Every entry point catches
// everything: no exception crosses into C, and NULL arguments are errors.
#include "cantina/bus/c_api.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/clock.h"
#include "cantina/bus/config.h"
#include "cantina/bus/limits.h"
#include "cantina/bus/line_reader.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/socket.h"
#include "cantina/bus/topics.h"

// The handles: each owns its ZeroMQ context, so a foreign caller needs nothing else.
// Members are declared so that the socket users go before the context.
struct cantina_logger {
  zmq::context_t context{1};
  std::unique_ptr<cantina::bus::Logger> logger;
};

struct cantina_line_reader {
  cantina_logger* logger = nullptr;
  std::string logger_name;
  std::string thread;
  int logged = 0;  // records logged by the current call
  std::unique_ptr<cantina::bus::LineReader> reader;
};

struct cantina_status_publisher {
  zmq::context_t context{1};
  std::mutex mutex;  // one sender at a time on the socket
  std::unique_ptr<cantina::bus::Publisher> publisher;
};

namespace {

using cantina::bus::Level;

// Copies `text` into the caller's buffer, truncated and always NUL-terminated.
void copy_out(char* buffer, std::size_t size, const std::string& text) noexcept {
  if (buffer == nullptr || size == 0) return;
  const std::size_t length = std::min(text.size(), size - 1);
  std::memcpy(buffer, text.data(), length);
  buffer[length] = '\0';
}

// Copies the description of the exception being handled into `error`.
void describe_current_exception(char* error, std::size_t error_size, const char* what_failed) noexcept {
  try {
    throw;
  } catch (const std::exception& exception) {
    copy_out(error, error_size, std::string(what_failed) + ": " + exception.what());
  } catch (...) {
    copy_out(error, error_size, std::string(what_failed) + ": unknown error");
  }
}

bool valid_level(int level) noexcept {
  return level >= CANTINA_LEVEL_DEBUG && level <= CANTINA_LEVEL_CRITICAL;
}

std::string or_empty(const char* text) {
  return text != nullptr ? std::string(text) : std::string();
}

std::string_view view_of(const char* text) {
  return text != nullptr ? std::string_view(text) : std::string_view();
}

// The config file at `path`, or the default one (NULL). Throws ConfigError.
cantina::bus::Config config_at(const char* path) {
  return cantina::bus::load_config(path != nullptr ? path : cantina::bus::default_config_path());
}

// Opens a logger with the options `make_options()` returns (it may throw) and
// `level`; shutdown waits as long as the start-up hold. NULL with the reason
// (prefixed with `what`) in `error` on failure.
template <class MakeOptions>
cantina_logger* open_logger(const char* what, int level, char* error, std::size_t error_size,
                            MakeOptions make_options) {
  if (!valid_level(level)) {
    copy_out(error, error_size,
             std::string(what) + ": level must be 0 (DEBUG) to 4 (CRITICAL), not " + std::to_string(level));
    return nullptr;
  }
  try {
    cantina::bus::LoggerOptions options = make_options();
    options.level = static_cast<Level>(level);
    options.shutdown_timeout = options.hold_until_subscribed;
    auto handle = std::make_unique<cantina_logger>();
    handle->logger = std::make_unique<cantina::bus::Logger>(handle->context, std::move(options));
    return handle.release();
  } catch (...) {
    describe_current_exception(error, error_size, what);
    return nullptr;
  }
}

// Opens a status publisher on the (endpoint, CURVE keys) `make_target()` returns
// (it may throw). NULL with the reason (prefixed with `what`) in `error` on failure.
template <class MakeTarget>
cantina_status_publisher* open_status_publisher(const char* what, char* error, std::size_t error_size,
                                                MakeTarget make_target) {
  try {
    const auto [endpoint, curve] = make_target();
    auto handle = std::make_unique<cantina_status_publisher>();
    handle->publisher = std::make_unique<cantina::bus::Publisher>(handle->context, endpoint, 1000, curve);
    return handle.release();
  } catch (...) {
    describe_current_exception(error, error_size, what);
    return nullptr;
  }
}

}  // namespace

extern "C" {

int cantina_api_version(void) {
  return CANTINA_C_API_VERSION;
}

int cantina_config_load(const char* path, char* publish_endpoint, size_t publish_endpoint_size,
                        char* subscribe_endpoint, size_t subscribe_endpoint_size, char* error, size_t error_size) {
  copy_out(error, error_size, "");
  if (path == nullptr || publish_endpoint == nullptr || subscribe_endpoint == nullptr || publish_endpoint_size == 0 ||
      subscribe_endpoint_size == 0) {
    copy_out(error, error_size, "cantina_config_load: path and both endpoint buffers are required");
    return CANTINA_ERROR_INVALID_ARGUMENT;
  }
  publish_endpoint[0] = '\0';
  subscribe_endpoint[0] = '\0';
  try {
    const cantina::bus::Config config = cantina::bus::load_config(path);
    if (config.bus.publish_endpoint.size() >= publish_endpoint_size ||
        config.bus.subscribe_endpoint.size() >= subscribe_endpoint_size) {
      copy_out(error, error_size, "cantina_config_load: an endpoint buffer is too small");
      return CANTINA_ERROR_BUFFER_TOO_SMALL;
    }
    copy_out(publish_endpoint, publish_endpoint_size, config.bus.publish_endpoint);
    copy_out(subscribe_endpoint, subscribe_endpoint_size, config.bus.subscribe_endpoint);
    return CANTINA_OK;
  } catch (const cantina::bus::ConfigError& problem) {
    copy_out(error, error_size, problem.what());
    return CANTINA_ERROR_CONFIG;
  } catch (...) {
    describe_current_exception(error, error_size, "cantina_config_load");
    return CANTINA_ERROR_INTERNAL;
  }
}

cantina_logger* cantina_logger_open(const char* service, const char* publish_endpoint, const char* subscribe_endpoint,
                                    int level, int hold_ms, char* error, size_t error_size) {
  copy_out(error, error_size, "");
  if (service == nullptr || publish_endpoint == nullptr || publish_endpoint[0] == '\0') {
    copy_out(error, error_size, "cantina_logger_open: a service id and a publish endpoint are required");
    return nullptr;
  }
  return open_logger("cantina_logger_open", level, error, error_size, [&] {
    cantina::bus::LoggerOptions options;
    options.service = service;
    options.publish_endpoint = publish_endpoint;
    options.subscribe_endpoint = or_empty(subscribe_endpoint);
    if (hold_ms >= 0) options.hold_until_subscribed = std::chrono::milliseconds(hold_ms);
    return options;
  });
}

cantina_logger* cantina_logger_open_config(const char* service, const char* config_path, int level, int hold_ms,
                                           int level_control, char* error, size_t error_size) {
  copy_out(error, error_size, "");
  if (service == nullptr) {
    copy_out(error, error_size, "cantina_logger_open_config: a service id is required");
    return nullptr;
  }
  return open_logger("cantina_logger_open_config", level, error, error_size, [&] {
    cantina::bus::LoggerOptions options = cantina::bus::logger_options(config_at(config_path).bus, service);
    if (level_control == 0) options.subscribe_endpoint.clear();
    if (hold_ms >= 0) options.hold_until_subscribed = std::chrono::milliseconds(hold_ms);
    return options;
  });
}

int cantina_logger_log(cantina_logger* logger, int level, const char* message, size_t message_length,
                       const char* logger_name, const char* file, uint32_t line, const char* function,
                       const char* thread, int64_t timestamp_ns, const cantina_field* fields, size_t field_count) {
  if (logger == nullptr || !valid_level(level) || (message == nullptr && message_length != 0) ||
      (fields == nullptr && field_count != 0)) {
    return CANTINA_ERROR_INVALID_ARGUMENT;
  }
  try {
    if (!logger->logger->enabled(static_cast<Level>(level))) return CANTINA_FILTERED;
    // Views of the caller's buffers: the Logger copies them (cut to its caps) into the
    // record's queue slot only, whose strings are reused from record to record.
    constexpr std::size_t kStackFields = 16;
    std::array<cantina::bus::FieldView, kStackFields> stack_fields;
    std::vector<cantina::bus::FieldView> heap_fields;
    std::span<cantina::bus::FieldView> field_views(stack_fields.data(), std::min(field_count, kStackFields));
    if (field_count > kStackFields) {
      heap_fields.resize(field_count);
      field_views = heap_fields;
    }
    for (std::size_t i = 0; i < field_count; ++i) field_views[i] = {view_of(fields[i].key), view_of(fields[i].value)};
    cantina::bus::RecordDetailsView details;
    details.logger = view_of(logger_name);
    details.file = view_of(file);
    details.line = line;
    details.function = view_of(function);
    details.thread = view_of(thread);
    details.timestamp_ns = timestamp_ns;
    details.fields = field_views;
    const std::string_view text = message_length != 0 ? std::string_view(message, message_length) : std::string_view();
    if (logger->logger->log(static_cast<Level>(level), text, details)) return CANTINA_OK;
    // Not queued: the threshold may have been raised meanwhile, otherwise the queue was full.
    return logger->logger->enabled(static_cast<Level>(level)) ? CANTINA_ERROR_DROPPED : CANTINA_FILTERED;
  } catch (const std::bad_alloc&) {
    return CANTINA_ERROR_DROPPED;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

int cantina_logger_level(const cantina_logger* logger) {
  return logger != nullptr ? static_cast<int>(logger->logger->level()) : -1;
}

int cantina_logger_set_level(cantina_logger* logger, int level) {
  if (logger == nullptr || !valid_level(level)) return CANTINA_ERROR_INVALID_ARGUMENT;
  logger->logger->set_level(static_cast<Level>(level));
  return CANTINA_OK;
}

int cantina_logger_flush(cantina_logger* logger, int timeout_ms) {
  if (logger == nullptr) return CANTINA_ERROR_INVALID_ARGUMENT;
  try {
    return logger->logger->flush(std::chrono::milliseconds(std::max(timeout_ms, 0))) ? CANTINA_OK
                                                                                     : CANTINA_ERROR_TIMEOUT;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

int cantina_logger_get_counters(const cantina_logger* logger, cantina_logger_counters* out) {
  if (logger == nullptr || out == nullptr) return CANTINA_ERROR_INVALID_ARGUMENT;
  const auto counters = logger->logger->counters();
  out->logged = counters.logged;
  out->published = counters.published;
  out->dropped = counters.dropped;
  return CANTINA_OK;
}

void cantina_logger_close(cantina_logger* logger) {
  try {
    delete logger;  // the Logger publishes what is queued and joins its thread
  } catch (...) {
  }
}

cantina_line_reader* cantina_line_reader_open(cantina_logger* logger, int default_level, const char* logger_name,
                                              const char* thread, size_t max_record_bytes, char* error,
                                              size_t error_size) {
  copy_out(error, error_size, "");
  if (logger == nullptr || !valid_level(default_level)) {
    copy_out(error, error_size, "cantina_line_reader_open: a logger and a valid default level are required");
    return nullptr;
  }
  try {
    auto handle = std::make_unique<cantina_line_reader>();
    handle->logger = logger;
    handle->logger_name = or_empty(logger_name);
    handle->thread = or_empty(thread);
    cantina::bus::LineReader::Options options;
    options.default_level = static_cast<Level>(default_level);
    // 0: the logger's own cap ([bus] max_record_bytes of its config), so no piece is cut again.
    options.max_record_bytes = max_record_bytes != 0 ? max_record_bytes : logger->logger->max_record_bytes();
    cantina_line_reader* raw = handle.get();
    handle->reader = std::make_unique<cantina::bus::LineReader>(options, [raw](cantina::bus::ReadRecord&& record) {
      cantina::bus::RecordDetails details;
      details.logger = raw->logger_name;
      details.thread = raw->thread;
      details.timestamp_ns = record.timestamp_ns;
      raw->logger->logger->log(record.level, std::move(record.text), std::move(details));
      ++raw->logged;
    });
    return handle.release();
  } catch (...) {
    describe_current_exception(error, error_size, "cantina_line_reader_open");
    return nullptr;
  }
}

int cantina_line_reader_feed(cantina_line_reader* reader, const char* data, size_t length) {
  if (reader == nullptr || (data == nullptr && length != 0)) return CANTINA_ERROR_INVALID_ARGUMENT;
  try {
    reader->logged = 0;
    reader->reader->feed(std::string_view(data != nullptr ? data : "", length));
    return reader->logged;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

int cantina_line_reader_poll(cantina_line_reader* reader, int* next_ms) {
  if (next_ms != nullptr) *next_ms = -1;
  if (reader == nullptr) return CANTINA_ERROR_INVALID_ARGUMENT;
  try {
    reader->logged = 0;
    const auto now = cantina::bus::LineReader::Clock::now();
    reader->reader->poll(now);
    if (auto deadline = reader->reader->deadline(); deadline && next_ms != nullptr) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
      *next_ms = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
    }
    return reader->logged;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

int cantina_line_reader_finish(cantina_line_reader* reader) {
  if (reader == nullptr) return CANTINA_ERROR_INVALID_ARGUMENT;
  try {
    reader->logged = 0;
    reader->reader->finish();
    return reader->logged;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

uint64_t cantina_line_reader_lines(const cantina_line_reader* reader) {
  return reader != nullptr ? reader->reader->lines() : 0;
}

void cantina_line_reader_close(cantina_line_reader* reader) {
  delete reader;
}

cantina_status_publisher* cantina_status_publisher_open(const char* publish_endpoint, char* error, size_t error_size) {
  copy_out(error, error_size, "");
  if (publish_endpoint == nullptr || publish_endpoint[0] == '\0') {
    copy_out(error, error_size, "cantina_status_publisher_open: a publish endpoint is required");
    return nullptr;
  }
  return open_status_publisher("cantina_status_publisher_open", error, error_size, [&] {
    return std::pair{std::string(publish_endpoint), cantina::bus::CurveConfig{}};
  });
}

cantina_status_publisher* cantina_status_publisher_open_config(const char* config_path, char* error,
                                                               size_t error_size) {
  copy_out(error, error_size, "");
  return open_status_publisher("cantina_status_publisher_open_config", error, error_size, [&] {
    cantina::bus::Config config = config_at(config_path);
    return std::pair{std::move(config.bus.publish_endpoint), std::move(config.bus.curve)};
  });
}

int cantina_status_publish(cantina_status_publisher* publisher, const char* service, int state, const char* message,
                           uint32_t pid, int64_t since_ns) {
  if (publisher == nullptr || service == nullptr || !cantina::bus::topics::is_valid_service_id(service) ||
      state < CANTINA_STATE_STARTING || state > CANTINA_STATE_FATAL) {
    return CANTINA_ERROR_INVALID_ARGUMENT;
  }
  try {
    cantina::bus::ServiceStatus status;
    status.service = service;
    status.state = static_cast<cantina::bus::ServiceState>(state);
    status.message = message != nullptr ? cantina::bus::capped_text(message, cantina::bus::kMaxNameBytes) : "";
    status.timestamp_ns = cantina::bus::now_ns();
    status.pid = pid;
    status.host = cantina::bus::host_name();
    status.since_ns = since_ns != 0 ? since_ns : status.timestamp_ns;
    const std::string payload = cantina::bus::encode(status);
    const std::string topic = cantina::bus::topics::status_topic(status.service);
    std::lock_guard lock(publisher->mutex);
    return publisher->publisher->send(topic, payload) ? CANTINA_OK : CANTINA_ERROR_BUS;
  } catch (...) {
    return CANTINA_ERROR_INTERNAL;
  }
}

void cantina_status_publisher_close(cantina_status_publisher* publisher) {
  try {
    delete publisher;
  } catch (...) {
  }
}

}  // extern "C"
