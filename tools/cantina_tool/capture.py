"""Captured output: what every supervised process prints, read by one thread and written to
<state dir>/<name>.out (mode 0640, rotated to <name>.out.1 at [supervisor] capture_max_bytes);
a service's stdout and stderr lines are also published as its log records at the level a
line announces."""

import os
import re
import selectors
import sys
import threading
from pathlib import Path

from cantina_logging import DEBUG, INFO, WARNING, ERROR, CRITICAL   # tools/python (see constants)

from .messages import say

# Level words a line may start with (case-insensitive), optionally after a timestamp and
# inside brackets: "ERROR: x", "[warn] x", "Info - x", "2026-11-26 17:53:20,584 ERROR x".
LEVEL_WORDS = {b"trace": DEBUG, b"debug": DEBUG, b"info": INFO, b"notice": INFO, b"warn": WARNING,
               b"warning": WARNING, b"err": ERROR, b"error": ERROR, b"crit": CRITICAL, b"critical": CRITICAL,
               b"fatal": CRITICAL, b"panic": CRITICAL}
LEVEL_PREFIX = re.compile(
    rb"\s*(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+)?"
    rb"[\[(<]?(" + b"|".join(sorted(LEVEL_WORDS, key=len, reverse=True)) + rb")[\])>]?(?=[\s:|\]-]|$)",
    re.IGNORECASE)
GLOG_PREFIX = re.compile(rb"([DIWEF])\d{4} \d\d:\d\d:\d\d")          # E1126 17:53:20.584440 ...
SYSLOG_PREFIX = re.compile(rb"<([0-7])>")                              # <3>... (sd-daemon)
GLOG_LEVELS = {b"D": DEBUG, b"I": INFO, b"W": WARNING, b"E": ERROR, b"F": CRITICAL}
SYSLOG_LEVELS = [CRITICAL, CRITICAL, CRITICAL, ERROR, WARNING, INFO, INFO, DEBUG]
MAX_LINE_BYTES = 65536      # a longer run of output without a newline is published in pieces
FILE_MODE = 0o640           # output files: the owner and its group, like the session files


class OutputFile:
    """<state dir>/<name>.out of one supervised process, across its restarts: mode 0640, and
    renamed to <name>.out.1 (replacing the previous one) before it would grow past max_bytes,
    at the last line break that fits (a line that one read cut in two is finished first, so a
    file may pass max_bytes by the rest of that line, at most MAX_LINE_BYTES). Written by the
    capture thread; opened and closed by the supervisor's main thread (a lock orders them)."""

    def __init__(self, path: Path, max_bytes: int):
        self.path, self.max_bytes = path, max_bytes
        self.rotated = path.with_name(path.name + ".1")
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.size = 0
        self.line_start = True         # the file ends with a line break (or is empty)
        self.failed = False            # one message per failure, not one per write

    def open(self, fresh: bool) -> None:
        """Opens the file (OSError if it cannot); `fresh` (a process's first start in this run)
        empties it and removes the .out.1 of an earlier run."""
        with self.lock:
            if self.fd is not None:
                return
            if fresh:
                self.rotated.unlink(missing_ok=True)
            self.fd = self._open(os.O_TRUNC if fresh else 0)

    def _open(self, extra_flags: int) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | extra_flags, FILE_MODE)
        try:
            if os.fstat(fd).st_mode & 0o7777 != FILE_MODE:
                os.fchmod(fd, FILE_MODE)   # an older file may have been made with a looser mode
            self.size = os.fstat(fd).st_size
            self.line_start = True     # whatever an earlier incarnation left, rotation may cut here
        except OSError:
            os.close(fd)
            raise
        return fd

    def write(self, data: bytes) -> None:
        """Appends `data`, rotating first where it would pass max_bytes; never raises (a full
        disk must not stop the capture: the first failure is said once on stderr)."""
        with self.lock:
            try:
                while data and self.fd is not None:
                    room = self.max_bytes - self.size
                    if len(data) > room:
                        cut = data.rfind(b"\n", 0, room) + 1 if room > 0 else 0
                        if cut == 0 and not self.line_start:   # finish the line a read cut in two
                            cut = data.find(b"\n", 0, max(room, 0) + MAX_LINE_BYTES) + 1
                        if cut == 0 and self.size == 0:
                            cut = room          # one line longer than the whole file: cut it
                        if cut > 0:
                            self._write_all(data[:cut])
                            data = data[cut:]
                        self._rotate()
                        continue
                    self._write_all(data)
                    data = b""
                self.failed = False
            except OSError as error:
                if not self.failed:
                    self.failed = True
                    say(f"cantina: cannot write {self.path}: {error}", sys.stderr)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            self.size += written
            self.line_start = view[written - 1] == 0x0A if written else self.line_start
            view = view[written:]

    def _rotate(self) -> None:
        os.replace(self.path, self.rotated)
        old, self.fd = self.fd, None
        os.close(old)
        self.fd = self._open(os.O_TRUNC)

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                try:
                    os.close(self.fd)
                except OSError:
                    pass
                self.fd = None


def line_level(line: bytes, default: int) -> int:
    """The level a captured line announces at its start ("ERROR:", "[warn]", "E1126 ...", "<3>"), else default."""
    match = LEVEL_PREFIX.match(line)
    if match:
        return LEVEL_WORDS[match.group(1).lower()]
    match = GLOG_PREFIX.match(line) or SYSLOG_PREFIX.match(line)
    if match:
        code = match.group(1)
        return GLOG_LEVELS[code] if code.isalpha() else SYSLOG_LEVELS[int(code)]
    return default


