#include "cantina/bus/format.h"

namespace cantina::bus::detail {

void vformat_into(fmt::memory_buffer& out, fmt::string_view format, fmt::format_args args) {
  const std::size_t start = out.size();
  try {
    fmt::vformat_to(fmt::appender(out), format, args);
  } catch (const fmt::format_error& error) {
    out.resize(start);
    fmt::format_to(fmt::appender(out), "{} [format error: {}]", format, error.what());
  }
}

}  // namespace cantina::bus::detail
