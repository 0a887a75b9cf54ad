// cantina-cli's subcommands. Each takes the arguments after its name and returns
// the process exit status; usage errors throw UsageError.
#pragma once

#include <string>
#include <vector>

#include "args.h"
#include "cantina/bus/config.h"

namespace cantina::cli {

using Arguments = std::vector<std::string>;

// What `COMMAND --help` prints: the usage lines (each after "usage: PROGRAM ") and the
// description with every option. `summary` is the command's line in the overview.
struct CommandHelp {
  const char* usage;
  const char* summary;
  const char* details;
};

extern const CommandHelp kTailHelp;
extern const CommandHelp kLogsHelp;
extern const CommandHelp kLevelHelp;
extern const CommandHelp kLogHelp;
extern const CommandHelp kWaitStatusHelp;
extern const CommandHelp kCheckConfigHelp;
extern const CommandHelp kShowConfigHelp;
extern const CommandHelp kKeygenHelp;

int tail_command(const Arguments& args);
int logs_command(const Arguments& args);
int level_command(const Arguments& args);
int log_command(const Arguments& args);
int wait_status_command(const Arguments& args);
int check_config_command(const Arguments& args);
int show_config_command(const Arguments& args);
int keygen_command(const Arguments& args);

// Loads a config file; throws ConfigError (main prints it).
bus::Config load(const std::string& path);

// The --config a command was given, else bus::default_config_path() ($CANTINA_CONFIG,
// else conf/cantina.toml).
std::string config_path(const Args& parsed);

}  // namespace cantina::cli
