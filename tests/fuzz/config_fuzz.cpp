// libFuzzer target: the config loader on arbitrary text. It must either return a
// Config or throw ConfigError with a one-line message, nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cantina/bus/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)cantina::bus::parse_config(text, "fuzz.toml", cantina::bus::no_environment());
  } catch (const cantina::bus::ConfigError& error) {
    if (std::string(error.what()).find('\n') != std::string::npos) std::abort();  // one line, always
  }
  return 0;
}
