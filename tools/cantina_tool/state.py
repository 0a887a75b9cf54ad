"""The state file, <state dir>/state.json: the running supervisor writes it (who supervises
what, with which config, in which state); `up`, `down`, `status` and `restart` read it."""

import json
import os
import sys
from pathlib import Path

from .constants import STATE_DIR, STATE_FILE
from .messages import say, tail_lines, tool_command
from .processes import process_alive


DIR_MODE = 0o750    # the state dir and its requests/ folder
FILE_MODE = 0o640   # every file in it (as the output files, capture.FILE_MODE)


def make_state_dir() -> None:
    """Creates <state dir> and its requests/ folder, mode 0750 (a looser one of ours is tightened)."""
    for folder in (STATE_DIR, STATE_DIR / "requests"):
        folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        status = folder.stat()
        if status.st_mode & 0o7777 != DIR_MODE and status.st_uid == os.getuid():
            os.chmod(folder, DIR_MODE)


def write_private(path: Path, text: str) -> None:
    """Writes `text` to `path` atomically (a temporary file renamed over it), mode 0640."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_state() -> dict | None:
    """Returns the state file's content, or None if there is none (or it is unreadable)."""
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def save_state(state: dict) -> None:
    """Writes the state file atomically."""
    try:
        write_private(STATE_FILE, json.dumps(state, indent=2) + "\n")
    except OSError as error:
        say(f"cantina: cannot write {STATE_FILE}: {error}", sys.stderr)


def remove_state_if_owned() -> None:
    """Removes the state file if this process wrote it."""
    state = read_state()
    if state and state.get("supervisor_pid") == os.getpid():
        STATE_FILE.unlink(missing_ok=True)


def print_summary(state: dict, detached: bool) -> None:
    """Prints what runs, where the session file and the dashboard are, and how to watch and stop."""
    lines = [f"cantina: running with config {state['config']}"]
    for child in state["children"]:
        detail = f"pid {child['pid']}" if child["state"] == "RUNNING" else child["message"]
        lines.append(f"  {child['name']:<24} {child['state']:<8} {detail}")
        if child["state"] != "RUNNING":
            lines += [f"      | {line}" for line in tail_lines(Path(child["output"]), 5)]
    lines += [f"Session file: {state['session_file']}"]
    if state.get("dashboard"):
        lines += [f"Dashboard: {state['dashboard']}"]
    config = Path(state["config"])
    lines += [f"Process output: {state['state_dir']}/<name>.out",
              f"Watch live logs: {tool_command('tail', config=config)}",
              f"State of every process: {tool_command('status')}",
              f"Stop: {tool_command('down')}" if detached else "Press Ctrl-C to stop"]
    say("\n".join(lines))


def leftover_children(state: dict) -> list[str]:
    """'name (pid N)' of the recorded children that are still alive."""
    return [f"{child['name']} (pid {child['pid']})" for child in state["children"]
            if child.get("pid") and process_alive(child["pid"], child.get("start_ticks"))]
