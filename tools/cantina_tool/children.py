"""A supervised process: how to start it (ChildSpec), its current incarnation and history
(Child), and the rules for what follows its exit (restart policy, backoff)."""

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .capture import OutputFile
from .constants import BACKOFF_FIRST, BACKOFF_MAX, STATE_DIR
from .probes import Probe


@dataclass
class ChildSpec:
    """How to start one supervised process and how to tell that it has started."""
    name: str
    kind: str                                      # "node" (busd, logd, webbridge) or "service"
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    restart: str                                   # "always" | "on-failure" | "never"
    make_probe: Callable[[], Probe]                # a fresh readiness probe for one start
    ready_timeout: float
    start_secs: float = 1.0                        # an exit sooner than this after a start is a failed start
    capture: bool = False                          # publish stdout/stderr lines as the service's records
    on_ready: Callable[[Probe], None] | None = None


@dataclass
class Child:
    """One supervised process: its spec, its current incarnation and its history."""
    spec: ChildSpec
    state: str = "STOPPED"                         # a ServiceState name, as published on the bus
    message: str = "not started"
    since: float = field(default_factory=time.time)  # wall-clock time of the last state change
    process: subprocess.Popen | None = None
    start_ticks: int | None = None
    started: str = ""                              # wall-clock start of the incarnation, ISO 8601
    started_at: float = 0.0                        # the same, seconds since the epoch
    started_mono: float = 0.0
    probe: Probe | None = None
    ready_deadline: float = 0.0
    restart_at: float | None = None                # monotonic time of a pending restart
    starts: int = 0                                # incarnations started so far
    restarts: int = 0                              # of which restarts (after an exit or on request)
    quick_failures: int = 0                        # exits in a row, each within start_secs of its start
    backoff_step: int = 0                          # the next restart waits backoff_delay(backoff_step)
    capture_stats: dict = field(default_factory=lambda: {"lines": 0})
    last_failure: str = ""                         # "<name> (pid N) exited during start-up (exit code 3)"
    output_file: OutputFile | None = None          # <state dir>/<name>.out, opened at the first start
    unit: str = ""                                 # the tracker's unit of the current incarnation ("demo.3")

    @property
    def log_path(self) -> Path:
        """Where the child's stdout and stderr go (rotated to <name>.out.1)."""
        return STATE_DIR / (re.sub(r"[^\w.-]", "_", self.spec.name) + ".out")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


def should_restart(policy: str, returncode: int) -> bool:
    """Applies a restart policy to how a child ended (on-failure: a non-zero exit or a signal)."""
    return policy == "always" or (policy == "on-failure" and returncode != 0)


def backoff_delay(step: int) -> float:
    """Seconds before the restart after `step` earlier ones in a row: 1, 2, 4, ... capped at BACKOFF_MAX."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(step, 16))
