"""The tool's exceptions: a CantinaError is one clear message to the user (exit status 1)."""

from datetime import datetime


class CantinaError(Exception):
    """A failure reported as one clear message; the command then exits 1."""


class StartupError(CantinaError):
    """A child failed to start or to become ready."""


class StopRequested(Exception):
    """The supervisor received a stop signal while it was starting children."""


class NothingRunning(Exception):
    """No supervisor runs for this state dir (`status` exits 3)."""


class StillStarting(CantinaError):
    """A supervisor holds the lock but has not started any process yet (it is building, or starting)."""

    def __init__(self, holder: dict):
        since = datetime.fromtimestamp(holder["since"]).strftime("%H:%M:%S") if holder.get("since") else "?"
        super().__init__(f"a supervisor is still starting (pid {holder.get('pid') or '?'}, config "
                         f"{holder.get('config')}, since {since}); nothing runs yet")
        self.holder = holder
