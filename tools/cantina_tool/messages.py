"""What the user reads: the tool's own lines (say), commands to type, errors, how a process
ended, the last lines of an output file, durations."""

import os
import signal
import sys
from pathlib import Path

from .constants import DEFAULT_CONFIG, STATE_DIR, TOOL


def say(message: str, stream=None) -> None:
    """Prints one of the tool's own lines; never fails if the terminal went away."""
    try:
        print(message, file=stream or sys.stdout, flush=True)
    except OSError:
        pass


def tool_command(*words: str, config: Path | None = None) -> str:
    """A tools/cantina command line that works as printed from the current folder: the tool's
    path (relative when under it), `--config FILE` for a config other than the default, else
    CANTINA_STATE_DIR when it is set (the running supervisor's config is found through it)."""
    relative = os.path.relpath(TOOL)
    parts = [relative if not relative.startswith("..") else str(TOOL)]
    explicit = config is not None and Path(config).resolve() != DEFAULT_CONFIG
    if explicit:
        parts += ["--config", str(config)]
    prefix = f"CANTINA_STATE_DIR={STATE_DIR} " if os.environ.get("CANTINA_STATE_DIR") and not explicit else ""
    return prefix + " ".join([*parts, *words])


def error_text(error: Exception) -> str:
    """Formats an error for the user; a multi-line one (a config problem) is shown verbatim."""
    return str(error) if "\n" in str(error) else f"cantina: {error}"


def describe_exit(returncode: int) -> str:
    """Turns a Popen returncode into 'exit code N' or 'killed by SIGNAME'."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def tail_lines(path: Path, count: int = 15) -> list[str]:
    """Returns the last `count` lines of a file (none if it cannot be read)."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 16384))
            return file.read().decode(errors="replace").splitlines()[-count:]
    except OSError:
        return []


def format_duration(seconds: float) -> str:
    """'45s', '12m 5s', '3h 20m', '2d 4h'."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
