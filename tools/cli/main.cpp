// cantina-cli: the command-line tools behind tools/cantina (tail, logs, level, log,
// wait-status, check-config, show-config, keygen). Each subcommand is one function in
// commands.h; main() only dispatches and turns errors into exit statuses.
#include <iostream>
#include <map>

#include <zmq.hpp>

#include "args.h"
#include "commands.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: cantina-cli COMMAND [options]\n"
         "commands:\n"
         "  tail [--json] [--service S]... [--level L] [-n N] [--no-follow] [--grep RE] [--topic PREFIX]...\n"
         "       [--bus ENDPOINT] [--query ENDPOINT] [--colour|--no-colour]\n"
         "                          print live log records (and history with -n)\n"
         "  logs [--list-sessions] [--session ID|N] [--since T] [--until T] [--utc] [--level L] [--service S]...\n"
         "       [--grep RE [-i]] [-n N] [--reverse] [--json] [-f] [--dir DIR]\n"
         "                          read the session files (logs --help says more)\n"
         "  level SERVICE LEVEL     change a service's log level at run time\n"
         "  log --service S [--level L] MESSAGE... | --pipe\n"
         "                          publish log records\n"
         "  wait-status --service S --state STATE [--timeout SECS]\n"
         "                          wait until a service reports STATE; print its message\n"
         "  check-config            validate the config file\n"
         "  show-config             print the settled config as JSON\n"
         "  keygen NAME [--dir DIR] make a CURVE key pair for LAN mode: DIR/NAME.key, DIR/NAME.pub (DIR: keys)\n"
         "every command takes --config FILE (default conf/cantina.toml)\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const cantina::cli::Arguments args(argv + 2, argv + argc);
  static const std::map<std::string, int (*)(const cantina::cli::Arguments&)> commands = {
      {"tail", cantina::cli::tail_command},
      {"logs", cantina::cli::logs_command},
      {"level", cantina::cli::level_command},
      {"log", cantina::cli::log_command},
      {"wait-status", cantina::cli::wait_status_command},
      {"check-config", cantina::cli::check_config_command},
      {"show-config", cantina::cli::show_config_command},
      {"keygen", cantina::cli::keygen_command},
  };
  auto found = commands.find(command);
  if (found == commands.end()) {
    std::cerr << "cantina-cli: unknown command '" << command << "'\n";
    usage(std::cerr);
    return 2;
  }
  try {
    return found->second(args);
  } catch (const cantina::cli::UsageError& error) {
    std::cerr << "cantina-cli " << command << ": " << error.what() << "\n";
    return 2;
  } catch (const cantina::bus::ConfigError& error) {
    std::cerr << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {  // zmq::error_t, a file that cannot be written, ...
    std::cerr << "cantina-cli " << command << ": " << error.what() << "\n";
    return 1;
  }
}