class CapturedStream:
    """One output pipe of one incarnation of a process; a service's stdout or stderr is split
    into lines and published (publish = False: only written to the file)."""

    def __init__(self, output: "CapturedOutput", name: str, default_level: int, publish: bool):
        self.output, self.name, self.default_level, self.publish_lines = output, name, default_level, publish
        self.partial = b""

    def feed(self, data: bytes) -> None:
        """Takes bytes read from the pipe; publishes every complete line."""
        if not self.publish_lines:
            return
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self.publish(line)
        while len(self.partial) > MAX_LINE_BYTES:
            self.publish(self.partial[:MAX_LINE_BYTES])
            self.partial = self.partial[MAX_LINE_BYTES:]

    def finish(self) -> None:
        """At end of file: publishes a last line that had no newline."""
        if self.partial:
            self.publish(self.partial)
            self.partial = b""

    def publish(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if not line.strip():
            return
        output = self.output
        output.stats["lines"] += 1
        if output.logger is not None:
            output.logger.log(line_level(line, self.default_level), line, logger_name=self.name,
                              thread=output.thread_label)


class CapturedOutput:
    """The output pipes of one incarnation of a process, and its output file."""

    def __init__(self, service: str, pid: int, program: str, out_file: OutputFile, logger, stats: dict):
        self.service, self.pid = service, pid
        self.thread_label = f"{program[:15]}:{pid}"   # like the Logger's "name:tid" of the main thread
        self.out_file = out_file                       # the process's OutputFile (outlives the incarnation)
        self.logger = logger                           # cantina_logging.BusLogger or None
        self.stats = stats                             # shared per service: {"lines": n}
        self.open_pipes = 0


class OutputCapture(threading.Thread):
    """Reads the output pipes of every supervised service as soon as there is data.

    One thread with a selector: a child never blocks on a full pipe because of the bus
    (publishing is a queue push into the service's BusLogger, which drops and counts when
    full) and the bytes also go to <state dir>/<name>.out. Pipes are added by the main
    thread (add()); the thread ends after stop(), once the pipes were read to the end or
    it gave up on them.
    """

    def __init__(self):
        super().__init__(name="capture", daemon=True)
        self.selector = selectors.DefaultSelector()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, None)
        self.lock = threading.Condition()
        self.incoming: list[tuple[int, CapturedStream]] = []   # guarded by lock
        self.open_pipes: dict[str, int] = {}                    # service -> pipes not at EOF; guarded
        self.stopping = False                                   # guarded by lock
        self.publishing = True                                  # guarded by lock; read by the thread

    def add(self, output: CapturedOutput, stdout_fd: int, stderr_fd: int | None) -> None:
        """Hands the read ends of a new child's pipes to the thread (which closes them): with
        `stderr_fd` a service whose lines are published, else one pipe only written to the file."""
        pipes = [(stdout_fd, CapturedStream(output, "stdout", INFO, stderr_fd is not None))]
        if stderr_fd is not None:
            pipes.append((stderr_fd, CapturedStream(output, "stderr", WARNING, True)))
        with self.lock:
            for fd, stream in pipes:
                os.set_blocking(fd, False)
                self.incoming.append((fd, stream))
            output.open_pipes = len(pipes)
            self.open_pipes[output.service] = self.open_pipes.get(output.service, 0) + len(pipes)
        self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_write, b"x")
        except BlockingIOError:
            pass

    def wait_drained(self, services: list[str], timeout: float) -> bool:
        """Waits until the pipes of `services` reached end of file (their processes are gone)."""
        with self.lock:
            return self.lock.wait_for(lambda: all(self.open_pipes.get(name, 0) == 0 for name in services), timeout)

    def detach_loggers(self) -> None:
        """From now on output is only written to the files (the output loggers are about to close)."""
        with self.lock:
            self.publishing = False

    def stop(self, timeout: float) -> None:
        """Reads what is left, closes every pipe and ends the thread."""
        with self.lock:
            self.stopping = True
        self.wake()
        self.join(timeout)

    def run(self) -> None:
        while True:
            with self.lock:
                for fd, stream in self.incoming:
                    self.selector.register(fd, selectors.EVENT_READ, stream)
                self.incoming.clear()
                stopping = self.stopping
            events = self.selector.select(timeout=0 if stopping else 1.0)
            for key, _ in events:
                if key.data is None:
                    self.drain_wake_pipe()
                else:
                    self.read(key.fd, key.data)
            if stopping and not any(key.data is not None for key, _ in events):
                break
        for key in list(self.selector.get_map().values()):   # given up on (a grandchild holds them open)
            if key.data is not None:
                self.close_pipe(key.fd, key.data)

    def drain_wake_pipe(self) -> None:
        try:
            while os.read(self.wake_read, 4096):
                pass
        except BlockingIOError:
            pass

    def read(self, fd: int, stream: CapturedStream) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close_pipe(fd, stream)
            return
        stream.output.out_file.write(data)
        if not self.publishing:
            return
        try:
            stream.feed(data)
        except Exception as error:  # noqa: BLE001 - the capture thread must go on
            say(f"cantina: capturing {stream.output.service}: {error}", sys.stderr)

    def close_pipe(self, fd: int, stream: CapturedStream) -> None:
        if self.publishing:
            stream.finish()
        self.selector.unregister(fd)
        os.close(fd)
        output = stream.output
        output.open_pipes -= 1
        with self.lock:
            self.open_pipes[output.service] -= 1
            self.lock.notify_all()
