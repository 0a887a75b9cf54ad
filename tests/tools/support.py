"""Helpers for the Python-driven integration tests of tests/tools/: the real binaries of a
build (CANTINA_BIN_DIR, CANTINA_LIB, set by ctest), a temp dir per test with ipc:// bus
endpoints (no port can collide), and a search for processes a test left behind.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent.parent
TOOL = SOURCE_DIR / "tools" / "cantina"
BIN_DIR = Path(os.environ.get("CANTINA_BIN_DIR") or SOURCE_DIR / "build" / "bin")
LIB = Path(os.environ.get("CANTINA_LIB") or BIN_DIR.parent / "lib" / "libcantina_bus_c.so")


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago (for the web bridge)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.05):
    """Polls condition() until it returns something true (returned) or timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


class Sandbox:
    """A temp dir with a config on ipc:// endpoints, a session folder, a state dir and an
    environment whose marker lets processes started from it be found (and killed) later."""

    def __init__(self, services: str = "", logging_extra: str = ""):
        self.temp = tempfile.TemporaryDirectory(prefix="cantina-it-")
        self.dir = Path(self.temp.name)
        self.logs = self.dir / "logs"
        self.state_dir = self.dir / "state"
        self.config = self.dir / "cantina.toml"
        self.marker = f"cantina-it-{uuid.uuid4().hex}"
        self.env = dict(os.environ, CANTINA_BIN_DIR=str(BIN_DIR), CANTINA_LIB=str(LIB),
                        CANTINA_STATE_DIR=str(self.state_dir), CANTINA_CONFIG=str(self.config),
                        CANTINA_TEST_MARKER=self.marker, PYTHONDONTWRITEBYTECODE="1")
        self.config.write_text(f"""
[bus]
publish_endpoint = "ipc://{self.dir}/publish"
subscribe_endpoint = "ipc://{self.dir}/subscribe"
[logging]
session_file_path = "{self.logs}"
query_endpoint = "ipc://{self.dir}/query"
log_level = "DEBUG"
deduplication_window = 0
file_flush_interval = 0
{logging_extra}
[logging.service_names]
looper = "Looper"
crasher = "Crasher"
head_servo = "Head Servo"
py_service = "Py Service"
[webbridge]
listen = "127.0.0.1:{free_port()}"
{services}
""")

    def cantina(self, *args, timeout: float = 60) -> subprocess.CompletedProcess:
        """Runs tools/cantina with this sandbox's config and environment."""
        return subprocess.run([str(TOOL), "--config", str(self.config), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def session_lines(self) -> list[str]:
        """Every line of every session file so far."""
        lines = []
        for path in sorted(self.logs.glob("cantina-session-*.log")):
            lines += path.read_text(errors="replace").splitlines()
        return lines

    def lines_matching(self, pattern: str) -> list[str]:
        """Session file lines matching a regular expression (search)."""
        regex = re.compile(pattern)
        return [line for line in self.session_lines() if regex.search(line)]

    def leftover_pids(self) -> list[int]:
        """Live processes (not zombies) whose environment carries this sandbox's marker."""
        found = []
        needle = f"CANTINA_TEST_MARKER={self.marker}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
                    if state not in "ZX":
                        found.append(int(entry.name))
            except OSError:
                pass
        return found

    def describe(self, pids: list[int]) -> str:
        names = []
        for pid in pids:
            try:
                names.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                names.append(str(pid))
        return "; ".join(names)

    def close(self) -> None:
        """Kills whatever is left (a failed test must not leak processes) and removes the temp dir."""
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.temp.cleanup()
