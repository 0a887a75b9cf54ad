"""The tool's exceptions: a CantinaError is one clear message to the user (exit status 1)."""


class CantinaError(Exception):
    """A failure reported as one clear message; the command then exits 1."""


class StartupError(CantinaError):
    """A child failed to start or to become ready."""


class StopRequested(Exception):
    """The supervisor received a stop signal while it was starting children."""


class NothingRunning(Exception):
    """No supervisor runs for this state dir (`status` exits 3)."""
