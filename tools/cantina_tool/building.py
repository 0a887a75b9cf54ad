"""Setup and build: tools/setup for the Debian packages, cmake for build/ (showing only
warnings and errors), and the fuzzers' own clang build in build-fuzz/."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .constants import BUILD_DIR, FUZZ_DIR, ROOT
from .errors import CantinaError
from .messages import say


def run_setup() -> None:
    """Runs tools/setup, which installs the missing Debian packages."""
    if subprocess.run([str(ROOT / "tools" / "setup")]).returncode != 0:
        raise CantinaError("setup failed")


BUILD_NOISE = re.compile(r"^(\[\s*\d+%\]|\[\d+/\d+\]|-- |Consolidate compiler generated|Scanning dependencies"
                         r"|Built target|g?make(\[\d+\])?: (Entering|Leaving) directory)")


def build(build_dir: Path = BUILD_DIR, configure_args: tuple = ("-DCMAKE_BUILD_TYPE=Release",),
          targets: tuple = (), env: dict | None = None) -> None:
    """Configures `build_dir` if needed and builds it (or `targets`), showing only warnings and errors."""
    name = build_dir.relative_to(ROOT) if build_dir.is_relative_to(ROOT) else build_dir
    if not (build_dir / "CMakeCache.txt").exists() or not any(
            (build_dir / file).exists() for file in ("Makefile", "build.ninja")):
        say(f"cantina: configuring {name}/ ({' '.join(configure_args)})")
        configure = subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, *configure_args],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        if configure.returncode != 0:
            say("\n".join(line for line in configure.stdout.splitlines() if not BUILD_NOISE.match(line)), sys.stderr)
            raise CantinaError("cmake configure failed")
    jobs = len(os.sched_getaffinity(0))
    say(f"cantina: building {name}/ with {jobs} jobs (full output in {name}/build.log)")
    started = time.monotonic()
    target_args = ["--target", *targets] if targets else []
    with open(build_dir / "build.log", "w") as log:
        make = subprocess.Popen(["cmake", "--build", build_dir, "-j", str(jobs), *target_args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", env=env)
        try:
            for line in make.stdout:
                log.write(line)
                if not BUILD_NOISE.match(line):
                    say(line.rstrip("\n"))
        except BaseException:   # a stop signal or Ctrl-C: the build stops too
            make.terminate()
            make.wait()
            raise
    if make.wait() != 0:
        raise CantinaError(f"build failed (errors above; full output in {name}/build.log)")
    say(f"cantina: build ok ({time.monotonic() - started:.1f} s)")


def run_fuzzers() -> int:
    """Builds the libFuzzer targets with clang into build-fuzz/ and runs each for a bounded
    time (CANTINA_FUZZ_SECONDS, default 20) from its seed corpus; returns ctest's status."""
    seconds = os.environ.get("CANTINA_FUZZ_SECONDS", "20")
    env = dict(os.environ, CC="clang", CXX="clang++")
    build(FUZZ_DIR, ("-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCANTINA_FUZZ=ON", f"-DCANTINA_FUZZ_SECONDS={seconds}"),
          ("decode_fuzz", "config_fuzz", "line_format_fuzz"), env)
    subprocess.run(["cmake", "-S", ROOT, "-B", FUZZ_DIR, f"-DCANTINA_FUZZ_SECONDS={seconds}"],
                   stdout=subprocess.DEVNULL, env=env)
    say(f"cantina: fuzzing each decoder and the config loader for {seconds} s")
    return subprocess.run(["ctest", "--test-dir", FUZZ_DIR, "--output-on-failure", "-L", "fuzz"]).returncode
