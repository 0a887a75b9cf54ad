#!/usr/bin/env python3
"""bench.py: the benchmark scenarios of Cantina bus (issues 6 and 16, docs/PERFORMANCE.md).

    tools/bench/bench.py SCENARIO|all [--quick] [--json FILE] [--bin-dir DIR] [--runs N] [options]
    (also `tools/cantina bench SCENARIO ...`; `--help` lists the scenarios and options)

The entry point only: the harness is the package harness/ beside this file (its
__init__.py lists the modules and their order); `bench.py soak` runs the soak of
tools/reliability/soak.py.
"""

import sys

from harness.cli import main  # harness/ is beside this file, on sys.path[0] when run as a script

if __name__ == "__main__":
    sys.exit(main())
