// cantina-cli: the command-line tools behind tools/cantina (tail, logs, level, log,
// wait-status, check-config, show-config, keygen). Each subcommand is one function in
// commands.h with its help text; main() only dispatches, answers --help, and turns
// errors into exit statuses.
#include <array>
#include <filesystem>
#include <iostream>
#include <string>

#include <zmq.hpp>

#include "args.h"
#include "commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const cantina::cli::Arguments&);
  const cantina::cli::CommandHelp& help;
};

const std::array<Command, 8> kCommands = {{
    {"tail", cantina::cli::tail_command, cantina::cli::kTailHelp},
    {"logs", cantina::cli::logs_command, cantina::cli::kLogsHelp},
    {"level", cantina::cli::level_command, cantina::cli::kLevelHelp},
    {"log", cantina::cli::log_command, cantina::cli::kLogHelp},
    {"wait-status", cantina::cli::wait_status_command, cantina::cli::kWaitStatusHelp},
    {"check-config", cantina::cli::check_config_command, cantina::cli::kCheckConfigHelp},
    {"show-config", cantina::cli::show_config_command, cantina::cli::kShowConfigHelp},
    {"keygen", cantina::cli::keygen_command, cantina::cli::kKeygenHelp},
}};

// The name to show in usage and errors: "cantina-cli", or what tools/cantina passes as
// argv[0] ("tools/cantina") so that the commands read as the user typed them.
std::string program_name(const char* argv0) {
  const std::string given = argv0 != nullptr ? argv0 : "";
  return given.empty() || std::filesystem::path(given).filename() == "cantina-cli" ? "cantina-cli" : given;
}

void overview(std::ostream& out, const std::string& program) {
  out << "usage: " << program << " COMMAND [options]\ncommands:\n";
  for (const Command& command : kCommands) {
    std::string name = command.name;
    name.resize(14, ' ');
    out << "  " << name << command.help.summary << "\n";
  }
  out << program << " COMMAND --help lists a command's options. Every command takes --config FILE\n"
      << "(default: $CANTINA_CONFIG, else conf/cantina.toml).\n";
}

void command_help(std::ostream& out, const std::string& program, const Command& command) {
  std::string usage = command.help.usage;
  const std::string another_form = std::string("\n       ") + command.name + " ";
  for (std::size_t at = usage.find(another_form); at != std::string::npos; at = usage.find(another_form, at + 1))
    usage.insert(at + 8, program + " ");
  out << "usage: " << program << " " << usage << "\n\n" << command.help.details;
}

// True if `args` ask for help (-h or --help before a "--").
bool wants_help(const cantina::cli::Arguments& args) {
  for (const auto& arg : args) {
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string program = program_name(argc > 0 ? argv[0] : nullptr);
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    overview(argc < 2 ? std::cerr : std::cout, program);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const cantina::cli::Arguments args(argv + 2, argv + argc);
  const Command* command = nullptr;
  for (const Command& candidate : kCommands) {
    if (name == candidate.name) command = &candidate;
  }
  if (command == nullptr) {
    std::cerr << program << ": unknown command '" << name << "'\n";
    overview(std::cerr, program);
    return 2;
  }
  if (wants_help(args)) {
    command_help(std::cout, program, *command);
    return 0;
  }
  try {
    return command->run(args);
  } catch (const cantina::cli::UsageError& error) {
    std::cerr << program << " " << name << ": " << error.what() << " (see " << program << " " << name << " --help)\n";
    return 2;
  } catch (const cantina::bus::ConfigError& error) {
    std::cerr << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {  // zmq::error_t, a file that cannot be written, ...
    std::cerr << program << " " << name << ": " << error.what() << "\n";
    return 1;
  }
}
