#include "cantina/bus/siphash.h"

#include <sys/random.h>
#include <sys/types.h>

#include <cerrno>
#include <random>

namespace cantina::bus {

namespace {

ProcessHashKey draw_key() noexcept {
  std::uint64_t words[2] = {};
  auto* bytes = reinterpret_cast<unsigned char*>(words);
  std::size_t got = 0;
  while (got < sizeof words) {
    const ssize_t n = ::getrandom(bytes + got, sizeof words - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      break;
    }
  }
  if (got < sizeof words) {  // no getrandom(2) (a very old kernel)
    try {
      std::random_device device;
      for (auto& word : words) word = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    } catch (...) {  // nothing better: at least not a published constant
      words[0] ^= reinterpret_cast<std::uintptr_t>(&draw_key);
    }
  }
  return {words[0], words[1]};
}

}  // namespace

const ProcessHashKey& process_hash_key() noexcept {
  static const ProcessHashKey key = draw_key();
  return key;
}

}  // namespace cantina::bus
