"""`bench`: the benchmarks of tools/bench/bench.py, run on this build's binaries."""

import os
import sys

from .building import build, run_setup
from .constants import BIN_DIR, ROOT


def cmd_bench(args) -> int:
    """`bench SCENARIO ...`: setup, build, then tools/bench/bench.py with this build's binaries
    (each scenario starts its own busd, logd and web bridge on temporary endpoints); with
    `--bin-dir DIR`, DIR's binaries instead, and build/ is left as it is."""
    own_bin_dir = any(arg == "--bin-dir" or arg.startswith("--bin-dir=") for arg in args.rest)
    if not {"-h", "--help"} & set(args.rest):
        run_setup()
        if not own_bin_dir:
            build()
    extra = [] if own_bin_dir else ["--bin-dir", str(BIN_DIR)]
    os.environ["CANTINA_BENCH_PROG"] = "tools/cantina bench"  # its --help names the command used
    os.execv(sys.executable, [sys.executable, str(ROOT / "tools" / "bench" / "bench.py"), *args.rest, *extra])
