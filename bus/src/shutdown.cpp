#include "cantina/bus/shutdown.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace cantina::bus {

ShutdownSignals::ShutdownSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int ShutdownSignals::wait() const {
  int signal_number = 0;
  while (sigwait(&set_, &signal_number) != 0) {
  }
  return signal_number;
}

std::optional<int> ShutdownSignals::wait_for(std::chrono::milliseconds timeout) const {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1000) * 1'000'000;
  for (;;) {
    int result = sigtimedwait(&set_, nullptr, &ts);
    if (result > 0) return result;
    if (errno != EINTR) return std::nullopt;
  }
}

}  // namespace cantina::bus
