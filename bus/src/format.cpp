#include "cantina/bus/format.h"

namespace cantina::bus::detail {

std::string_view copy_until_placeholder(std::string& out, std::string_view format, bool& found) {
  std::size_t i = 0;
  while (i < format.size()) {
    const char c = format[i];
    if (c == '{' && i + 1 < format.size()) {
      if (format[i + 1] == '}') {
        found = true;
        return format.substr(i + 2);
      }
      if (format[i + 1] == '{') {
        out += '{';
        i += 2;
        continue;
      }
    } else if (c == '}' && i + 1 < format.size() && format[i + 1] == '}') {
      out += '}';
      i += 2;
      continue;
    }
    out += c;
    ++i;
  }
  found = false;
  return {};
}

}  // namespace cantina::bus::detail
