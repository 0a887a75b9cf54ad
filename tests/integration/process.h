// Test helpers for multi-process tests: start the real executables, read what
// they print, stop them with a signal; temporary directories that clean up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cantina::testing {

// A child process whose stdout and stderr go to a file. Killed (SIGKILL) on
// destruction if still running, so a failing test leaves nothing behind.
class Process {
 public:
  // Starts argv[0] (a path) with `argv`; stdin from `stdin_file` if given,
  // otherwise /dev/null. Throws std::runtime_error if it cannot start.
  Process(std::vector<std::string> argv, std::filesystem::path output_file,
          std::optional<std::filesystem::path> stdin_file = std::nullopt);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Everything the process printed so far.
  std::string output() const;

  // Waits until the output contains `text`; false on timeout or exit.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) const;

  // Sends `signal` and waits for the exit. Returns the exit status (128+N for a
  // signal), or -1 if it did not exit in time (it is then killed).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Waits for a normal exit; returns the status or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path output_file_;
};

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
std::vector<std::string> read_lines(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

// How many of `lines` contain `text`.
std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text);

// Sum of the numbers right after `prefix` in the lines that contain `suffix` after
// it (the node may report one count over several seconds' lines).
std::uint64_t sum_reported(const std::vector<std::string>& lines, const std::string& prefix, const std::string& suffix);

// RssAnon of a running process in KiB, from /proc.
std::uint64_t rss_anon_kib(pid_t pid);

// Whether the memory of the processes a test starts can be bounded and measured:
// sanitizers reserve terabytes of address space and keep anonymous shadow memory,
// so neither an address-space cap nor RssAnon means anything under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kMemoryMeasurable = false;
#else
inline constexpr bool kMemoryMeasurable = true;
#endif

// A command prefix that caps a process's address space at `bytes` (`prlimit
// --as`), so a regression fails the test instead of taking the machine's memory;
// empty where memory cannot be measured.
std::vector<std::string> address_space_cap(std::uint64_t bytes);

// Path of an executable of this build (CANTINA_BIN_DIR/name).
std::string bin(const std::string& name);

// A running cantina-busd on ephemeral loopback ports, with `config` as its
// config file's text and `prefix` before its command (e.g. prlimit and options).
struct Bus {
  explicit Bus(const std::filesystem::path& dir, const std::string& config = "",
               const std::vector<std::string>& prefix = {});
  std::string publish_endpoint;
  std::string subscribe_endpoint;
  Process process;
};

// The [bus] section for a Bus.
std::string bus_section(const Bus& bus);

}  // namespace cantina::testing
