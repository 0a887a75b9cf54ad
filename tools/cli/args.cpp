#include "args.h"

#include <algorithm>

namespace cantina::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& with_value,
           const std::vector<std::string>& switches) {
  auto contains = [](const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  bool only_positional = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    if (contains(with_value, arg)) {
      if (has_inline) {
        values_.emplace(arg, inline_value);
      } else if (i + 1 < argv.size()) {
        values_.emplace(arg, argv[++i]);
      } else {
        throw UsageError(arg + " needs a value");
      }
    } else if (contains(switches, arg) && !has_inline) {
      values_.emplace(arg, "");
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
}

std::optional<std::string> Args::value(const std::string& flag) const {
  auto range = values_.equal_range(flag);
  if (range.first == range.second) return std::nullopt;
  return std::prev(range.second)->second;
}

std::vector<std::string> Args::values(const std::string& flag) const {
  std::vector<std::string> out;
  auto range = values_.equal_range(flag);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

bool Args::has(const std::string& flag) const {
  return values_.count(flag) > 0;
}

unsigned long parse_count(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    if (text.empty() || text[0] == '-') throw std::invalid_argument(text);
    unsigned long value = std::stoul(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return value;
  } catch (const std::logic_error&) {
    throw UsageError(flag + " needs a non-negative integer, not '" + text + "'");
  }
}

}  // namespace cantina::cli
