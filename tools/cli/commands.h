// cantina-cli's subcommands. Each takes the arguments after its name and returns
// the process exit status; usage errors throw UsageError.
#pragma once

#include <string>
#include <vector>

#include "cantina/bus/config.h"

namespace cantina::cli {

using Arguments = std::vector<std::string>;

int tail_command(const Arguments& args);
int logs_command(const Arguments& args);
int level_command(const Arguments& args);
int log_command(const Arguments& args);
int wait_status_command(const Arguments& args);
int check_config_command(const Arguments& args);
int show_config_command(const Arguments& args);
int keygen_command(const Arguments& args);

// Loads --config (default conf/cantina.toml); prints the error and returns
// nullopt-like by throwing ConfigError to main.
bus::Config load(const std::string& path);

}  // namespace cantina::cli
