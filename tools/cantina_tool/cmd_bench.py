"""`bench`: the benchmarks of tools/bench/bench.py, run on this build's binaries."""

import os
import sys

from .building import build, run_setup
from .constants import BIN_DIR, ROOT


def cmd_bench(args) -> int:
    """`bench SCENARIO ...`: setup, build, then tools/bench/bench.py with this build's binaries
    (each scenario starts its own busd, logd and web bridge on temporary endpoints)."""
    if not {"-h", "--help"} & set(args.rest):
        run_setup()
        build()
    os.execv(sys.executable, [sys.executable, str(ROOT / "tools" / "bench" / "bench.py"), *args.rest,
                              "--bin-dir", str(BIN_DIR)])
