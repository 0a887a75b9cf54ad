"""common: what every layer of the harness shares: where the checkout is, where the built
executables are by default, and the error of a step the harness could not run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BIN_DIR = ROOT / "build" / "bin"


class BenchError(Exception):
    """The harness could not run a step (a process did not start, a line never came)."""
