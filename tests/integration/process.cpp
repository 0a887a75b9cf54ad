#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace cantina::testing {

namespace {

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::filesystem::path output_file,
                 std::optional<std::filesystem::path> stdin_file)
    : output_file_(std::move(output_file)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string input = stdin_file ? stdin_file->string() : "/dev/null";
  posix_spawn_file_actions_addopen(&actions, 0, input.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, output_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // A clean signal state: the test runner may block or ignore signals.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> raw;
  raw.reserve(argv.size() + 1);
  for (auto& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  const int error = posix_spawn(&pid_, raw[0], &actions, &attributes, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(error));
}

Process::~Process() {
  if (running()) {
    kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

bool Process::running() {
  if (status_) return false;
  int raw = 0;
  pid_t result = waitpid(pid_, &raw, WNOHANG);
  if (result == pid_) {
    status_ = decode_status(raw);
    return false;
  }
  return result == 0;
}

int Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_.value_or(-1);
}

int Process::stop(int signal, std::chrono::milliseconds timeout) {
  if (running()) kill(pid_, signal);
  int status = wait(timeout);
  if (status == -1 && running()) {
    kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
    return -1;
  }
  return status;
}

std::string Process::output() const {
  return read_file(output_file_);
}

bool Process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/cantina-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (std::getenv("CANTINA_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(path_, ignored);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::istringstream text(read_file(path));
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  return lines;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  std::size_t n = 0;
  for (const auto& line : lines) n += line.find(text) != std::string::npos;
  return n;
}

std::uint64_t sum_reported(const std::vector<std::string>& lines, const std::string& prefix,
                           const std::string& suffix) {
  std::uint64_t total = 0;
  for (const auto& line : lines) {
    const auto at = line.find(prefix);
    if (at == std::string::npos || line.find(suffix, at) == std::string::npos) continue;
    total += std::stoull(line.substr(at + prefix.size()));
  }
  return total;
}

std::uint64_t rss_anon_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("RssAnon:")) return std::stoull(line.substr(8));
  throw std::runtime_error("no RssAnon for pid " + std::to_string(pid));
}

std::vector<std::string> address_space_cap(std::uint64_t bytes) {
  if (!kMemoryMeasurable) return {};
  return {"/usr/bin/prlimit", "--as=" + std::to_string(bytes), "--"};
}

std::string bin(const std::string& name) {
  return std::string(CANTINA_BIN_DIR) + "/" + name;
}

namespace {

std::filesystem::path busd_config(const std::filesystem::path& dir, const std::string& text) {
  auto path = dir / "busd.toml";
  write_file(path, text);
  return path;
}

std::vector<std::string> busd_command(const std::filesystem::path& dir, const std::string& config,
                                      std::vector<std::string> command) {
  for (const std::string& part :
       {bin("cantina-busd"), std::string("--config"), busd_config(dir, config).string(), std::string("--publish"),
        std::string("tcp://127.0.0.1:*"), std::string("--subscribe"), std::string("tcp://127.0.0.1:*")})
    command.push_back(part);
  return command;
}

std::string endpoint_after(const std::string& output, const std::string& label) {
  auto at = output.find(label);
  if (at == std::string::npos) throw std::runtime_error("busd did not print " + label + ": " + output);
  auto start = at + label.size();
  return output.substr(start, output.find('\n', start) - start);
}

}  // namespace

Bus::Bus(const std::filesystem::path& dir, const std::string& config, const std::vector<std::string>& prefix)
    : process(busd_command(dir, config, prefix), dir / "busd.out") {
  if (!process.wait_for_output("subscribe endpoint ", std::chrono::seconds(10))) {
    throw std::runtime_error("busd did not start: " + process.output());
  }
  const std::string output = process.output();
  publish_endpoint = endpoint_after(output, "publish endpoint ");
  subscribe_endpoint = endpoint_after(output, "subscribe endpoint ");
}

std::string bus_section(const Bus& bus) {
  return "[bus]\npublish_endpoint = \"" + bus.publish_endpoint + "\"\nsubscribe_endpoint = \"" +
         bus.subscribe_endpoint + "\"\n";
}

}  // namespace cantina::testing
