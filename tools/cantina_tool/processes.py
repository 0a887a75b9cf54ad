"""Processes seen through /proc and signals: alive (pid reuse aside), process groups, stopping
a process we did not start, waiting for a condition, dying with the parent (PR_SET_PDEATHSIG)."""

import ctypes
import os
import signal
import time
from pathlib import Path
from typing import Callable

from .constants import POLL_INTERVAL


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """Returns (state letter, process group, start time in ticks) from /proc, or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[2]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """True if pid runs (a zombie counts as gone) and, if given, started at start_ticks (pid reuse)."""
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in "ZX" and start_ticks in (None, stat[2])


def group_alive(pgid: int) -> bool:
    """True if any live (non-zombie) process is in process group pgid."""
    for entry in Path("/proc").iterdir():
        stat = proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat and stat[1] == pgid and stat[0] not in "ZX":
            return True
    return False


def signal_group(pgid: int, signum: int) -> None:
    """Sends a signal to a whole process group, ignoring a group that is already gone."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Polls condition until it holds (True) or timeout seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """Returns a preexec_fn that makes the child receive SIGTERM when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:                # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


def terminate_pid(pid: int, start_ticks: int | None, timeout: float) -> bool:
    """SIGTERM to a process we did not start (to its group if it leads one), SIGKILL after timeout."""
    stat = proc_stat(pid)
    leads_group = stat is not None and stat[1] == pid
    for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            if leads_group:
                signal_group(pid, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            break
        if wait_until(lambda: not process_alive(pid, start_ticks), wait):
            break
    return not process_alive(pid, start_ticks)
