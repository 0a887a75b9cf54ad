// Shutdown by signal, as a message rather than a flag: main() blocks SIGINT,
// SIGTERM and SIGHUP before starting any thread (threads inherit the mask), then
// waits for one in sigwait() and tells its threads to stop.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>

namespace cantina::bus {

class ShutdownSignals {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and ignores SIGPIPE.
  // Call in main() before any thread starts.
  ShutdownSignals();

  // Blocks until one of the signals arrives; returns its number.
  int wait() const;

  // Waits at most `timeout`; nullopt if no signal came.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) const;

 private:
  sigset_t set_{};
};

}  // namespace cantina::bus
