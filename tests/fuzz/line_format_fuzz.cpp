// libFuzzer target: whatever bytes a message holds, its session-file line is one
// line of valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cantina/bus/json.h"
#include "line_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cantina::logging::LogEntry entry;
  entry.timestamp_ns = 1'795'715'100'000'000'000;
  entry.service = std::string(reinterpret_cast<const char*>(data), size / 3);
  entry.message = std::string(reinterpret_cast<const char*>(data), size);
  std::string line;
  cantina::logging::append_line(line, entry);
  if (line.empty() || line.back() != '\n') std::abort();
  if (line.find('\n') != line.size() - 1 || line.find('\r') != std::string::npos) std::abort();
  if (cantina::bus::valid_utf8(line) != line) std::abort();
  return 0;
}
