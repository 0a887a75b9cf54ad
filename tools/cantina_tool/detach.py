"""Detaching: `up --detach` starts the supervisor again (the entry script with the hidden
`up --supervise-detached --lock-fd N`, which takes over the supervisor lock) in its own session
and waits until the state file says it is ready."""

import os
import subprocess
import sys
import time
from pathlib import Path

from .constants import DETACH_TIMEOUT, POLL_INTERVAL, STATE_DIR, STATE_FILE, TOOL
from .messages import say, tail_lines
from .errors import StopRequested
from .lock import SupervisorLock
from .state import FILE_MODE, make_state_dir, print_summary, read_state


def launch_detached(config_path: Path, services_only: bool, lock: SupervisorLock) -> int:
    """Starts the supervisor in its own session, handing it the lock, and waits until it reports
    ready, or fails. A stop signal meanwhile (`down`) is passed on to it."""
    make_state_dir()
    STATE_FILE.unlink(missing_ok=True)   # stale: the lock is ours and nothing of a previous run is alive
    log_path = STATE_DIR / "supervisor.log"
    with open(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE), "wb") as log:
        os.fchmod(log.fileno(), FILE_MODE)
        supervisor = subprocess.Popen(
            [sys.executable, str(TOOL), "--config", str(config_path), "up", "--supervise-detached",
             "--lock-fd", str(lock.fd), *(["--services-only"] if services_only else [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            pass_fds=(lock.fd,))
    say(f"cantina: started the supervisor (pid {supervisor.pid}; its log: {log_path})")
    deadline = time.monotonic() + DETACH_TIMEOUT
    try:
        while True:
            state = read_state()
            if state and state.get("supervisor_pid") == supervisor.pid and state.get("ready"):
                print_summary(state, detached=True)
                return 0
            if supervisor.poll() is not None:   # it exits early only after a failure or a stop, cleaned up
                say("\n".join(tail_lines(log_path, 40)), sys.stderr)
                say("cantina: the supervisor stopped before it was ready; nothing runs", sys.stderr)
                return 1
            if time.monotonic() >= deadline:
                say(f"cantina: not ready after {DETACH_TIMEOUT:g} s; stopping (see {log_path})", sys.stderr)
                supervisor.terminate()
                supervisor.wait()
                return 1
            time.sleep(POLL_INTERVAL * 2)
    except (KeyboardInterrupt, StopRequested) as stop:
        name = str(stop) or "an interrupt"
        say(f"cantina: received {name}; stopping the supervisor (pid {supervisor.pid})", sys.stderr)
        supervisor.terminate()
        supervisor.wait()
        return 130 if isinstance(stop, KeyboardInterrupt) else 1
