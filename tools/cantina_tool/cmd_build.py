"""The commands that make and check the tree: `setup`, `build`, `test` (ctest, then the
fuzzers; or, with --sanitize, ctest in a sanitizer build) and `check` (the config file)."""

import subprocess
import time

from .building import build, run_fuzzers, run_setup
from .config import load_config
from .constants import BUILD_DIR, SANITIZE_DIRS
from .messages import say


def cmd_setup(args) -> int:
    """`setup`: installs what is missing."""
    run_setup()
    return 0


def cmd_build(args) -> int:
    """`build`: setup, then build."""
    run_setup()
    build()
    return 0


def cmd_test(args) -> int:
    """`test`: setup, build, run every test with ctest, then the fuzzers (unless --no-fuzz),
    then print a one-line verdict. With --sanitize, the build and the tests are those of
    build-asan/ or build-tsan/ (tests/CMakeLists.txt gives them the runtime's options), and
    the fuzzers, sanitized builds of their own, do not run."""
    run_setup()
    build_dir = BUILD_DIR
    if args.sanitize:
        build_dir = SANITIZE_DIRS[args.sanitize]
        build(build_dir, ("-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCANTINA_SANITIZE={args.sanitize}"))
    else:
        build()
    started = time.monotonic()
    status = subprocess.run(["ctest", "--test-dir", build_dir, "--output-on-failure", "-j", "2",
                             *args.ctest_args]).returncode
    fuzz_status = 0 if args.no_fuzz or args.sanitize or args.ctest_args else run_fuzzers()
    elapsed = time.monotonic() - started
    if status == 0 and fuzz_status == 0:
        say(f"cantina test: PASSED ({elapsed:.1f} s)")
        return 0
    what = f"ctest exit status {status}" if status != 0 else f"fuzzing exit status {fuzz_status}"
    say(f"cantina test: FAILED ({what} after {elapsed:.1f} s; failures above)")
    return status or fuzz_status


def cmd_check(args) -> int:
    """`check`: validates the config file, naming file, line and key of a problem."""
    load_config(args.config)
    say(f"{args.config}: ok")
    return 0
