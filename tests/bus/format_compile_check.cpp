// Built by the format_compile_check tests (tests/CMakeLists.txt), never run:
// CASE 0 must compile; every other CASE is a log call whose format string does
// not fit its arguments and must not compile.
#include <zmq.hpp>

#include "cantina/bus/logger.h"

#ifndef CASE
#error "CASE is not defined"
#endif

namespace {

struct Opaque {};  // no fmt::formatter, no operator<<

}  // namespace

int main() {
  zmq::context_t context;
  cantina::bus::LoggerOptions options;
  options.service = "check";
  options.publish_endpoint = "inproc://check";
  cantina::bus::Logger log(context, options);
#if CASE == 0
  log.info("{:.1f} {:>8} {:x} {{}} {:*^{}}", 1.25, "right", 255, "mid", 9);
  log.info("{0:{2}.{1}f} {0}", 3.14159, 2, 8);
  log.info(fmt::runtime("{:d}"), "checked when logged");
#elif CASE == 1
  log.info("{:x}", "a string has no hex");  // a spec the type has not
#elif CASE == 2
  log.info("{} and {}", 1);  // an argument missing
#elif CASE == 3
  log.info("{:.1f", 1.5);  // not a format string
#elif CASE == 4
  log.info("{}", Opaque{});  // nothing can format it
#elif CASE == 5
  log.info("{}", 1, 2);  // an argument left unused
#elif CASE == 6
  log.info("{0} {0:x}", 1, 2);  // an argument left unused, with explicit indexes
#endif
  return 0;
}
