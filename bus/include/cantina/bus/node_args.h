// The command line of the bus's programs (cantina-busd, cantina-logd,
// cantina-webbridge): --config FILE (default: default_config_path()),
// -h/--help, and the options of the program's own, each taking a value.
//
// Every program reads its arguments the same way: -h/--help prints the usage on
// stdout and exits 0; anything else unknown (a positional argument, --opt=value,
// --) prints "PROGRAM: unknown argument ARG" and the usage on stderr and exits 2.
// Only an option given last, without its value, is told apart per program (see
// MissingValue), as it always has been.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cantina/bus/config.h"

namespace cantina::bus {

class NodeArgs {
 public:
  // What an option that takes a value is when nothing follows it.
  enum class MissingValue {
    needs_a_value,     // "PROGRAM: --opt needs a value" on stderr, exit status 2 (cantina-busd)
    unknown_argument,  // an unknown argument like any other (cantina-logd, cantina-webbridge)
  };

  // `usage`: the whole text --help prints, each line ending in '\n'.
  NodeArgs(std::string program, std::string usage, MissingValue missing_value);

  // An option of the program's own, e.g. "--static": its value goes to `*target`
  // (the last one given wins); `*target` keeps what it holds if the option is not
  // given. `target` must outlive parse().
  NodeArgs& option(std::string flag, std::string* target);

  // Reads argv[1] to argv[argc - 1]. Returns nullopt if the program goes on, or
  // the exit status it returns at once: 0 after -h/--help (the usage on `out`),
  // 2 after a usage error (on `err`).
  std::optional<int> parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
  std::optional<int> parse(int argc, const char* const* argv);  // on std::cout and std::cerr

  const std::string& config_path() const noexcept { return config_path_; }

  // The config of --config FILE; on an error prints "PROGRAM: FILE:LINE:...",
  // exits 1 (load_config_or_exit).
  Config load_config() const;

 private:
  std::string program_;
  std::string usage_;
  MissingValue missing_value_;
  std::string config_path_ = default_config_path();
  std::vector<std::pair<std::string, std::string*>> options_;  // --config first
};

}  // namespace cantina::bus
