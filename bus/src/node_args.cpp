#include "cantina/bus/node_args.h"

#include <iostream>

namespace cantina::bus {

NodeArgs::NodeArgs(std::string program, std::string usage, MissingValue missing_value)
    : program_(std::move(program)), usage_(std::move(usage)), missing_value_(missing_value) {
  options_.emplace_back("--config", &config_path_);
}

NodeArgs& NodeArgs::option(std::string flag, std::string* target) {
  options_.emplace_back(std::move(flag), target);
  return *this;
}

std::optional<int> NodeArgs::parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    std::string* target = nullptr;
    for (const auto& [flag, option_target] : options_) {
      if (arg == flag) target = option_target;
    }
    if (target != nullptr && !has_value && missing_value_ == MissingValue::needs_a_value) {
      err << program_ << ": " << arg << " needs a value\n";
      return 2;
    }
    if (target != nullptr && has_value) {
      *target = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      out << usage_;
      return 0;
    } else {
      err << program_ << ": unknown argument " << arg << "\n" << usage_;
      return 2;
    }
  }
  return std::nullopt;
}

std::optional<int> NodeArgs::parse(int argc, const char* const* argv) {
  return parse(argc, argv, std::cout, std::cerr);
}

Config NodeArgs::load_config() const {
  return load_config_or_exit(config_path_, program_);
}

}  // namespace cantina::bus
