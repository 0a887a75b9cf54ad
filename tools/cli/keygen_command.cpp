// `cantina-cli keygen NAME [--dir DIR]`: makes a CURVE key pair for LAN mode.
// Writes DIR/NAME.key (the pair; mode 0600; never overwritten) and DIR/NAME.pub
// (the public key alone, to copy to the bus host's authorized-keys folder).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <regex>
#include <stdexcept>

#include "args.h"
#include "cantina/bus/curve.h"
#include "commands.h"

namespace cantina::cli {

const CommandHelp kKeygenHelp = {
    "keygen NAME [--dir DIR]", "make a CURVE key pair for LAN mode",
    "Writes DIR/NAME.key (the key pair, mode 0600: keep it on this machine) and DIR/NAME.pub\n"
    "(the public key, to copy to the bus host's authorized-keys folder, or from the bus host\n"
    "to every machine). An existing key is never overwritten.\n"
    "options:\n"
    "  --dir DIR  the folder (default: keys; made mode 0700 if missing)\n"};

namespace {

// Creates `path` with `mode`, failing if it exists, and writes `text`.
void write_new_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    throw std::runtime_error(path.string() + ": " + std::strerror(errno) +
                             (errno == EEXIST ? " (remove it first to make a new key)" : ""));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) throw std::runtime_error(path.string() + ": cannot write: " + std::strerror(errno));
}

}  // namespace

int keygen_command(const Arguments& args) {
  Args parsed(args, {"--config", "--dir"}, {});
  if (parsed.positional().size() != 1) throw UsageError("give one NAME (e.g. the host name, or 'bus')");
  const std::string name = parsed.positional()[0];
  if (!std::regex_match(name, std::regex("[A-Za-z0-9_.-]{1,64}")) || name.starts_with("."))
    throw UsageError("NAME must be 1 to 64 of A-Z a-z 0-9 _ . - (not starting with '.')");
  const std::filesystem::path folder = parsed.value("--dir").value_or("keys");
  std::filesystem::create_directories(folder);
  ::chmod(folder.c_str(), 0700);

  const bus::CurveKeyPair keys = bus::generate_curve_key_pair();
  const std::string header = "# Cantina bus CURVE key of '" + name + "', made by `tools/cantina keygen`.\n";
  write_new_file(folder / (name + ".key"),
                 header + "# The secret key: keep this file on its own machine, readable by its owner only.\n" +
                     "public = \"" + keys.public_key + "\"\nsecret = \"" + keys.secret_key + "\"\n",
                 0600);
  write_new_file(folder / (name + ".pub"),
                 header + "# The public key: copy it to the bus host's authorized-keys folder.\npublic = \"" +
                     keys.public_key + "\"\n",
                 0644);
  std::cout << "wrote " << (folder / (name + ".key")).string() << " (key pair, mode 0600) and "
            << (folder / (name + ".pub")).string() << "\npublic key: " << keys.public_key << "\n";
  return 0;
}

}  // namespace cantina::cli
