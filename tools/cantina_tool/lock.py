"""The supervisor lock: one supervisor per state dir. <state dir>/supervisor.lock is held
(flock, exclusive) by the process that runs `up` from the moment it starts, through the build
and start-up, for as long as the supervisor runs; a detached supervisor inherits the launcher's
lock. <state dir>/supervisor.json says who holds it: pid, config, since when, and the phase
(starting, running, stopping), so a second `up` can say which one runs and `down` can stop one
that is still starting."""

import fcntl
import json
import os
import time
from datetime import datetime
from pathlib import Path

from .constants import POLL_INTERVAL, STATE_DIR
from .errors import CantinaError, NothingRunning, StillStarting
from .messages import tool_command
from .processes import process_alive
from .state import FILE_MODE, leftover_children, make_state_dir, read_state, write_private

LOCK_FILE = STATE_DIR / "supervisor.lock"
HOLDER_FILE = STATE_DIR / "supervisor.json"
ACQUIRE_PATIENCE = 0.5   # s: `status` or `down` looking at the lock holds it (shared) for an instant
HOLDER_PATIENCE = 1.0    # s for a new holder to say who it is (it writes HOLDER_FILE right after locking)


class SupervisorLock:
    """The held lock of this process (and, once handed over, of the detached supervisor)."""

    def __init__(self, fd: int, info: dict):
        self.fd, self.info = fd, info

    @classmethod
    def acquire(cls, config_path: Path, detached: bool) -> "SupervisorLock":
        """Takes the lock for a new supervisor; CantinaError naming the one that holds it."""
        make_state_dir()
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        deadline = time.monotonic() + ACQUIRE_PATIENCE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = lock_holder()
                    raise CantinaError(f"{describe_holder(holder)}; stop it first with: "
                                       f"{tool_command('down')}") from None
                time.sleep(POLL_INTERVAL / 2)
        lock = cls(fd, {"pid": os.getpid(), "config": str(config_path), "since": time.time(), "phase": "starting",
                        "detached": detached})
        lock.write()
        return lock

    @classmethod
    def inherit(cls, fd: int) -> "SupervisorLock":
        """The detached supervisor takes over the lock its launcher passed it as file descriptor `fd`."""
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # already ours (the same open file): never waits
        os.set_inheritable(fd, False)
        lock = cls(fd, dict(read_holder() or {}, pid=os.getpid()))
        lock.write()
        return lock

    def update(self, **changes) -> None:
        """Records a change (e.g. phase="running") for `status`, `down` and a second `up`."""
        self.info.update(changes)
        self.write()

    def write(self) -> None:
        try:
            write_private(HOLDER_FILE, json.dumps(self.info) + "\n")
        except OSError:
            pass   # the lock itself still protects; `status` then shows less

    def release(self) -> None:
        """Gives the lock up (the holder file goes with it if it names this process)."""
        if self.fd is None:
            return
        holder = read_holder()
        if holder and holder.get("pid") == os.getpid():
            HOLDER_FILE.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None


def read_holder() -> dict | None:
    try:
        info = json.loads(HOLDER_FILE.read_text())
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def lock_holder(patience: float = HOLDER_PATIENCE) -> dict | None:
    """Who holds the lock now ({pid, config, since, phase, detached}), or None if no one does."""
    try:
        fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    deadline = time.monotonic() + patience
    while True:
        info = read_holder()
        if info and process_alive(info.get("pid") or 0):
            return info
        if time.monotonic() >= deadline:
            return info or {"pid": None, "config": "?", "since": None, "phase": "starting"}
        time.sleep(POLL_INTERVAL / 2)


def describe_holder(holder: dict) -> str:
    """'a supervisor is already running (pid N, config X, since 2026-11-26 17:53:20; still starting)'."""
    since = datetime.fromtimestamp(holder["since"]).strftime("%Y-%m-%d %H:%M:%S") if holder.get("since") else "?"
    phase = {"starting": "; still starting", "stopping": "; stopping"}.get(holder.get("phase"), "")
    return (f"a supervisor is already running (pid {holder.get('pid') or '?'}, config {holder.get('config')}, "
            f"since {since}{phase})")


def running_config() -> Path | None:
    """The config of the supervisor that runs (or starts) for this state dir, if any."""
    holder = lock_holder(patience=0.2)
    config = (holder or {}).get("config")
    return Path(config) if config and config != "?" else None


def running_state() -> dict:
    """The state of the running supervisor. NothingRunning (`status` exits 3) saying clearly that
    nothing runs, or what a killed one left; StillStarting while the holder has no state yet."""
    holder = lock_holder()
    state = read_state()
    if holder is None:
        if not state:
            raise NothingRunning(f"cantina: nothing is running (no supervisor for {STATE_DIR})")
        leftovers = leftover_children(state)
        extra = ("; still running: " + ", ".join(leftovers) if leftovers else "") + \
            f"; clean up with: {tool_command('down')}"
        raise NothingRunning(f"cantina: nothing is running: the supervisor (pid {state['supervisor_pid']}) "
                             f"is gone{extra}")
    if not state or state.get("supervisor_pid") != holder.get("pid"):
        raise StillStarting(holder)
    return state
